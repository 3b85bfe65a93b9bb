/** Picks the renderer for a target's format (./registry.ts) and produces the exact bytes to send. */
import type { NotifyEvent } from "../events";
import { assertNoKeyMaterial } from "../guard";
import { webhookFormatSpec, type WebhookFormat } from "./registry";

export { renderGeneric, DATA_SCHEMA_ID, CLOUDEVENTS_CONTENT_TYPE, CLOUDEVENT_TYPE_PREFIX, type CloudEvent } from "./generic";
export { renderSlack, escapeMrkdwn, SLACK_LIMITS, type SlackMessage, type SlackBlock } from "./slack";
export { renderTeams, TEAMS_LIMITS, type TeamsMessage, type AdaptiveCard } from "./teams";
export { summarize, type EventSummary } from "./summary";
export {
  WEBHOOK_FORMATS,
  WEBHOOK_FORMAT_NAMES,
  describeSniffing,
  isWebhookFormat,
  sniffWebhookFormat,
  webhookFormatSpec,
  type WebhookFormat,
  type WebhookFormatSpec,
} from "./registry";

/**
 * The body and content type for one target. Throws KeyMaterialError if the event or the rendered payload looks
 * like it holds key material (checked on both, so a leaky event is refused whatever the format shows of it).
 */
export function renderPayload(format: WebhookFormat, event: NotifyEvent): { body: string; contentType: string } {
  assertNoKeyMaterial(event);
  const spec = webhookFormatSpec(format);
  const payload = spec.render(event);
  assertNoKeyMaterial(payload);
  return { body: JSON.stringify(payload), contentType: spec.contentType };
}
