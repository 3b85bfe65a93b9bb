/**
 * The one typed, validated settings object of kv-acme, read once from an environment record and passed in.
 * One descriptor table (name, aliases, type, default, doc, parser) drives both parsing and docs/settings.md.
 *
 * Names: `KvAcme__<Key>` (Azure app settings on Linux) or `KvAcme:<Key>`, matched case-insensitively; the leading
 * C# tool's `Acmebot__*` names are accepted as aliases so its users can switch by redeploying. When both a
 * kv-acme name and an alias are set, the kv-acme name wins. Empty values count as unset.
 */
import { isIP } from "node:net";
import { Cron } from "croner";
import { signingSecretProblem } from "../notify/signing";
import { ConfigurationError, type FieldProblem } from "../shared/errors";

export type EabAlgorithm = "HS256" | "HS384" | "HS512";
export type AuthMode = "appServiceAuth" | "functionKeys" | "local" | "unconfigured";
export type WebhookFormat = "generic" | "slack" | "teams";

/** One webhook target. */
export interface WebhookTargetSettings {
  url: string;
  format: WebhookFormat;
  /** Event types; ["*"] = all, "certificate.*" = a prefix. */
  events: string[];
  /** `whsec_<base64>` (Standard Webhooks), inline or by Key Vault secret name; the second one signs alongside during a rotation. */
  secret?: string;
  secretName?: string;
  secondarySecret?: string;
  secondarySecretName?: string;
  /** Secret of the first `v1=<hex>` scheme: its signature is added for receivers not yet moved. */
  legacySecret?: string;
  legacySecretName?: string;
}

export interface EabSettings {
  keyId: string;
  /** base64url, no padding. */
  hmacKey: string;
  algorithm: EabAlgorithm;
}

export interface AuthSettings {
  mode: AuthMode;
  /** WEBSITE_AUTH_ENABLED=true: the platform validates callers, so x-ms-client-principal can be trusted. */
  platformAuthEnabled: boolean;
  localRoles?: string[];
  keyRoles?: string[];
  /** The first App Service / Functions platform variable present (WEBSITE_INSTANCE_ID, ...): the app runs in Azure. */
  azureHostVariable?: string;
}

export interface Settings {
  acmeDirectoryUrl: string;
  /** "mailto:" URIs (RFC 8555 §7.3). */
  contacts: string[];
  eab?: EabSettings;
  vaultUrl: string;
  /** Key Vault holding the app's own secrets (ACME account keys, webhook signing secrets); default vaultUrl. */
  secretsVaultUrl: string;
  /** DNS provider registry name. */
  dnsProvider: string;
  dnsSubscriptionIds: string[];
  /** Only zones in these resource groups; empty = all. */
  dnsResourceGroups: string[];
  armEndpoint: string;
  /** "host:port" servers asked instead of the zones' name servers; undefined = the zones' own. */
  dnsResolver?: string[];
  propagationTimeoutSeconds: number;
  acmeTimeoutSeconds: number;
  renewBeforeExpiryDays: number;
  renewAtPercentOfLifetime: number;
  /** NCRONTAB, six fields (second minute hour day month day-of-week). */
  renewalSchedule: string;
  maxConcurrentRenewals: number;
  /** A due certificate not renewed by a run and expiring within this many days gets `certificate.expiring`. */
  expiryWarningDays: number;
  webhooks: WebhookTargetSettings[];
  auth: AuthSettings;
  managedIdentityClientId?: string;
  appInsightsConnectionString?: string;
  functionAppName?: string;
  disableChallengeResourceVerification: boolean;
}

/**
 * Variables App Service and Azure Functions (Consumption, Flex, Premium, Dedicated) set on every instance; the local
 * host and Core Tools set none of them (Core Tools sets WEBSITE_HOSTNAME only, so it is not in the list).
 */
export const AZURE_HOST_VARIABLES = ["WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME", "WEBSITE_OWNER_NAME", "WEBSITE_RESOURCE_GROUP"] as const;

/** Directory URLs of well-known ACME CAs, by short name. */
export const ACME_DIRECTORIES: Readonly<Record<string, string>> = {
  letsencrypt: "https://acme-v02.api.letsencrypt.org/directory",
  "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
  zerossl: "https://acme.zerossl.com/v2/DV90",
  google: "https://dv.acme-v02.api.pki.goog/directory",
  "google-staging": "https://dv.acme-v02.test-api.pki.goog/directory",
  buypass: "https://api.buypass.com/acme/directory",
};

export const APP_ROLES = ["KvAcme.Read", "KvAcme.Issue", "KvAcme.Revoke"] as const;

/** A parser failure: the message says what is wrong with the value. */
class Invalid extends Error {}

type Parser<T> = (raw: string) => T;

interface AliasSpec<T> {
  name: string;
  /** A different parser for values in the alias's own format. */
  parse?: Parser<T>;
  note?: string;
}

/** One setting: where it is read from, how it is parsed, and how it is documented. */
export interface SettingDescriptor<T = unknown> {
  /** Key under the KvAcme prefix (env `KvAcme__<key>`, `__` for nesting); undefined for platform-only settings. */
  key?: string;
  /** Other accepted names, in order of precedence after the kv-acme name. */
  aliases: (string | AliasSpec<T>)[];
  /** Path in the Settings object, for the docs. */
  field: string;
  type: string;
  default?: string;
  required?: boolean;
  doc: string;
  parse: Parser<T>;
}

