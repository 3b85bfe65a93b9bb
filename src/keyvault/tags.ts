/**
 * Tags that mark a Key Vault certificate as managed by kv-acme, and reading them back (including certificates
 * tagged by the leading C# tool, so its users can switch without re-issuing).
 *
 * Key Vault limits a tag value to 256 characters. DNS names are stored comma-joined in `kv-acme-dns-names`; when
 * that does not fit, the value becomes "<count> names sha256:<first 32 hex digits of SHA-256 over the sorted,
 * comma-joined names>". The certificate's own SAN extension remains the authority on its names; the tag is for
 * listing and filtering, and `tagNamesMatch` compares either form with a list of names.
 */
import { createHash } from "node:crypto";
import { ValidationError } from "../shared/errors";
import { normalizeDnsName } from "../acme/names";
import { MAX_ISSUER_PINS, normalizeIssuerPin, type IssuerInfo } from "../shared/issuer";
import { readAcmebotTags, tagValue } from "./acmebot-tags";

export const TAG_MANAGED = "kv-acme-managed";
export const TAG_ACME_DIRECTORY = "kv-acme-acme-directory";
export const TAG_DNS_NAMES = "kv-acme-dns-names";
export const TAG_DNS_PROVIDER = "kv-acme-dns-provider";
export const TAG_ARI_CERT_ID = "kv-acme-ari-cert-id";
/** The certificate's explicit dnsAlias (docs/dns-providers.md): renewals write the TXT values there again. */
export const TAG_DNS_ALIAS = "kv-acme-dns-alias";
/**
 * Consecutive failed renewals of the current version: `<attempts>;<ISO time of the last failure>;<failure id>`.
 * Written on the current version when a renewal fails (recordRenewalFailure); a successful renewal creates a new
 * version tagged by managedTags, which has no such tag, so the count starts again at zero.
 */
export const TAG_RENEWAL_FAILURES = "kv-acme-renewal-failures";
/**
 * The CA refused the last renewal as rateLimited: no renewal of the current version before this ISO time (the CA's
 * Retry-After). Written instead of a failure count (recordRenewalFailure), and on the other certificates of a renewal run
 * that the refusal's limit holds (holdRenewals, src/renewal/ca-hold.ts); a new version starts without it.
 */
export const TAG_RENEW_NOT_BEFORE = "kv-acme-renew-not-before";
/**
 * `kv-acme-ignore=true` on a certificate (any case): kv-acme never touches it — no issue, adopt, pending operation,
 * renewal or revocation — even when it also carries kv-acme's own tags. The renewal scan skips it.
 */
export const TAG_IGNORE = "kv-acme-ignore";
/**
 * The issuing intermediate of this version, `<SHA-1 thumbprint>;<key id hex>;<subject DN>` (empty parts when unknown;
 * the subject clipped to fit): written by every merge, read by the next one to see whether the issuer changed.
 */
export const TAG_ISSUER = "kv-acme-issuer";
/** The certificate's issuer pins, comma-joined SHA-1 thumbprints: a renewal from any other issuer is not merged. */
export const TAG_ISSUER_PINS = "kv-acme-issuer-pins";
/**
 * On a version that expires before the version it replaced: `<previous NotAfter ISO>;<previous version>` (older
 * Service Fabric runtimes pick the certificate with the latest NotAfter and would ignore this one).
 */
export const TAG_LIFETIME_SHORTENED = "kv-acme-lifetime-shortened";
/** The certificate's own preferred chain (issuer common name): renewals ask for it again (src/acme/chains.ts). */
export const TAG_PREFERRED_CHAIN = "kv-acme-preferred-chain";
/** The certificate's own ACME profile: renewals order with it again (src/acme/order-options.ts). */
export const TAG_PROFILE = "kv-acme-profile";
/**
 * On a version created by hand for a CSR another CA signs (POST /certificates/{name}/pending, CLI `pending create`):
 * the ISO time it was created. While its pending operation is in progress and younger than ManualPendingHoldHours,
 * renewals leave it alone (../renewal/decide.ts, ../issuance/manual-pending.ts). The merge of its chain drops it.
 */
