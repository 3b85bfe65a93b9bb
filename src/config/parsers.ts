/**
 * Value parsers of the settings: each takes the raw (trimmed, non-empty) string and returns the typed value or throws
 * InvalidSetting with a message naming what is wrong. Shared by the core descriptors and by modules declaring their own.
 */
import { isIP } from "node:net";
import { Cron } from "croner";
import { ALL_ROLES } from "../api/auth";
import { isWebhookFormat, WEBHOOK_FORMAT_NAMES } from "../notify/formats/registry";
import { signingSecretProblem } from "../notify/signing";
import { parseBoolean } from "../shared/bool";
import { describeUrlForError } from "../shared/url";
import { InvalidSetting, type Parser } from "./descriptor";
import type { AuthMode, EabAlgorithm, WebhookFormat } from "./types";

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

/** The app roles (declared with the authorization decisions, src/api/auth.ts). */
export const APP_ROLES: readonly string[] = ALL_ROLES;

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

export { describeUrlForError } from "../shared/url";

/** An absolute https URL; plain http only for 127.0.0.1, [::1] and localhost (the local stack). */
export function parseServiceUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidSetting(`${describeUrlForError(raw)} is not an absolute URL`);
  }
  const shown = describeUrlForError(raw);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOCAL_HOSTS.has(url.hostname))) {
    throw new InvalidSetting(`${shown} must use https (plain http is allowed only for 127.0.0.1, [::1] and localhost)`);
  }
  if (url.username || url.password) throw new InvalidSetting(`"${url.origin}" must not carry credentials in the URL`);
  if (url.hash) throw new InvalidSetting(`${shown} must not have a #fragment`);
  return url;
}

export function originUrl(raw: string): string {
  const url = parseServiceUrl(raw);
  if (url.pathname !== "/" || url.search) throw new InvalidSetting(`"${raw}" must be a base URL without a path (like ${url.origin})`);
  return url.origin;
}

export function parseDirectory(raw: string): string {
  const short = ACME_DIRECTORIES[raw.toLowerCase()];
  if (short) return short;
  if (!raw.includes("://")) {
    throw new InvalidSetting(`"${raw}" is neither a directory URL nor a known CA (${Object.keys(ACME_DIRECTORIES).join(", ")})`);
  }
  return parseServiceUrl(raw).href;
}

/**
 * The leading tool's Endpoint is a base URL ("https://acme-v02.api.letsencrypt.org/") to which it appends
 * "directory"; known CAs map to their directory, other values ending in "/" get "directory" appended.
 */
export function parseAcmebotEndpoint(raw: string): string {
  const short = ACME_DIRECTORIES[raw.toLowerCase()];
  if (short) return short;
  const href = parseServiceUrl(raw).href;
  const known = Object.values(ACME_DIRECTORIES).find((d) => href === d || href === `${d}/` || `${href}directory` === d);
  if (known) return known;
  return href.endsWith("/") ? `${href}directory` : href;
}

