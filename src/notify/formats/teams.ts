/**
 * The `teams` format: a message with one Adaptive Card 1.4 attachment, the shape Teams Workflows ("Post to a
 * channel when a webhook request is received") expect. `msteams.width = "Full"` is the Teams host extension.
 */
import type { NotifyEvent } from "../events";
import { summarize } from "./summary";

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

/** Renders an event as a Teams message carrying an Adaptive Card 1.4. */
export function renderTeams(event: NotifyEvent): TeamsMessage {
  const s = summarize(event);
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