function setting<T>(d: SettingDescriptor<T>): SettingDescriptor<T> {
  return d;
}

// ---------- value parsers ----------

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * How a URL appears in an error message: scheme, host and port only. Webhook URLs carry their secret in the path or
 * query (Slack, Teams), and errors end up in logs, so a message never repeats more than the origin.
 */
export function describeUrlForError(raw: string): string {
  try {
    const url = new URL(raw);
    const rest = `${url.pathname}${url.search}${url.hash}`;
    return rest === "/" || rest === "" ? `"${url.origin}"` : `"${url.origin}/…"`;
  } catch {
    return `a value of ${raw.length} characters`;
  }
}

/** An absolute https URL; plain http only for 127.0.0.1, [::1] and localhost (the local stack). */
export function parseServiceUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Invalid(`${describeUrlForError(raw)} is not an absolute URL`);
  }
  const shown = describeUrlForError(raw);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOCAL_HOSTS.has(url.hostname))) {
    throw new Invalid(`${shown} must use https (plain http is allowed only for 127.0.0.1, [::1] and localhost)`);
  }
  if (url.username || url.password) throw new Invalid(`"${url.origin}" must not carry credentials in the URL`);
  if (url.hash) throw new Invalid(`${shown} must not have a #fragment`);
  return url;
}

function originUrl(raw: string): string {
  const url = parseServiceUrl(raw);
  if (url.pathname !== "/" || url.search) throw new Invalid(`"${raw}" must be a base URL without a path (like ${url.origin})`);
  return url.origin;
}

function parseDirectory(raw: string): string {
  const short = ACME_DIRECTORIES[raw.toLowerCase()];
  if (short) return short;
  if (!raw.includes("://")) {
    throw new Invalid(`"${raw}" is neither a directory URL nor a known CA (${Object.keys(ACME_DIRECTORIES).join(", ")})`);
  }
  return parseServiceUrl(raw).href;
}

/**
 * The leading tool's Endpoint is a base URL ("https://acme-v02.api.letsencrypt.org/") to which it appends
 * "directory"; known CAs map to their directory, other values ending in "/" get "directory" appended.
 */
function parseAcmebotEndpoint(raw: string): string {
  const short = ACME_DIRECTORIES[raw.toLowerCase()];
  if (short) return short;
  const href = parseServiceUrl(raw).href;
  const known = Object.values(ACME_DIRECTORIES).find((d) => href === d || href === `${d}/` || `${href}directory` === d);
  if (known) return known;
  return href.endsWith("/") ? `${href}directory` : href;
}