export function splitList(raw: string): string[] {
  return raw
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

const EMAIL = /^[^\s@,;:<>()[\]"]+@[^\s@,;:<>()[\]"]+\.[^\s@,;:<>()[\]".]+$/;

export function parseContacts(raw: string): string[] {
  const out: string[] = [];
  const bad: string[] = [];
  for (const item of splitList(raw)) {
    const email = item.replace(/^mailto:/i, "");
    if (EMAIL.test(email)) out.push(`mailto:${email}`);
    else bad.push(item);
  }
  if (bad.length > 0) throw new InvalidSetting(`not an email address: ${bad.map((b) => `"${b}"`).join(", ")}`);
  return [...new Set(out)];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseGuid(raw: string): string {
  if (!GUID.test(raw)) throw new InvalidSetting(`"${raw}" is not a GUID`);
  return raw.toLowerCase();
}

export function parseGuidList(raw: string): string[] {
  const items = splitList(raw);
  if (items.length === 0) throw new InvalidSetting("needs at least one subscription id");
  const bad = items.filter((i) => !GUID.test(i));
  if (bad.length > 0) throw new InvalidSetting(`not a subscription id (GUID): ${bad.map((b) => `"${b}"`).join(", ")}`);
  return [...new Set(items.map((i) => i.toLowerCase()))];
}

const RESOURCE_GROUP = /^[-\w.()]{1,90}$/u;

export function parseResourceGroups(raw: string): string[] {
  const items = splitList(raw);
  const bad = items.filter((i) => !RESOURCE_GROUP.test(i) || i.endsWith("."));
  if (bad.length > 0) throw new InvalidSetting(`not a resource group name: ${bad.map((b) => `"${b}"`).join(", ")}`);
  return items;
}

export function parseResolvers(raw: string): string[] {
  const items = splitList(raw);
  if (items.length === 0) throw new InvalidSetting("needs at least one server");
  return items.map((item) => {
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
    const plain = /^([^:]+)(?::(\d+))?$/.exec(item);
    const host = v6?.[1] ?? (isIP(item) === 6 ? item : plain?.[1]);
    const port = v6 ? v6[2] : isIP(item) === 6 ? undefined : plain?.[2];
    if (host === undefined || isIP(host) === 0)
      throw new InvalidSetting(`"${item}" is not an IP address with an optional port (like 127.0.0.1:5353)`);
    const p = port === undefined ? 53 : Number(port);
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new InvalidSetting(`"${item}" has a port outside 1–65535`);
    return isIP(host) === 6 ? `[${host}]:${p}` : `${host}:${p}`;
  });
}

export function intIn(min: number, max: number): Parser<number> {
  return (raw) => {
    if (!/^[+]?\d+$/.test(raw)) throw new InvalidSetting(`"${raw}" is not a whole number`);
    const n = Number(raw);
    if (n < min || n > max) throw new InvalidSetting(`${n} is outside ${min}–${max}`);
    return n;
  };
}

export function parseBool(raw: string): boolean {
  const b = parseBoolean(raw, "lenient");
  if (b === undefined) throw new InvalidSetting(`"${raw}" is not a boolean (true or false)`);
  return b;
}

export function parseSchedule(raw: string): string {
  const fields = raw.split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 6) {
    throw new InvalidSetting(
      `"${raw}" has ${fields.length} fields; NCRONTAB needs 6 (second minute hour day month day-of-week), like "0 0 3 * * *"`,
    );
  }
  try {
    new Cron(fields.join(" "), { paused: true });
  } catch (err) {
    throw new InvalidSetting(`"${raw}" is not a valid schedule: ${err instanceof Error ? err.message : String(err)}`);
  }
  return fields.join(" ");
}

export function parseHmacKey(raw: string): string {
  if (!/^[A-Za-z0-9_\-+/]+={0,2}$/.test(raw)) throw new InvalidSetting("is not base64url");
  const normalized = raw.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  if (normalized.length % 4 === 1) throw new InvalidSetting("is not valid base64url (wrong length)");
  return normalized;
}

export function parseEabAlgorithm(raw: string): EabAlgorithm {
  const v = raw.toUpperCase();
  if (v === "HS256" || v === "HS384" || v === "HS512") return v;
  throw new InvalidSetting(`"${raw}" is not one of HS256, HS384, HS512`);
}

export function parseAuthMode(raw: string): AuthMode {
  const modes: AuthMode[] = ["appServiceAuth", "functionKeys", "local", "unconfigured"];
  const found = modes.find((m) => m.toLowerCase() === raw.toLowerCase());
  if (!found) throw new InvalidSetting(`"${raw}" is not one of ${modes.join(", ")}`);
  return found;
}

export function parseRoles(raw: string): string[] {
  return splitList(raw).map((r) => {
    const found = APP_ROLES.find((a) => a.toLowerCase() === r.toLowerCase());
    if (!found) throw new InvalidSetting(`"${r}" is not an app role (${APP_ROLES.join(", ")})`);
    return found;
  });
}

export function parseNonEmpty(raw: string): string {
  return raw;
}

export function parseConnectionString(raw: string): string {
  if (!/(^|;)\s*InstrumentationKey=[^;]+/i.test(raw))
    throw new InvalidSetting("is not an Application Insights connection string (no InstrumentationKey=)");
  return raw;
}

export { sniffWebhookFormat } from "../notify/formats/registry";

export function parseWebhookUrl(raw: string): string {
  return parseServiceUrl(raw).href;
}

export function parseWebhookFormat(raw: string): WebhookFormat {
  const v = raw.toLowerCase();
  if (isWebhookFormat(v)) return v;
  throw new InvalidSetting(`"${raw}" is not one of ${WEBHOOK_FORMAT_NAMES.join(", ")}`);
}

const EVENT_FILTER = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

export function parseEvents(raw: string): string[] {
  const items = splitList(raw);
  if (items.length === 0) throw new InvalidSetting("needs at least one event type or *");
  const bad = items.filter((i) => !EVENT_FILTER.test(i));
  if (bad.length > 0)
    throw new InvalidSetting(
      `not an event type or pattern: ${bad.map((b) => `"${b}"`).join(", ")} (like certificate.renewed, certificate.*, *)`,
    );
  return items;
}

export function parseSigningSecret(raw: string): string {
  const problem = signingSecretProblem(raw);
  if (problem) throw new InvalidSetting(problem);
  return raw;
}

export function parseSecretName(raw: string): string {
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(raw))
    throw new InvalidSetting(`"${raw}" is not a Key Vault secret name (letters, digits, hyphens; ≤ 127)`);
  return raw;
}