export const TAG_MANUAL_PENDING = "kv-acme-manual-pending";

/** Key Vault's limit on one tag value. */
export const MAX_TAG_VALUE_LENGTH = 256;
const DIGEST_HEX_LENGTH = 32;
const DIGEST_FORM = /^(\d+) names sha256:([0-9a-f]+)$/;

export interface ManagedTagsInput {
  acmeDirectoryUrl: string;
  dnsNames: string[];
  /** The provider instance(s) that wrote the challenge values, comma separated. */
  dnsProvider: string;
  dnsAlias?: string;
  /** RFC 9773 certificate identifier of the merged leaf. */
  ariCertId?: string;
  /** The merged leaf's issuing intermediate. */
  issuer?: IssuerInfo;
  /** Issuer pins (normalized thumbprints); none or empty: no pin tag. */
  issuerPins?: string[];
  /** The version this one replaced, when it expired later than this one. */
  lifetimeShortened?: LifetimeShortened;
  /** The certificate's own preferred chain and ACME profile (not the app's). */
  preferredChain?: string;
  profile?: string;
  /** The certificate's custom tags (./custom-tags.ts), written beside kv-acme's (which win on a clash). */
  customTags?: Record<string, string>;
}

/** A version that expires before the one it replaced (the kv-acme-lifetime-shortened tag). */
export interface LifetimeShortened {
  previousVersion: string;
  previousNotAfter: string;
}

export interface ManagedTagInfo {
  managed: boolean;
  source: "kv-acme" | "acmebot" | undefined;
  /** Which Acmebot tagged it (also on a kv-acme certificate that kept them): 5 for its JSON `Acmebot` tag, 4 for `Issuer=Acmebot` alone. */
  acmebotVersion?: 4 | 5;
  acmeDirectoryUrl?: string;
  /** Host of the ACME directory (from the URL for kv-acme, from the Endpoint tag for Acmebot). */
  acmeHost?: string;
  /** The names when the tag holds them in full. */
  dnsNames?: string[];
  /** The compact form when the names did not fit in one tag value. */
  dnsNamesDigest?: { count: number; sha256Prefix: string };
  dnsProvider?: string;
  dnsAlias?: string;
  ariCertId?: string;
  /** Consecutive failed renewals of this version (the kv-acme-renewal-failures tag). */
  renewalFailures?: RenewalFailures;
  /** No renewal before this ISO time: the CA's Retry-After after a rateLimited refusal (kv-acme-renew-not-before). */
  renewNotBefore?: string;
  /** The issuing intermediate recorded at merge (kv-acme-issuer). */
  issuer?: IssuerInfo;
  /** Issuer pins (kv-acme-issuer-pins), when set. */
  issuerPins?: string[];
  lifetimeShortened?: LifetimeShortened;
  /** The certificate's own preferred chain and ACME profile (kv-acme-preferred-chain, kv-acme-profile). */
  preferredChain?: string;
  profile?: string;
  /** The version was created by hand for another CA at this ISO time (kv-acme-manual-pending). */
  manualPending?: string;
}

/** Parses a tag holding an ISO time (kv-acme-renew-not-before, kv-acme-manual-pending); undefined when absent or not a time. */
export function parseTagTime(value: string | undefined): string | undefined {
  const v = (value ?? "").trim();
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(Date.parse(v))) return undefined;
  return new Date(v).toISOString();
}

/** Parses a kv-acme-renew-not-before value (an ISO time); undefined when absent or not a time. */
export const parseRenewNotBefore = parseTagTime;

/** What the kv-acme-renewal-failures tag records. */
export interface RenewalFailures {
  attempts: number;
  /** ISO time of the last failure. */
  at: string;
  /** Identifies the failed attempt, so recording the same failure twice (a retried activity) counts it once. */
  failureId: string;
}