function list(raw: string): string[] {
  return raw
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

const EMAIL = /^[^\s@,;:<>()[\]"]+@[^\s@,;:<>()[\]"]+\.[^\s@,;:<>()[\]".]+$/;

function parseContacts(raw: string): string[] {
  const out: string[] = [];
  const bad: string[] = [];
  for (const item of list(raw)) {
    const email = item.replace(/^mailto:/i, "");
    if (EMAIL.test(email)) out.push(`mailto:${email}`);
    else bad.push(item);
  }
  if (bad.length > 0) throw new Invalid(`not an email address: ${bad.map((b) => `"${b}"`).join(", ")}`);
  return [...new Set(out)];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseGuid(raw: string): string {
  if (!GUID.test(raw)) throw new Invalid(`"${raw}" is not a GUID`);
  return raw.toLowerCase();
}

function parseGuidList(raw: string): string[] {
  const items = list(raw);
  if (items.length === 0) throw new Invalid("needs at least one subscription id");
  const bad = items.filter((i) => !GUID.test(i));
  if (bad.length > 0) throw new Invalid(`not a subscription id (GUID): ${bad.map((b) => `"${b}"`).join(", ")}`);
  return [...new Set(items.map((i) => i.toLowerCase()))];
}

const RESOURCE_GROUP = /^[-\w.()]{1,90}$/u;

function parseResourceGroups(raw: string): string[] {
  const items = list(raw);
  const bad = items.filter((i) => !RESOURCE_GROUP.test(i) || i.endsWith("."));
  if (bad.length > 0) throw new Invalid(`not a resource group name: ${bad.map((b) => `"${b}"`).join(", ")}`);
  return items;
}

function parseResolvers(raw: string): string[] {
  const items = list(raw);
  if (items.length === 0) throw new Invalid("needs at least one server");
  return items.map((item) => {
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
    const plain = /^([^:]+)(?::(\d+))?$/.exec(item);
    const host = v6?.[1] ?? (isIP(item) === 6 ? item : plain?.[1]);
    const port = v6 ? v6[2] : isIP(item) === 6 ? undefined : plain?.[2];
    if (host === undefined || isIP(host) === 0)
      throw new Invalid(`"${item}" is not an IP address with an optional port (like 127.0.0.1:5353)`);
    const p = port === undefined ? 53 : Number(port);
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Invalid(`"${item}" has a port outside 1–65535`);
    return isIP(host) === 6 ? `[${host}]:${p}` : `${host}:${p}`;
  });
}

function intIn(min: number, max: number): Parser<number> {
  return (raw) => {
    if (!/^[+]?\d+$/.test(raw)) throw new Invalid(`"${raw}" is not a whole number`);
    const n = Number(raw);
    if (n < min || n > max) throw new Invalid(`${n} is outside ${min}–${max}`);
    return n;
  };
}

function parseBool(raw: string): boolean {
  const v = raw.toLowerCase();
  if (v === "true" || v === "1" || v === "yes") return true;
  if (v === "false" || v === "0" || v === "no") return false;
  throw new Invalid(`"${raw}" is not a boolean (true or false)`);
}

function parseSchedule(raw: string): string {
  const fields = raw.split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 6) {
    throw new Invalid(
      `"${raw}" has ${fields.length} fields; NCRONTAB needs 6 (second minute hour day month day-of-week), like "0 0 3 * * *"`,
    );
  }
  try {
    new Cron(fields.join(" "), { paused: true });
  } catch (err) {
    throw new Invalid(`"${raw}" is not a valid schedule: ${err instanceof Error ? err.message : String(err)}`);
  }
  return fields.join(" ");
}

function parseHmacKey(raw: string): string {
  if (!/^[A-Za-z0-9_\-+/]+={0,2}$/.test(raw)) throw new Invalid("is not base64url");
  const normalized = raw.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  if (normalized.length % 4 === 1) throw new Invalid("is not valid base64url (wrong length)");
  return normalized;
}

function parseEabAlgorithm(raw: string): EabAlgorithm {
  const v = raw.toUpperCase();
  if (v === "HS256" || v === "HS384" || v === "HS512") return v;
  throw new Invalid(`"${raw}" is not one of HS256, HS384, HS512`);
}

function parseAuthMode(raw: string): AuthMode {
  const modes: AuthMode[] = ["appServiceAuth", "functionKeys", "local", "unconfigured"];
  const found = modes.find((m) => m.toLowerCase() === raw.toLowerCase());
  if (!found) throw new Invalid(`"${raw}" is not one of ${modes.join(", ")}`);
  return found;
}

function parseRoles(raw: string): string[] {
  return list(raw).map((r) => {
    const found = APP_ROLES.find((a) => a.toLowerCase() === r.toLowerCase());
    if (!found) throw new Invalid(`"${r}" is not an app role (${APP_ROLES.join(", ")})`);
    return found;
  });
}

function parseNonEmpty(raw: string): string {
  return raw;
}

function parseConnectionString(raw: string): string {
  if (!/(^|;)\s*InstrumentationKey=[^;]+/i.test(raw))
    throw new Invalid("is not an Application Insights connection string (no InstrumentationKey=)");
  return raw;
}

/** Webhook payload format sniffed from the URL's host, like the leading tool. */
export function sniffWebhookFormat(url: string): WebhookFormat {
  const host = new URL(url).hostname.toLowerCase();
  if (host === "hooks.slack.com") return "slack";
  const teams = ["webhook.office.com", "logic.azure.com", "powerplatform.com", "powerautomate.com"];
  if (teams.some((t) => host === t || host.endsWith(`.${t}`))) return "teams";
  return "generic";
}

function parseWebhookUrl(raw: string): string {
  return parseServiceUrl(raw).href;
}

function parseWebhookFormat(raw: string): WebhookFormat {
  const v = raw.toLowerCase();
  if (v === "generic" || v === "slack" || v === "teams") return v;
  throw new Invalid(`"${raw}" is not one of generic, slack, teams`);
}

const EVENT_FILTER = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

function parseEvents(raw: string): string[] {
  const items = list(raw);
  if (items.length === 0) throw new Invalid("needs at least one event type or *");
  const bad = items.filter((i) => !EVENT_FILTER.test(i));
  if (bad.length > 0)
    throw new Invalid(`not an event type or pattern: ${bad.map((b) => `"${b}"`).join(", ")} (like certificate.renewed, certificate.*, *)`);
  return items;
}

function parseSigningSecret(raw: string): string {
  const problem = signingSecretProblem(raw);
  if (problem) throw new Invalid(problem);
  return raw;
}

function parseSecretName(raw: string): string {
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(raw)) throw new Invalid(`"${raw}" is not a Key Vault secret name (letters, digits, hyphens; ≤ 127)`);
  return raw;
}

// ---------- the descriptor table ----------

const LE = ACME_DIRECTORIES.letsencrypt as string;

/** Every scalar setting, in documentation order. */
export const SETTINGS = {
  acmeDirectoryUrl: setting({
    key: "AcmeDirectoryUrl",
    aliases: [
      { name: "Acmebot__Endpoint", parse: parseAcmebotEndpoint, note: "base URL; `directory` is appended as the leading tool does" },
    ],
    field: "acmeDirectoryUrl",
    type: "URL or CA short name",
    default: LE,
    doc: `ACME directory URL (RFC 8555 §7.1.1), or one of ${Object.keys(ACME_DIRECTORIES)
      .map((k) => `\`${k}\``)
      .join(", ")}.`,
    parse: parseDirectory,
  }),
  contacts: setting({
    key: "Contacts",
    aliases: ["Acmebot__Contacts"],
    field: "contacts",
    type: "email list",
    default: "(none)",
    doc: "Email addresses for the ACME account (comma separated); stored as `mailto:` URIs.",
    parse: parseContacts,
  }),
  eabKeyId: setting({
    key: "Eab__KeyId",
    aliases: ["KvAcme__ExternalAccountBinding__KeyId", "Acmebot__ExternalAccountBinding__KeyId"],
    field: "eab.keyId",
    type: "string",
    doc: "External Account Binding key id (RFC 8555 §7.3.4), from the CA. Set together with the HMAC key.",
    parse: parseNonEmpty,
  }),
  eabHmacKey: setting({
    key: "Eab__HmacKey",
    aliases: ["KvAcme__ExternalAccountBinding__HmacKey", "Acmebot__ExternalAccountBinding__HmacKey"],
    field: "eab.hmacKey",
    type: "base64url",
    doc: "External Account Binding HMAC key, base64url as the CA hands it out. Secret.",
    parse: parseHmacKey,
  }),
  eabAlgorithm: setting({
    key: "Eab__Algorithm",
    aliases: ["KvAcme__ExternalAccountBinding__Algorithm", "Acmebot__ExternalAccountBinding__Algorithm"],
    field: "eab.algorithm",
    type: "HS256 | HS384 | HS512",
    default: "HS256",
    doc: "MAC algorithm of the External Account Binding.",
    parse: parseEabAlgorithm,
  }),
  vaultUrl: setting({
    key: "VaultUrl",
    aliases: ["Acmebot__VaultBaseUrl"],
    field: "vaultUrl",
    type: "URL",
    required: true,
    doc: "Key Vault that holds the certificates, like `https://myvault.vault.azure.net`.",
    parse: originUrl,
  }),
  secretsVaultUrl: setting({
    key: "SecretsVaultUrl",
    aliases: [],
    field: "secretsVaultUrl",
    type: "URL",
    default: "(VaultUrl)",
    doc: "Key Vault that holds the app's own secrets: ACME account keys and webhook signing secrets (SecretName). The template puts them in a vault of their own that no VM agent has a role on (docs/security.md).",
    parse: originUrl,
  }),
  dnsProvider: setting({
    key: "DnsProvider",
    aliases: [],
    field: "dnsProvider",
    type: "provider name",
    default: "azure",
    doc: "DNS provider from the provider registry (src/dns/registry.ts) that writes the challenge records.",
    parse: (raw) => {
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/i.test(raw)) throw new Invalid(`"${raw}" is not a provider name (letters, digits, hyphens)`);
      return raw.toLowerCase();
    },
  }),
  dnsSubscriptionIds: setting({
    key: "DnsSubscriptionIds",
    aliases: ["Acmebot__AzureDns__SubscriptionId"],
    field: "dnsSubscriptionIds",
    type: "GUID list",
    required: true,
    doc: "Azure subscriptions whose DNS zones kv-acme may write (comma separated).",
    parse: parseGuidList,
  }),
  dnsResourceGroups: setting({
    key: "DnsResourceGroups",
    aliases: [],
    field: "dnsResourceGroups",
    type: "name list",
    default: "(all)",
    doc: "Only use DNS zones in these resource groups (comma separated); use it when two zones share a name.",
    parse: parseResourceGroups,
  }),
  armEndpoint: setting({
    key: "ArmEndpoint",
    aliases: [],
    field: "armEndpoint",
    type: "URL",
    default: "https://management.azure.com",
    doc: "Azure Resource Manager endpoint (sovereign clouds, the local stack).",
    parse: originUrl,
  }),
  dnsResolver: setting({
    key: "DnsResolver",
    aliases: [],
    field: "dnsResolver",
    type: "host:port list",
    default: "(the zone's name servers)",
    doc: "DNS servers (IP[:port], comma separated) asked during the propagation check instead of the zone's authoritative servers (local stack, split horizon).",
    parse: parseResolvers,
  }),
  propagationTimeoutSeconds: setting({
    key: "PropagationTimeoutSeconds",
    aliases: [],
    field: "propagationTimeoutSeconds",
    type: "integer 1–3600",
    default: "300",
    doc: "How long to wait for TXT records to appear on every name server before giving up.",
    parse: intIn(1, 3600),
  }),
  acmeTimeoutSeconds: setting({
    key: "AcmeTimeoutSeconds",
    aliases: [],
    field: "acmeTimeoutSeconds",
    type: "integer 10–3600",
    default: "120",
    doc: "How long to wait for the CA to validate challenges and issue the certificate.",
    parse: intIn(10, 3600),
  }),
  renewBeforeExpiryDays: setting({
    key: "RenewBeforeExpiryDays",
    aliases: ["Acmebot__RenewBeforeExpiry"],
    field: "renewBeforeExpiryDays",
    type: "integer 0–365",
    default: "30",
    doc: "Renew this many days before expiry (only for certificates living at least 1.5× as long; see src/renewal/decide.ts).",
    parse: intIn(0, 365),
  }),
  renewAtPercentOfLifetime: setting({
    key: "RenewAtPercentOfLifetime",
    aliases: [],
    field: "renewAtPercentOfLifetime",
    type: "integer 1–99",
    default: "66",
    doc: "Renew once this percentage of the lifetime has elapsed, whichever comes first (short-lived certificates).",
    parse: intIn(1, 99),
  }),
  renewalSchedule: setting({
    key: "RenewalSchedule",
    aliases: [],
    field: "renewalSchedule",
    type: "NCRONTAB (6 fields)",
    default: "0 0 3 * * *",
    doc: "When the renewal scan runs (second minute hour day month day-of-week, UTC unless WEBSITE_TIME_ZONE is set).",
    parse: parseSchedule,
  }),
  maxConcurrentRenewals: setting({
    key: "MaxConcurrentRenewals",
    aliases: [],
    field: "maxConcurrentRenewals",
    type: "integer 1–64",
    default: "8",
    doc: "Renewals in flight at once.",
    parse: intIn(1, 64),
  }),
  expiryWarningDays: setting({
    key: "ExpiryWarningDays",
    aliases: [],
    field: "expiryWarningDays",
    type: "integer 0–365",
    default: "7",
    doc: "A renewal run sends `certificate.expiring` for every due certificate it did not renew (failed, skipped or backing off) that expires within this many days.",
    parse: intIn(0, 365),
  }),
  legacyWebhook: setting<WebhookTargetSettings>({
    aliases: ["Acmebot__Webhook"],
    field: "webhooks[]",
    type: "URL",
    default: "(none)",
    doc: "The leading tool's single webhook: all events, format sniffed from the host (hooks.slack.com: slack; *.webhook.office.com, *.logic.azure.com, *.powerplatform.com, *.powerautomate.com: teams; else generic). Added after the indexed webhooks.",
    parse: (raw) => {
      const url = parseWebhookUrl(raw);
      return { url, format: sniffWebhookFormat(url), events: ["*"] };
    },
  }),
  authMode: setting({
    key: "Auth__Mode",
    aliases: [],
    field: "auth.mode",
    type: "appServiceAuth | functionKeys | local | unconfigured",
    default: "(appServiceAuth when WEBSITE_AUTH_ENABLED=true, else unconfigured)",
    doc: "How the HTTP API authenticates callers; unconfigured refuses every call (fail closed). `local` is for the local host only.",
    parse: parseAuthMode,
  }),
  websiteAuthEnabled: setting({
    aliases: ["WEBSITE_AUTH_ENABLED"],
    field: "auth.mode",
    type: "boolean",
    default: "false",
    doc: "Set by App Service when App Service Authentication is on; selects appServiceAuth unless KvAcme__Auth__Mode says otherwise.",
    parse: parseBool,
  }),
  authLocalRoles: setting({
    key: "Auth__LocalRoles",
    aliases: [],
    field: "auth.localRoles",
    type: "role list",
    default: "(all roles)",
    doc: `Roles of the local principal in mode local (${APP_ROLES.join(", ")}).`,
    parse: parseRoles,
  }),
  authKeyRoles: setting({
    key: "Auth__KeyRoles",
    aliases: [],
    field: "auth.keyRoles",
    type: "role list",
    default: "KvAcme.Read, KvAcme.Issue",
    doc: "Roles granted to callers authenticated with a function key.",
    parse: parseRoles,
  }),
  azureHostVariable: setting({
    aliases: AZURE_HOST_VARIABLES.map((name) => ({ name, parse: () => name })),
    field: "auth.azureHostVariable",
    type: "string",
    default: "(unset off Azure)",
    doc: "Set by App Service / Azure Functions on every instance; when any is present, auth mode local is refused (fail closed).",
    parse: parseNonEmpty,
  }),
  managedIdentityClientId: setting({
    key: "ManagedIdentityClientId",
    aliases: ["AZURE_CLIENT_ID"],
    field: "managedIdentityClientId",
    type: "GUID",
    default: "(system-assigned identity)",
    doc: "Client id of a user-assigned managed identity.",
    parse: parseGuid,
  }),
  appInsightsConnectionString: setting({
    aliases: ["APPLICATIONINSIGHTS_CONNECTION_STRING"],
    field: "appInsightsConnectionString",
    type: "connection string",
    default: "(telemetry off)",
    doc: "Application Insights connection string. Secret-ish: never logged.",
    parse: parseConnectionString,
  }),
  functionAppName: setting({
    aliases: ["WEBSITE_SITE_NAME"],
    field: "functionAppName",
    type: "string",
    default: "(unset locally)",
    doc: "Name of the Function App (set by App Service); shown in notifications.",
    parse: parseNonEmpty,
  }),
  disableChallengeResourceVerification: setting({
    key: "DisableChallengeResourceVerification",
    aliases: [],
    field: "disableChallengeResourceVerification",
    type: "boolean",
    default: "false",
    doc: "Passed to the Key Vault clients: skip checking that the authentication challenge's resource matches the vault's host (for the local Key Vault stand-in, which is not under vault.azure.net). Leave off in Azure.",
    parse: parseBool,
  }),
} as const;

