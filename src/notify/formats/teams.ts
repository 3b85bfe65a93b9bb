/**
 * The `teams` format: a message with one Adaptive Card 1.4 attachment, the shape Teams Workflows ("Post to a
 * channel when a webhook request is received") expect. `msteams.width = "Full"` is the Teams host extension.
 * Teams refuses messages over about 28 KB ("Request Entity too large"): long upstream texts (a CA's error detail,
 * long name lists) are cut, shorter and shorter, until the whole message fits.
 */
import type { NotifyEvent } from "../events";
import { summarize, truncate, type EventSummary } from "./summary";

export type AdaptiveElement =
  | {
      type: "TextBlock";
      text: string;
      wrap?: boolean;
      size?: "default" | "small" | "medium" | "large" | "extraLarge";
      weight?: "default" | "lighter" | "bolder";
      color?: "default" | "dark" | "light" | "accent" | "good" | "warning" | "attention";
      isSubtle?: boolean;
      spacing?: "none" | "small" | "default" | "medium" | "large" | "extraLarge" | "padding";
    }
  | { type: "FactSet"; facts: Array<{ title: string; value: string }> };

export interface AdaptiveCard {
  $schema: "http://adaptivecards.io/schemas/adaptive-card.json";
  type: "AdaptiveCard";
  version: "1.4";
  body: AdaptiveElement[];
  fallbackText?: string;
  msteams: { width: "Full" };
}

export interface TeamsMessage {
  type: "message";
  attachments: Array<{ contentType: "application/vnd.microsoft.card.adaptive"; contentUrl: null; content: AdaptiveCard }>;
}

/** Teams' message size limit (UTF-8 bytes of the JSON body), and the longest text a card starts with. */
export const TEAMS_LIMITS = { messageBytes: 28_000, text: 4000, title: 200 } as const;

/** Renders an event as a Teams message carrying an Adaptive Card 1.4, never over TEAMS_LIMITS.messageBytes. */
export function renderTeams(event: NotifyEvent): TeamsMessage {
  const s = summarize(event);
  for (let max: number = TEAMS_LIMITS.text; ; max = Math.floor(max / 2)) {
    const message = buildMessage(event, s, max);
    if (Buffer.byteLength(JSON.stringify(message)) <= TEAMS_LIMITS.messageBytes || max <= 1) return message;
  }
}

/** The message with every text of the summary cut to `max` characters. */
function buildMessage(event: NotifyEvent, summary: EventSummary, max: number): TeamsMessage {
  const s = {
    ...summary,
    title: truncate(summary.title, Math.min(max, TEAMS_LIMITS.title)),
    text: truncate(summary.text, max),
    facts: summary.facts.map((f) => ({ title: truncate(f.title, TEAMS_LIMITS.title), value: truncate(f.value, max) })),
  };
  const card: AdaptiveCard = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
    fallbackText: s.title,
    body: [
      { type: "TextBlock", text: s.title, wrap: true, size: "medium", weight: "bolder", color: s.tone },
      { type: "TextBlock", text: s.text, wrap: true },
      { type: "FactSet", facts: s.facts },
      {
        type: "TextBlock",
        text: `kv-acme · ${event.type} · ${event.time} · ${event.id}`,
        wrap: true,
        isSubtle: true,
        size: "small",
        spacing: "medium",
      },
    ],
    msteams: { width: "Full" },
  };
  return { type: "message", attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card }] };
}
