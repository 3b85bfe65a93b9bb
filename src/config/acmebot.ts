/**
 * Switching from the leading C# tool (Acmebot v4, shibayan/keyvault-acmebot, and v5, polymind-inc/acmebot): its
 * settings that do not map one to one onto a kv-acme setting, and how they combine. The one-to-one names
 * (`Acmebot__Endpoint`, `__Contacts`, `__VaultBaseUrl`, `__ExternalAccountBinding__*`, `__Environment`,
 * `__ManagedIdentityClientId`, `__PreferredChain`, `__PreferredProfile`, the DNS providers') are aliases on the kv-acme
 * descriptors.
 *
 * `Acmebot__RenewBeforeExpiry` is days before expiry in v4 (0–365, default 30) and, since v5's PR #1116, the
 * percentage of the lifetime left (0–100) when the CA gives no ARI window. kv-acme never guesses: the unit comes from
 * `KvAcme__AcmebotRenewBeforeExpiryUnit`, else from the value (above 100 only v4 accepts), else from the unit recorded
 * when it was first told (src/keyvault/acmebot-unit.ts: kv-acme's renewals replace the Acmebot tags), else from the
 * Acmebot tags the renewal run finds in the vaults (`decideAcmebotUnit`, then recorded); with none, the run stops with
 * a configuration problem naming the setting to add.
 */
import { InvalidSetting, PREFIX, setting, type SettingsReader } from "./descriptor";
import { intIn, parseBool, parseWebhookUrl, sniffWebhookFormat, splitList } from "./parsers";
import { ConfigurationError } from "../shared/errors";
import { describeSniffing, WEBHOOK_FORMAT_NAMES, type WebhookFormat } from "../notify/formats/registry";
import type { Settings, WebhookTargetSettings } from "./types";

export type RenewBeforeExpiryUnit = "days" | "percent";

/** Acmebot__RenewBeforeExpiry whose unit no setting decided, and which kv-acme renewal settings were set explicitly (they win). */
export interface UndecidedRenewBeforeExpiry {
  value: number;
  explicitDays: boolean;
  explicitPercent: boolean;
}

/** Acmebot v5's webhook events, as kv-acme event types. */
const ACMEBOT_EVENTS: Readonly<Record<string, readonly string[]>> = {
  completed: ["certificate.issued", "certificate.renewed"],
  failed: ["certificate.renewal_failed"],
  all: ["*"],
  none: [],
};

function parseAcmebotEvents(raw: string): string[] {
  const items = splitList(raw).map((i) => i.toLowerCase());
  const bad = items.filter((i) => !(i in ACMEBOT_EVENTS));
  if (items.length === 0 || bad.length > 0) throw new InvalidSetting(`"${raw}" is not Completed, Failed, All or None (comma separated)`);
  if (items.includes("all")) return ["*"];
  return [...new Set(items.flatMap((i) => ACMEBOT_EVENTS[i] ?? []))];
}

/** Acmebot v5's payload types: Auto sniffs the host as kv-acme does; the others name a kv-acme format. */
function parsePayloadType(raw: string): WebhookFormat | "auto" {
  const v = raw.trim().toLowerCase();
  if (v === "auto") return "auto";
  const format = WEBHOOK_FORMAT_NAMES.find((f) => f === v);
  if (!format)
    throw new InvalidSetting(`"${raw}" is not Auto, ${WEBHOOK_FORMAT_NAMES.map((f) => f[0]?.toUpperCase() + f.slice(1)).join(", ")}`);
  return format;
}

function parseUnit(raw: string): RenewBeforeExpiryUnit {
  const v = raw.trim().toLowerCase();
  if (v === "days" || v === "percent") return v;
  throw new InvalidSetting(`"${raw}" is not days (Acmebot v4) or percent (Acmebot v5)`);
}