/** Fields of one indexed webhook, `KvAcme__Webhooks__<n>__<Field>` (n = 0, 1, ...). */
export const WEBHOOK_SETTINGS = {
  url: setting({
    key: "Webhooks__<n>__Url",
    aliases: [],
    field: "webhooks[n].url",
    type: "URL",
    required: true,
    doc: "Where to POST events (https).",
    parse: parseWebhookUrl,
  }),
  format: setting({
    key: "Webhooks__<n>__Format",
    aliases: [],
    field: "webhooks[n].format",
    type: "generic | slack | teams",
    default: "(sniffed from the URL host)",
    doc: "Payload shape: CloudEvents JSON, Slack, or a Teams Adaptive Card.",
    parse: parseWebhookFormat,
  }),
  events: setting({
    key: "Webhooks__<n>__Events",
    aliases: [],
    field: "webhooks[n].events",
    type: "event list",
    default: "*",
    doc: "Event types to send (comma separated); `*` = all, `certificate.*` = a prefix.",
    parse: parseEvents,
  }),
  secret: setting({
    key: "Webhooks__<n>__Secret",
    aliases: [],
    field: "webhooks[n].secret",
    type: "whsec_ secret",
    doc: "Standard Webhooks signing secret of generic payloads: `whsec_` + base64 of 24-64 random bytes (e.g. `whsec_` + the output of `openssl rand -base64 32`). Secret.",
    parse: parseSigningSecret,
  }),
  secretName: setting({
    key: "Webhooks__<n>__SecretName",
    aliases: [],
    field: "webhooks[n].secretName",
    type: "Key Vault secret name",
    doc: "Name of a secret in the vault holding the signing secret (instead of Secret).",
    parse: parseSecretName,
  }),
  secondarySecret: setting({
    key: "Webhooks__<n>__SecondarySecret",
    aliases: [],
    field: "webhooks[n].secondarySecret",
    type: "whsec_ secret",
    doc: "A second signing secret: each delivery carries one signature per secret, so receivers can move from one to the other (rotation, docs/webhooks.md). Secret.",
    parse: parseSigningSecret,
  }),
  secondarySecretName: setting({
    key: "Webhooks__<n>__SecondarySecretName",
    aliases: [],
    field: "webhooks[n].secondarySecretName",
    type: "Key Vault secret name",
    doc: "Name of a secret in the vault holding the second signing secret (instead of SecondarySecret).",
    parse: parseSecretName,
  }),
  legacySecret: setting({
    key: "Webhooks__<n>__LegacySecret",
    aliases: [],
    field: "webhooks[n].legacySecret",
    type: "string",
    doc: "Transition only: the secret of kv-acme's first scheme (`v1=<hex>` over `<timestamp>.<body>`); its signature is added to the header next to the Standard Webhooks ones, for receivers not yet moved. Needs Secret or SecretName. Secret.",
    parse: parseNonEmpty,
  }),
  legacySecretName: setting({
    key: "Webhooks__<n>__LegacySecretName",
    aliases: [],
    field: "webhooks[n].legacySecretName",
    type: "Key Vault secret name",
    doc: "Name of a secret in the vault holding the legacy secret (instead of LegacySecret).",
    parse: parseSecretName,
  }),
} as const;