const FAILURES_FORM = /^(\d{1,6});([^;]+);([^;]*)$/;

/** Parses a kv-acme-renewal-failures value; undefined when absent or malformed. */
export function parseRenewalFailures(value: string | undefined): RenewalFailures | undefined {
  const m = FAILURES_FORM.exec((value ?? "").trim());
  if (!m) return undefined;
  const attempts = Number(m[1]);
  const at = m[2] as string;
  if (attempts < 1 || Number.isNaN(Date.parse(at))) return undefined;
  return { attempts, at: new Date(at).toISOString(), failureId: m[3] as string };
}

/**
 * The tag value after one more failure (`failureId` names it). Recording the failure that is already the last one
 * recorded changes nothing, so a retried activity does not count twice.
 */
export function nextRenewalFailures(current: RenewalFailures | undefined, failureId: string, at: Date): RenewalFailures {
  const id = failureIdForm(failureId);
  if (current && current.failureId === id) return current;
  return { attempts: (current?.attempts ?? 0) + 1, at: at.toISOString(), failureId: id };
}

function failureIdForm(id: string): string {
  return id.replace(/[;\s]/g, "_").slice(0, 64);
}

/** The kv-acme-renewal-failures tag value (fits Key Vault's 256-character limit: the id is clipped to 64). */
export function formatRenewalFailures(f: RenewalFailures): string {
  return `${f.attempts};${f.at};${failureIdForm(f.failureId)}`;
}

/** The compact digest of a set of names: SHA-256 over the sorted, comma-joined normalized names. */
export function dnsNamesDigest(names: string[]): { count: number; sha256Prefix: string } {
  const sorted = [...new Set(names.map(normalizeDnsName))].sort();
  const sha256Prefix = createHash("sha256").update(sorted.join(",")).digest("hex").slice(0, DIGEST_HEX_LENGTH);
  return { count: sorted.length, sha256Prefix };
}

function checkLength(tag: string, value: string): string {
  if (value.length > MAX_TAG_VALUE_LENGTH) {
    throw new ValidationError(`${value.length} characters do not fit in a Key Vault tag value (at most ${MAX_TAG_VALUE_LENGTH})`, tag);
  }
  return value;
}

/** The kv-acme-dns-names value: the names comma-joined, or their digest form when that does not fit. */
function dnsNamesTagValue(dnsNames: string[]): string {
  const names = dnsNames.map(normalizeDnsName);
  const joined = names.join(",");
  if (joined.length <= MAX_TAG_VALUE_LENGTH) return joined;
  const d = dnsNamesDigest(names);
  return `${d.count} names sha256:${d.sha256Prefix}`;
}

/** The tags kv-acme writes on a certificate it issued or renewed. Every value fits Key Vault's 256-character limit. */
export function managedTags(input: ManagedTagsInput): Record<string, string> {
  const tags: Record<string, string> = {
    ...input.customTags,
    [TAG_MANAGED]: "true",
    [TAG_ACME_DIRECTORY]: checkLength(TAG_ACME_DIRECTORY, input.acmeDirectoryUrl),
    [TAG_DNS_NAMES]: dnsNamesTagValue(input.dnsNames),
    [TAG_DNS_PROVIDER]: checkLength(TAG_DNS_PROVIDER, input.dnsProvider),
  };
  if (input.ariCertId !== undefined) tags[TAG_ARI_CERT_ID] = checkLength(TAG_ARI_CERT_ID, input.ariCertId);
  if (input.dnsAlias !== undefined) tags[TAG_DNS_ALIAS] = checkLength(TAG_DNS_ALIAS, input.dnsAlias);
  if (input.preferredChain !== undefined) tags[TAG_PREFERRED_CHAIN] = checkLength(TAG_PREFERRED_CHAIN, input.preferredChain);
  if (input.profile !== undefined) tags[TAG_PROFILE] = checkLength(TAG_PROFILE, input.profile);
  if (input.issuer) tags[TAG_ISSUER] = formatIssuerTag(input.issuer);
  if (input.issuerPins && input.issuerPins.length > 0) tags[TAG_ISSUER_PINS] = formatIssuerPins(input.issuerPins);
  if (input.lifetimeShortened)
    tags[TAG_LIFETIME_SHORTENED] = checkLength(
      TAG_LIFETIME_SHORTENED,
      `${input.lifetimeShortened.previousNotAfter};${input.lifetimeShortened.previousVersion}`,
    );
  return tags;
}

