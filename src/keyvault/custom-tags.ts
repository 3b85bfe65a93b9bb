/**
 * A certificate's own tags (the issue request's `tags`): written with kv-acme's on every version kv-acme creates, and
 * carried over by renewals (a renewal copies every tag of the current version that is not kv-acme's or Acmebot's).
 *
 * Key Vault's limits: at most 15 tags on a certificate version, a name of at most 512 characters, a value of at most
 * 256. kv-acme keeps room for its own: the six every merge writes (managed, directory, names, provider, ARI id,
 * issuer), the two a failed renewal adds (failure count, the CA's not-before), issuer pins (settable later) and the
 * lifetime-shortened mark, plus one each for this certificate's dnsAlias, preferred chain and profile.
 */
import { ValidationError, type FieldProblem } from "../shared/errors";
import { ACMEBOT_TAG_DNS_ALIAS, ACMEBOT_TAG_DNS_PROVIDER, ACMEBOT_TAG_ENDPOINT, ACMEBOT_TAG_ISSUER } from "./acmebot-tags";

/** Key Vault's limits on the tags of one certificate version. */
export const KEY_VAULT_TAG_LIMITS = { count: 15, nameLength: 512, valueLength: 256 } as const;
/** Tags kv-acme may write on any version whatever the request says (see the module comment). */
export const KV_ACME_RESERVED_TAGS = 10;
/** kv-acme's own tag names start with this (case-insensitive). */
export const KV_ACME_TAG_PREFIX = "kv-acme-";
/** The leading C# tool's tag names (v4: Issuer, Endpoint, DnsProvider, DnsAlias; v5: one `Acmebot` tag), any case. */
const ACMEBOT_TAG_NAMES = [ACMEBOT_TAG_ISSUER, ACMEBOT_TAG_ENDPOINT, ACMEBOT_TAG_DNS_PROVIDER, ACMEBOT_TAG_DNS_ALIAS].map((n) =>
  n.toLowerCase(),
);

/** Whether a tag name is kv-acme's or Acmebot's (never a custom tag). */
export function isReservedTagName(name: string): boolean {
  const n = name.trim().toLowerCase();
  return n.startsWith(KV_ACME_TAG_PREFIX) || n.startsWith("acmebot") || ACMEBOT_TAG_NAMES.includes(n);
}

/** How many custom tags fit beside kv-acme's, given how many optional kv-acme tags this certificate carries. */
export function customTagBudget(optionalKvAcmeTags: number): number {
  return Math.max(0, KEY_VAULT_TAG_LIMITS.count - KV_ACME_RESERVED_TAGS - optionalKvAcmeTags);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Validates a request's `tags` (an object of string values): names 1-512 characters, unique in any case, none of
 * kv-acme's or Acmebot's; values at most 256 characters; at most `budget` of them. Every problem in one 400.
 */
export function validateCustomTags(value: unknown, budget: number, field = "tags"): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ValidationError("must be an object of tag names to string values", field);
  const problems: FieldProblem[] = [];
  const seen = new Map<string, string>();
  const tags: Record<string, string> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    const at = `${field}.${name.slice(0, 64)}`;
    if (name.trim() === "" || name !== name.trim())
      problems.push({ field: at, message: "a tag name is not empty and has no surrounding spaces" });
    else if (name.length > KEY_VAULT_TAG_LIMITS.nameLength)
      problems.push({ field: at, message: `a tag name has at most ${KEY_VAULT_TAG_LIMITS.nameLength} characters` });
    else if (CONTROL.test(name)) problems.push({ field: at, message: "a tag name has no control characters" });
    else if (isReservedTagName(name))
      problems.push({
        field: at,
        message: `"${name}" is kv-acme's or Acmebot's own tag (names starting kv-acme- or Acmebot, Issuer, Endpoint, DnsProvider, DnsAlias)`,
      });
    else if (seen.has(name.toLowerCase()))
      problems.push({ field: at, message: `the same name as "${seen.get(name.toLowerCase())}" (Key Vault ignores case)` });
    if (typeof v !== "string") problems.push({ field: at, message: "a tag value is a string" });
    else if (v.length > KEY_VAULT_TAG_LIMITS.valueLength)
      problems.push({ field: at, message: `${v.length} characters: a tag value has at most ${KEY_VAULT_TAG_LIMITS.valueLength}` });
    else if (CONTROL.test(v)) problems.push({ field: at, message: "a tag value has no control characters" });
    seen.set(name.toLowerCase(), name);
    if (typeof v === "string") tags[name] = v;
  }
  const count = Object.keys(value as object).length;
  if (count > budget)
    problems.push({
      field,
      message: `${count} tags: at most ${budget} fit beside kv-acme's own (Key Vault allows ${KEY_VAULT_TAG_LIMITS.count} per certificate; kv-acme keeps ${KEY_VAULT_TAG_LIMITS.count - budget} for itself on this certificate)`,
    });
  if (problems.length > 0) throw new ValidationError(problems);
  return tags;
}

/** The custom tags among a version's tags: every tag that is not kv-acme's or Acmebot's (what a renewal carries on). */
export function customTagsOf(tags: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(tags ?? {}).filter(([name]) => !isReservedTagName(name)));
}
