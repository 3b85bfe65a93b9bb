/**
 * The `slack` format: a Block Kit message for Slack incoming webhooks — a header, a section with the summary
 * and up to 10 fields, a context line — plus the top-level `text` fallback used in notifications.
 */
import type { NotifyEvent } from "../events";
import { summarize, truncate } from "./summary";

export interface SlackText {
  type: "plain_text" | "mrkdwn";
  text: string;
  emoji?: boolean;
}
export type SlackBlock =
  | { type: "header"; text: SlackText }
  | { type: "section"; text: SlackText; fields?: SlackText[] }
  | { type: "context"; elements: SlackText[] };
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/** Slack's documented limits for the blocks used here. */
export const SLACK_LIMITS = { headerText: 150, sectionText: 3000, fields: 10, fieldText: 2000, contextElements: 10, blocks: 50 } as const;

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const ICON = { good: ":white_check_mark:", warning: ":warning:", attention: ":rotating_light:" } as const;

/** Renders an event as a Slack Block Kit message. */
export function renderSlack(event: NotifyEvent): SlackMessage {
  const s = summarize(event);
  const fields = s.facts.slice(0, SLACK_LIMITS.fields).map((f) => ({
    type: "mrkdwn" as const,
    text: truncate(`*${escapeMrkdwn(f.title)}*\n${escapeMrkdwn(f.value)}`, SLACK_LIMITS.fieldText),
  }));
  return {
    text: truncate(`${ICON[s.tone]} ${s.title}`, SLACK_LIMITS.sectionText),
    blocks: [
      { type: "header", text: { type: "plain_text", text: truncate(s.title, SLACK_LIMITS.headerText), emoji: true } },
      {
        type: "section",
        text: { type: "mrkdwn", text: truncate(`${ICON[s.tone]} ${escapeMrkdwn(s.text)}`, SLACK_LIMITS.sectionText) },
        fields,
      },
      { type: "context", elements: [{ type: "mrkdwn", text: escapeMrkdwn(`kv-acme · ${event.type} · ${event.time} · ${event.id}`) }] },
    ],
  };
}