export const ACMEBOT_SETTINGS = {
  renewBeforeExpiry: setting({
    aliases: ["Acmebot__RenewBeforeExpiry"],
    field: "renewBeforeExpiryDays, renewAtPercentOfLifetime",
    type: "integer 0–365",
    defaultDoc: "(none)",
    doc: "Acmebot v4: renew this many days before expiry (→ RenewBeforeExpiryDays). Acmebot v5: renew when this percentage of the lifetime is left (→ RenewAtPercentOfLifetime = 100 − value, and no days rule unless RenewBeforeExpiryDays is set). Which one: AcmebotRenewBeforeExpiryUnit, else a value above 100 is days, else the unit recorded when it was first told (the secret kv-acme-acmebot-renew-before-expiry-unit), else the renewal run decides by the Acmebot tags in the vaults (any v5 `Acmebot` JSON tag: percent; only v4 tags: days), records it, and stops with a configuration problem when it finds neither. Ignored when both RenewBeforeExpiryDays and RenewAtPercentOfLifetime are set.",
    parse: intIn(0, 365),
  }),
  renewBeforeExpiryUnit: setting({
    key: "AcmebotRenewBeforeExpiryUnit",
    aliases: [],
    field: "renewBeforeExpiryDays, renewAtPercentOfLifetime",
    type: "days | percent",
    defaultDoc: "(decided as Acmebot__RenewBeforeExpiry says)",
    doc: "What Acmebot__RenewBeforeExpiry counts: `days` (Acmebot v4) or `percent` of the lifetime left (Acmebot v5). `kv-acme migrate --from-acmebot` tells which the vault's tags point to.",
    parse: parseUnit,
  }),
  webhook: setting({
    aliases: ["Acmebot__Webhook"],
    field: "webhooks[]",
    type: "URL",
    defaultDoc: "(none)",
    doc: `The leading tool's single webhook: all events, format sniffed from the host (${describeSniffing()}). Added after the indexed webhooks.`,
    parse: parseWebhookUrl,
  }),
  webhookEndpoint: setting({
    aliases: ["Acmebot__Webhook__Endpoint"],
    field: "webhooks[]",
    type: "URL",
    defaultDoc: "(none)",
    doc: "Acmebot v5's webhook (instead of Acmebot__Webhook, the same target when both are set): added after the indexed webhooks with the two settings below.",
    parse: parseWebhookUrl,
  }),
  webhookEvents: setting({
    aliases: ["Acmebot__Webhook__Events"],
    field: "webhooks[].events",
    type: "Completed, Failed, All, None",
    default: ["*"],
    defaultDoc: "`All`",
    doc: "Which events Acmebot v5's webhook gets (comma separated): Completed = certificate.issued and certificate.renewed, Failed = certificate.renewal_failed, All = every event, None = no webhook.",
    parse: parseAcmebotEvents,
  }),
  webhookPayloadType: setting<WebhookFormat | "auto">({
    aliases: ["Acmebot__Webhook__PayloadType"],
    field: "webhooks[].format",
    type: "Auto, Generic, Slack, Teams",
    default: "auto",
    defaultDoc: "`Auto`",
    doc: "The payload of Acmebot v5's webhook: Auto sniffs the host like Acmebot__Webhook; Generic is kv-acme's CloudEvents JSON (not Acmebot's generic JSON: docs/migrate-from-acmebot.md).",
    parse: parsePayloadType,
  }),
  useSystemNameServer: setting({
    aliases: ["Acmebot__UseSystemNameServer"],
    field: "dnsResolver",
    type: "boolean",
    default: false,
    doc: "Acmebot checks propagation through Google Public DNS unless this is true. kv-acme asks each zone's authoritative servers (found through the system resolver) instead, whatever this says; with true and no DnsResolver, the propagation check asks the system's resolvers (for private zones or blocked outbound DNS, as in Acmebot).",
    parse: parseBool,
  }),
} as const;