/**
 * The tags of a version created by hand for another CA (a manual pending create): managed by kv-acme, so the version
 * merged into it is renewed like the others, and when it was created (TAG_MANUAL_PENDING). No ACME directory or DNS
 * provider: neither took part; the first renewal writes them.
 */
export function manualPendingTags(input: { dnsNames: string[]; createdAt: Date }): Record<string, string> {
  return {
    [TAG_MANAGED]: "true",
    [TAG_DNS_NAMES]: dnsNamesTagValue(input.dnsNames),
    [TAG_MANUAL_PENDING]: input.createdAt.toISOString(),
  };
}

/**
 * The tags of a version merged by hand, from those its pending version had: on a version kv-acme manages, the
 * manual-pending mark goes (the operation is done) and the issuing intermediate is recorded, as a flow's merge does;
 * the certificate's issuer pins carry on. Undefined when nothing changes (e.g. a pending operation made elsewhere).
 */
export function mergedByHandTags(
  tags: Record<string, string>,
  issuer: IssuerInfo,
  issuerPins: readonly string[],
): Record<string, string> | undefined {
  const next = { ...tags };
  if (readManagedTags(tags).managed) {
    delete next[TAG_MANUAL_PENDING];
    next[TAG_ISSUER] = formatIssuerTag(issuer);
  }
  if (issuerPins.length > 0) next[TAG_ISSUER_PINS] = formatIssuerPins(issuerPins);
  const same = Object.keys(next).length === Object.keys(tags).length && Object.entries(next).every(([k, v]) => tags[k] === v);
  return same ? undefined : next;
}

/** The kv-acme-issuer value: thumbprint, key id and subject (clipped so the value fits 256 characters). */
export function formatIssuerTag(issuer: IssuerInfo): string {
  const head = `${issuer.thumbprint ?? ""};${issuer.keyId ?? ""};`;
  return head + issuer.subject.slice(0, MAX_TAG_VALUE_LENGTH - head.length);
}

/** Parses a kv-acme-issuer value; undefined when absent or malformed. */
export function parseIssuerTag(value: string | undefined): IssuerInfo | undefined {
  const m = /^([0-9A-F]{40})?;([0-9a-f]*);(.+)$/s.exec(value ?? "");
  if (!m) return undefined;
  const info: IssuerInfo = { subject: m[3] as string };
  if (m[2]) info.keyId = m[2];
  if (m[1]) info.thumbprint = m[1];
  return info;
}

/** The kv-acme-issuer-pins value (at most MAX_ISSUER_PINS thumbprints: 6 × 41 - 1 characters). */
export function formatIssuerPins(pins: readonly string[]): string {
  if (pins.length > MAX_ISSUER_PINS) throw new ValidationError(`at most ${MAX_ISSUER_PINS} issuer pins`, TAG_ISSUER_PINS);
  return pins.join(",");
}

/** The pins of a kv-acme-issuer-pins value; values that are not thumbprints are dropped (a hand-edited tag). */
export function parseIssuerPinsTag(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const pins = value.split(",").flatMap((p) => normalizeIssuerPin(p) ?? []);
  return pins.length > 0 ? pins : undefined;
}

