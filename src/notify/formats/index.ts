/** Picks the renderer for a target's format and produces the exact bytes to send. */
import type { NotifyEvent } from "../events";
import { assertNoKeyMaterial } from "../guard";
import type { WebhookTargetSettings } from "../types";
import { CLOUDEVENTS_CONTENT_TYPE, renderGeneric } from "./generic";
import { renderSlack } from "./slack";
import { renderTeams } from "./teams";

export { renderGeneric, DATA_SCHEMA_ID, CLOUDEVENTS_CONTENT_TYPE, CLOUDEVENT_TYPE_PREFIX, type CloudEvent } from "./generic";
export { renderSlack, escapeMrkdwn, SLACK_LIMITS, type SlackMessage, type SlackBlock } from "./slack";
export { renderTeams, TEAMS_LIMITS, type TeamsMessage, type AdaptiveCard } from "./teams";
export { summarize, type EventSummary } from "./summary";

/**
 * The body and content type for one target. Throws KeyMaterialError if the event or the rendered payload looks
 * like it holds key material (checked on both, so a leaky event is refused whatever the format shows of it).
 */
export function renderPayload(format: WebhookTargetSettings["format"], event: NotifyEvent): { body: string; contentType: string } {
  assertNoKeyMaterial(event);
  const payload = format === "generic" ? renderGeneric(event) : format === "slack" ? renderSlack(event) : renderTeams(event);
  assertNoKeyMaterial(payload);
  return {
    body: JSON.stringify(payload),
    contentType: format === "generic" ? CLOUDEVENTS_CONTENT_TYPE : "application/json; charset=utf-8",
  };
}
