/**
 * The tags the leading C# tool (Acmebot) writes on the certificates it manages, read so its users can switch to
 * kv-acme without re-issuing:
 *
 *   v4 (shibayan/keyvault-acmebot 4.x):  Issuer=Acmebot, Endpoint=<ACME host>, DnsProvider=<name>, DnsAlias=<name>
 *   v5 (polymind-inc/acmebot 5.x):       Acmebot={"endpoint":…,"dnsProvider":…,"dnsAlias":…,"certificateId":…}
 *
 * v5 writes only the JSON tag and still reads the v4 tags (a certificate v5 has not renewed yet keeps them), so a
 * certificate is Acmebot's when it has an `Acmebot` tag or `Issuer=Acmebot`; the JSON tag wins when both are present
 * and parse. Tag keys are matched case-insensitively, as Key Vault treats them.
 */

export const ACMEBOT_TAG_ISSUER = "Issuer";
export const ACMEBOT_TAG_ENDPOINT = "Endpoint";
export const ACMEBOT_TAG_DNS_PROVIDER = "DnsProvider";
export const ACMEBOT_TAG_DNS_ALIAS = "DnsAlias";
/** v5's one tag, a JSON object. */
export const ACMEBOT_TAG_JSON = "Acmebot";
/** The value of v4's Issuer tag. */
export const ACMEBOT_ISSUER_VALUE = "Acmebot";

/** What Acmebot recorded about a certificate, whichever version wrote it. */
export interface AcmebotTags {
  /** 5: the v5 JSON tag; 4: the v4 tags only. */
  version: 4 | 5;
  /** Host of the ACME directory (v4 and v5 write the host; older tags a URL). */
  acmeHost?: string;
  /** Acmebot's DNS provider name (e.g. "Azure DNS"): informative, kv-acme routes zones itself. */
  dnsProvider?: string;
  /** The certificate's CNAME delegation target (Acmebot's per-certificate dnsAlias). */
  dnsAlias?: string;
  /** v5: the RFC 9773 certificate identifier of the current leaf. */
  certificateId?: string;
}

export function tagValue(tags: Record<string, string>, key: string): string | undefined {
  if (key in tags) return tags[key];
  const lower = key.toLowerCase();
  const found = Object.keys(tags).find((k) => k.toLowerCase() === lower);
  return found === undefined ? undefined : tags[found];
}

function hostOf(endpoint: string | undefined): string | undefined {
  const v = endpoint?.trim();
  if (!v) return undefined;
  if (!v.includes("://")) return v.toLowerCase();
  try {
    return new URL(v).host.toLowerCase();
  } catch {
    return v.toLowerCase();
  }
}

function text(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

/** The v5 JSON tag's fields; undefined when absent or not a JSON object (Acmebot then falls back to the v4 tags too). */
function parseJsonTag(value: string | undefined): Omit<AcmebotTags, "version"> | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const o = parsed as Record<string, unknown>;
  const out: Omit<AcmebotTags, "version"> = {};
  const host = hostOf(text(o.endpoint));
  if (host) out.acmeHost = host;
  const provider = text(o.dnsProvider);
  if (provider) out.dnsProvider = provider;
  const alias = text(o.dnsAlias);
  if (alias) out.dnsAlias = alias;
  const id = text(o.certificateId);
  if (id) out.certificateId = id;
  return out;
}

/** Acmebot's record of a certificate (v5 JSON tag or v4 tags), or undefined when Acmebot did not tag it. */
export function readAcmebotTags(tags: Record<string, string> | undefined): AcmebotTags | undefined {
  const t = tags ?? {};
  const json = tagValue(t, ACMEBOT_TAG_JSON);
  const v4 = tagValue(t, ACMEBOT_TAG_ISSUER)?.trim().toLowerCase() === ACMEBOT_ISSUER_VALUE.toLowerCase();
  if (json === undefined && !v4) return undefined;
  const fromJson = parseJsonTag(json);
  if (fromJson) return { version: 5, ...fromJson };
  if (!v4) return { version: 5 }; // an Acmebot tag Acmebot itself could not parse: still its certificate
  const out: AcmebotTags = { version: 4 };
  const host = hostOf(tagValue(t, ACMEBOT_TAG_ENDPOINT));
  if (host) out.acmeHost = host;
  const provider = text(tagValue(t, ACMEBOT_TAG_DNS_PROVIDER));
  if (provider) out.dnsProvider = provider;
  const alias = text(tagValue(t, ACMEBOT_TAG_DNS_ALIAS));
  if (alias) out.dnsAlias = alias;
  return out;
}

/** The tag keys Acmebot writes (both versions), lower case: what `kv-acme migrate --from-acmebot` keeps as it found them. */
export const ACMEBOT_TAG_KEYS = [
  ACMEBOT_TAG_JSON,
  ACMEBOT_TAG_ISSUER,
  ACMEBOT_TAG_ENDPOINT,
  ACMEBOT_TAG_DNS_PROVIDER,
  ACMEBOT_TAG_DNS_ALIAS,
].map((k) => k.toLowerCase());
