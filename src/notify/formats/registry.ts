/**
 * The webhook formats: one row per format, with its renderer, content type and the URL hosts that default to it.
 * Settings (src/config) and the agent's reporter (src/agent/report.ts) validate format names against this table,
 * the sniffing of a URL's host reads it, and docs/settings.md lists it. Adding a format: a renderer file next to this
 * one and a row here (docs/architecture.md, "How to add a webhook format").
 */
import type { NotifyEvent } from "../events";
import { CLOUDEVENTS_CONTENT_TYPE, renderGeneric } from "./generic";
import { renderSlack } from "./slack";
import { renderTeams } from "./teams";

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

export interface WebhookFormatSpec {
  /** What the payload is, for the docs. */
  description: string;
  contentType: string;
  /** The payload for one event (serialized as JSON). */
  render(event: NotifyEvent): unknown;
  /** URL hosts that default to this format. */
  hosts: readonly string[];
  /** Domains whose hosts (the domain itself and every subdomain) default to this format. */
  domains: readonly string[];
}

/** Every format by name; the first is the default for URLs no row claims. */
export const WEBHOOK_FORMATS = {
  generic: { description: "CloudEvents JSON", contentType: CLOUDEVENTS_CONTENT_TYPE, render: renderGeneric, hosts: [], domains: [] },
  slack: { description: "Slack", contentType: JSON_CONTENT_TYPE, render: renderSlack, hosts: ["hooks.slack.com"], domains: [] },
  teams: {
    description: "a Teams Adaptive Card",
    contentType: JSON_CONTENT_TYPE,
    render: renderTeams,
    hosts: [],
    domains: ["webhook.office.com", "logic.azure.com", "powerplatform.com", "powerautomate.com"],
  },
} as const satisfies Record<string, WebhookFormatSpec>;

export type WebhookFormat = keyof typeof WEBHOOK_FORMATS;

/** Format names, in table order. */
export const WEBHOOK_FORMAT_NAMES = Object.keys(WEBHOOK_FORMATS) as WebhookFormat[];

const DEFAULT_FORMAT = WEBHOOK_FORMAT_NAMES[0] as WebhookFormat;

/** The table row of a format. */
export function webhookFormatSpec(format: WebhookFormat): WebhookFormatSpec {
  return WEBHOOK_FORMATS[format];
}

/** Whether a (case-sensitive, as written) name is a format of the table. */
export function isWebhookFormat(name: string): name is WebhookFormat {
  return Object.prototype.hasOwnProperty.call(WEBHOOK_FORMATS, name);
}

/** Webhook payload format sniffed from the URL's host, like the leading tool; the default for hosts no row claims. */
export function sniffWebhookFormat(url: string): WebhookFormat {
  const host = new URL(url).hostname.toLowerCase();
  const found = WEBHOOK_FORMAT_NAMES.find(
    (name) =>
      webhookFormatSpec(name).hosts.includes(host) || webhookFormatSpec(name).domains.some((d) => host === d || host.endsWith(`.${d}`)),
  );
  return found ?? DEFAULT_FORMAT;
}

/** How the sniffing reads in the docs: "hooks.slack.com: slack; *.webhook.office.com, ...: teams; else generic". */
export function describeSniffing(): string {
  const rows = WEBHOOK_FORMAT_NAMES.map((name) => {
    const s = webhookFormatSpec(name);
    const claims = [...s.hosts, ...s.domains.map((d) => `*.${d}`)];
    return claims.length > 0 ? `${claims.join(", ")}: ${name}` : undefined;
  }).filter((r): r is string => r !== undefined);
  return [...rows, `else ${DEFAULT_FORMAT}`].join("; ");
}