/** What the Acmebot settings add to the core settings. */
export interface AcmebotSettings {
  /** Acmebot's webhook target, when configured and not None. */
  webhook?: WebhookTargetSettings;
  /** Acmebot__RenewBeforeExpiry, unit not yet known: the renewal run decides it by the tags (resolveRenewalPolicy). */
  undecidedRenewBeforeExpiry?: UndecidedRenewBeforeExpiry;
  /** The renewal settings Acmebot__RenewBeforeExpiry sets, once its unit is known. */
  renewal?: { renewBeforeExpiryDays?: number; renewAtPercentOfLifetime?: number };
  useSystemNameServer: boolean;
}

/** The renewal settings of an Acmebot__RenewBeforeExpiry value read in `unit`; throws InvalidSetting when out of range. */
export function acmebotRenewal(
  value: number,
  unit: RenewBeforeExpiryUnit,
): { renewBeforeExpiryDays: number; renewAtPercentOfLifetime?: number } {
  if (unit === "days") return { renewBeforeExpiryDays: value };
  if (value < 1 || value > 99)
    throw new InvalidSetting(`${value} % of the lifetime left is outside 1–99 (kv-acme renews after 1–99 % of the lifetime has elapsed)`);
  // v5 has no days rule: only the lifetime percentage (and ARI, which kv-acme asks as well).
  return { renewBeforeExpiryDays: 0, renewAtPercentOfLifetime: 100 - value };
}

export function buildAcmebotSettings(r: SettingsReader, explicit: { days: boolean; percent: boolean }): AcmebotSettings {
  const A = ACMEBOT_SETTINGS;
  const out: AcmebotSettings = { useSystemNameServer: r.get(A.useSystemNameServer) };
  const legacy = r.get(A.webhook);
  const endpoint = r.get(A.webhookEndpoint);
  if (legacy !== undefined && endpoint !== undefined && legacy !== endpoint)
    r.problem("Acmebot__Webhook__Endpoint", `differs from Acmebot__Webhook (${legacy}): Acmebot has one webhook, set one of the two`);
  const url = endpoint ?? legacy;
  const events = r.get(A.webhookEvents);
  const payload = r.get(A.webhookPayloadType);
  if (url !== undefined && events.length > 0) out.webhook = { url, format: payload === "auto" ? sniffWebhookFormat(url) : payload, events };

  const value = r.get(A.renewBeforeExpiry);
  const unit = r.get(A.renewBeforeExpiryUnit);
  if (value === undefined || (explicit.days && explicit.percent)) return out;
  const decided = unit ?? (value > 100 ? "days" : undefined);
  if (decided === undefined) {
    out.undecidedRenewBeforeExpiry = { value, explicitDays: explicit.days, explicitPercent: explicit.percent };
    return out;
  }
  try {
    const mapped = acmebotRenewal(value, decided);
    out.renewal = {};
    if (!explicit.days) out.renewal.renewBeforeExpiryDays = mapped.renewBeforeExpiryDays;
    if (!explicit.percent && mapped.renewAtPercentOfLifetime !== undefined)
      out.renewal.renewAtPercentOfLifetime = mapped.renewAtPercentOfLifetime;
  } catch (err) {
    if (!(err instanceof InvalidSetting)) throw err;
    r.problem(
      "Acmebot__RenewBeforeExpiry",
      `${err.message} (read as ${decided}${unit ? ` by ${PREFIX}__AcmebotRenewBeforeExpiryUnit` : ""})`,
    );
  }
  return out;
}

/** What the Acmebot tags found in the vaults say about the unit (counts of certificates by Acmebot version). */
export interface AcmebotTagEvidence {
  v4: number;
  v5: number;
}