// ---------- loading ----------

const PREFIX = "KvAcme";

function normalizeName(name: string): string {
  return name.replace(/:/g, "__").toLowerCase();
}

function envNamesOf(d: SettingDescriptor<unknown>, index?: number): { name: string; parse?: Parser<unknown> }[] {
  const out: { name: string; parse?: Parser<unknown> }[] = [];
  if (d.key !== undefined) out.push({ name: `${PREFIX}__${index === undefined ? d.key : d.key.replace("<n>", String(index))}` });
  for (const a of d.aliases) out.push(typeof a === "string" ? { name: a } : { name: a.name, parse: a.parse });
  return out;
}

interface EnvIndex {
  values: Map<string, { name: string; value: string }>;
  problems: FieldProblem[];
}

function indexEnv(env: Record<string, string | undefined>): EnvIndex {
  const values = new Map<string, { name: string; value: string }>();
  const problems: FieldProblem[] = [];
  for (const name of Object.keys(env).sort()) {
    const value = env[name]?.trim();
    if (value === undefined || value === "") continue;
    const key = normalizeName(name);
    const seen = values.get(key);
    if (seen && seen.value !== value && /^(kvacme|acmebot)__/.test(key)) {
      problems.push({ field: name, message: `conflicts with ${seen.name}, which is set to a different value` });
      continue;
    }
    if (!seen) values.set(key, { name, value });
  }
  return { values, problems };
}