function readTrustTags(t: Record<string, string>, info: ManagedTagInfo): ManagedTagInfo {
  const issuer = parseIssuerTag(tagValue(t, TAG_ISSUER));
  if (issuer) info.issuer = issuer;
  const pins = parseIssuerPinsTag(tagValue(t, TAG_ISSUER_PINS));
  if (pins) info.issuerPins = pins;
  const shortened = /^([^;]+);(.*)$/.exec(tagValue(t, TAG_LIFETIME_SHORTENED) ?? "");
  if (shortened && !Number.isNaN(Date.parse(shortened[1] as string)))
    info.lifetimeShortened = { previousNotAfter: shortened[1] as string, previousVersion: shortened[2] as string };
  return info;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Reads the tags of a Key Vault certificate: managed by kv-acme (`kv-acme-managed=true`), by the leading C# tool
 * (v5's JSON `Acmebot` tag or v4's `Issuer=Acmebot`, `Endpoint=<ACME host>`, ./acmebot-tags.ts; adopted as managed),
 * or not managed. Tag keys are matched
 * case-insensitively, as Key Vault treats them.
 */
export function readManagedTags(tags: Record<string, string> | undefined): ManagedTagInfo {
  const t = tags ?? {};
  if (tagValue(t, TAG_MANAGED)?.toLowerCase() === "true") {
    const info: ManagedTagInfo = { managed: true, source: "kv-acme" };
    // Adopted by `kv-acme migrate --from-acmebot`, Acmebot's tags kept: still evidence of its version (src/config/acmebot.ts).
    const acmebot = readAcmebotTags(t);
    if (acmebot) info.acmebotVersion = acmebot.version;
    const url = tagValue(t, TAG_ACME_DIRECTORY);
    if (url) {
      info.acmeDirectoryUrl = url;
      const host = hostOf(url);
      if (host) info.acmeHost = host;
    }
    const names = tagValue(t, TAG_DNS_NAMES);
    if (names) {
      const digest = DIGEST_FORM.exec(names);
      if (digest) info.dnsNamesDigest = { count: Number(digest[1]), sha256Prefix: digest[2] as string };
      else
        info.dnsNames = names
          .split(",")
          .map((n) => n.trim())
          .filter((n) => n !== "");
    }
    const provider = tagValue(t, TAG_DNS_PROVIDER);
    if (provider) info.dnsProvider = provider;
    const ari = tagValue(t, TAG_ARI_CERT_ID);
    if (ari) info.ariCertId = ari;
    const alias = tagValue(t, TAG_DNS_ALIAS);
    if (alias) info.dnsAlias = alias;
    const preferredChain = tagValue(t, TAG_PREFERRED_CHAIN)?.trim();
    if (preferredChain) info.preferredChain = preferredChain;
    const profile = tagValue(t, TAG_PROFILE)?.trim();
    if (profile) info.profile = profile;
    readRenewalState(t, info);
    const manual = parseTagTime(tagValue(t, TAG_MANUAL_PENDING));
    if (manual) info.manualPending = manual;
    return readTrustTags(t, info);
  }
  const acmebot = readAcmebotTags(t);
  if (acmebot) {
    const info: ManagedTagInfo = { managed: true, source: "acmebot", acmebotVersion: acmebot.version };
    if (acmebot.acmeHost) info.acmeHost = acmebot.acmeHost;
    if (acmebot.dnsProvider) info.dnsProvider = acmebot.dnsProvider;
    // Renewals of an adopted certificate write the TXT values where Acmebot did (its dnsAlias) and ask ARI with its id.
    if (acmebot.dnsAlias) info.dnsAlias = acmebot.dnsAlias;
    if (acmebot.certificateId) info.ariCertId = acmebot.certificateId;
    readRenewalState(t, info);
    return readTrustTags(t, info);
  }
  return { managed: false, source: undefined };
}

/** The renewal bookkeeping tags (failure count, the CA's not-before), on kv-acme's and adopted certificates alike. */
function readRenewalState(t: Record<string, string>, info: ManagedTagInfo): void {
  const failures = parseRenewalFailures(tagValue(t, TAG_RENEWAL_FAILURES));
  if (failures) info.renewalFailures = failures;
  const notBefore = parseRenewNotBefore(tagValue(t, TAG_RENEW_NOT_BEFORE));
  if (notBefore) info.renewNotBefore = notBefore;
}

/**
 * Whether the names recorded in the tags equal `names` as a set. Undefined when the tags record no names
 * (e.g. an adopted Acmebot certificate); the certificate's SANs are then the only source.
 */
export function tagNamesMatch(info: ManagedTagInfo, names: string[]): boolean | undefined {
  if (info.dnsNames) {
    const a = [...new Set(info.dnsNames.map(normalizeDnsName))].sort();
    const b = [...new Set(names.map(normalizeDnsName))].sort();
    return a.length === b.length && a.every((n, i) => n === b[i]);
  }
  if (info.dnsNamesDigest) {
    const d = dnsNamesDigest(names);
    return d.count === info.dnsNamesDigest.count && d.sha256Prefix === info.dnsNamesDigest.sha256Prefix;
  }
  return undefined;
}

/** Whether the tags carry kv-acme-ignore=true. */
export function isIgnored(tags: Record<string, string> | undefined): boolean {
  return (
    tagValue(tags ?? {}, TAG_IGNORE)
      ?.trim()
      .toLowerCase() === "true"
  );
}

/** May kv-acme write to a certificate with these tags? `exists: false` means the vault has no such certificate. */
export type OwnershipDecision =
  | { ok: true; adopting: boolean }
  | { ok: false; code: "CertificateNotManaged" | "CertificateIgnored"; message: string; ownerTags: Record<string, string> };

const SHOWN_TAGS = 15; // Key Vault allows 15 tags per certificate
const SHOWN_TAG_VALUE = 64;

function describeTags(tags: Record<string, string>): string {
  const entries = Object.entries(tags).slice(0, SHOWN_TAGS);
  if (entries.length === 0) return "no tags";
  return entries
    .map(([k, v]) => `${k.slice(0, SHOWN_TAG_VALUE)}=${v.length > SHOWN_TAG_VALUE ? `${v.slice(0, SHOWN_TAG_VALUE)}…` : v}`)
    .join(", ");
}

/**
 * The ownership rule every writing route shares (issue, pending create, renew; cancel/delete/merge/revoke check only
 * the ignore tag, via `ignoreOnly`):
 *  - no certificate of that name: ok (kv-acme creates it);
 *  - tagged kv-acme-ignore=true: refused (CertificateIgnored), adopt or not;
 *  - managed (kv-acme or Acmebot tags): ok;
 *  - no issued version yet (only a pending operation, e.g. a stale one kv-acme replaces): ok, nothing to take over;
 *  - anything else belongs to someone else: refused (CertificateNotManaged, naming its tags) unless `adopt`.
 */
export function decideOwnership(
  certificateName: string,
  existing: { tags: Record<string, string>; issuerName?: string; issued?: boolean } | undefined,
  options: { adopt?: boolean; ignoreOnly?: boolean } = {},
): OwnershipDecision {
  if (!existing) return { ok: true, adopting: false };
  const ownerTags = { ...existing.tags };
  if (isIgnored(existing.tags)) {
    return {
      ok: false,
      code: "CertificateIgnored",
      ownerTags,
      message: `Certificate ${certificateName} is tagged ${TAG_IGNORE}=true, so kv-acme never changes it (adopt does not override this); remove the tag to let kv-acme manage it`,
    };
  }
  if (options.ignoreOnly || readManagedTags(existing.tags).managed || existing.issued === false) return { ok: true, adopting: false };
  if (options.adopt === true) return { ok: true, adopting: true };
  const issuer = existing.issuerName ? `issuer ${existing.issuerName}, ` : "";
  return {
    ok: false,
    code: "CertificateNotManaged",
    ownerTags,
    message:
      `Certificate ${certificateName} exists and is not managed by kv-acme (${issuer}tags: ${describeTags(existing.tags)}); ` +
      `kv-acme does not replace another owner's policy, issuer or tags. Send "adopt": true to take it over deliberately`,
  };
}