/** The unit the tags point to, and why; a ConfigurationError when they point nowhere (no certificate tagged by Acmebot). */
export function decideAcmebotUnit(value: number, evidence: AcmebotTagEvidence): { unit: RenewBeforeExpiryUnit; reason: string } {
  if (evidence.v5 > 0)
    return {
      unit: "percent",
      reason: `${evidence.v5} certificate(s) carry Acmebot v5's JSON tag, so Acmebot__RenewBeforeExpiry=${value} is a percentage`,
    };
  if (evidence.v4 > 0)
    return {
      unit: "days",
      reason: `${evidence.v4} certificate(s) carry Acmebot v4's tags and none v5's, so Acmebot__RenewBeforeExpiry=${value} is days`,
    };
  throw new ConfigurationError(
    `Acmebot__RenewBeforeExpiry=${value} counts days in Acmebot v4 and a percentage of the lifetime in v5, and no certificate in the vaults carries Acmebot's tags to tell which: set ${PREFIX}__AcmebotRenewBeforeExpiryUnit to days or percent (or ${PREFIX}__RenewBeforeExpiryDays and ${PREFIX}__RenewAtPercentOfLifetime)`,
    { problems: [{ field: `${PREFIX}__AcmebotRenewBeforeExpiryUnit`, message: "is required to read Acmebot__RenewBeforeExpiry" }] },
  );
}

/** The renewal rules' settings once the Acmebot tags were counted, and how Acmebot__RenewBeforeExpiry was read. */
export interface ResolvedRenewalSettings {
  renewBeforeExpiryDays: number;
  renewAtPercentOfLifetime: number;
  /** How an Acmebot__RenewBeforeExpiry without a unit setting was read (the run reports it). */
  acmebotUnit?: { unit: RenewBeforeExpiryUnit; reason: string };
}

/**
 * The renewal settings a renewal run (or the renewals view) applies: the settings as loaded, or, when
 * Acmebot__RenewBeforeExpiry is undecided, read in the recorded unit (`recorded`, decided once), else in the unit the
 * tags point to. Throws ConfigurationError when nothing tells the unit or the value does not fit it.
 */
export function resolveRenewalPolicy(
  settings: Pick<Settings, "renewBeforeExpiryDays" | "renewAtPercentOfLifetime" | "acmebotRenewBeforeExpiry">,
  evidence: AcmebotTagEvidence,
  recorded?: { unit: RenewBeforeExpiryUnit; reason: string; decidedAt: string },
): ResolvedRenewalSettings {
  const base = { renewBeforeExpiryDays: settings.renewBeforeExpiryDays, renewAtPercentOfLifetime: settings.renewAtPercentOfLifetime };
  const pending = settings.acmebotRenewBeforeExpiry;
  if (pending === undefined) return base;
  const decided = recorded
    ? { unit: recorded.unit, reason: `recorded at ${recorded.decidedAt} (${recorded.reason})` }
    : decideAcmebotUnit(pending.value, evidence);
  let mapped: ReturnType<typeof acmebotRenewal>;
  try {
    mapped = acmebotRenewal(pending.value, decided.unit);
  } catch (err) {
    if (!(err instanceof InvalidSetting)) throw err;
    throw new ConfigurationError(`Acmebot__RenewBeforeExpiry: ${err.message} (${decided.reason})`, {
      problems: [{ field: "Acmebot__RenewBeforeExpiry", message: err.message }],
    });
  }
  return {
    renewBeforeExpiryDays: pending.explicitDays ? base.renewBeforeExpiryDays : mapped.renewBeforeExpiryDays,
    renewAtPercentOfLifetime:
      pending.explicitPercent || mapped.renewAtPercentOfLifetime === undefined
        ? base.renewAtPercentOfLifetime
        : mapped.renewAtPercentOfLifetime,
    acmebotUnit: decided,
  };
}

/** docs/settings.md's section for these settings. */
export const ACMEBOT_SETTINGS_DOC = {
  title: "Switching from Acmebot",
  intro:
    "The leading C# tool's settings that are not simply another name of a kv-acme setting (those are listed as Also accepted above and in docs/dns-providers.md). `kv-acme migrate --from-acmebot` shows what an Acmebot configuration maps to: docs/migrate-from-acmebot.md.",
  settings: ACMEBOT_SETTINGS,
};