function read<T>(idx: EnvIndex, d: SettingDescriptor<T>, index?: number): T | undefined {
  for (const candidate of envNamesOf(d as SettingDescriptor<unknown>, index)) {
    const hit = idx.values.get(normalizeName(candidate.name));
    if (!hit) continue;
    try {
      return (candidate.parse ?? d.parse)(hit.value) as T;
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      idx.problems.push({ field: hit.name, message: err.message });
      return undefined;
    }
  }
  if (d.required) {
    const names = envNamesOf(d as SettingDescriptor<unknown>, index).map((c) => c.name);
    idx.problems.push({
      field: names[0] ?? d.field,
      message: `is required${names.length > 1 ? ` (or ${names.slice(1).join(", ")})` : ""}: ${d.doc}`,
    });
  }
  return undefined;
}

/** Whether any name of the setting has a (non-empty) value, valid or not. */
function isSet(idx: EnvIndex, d: SettingDescriptor<unknown>): boolean {
  return envNamesOf(d).some((c) => idx.values.has(normalizeName(c.name)));
}

function webhookIndices(idx: EnvIndex): number[] {
  const re = /^kvacme__webhooks__(\d+)__/;
  const found = new Set<number>();
  for (const key of idx.values.keys()) {
    const m = re.exec(key);
    if (m) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

/** Each secret of a target, given inline or by Key Vault name (one of the two). */
const SECRET_PAIRS = [
  ["secret", "secretName"],
  ["secondarySecret", "secondarySecretName"],
  ["legacySecret", "legacySecretName"],
] as const;

function readWebhooks(idx: EnvIndex): WebhookTargetSettings[] {
  const out: WebhookTargetSettings[] = [];
  for (const n of webhookIndices(idx)) {
    const url = read(idx, WEBHOOK_SETTINGS.url, n);
    const format = read(idx, WEBHOOK_SETTINGS.format, n);
    const events = read(idx, WEBHOOK_SETTINGS.events, n);
    if (url === undefined) continue;
    const target: WebhookTargetSettings = { url, format: format ?? sniffWebhookFormat(url), events: events ?? ["*"] };
    for (const [value, name] of SECRET_PAIRS) {
      const v = read(idx, WEBHOOK_SETTINGS[value], n);
      const vName = read(idx, WEBHOOK_SETTINGS[name], n);
      const key = `${value[0].toUpperCase()}${value.slice(1)}`;
      if (v !== undefined && vName !== undefined)
        idx.problems.push({ field: `${PREFIX}__Webhooks__${n}__${key}`, message: `set either ${key} or ${key}Name, not both` });
      if (v !== undefined) target[value] = v;
      if (vName !== undefined) target[name] = vName;
    }
    const signed = target.secret !== undefined || target.secretName !== undefined;
    const alongside = [target.secondarySecret, target.secondarySecretName, target.legacySecret, target.legacySecretName];
    if (!signed && alongside.some((v) => v !== undefined))
      idx.problems.push({
        field: `${PREFIX}__Webhooks__${n}__Secret`,
        message: "SecondarySecret and LegacySecret sign alongside Secret: set Secret or SecretName",
      });
    out.push(target);
  }
  const legacy = read(idx, SETTINGS.legacyWebhook);
  if (legacy && !out.some((w) => w.url === legacy.url)) out.push(legacy);
  return out;
}

/**
 * Reads and validates every setting from an environment record (process.env at the edge, or a test's record).
 * Throws one ConfigurationError listing every problem (details.problems: {field, message}[]).
 */
export function loadSettings(env: Record<string, string | undefined>): Settings {
  const idx = indexEnv(env);
  const S = SETTINGS;
  const eabKeyId = read(idx, S.eabKeyId);
  const eabHmacKey = read(idx, S.eabHmacKey);
  const eabAlgorithm = read(idx, S.eabAlgorithm);
  const authMode = read(idx, S.authMode);
  const websiteAuth = read(idx, S.websiteAuthEnabled);
  const localRoles = read(idx, S.authLocalRoles);
  const keyRoles = read(idx, S.authKeyRoles);
  const azureHostVariable = read(idx, S.azureHostVariable);
  const managedIdentityClientId = read(idx, S.managedIdentityClientId);
  const appInsightsConnectionString = read(idx, S.appInsightsConnectionString);
  const functionAppName = read(idx, S.functionAppName);
  const dnsResolver = read(idx, S.dnsResolver);
  const vaultUrl = read(idx, S.vaultUrl) ?? "";

  const settings: Settings = {
    acmeDirectoryUrl: read(idx, S.acmeDirectoryUrl) ?? LE,
    contacts: read(idx, S.contacts) ?? [],
    vaultUrl,
    secretsVaultUrl: read(idx, S.secretsVaultUrl) ?? vaultUrl,
    dnsProvider: read(idx, S.dnsProvider) ?? "azure",
    dnsSubscriptionIds: read(idx, S.dnsSubscriptionIds) ?? [],
    dnsResourceGroups: read(idx, S.dnsResourceGroups) ?? [],
    armEndpoint: read(idx, S.armEndpoint) ?? "https://management.azure.com",
    propagationTimeoutSeconds: read(idx, S.propagationTimeoutSeconds) ?? 300,
    acmeTimeoutSeconds: read(idx, S.acmeTimeoutSeconds) ?? 120,
    renewBeforeExpiryDays: read(idx, S.renewBeforeExpiryDays) ?? 30,
    renewAtPercentOfLifetime: read(idx, S.renewAtPercentOfLifetime) ?? 66,
    renewalSchedule: read(idx, S.renewalSchedule) ?? "0 0 3 * * *",
    maxConcurrentRenewals: read(idx, S.maxConcurrentRenewals) ?? 8,
    expiryWarningDays: read(idx, S.expiryWarningDays) ?? 7,
    webhooks: readWebhooks(idx),
    auth: { mode: authMode ?? (websiteAuth === true ? "appServiceAuth" : "unconfigured"), platformAuthEnabled: websiteAuth === true },
    disableChallengeResourceVerification: read(idx, S.disableChallengeResourceVerification) ?? false,
  };
  if (eabKeyId !== undefined && eabHmacKey !== undefined) {
    settings.eab = { keyId: eabKeyId, hmacKey: eabHmacKey, algorithm: eabAlgorithm ?? "HS256" };
  } else if (isSet(idx, S.eabKeyId) !== isSet(idx, S.eabHmacKey)) {
    const missing = isSet(idx, S.eabKeyId) ? "HmacKey" : "KeyId";
    idx.problems.push({ field: `${PREFIX}__Eab__${missing}`, message: "External Account Binding needs both the key id and the HMAC key" });
  }
  if (localRoles !== undefined) settings.auth.localRoles = localRoles;
  if (keyRoles !== undefined) settings.auth.keyRoles = keyRoles;
  if (azureHostVariable !== undefined) settings.auth.azureHostVariable = azureHostVariable;
  if (dnsResolver !== undefined) settings.dnsResolver = dnsResolver;
  if (managedIdentityClientId !== undefined) settings.managedIdentityClientId = managedIdentityClientId;
  if (appInsightsConnectionString !== undefined) settings.appInsightsConnectionString = appInsightsConnectionString;
  if (functionAppName !== undefined) settings.functionAppName = functionAppName;

  const problems = [...idx.problems];
  if (problems.length > 0) {
    throw new ConfigurationError(`Invalid settings: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`, { problems });
  }
  return settings;
}

/** A copy safe to log or show: secrets and token-bearing webhook URLs reduced to what identifies them. */
export function redactSettings(settings: Settings): Record<string, unknown> {
  return {
    ...settings,
    eab: settings.eab ? { ...settings.eab, hmacKey: "(redacted)" } : undefined,
    webhooks: settings.webhooks.map((w) => ({
      url: `${new URL(w.url).origin}/…`,
      format: w.format,
      events: w.events,
      ...Object.fromEntries(
        SECRET_PAIRS.flatMap(([value, name]) => [
          ...(w[value] !== undefined ? [[value, "(redacted)"]] : []),
          ...(w[name] !== undefined ? [[name, w[name]]] : []),
        ]),
      ),
    })),
    appInsightsConnectionString: settings.appInsightsConnectionString ? "(set)" : undefined,
  };
}

// ---------- documentation ----------

function cell(s: string): string {
  return s.replace(/\|/g, "\\|");
}

function row(d: SettingDescriptor<unknown>): string {
  const names = envNamesOf(d).map((c) => c.name);
  const primary = names[0] ?? d.field;
  const aliasNotes = d.aliases.map((a) => (typeof a === "string" ? `\`${a}\`` : `\`${a.name}\`${a.note ? ` (${a.note})` : ""}`));
  const also = d.key !== undefined ? aliasNotes : aliasNotes.slice(1);
  const dflt = d.required
    ? "**required**"
    : d.default !== undefined
      ? d.default.startsWith("(")
        ? d.default
        : `\`${d.default}\``
      : "(none)";
  return `| \`${primary}\` | ${cell(also.join(", ") || "")} | \`${d.field}\` | ${cell(d.type)} | ${cell(dflt)} | ${cell(d.doc)} |`;
}

/** The Markdown of docs/settings.md, generated from the descriptor tables so the doc never drifts. */
export function renderSettingsDoc(): string {
  const header = "| Setting | Also accepted | Field | Type | Default | Description |\n|---|---|---|---|---|---|";
  const lines = [
    "# kv-acme settings",
    "",
    "<!-- Generated from src/config/settings.ts by `npx tsx src/config/write-doc.ts`; test/unit/settings.test.ts fails when it drifts. -->",
    "",
    "kv-acme reads every setting once at start-up into one validated object; an invalid or missing value stops it",
    "with one error listing every problem. Names are `KvAcme__<Key>` (Azure app settings, environment variables) or",
    "`KvAcme:<Key>`, matched case-insensitively. The leading C# tool's `Acmebot__*` names are accepted too, so its",
    "users can switch by redeploying; when both are set, the `KvAcme` name wins. Empty values count as unset.",
    "URLs must be https; plain http is accepted only for 127.0.0.1, [::1] and localhost (the local stack).",
    "",
    "## Settings",
    "",
    header,
    ...Object.values(SETTINGS).map((d) => row(d as SettingDescriptor<unknown>)),
    "",
    "## Webhooks",
    "",
    "Any number of targets, indexed from 0 in the Azure style (`KvAcme__Webhooks__0__Url`, `KvAcme__Webhooks__1__Url`, ...).",
    "",
    header,
    ...Object.values(WEBHOOK_SETTINGS).map((d) => row(d as SettingDescriptor<unknown>)),
    "",
    "## ACME directory short names",
    "",
    "| Name | Directory URL |",
    "|---|---|",
    ...Object.entries(ACME_DIRECTORIES).map(([k, v]) => `| \`${k}\` | ${v} |`),
    "",
  ];
  return lines.join("\n");
}
