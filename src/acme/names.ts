/**
 * DNS names and certificate names: normalization, validation, zone lookup and challenge record names.
 * Pure functions; every problem is reported at once through a ValidationError.
 */
import { isIP } from "node:net";
import { ConfigurationError, ValidationError, type FieldProblem } from "../shared/errors";
import { lazyModule } from "../shared/lazy";

/** Default and hard upper bound of names per certificate (Let's Encrypt's limit, also the leading tool's). */
export const MAX_DNS_NAMES = 100;
const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const CERTIFICATE_NAME = /^[0-9a-zA-Z-]{1,127}$/;

/** A DNS zone we can write TXT records into: its name and the opaque id its provider gave it. */
export interface ZoneRef {
  name: string;
  id: string;
}

// Loaded on first use: its tables cost ~25 ms, and plain ASCII names never need them.
const idnHostnameModule = lazyModule<typeof import("idn-hostname")>(() => require("idn-hostname"));

/**
 * IDNA2008 (RFC 5890-5893) with non-transitional UTS #46 preprocessing, from the idn-hostname package: maps the name,
 * decodes every A-label and re-checks it, refuses disallowed and unassigned code points, CONTEXTJ/CONTEXTO failures,
 * bidi rule violations and reserved hyphens; returns the A-label form or the reason it is not a valid IDN.
 */
function idna(name: string): { ascii: string } | { problem: string } {
  try {
    const { idnHostname } = idnHostnameModule();
    return { ascii: idnHostname(name) };
  } catch (err) {
    return { problem: (err instanceof Error ? err.message : String(err)).slice(0, 200) };
  }
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;
const needsIdna = (label: string) => NON_ASCII.test(label) || label.startsWith("xn--") || label.slice(2, 4) === "--";

/**
 * Normalizes one DNS name: trim, lowercase, IDN -> A-labels (UTS #46 non-transitional, IDNA2008), trailing dot
 * stripped. A name that is not a valid IDN is returned lowercased so validation can report it.
 */
export function normalizeDnsName(input: string): string {
  let name = input.trim().toLowerCase();
  if (name.endsWith(".") && name.length > 1) name = name.slice(0, -1);
  if (NON_ASCII.test(name)) {
    const wildcard = name.startsWith("*.");
    const converted = idna(wildcard ? name.slice(2) : name);
    if ("ascii" in converted) name = `${wildcard ? "*." : ""}${converted.ascii.toLowerCase()}`;
  }
  return name;
}

/**
 * Normalizes a list of DNS names. A string is split on commas and whitespace (empty parts dropped);
 * array entries are normalized one by one (an empty entry stays empty so validation reports it).
 */
export function normalizeDnsNames(input: string[] | string): string[] {
  if (typeof input === "string") {
    return input
      .split(/[\s,]+/)
      .filter((s) => s !== "")
      .map(normalizeDnsName);
  }
  return input.map(normalizeDnsName);
}

function idnaCheck(name: string): string | undefined {
  const r = idna(name);
  return "problem" in r ? r.problem : undefined;
}

/** Problems with one already normalized name (empty list when it is fine). RFC 1035 §2.3.1/2.3.4, RFC 8555 §7.1.3. */
function nameProblems(name: string): string[] {
  if (name === "") return ["is empty"];
  const bare = name.startsWith("[") && name.endsWith("]") ? name.slice(1, -1) : name;
  if (isIP(bare) !== 0) return [`"${name}" is an IP address; only DNS names can be validated through DNS-01`];
  const problems: string[] = [];
  if (/\s/.test(name)) problems.push(`"${name}" contains whitespace`);
  if (name.length > MAX_NAME_LENGTH)
    problems.push(`"${name.slice(0, 40)}…" is ${name.length} characters long; at most ${MAX_NAME_LENGTH} are allowed`);
  const labels = name.split(".");
  const wildcard = labels[0] === "*";
  const base = wildcard ? labels.slice(1) : labels;
  labels.forEach((label, i) => {
    if (label.includes("*") && !(i === 0 && label === "*")) {
      problems.push(`"${name}": a wildcard is only allowed as the whole leftmost label (like *.example.com)`);
    }
  });
  if (base.length < 2) {
    problems.push(
      wildcard
        ? `"${name}": a wildcard needs a base name of at least two labels (like *.example.com)`
        : `"${name}" is not a fully qualified domain name (it needs at least two labels, like example.com)`,
    );
  }
  // Internationalised (or reserved "??--") labels: the IDNA2008 rules decide, and their reason is the one reported.
  const idnaProblem = base.some(needsIdna) && !base.some((l) => l === "" || l.includes("*")) ? idnaCheck(base.join(".")) : undefined;
  if (idnaProblem) problems.push(`"${name}" is not a valid internationalised domain name: ${idnaProblem}`);
  for (const label of base) {
    if (label.includes("*")) continue; // already reported above
    if (idnaProblem && needsIdna(label)) continue;
    if (label === "") {
      problems.push(`"${name}" has an empty label (two dots in a row or a leading dot)`);
    } else if (label.length > MAX_LABEL_LENGTH) {
      problems.push(
        `"${name}": label "${label.slice(0, 20)}…" is ${label.length} characters long; at most ${MAX_LABEL_LENGTH} are allowed`,
      );
    } else if (!LDH_LABEL.test(label)) {
      problems.push(`"${name}": label "${label}" may only contain letters, digits and hyphens, and may not start or end with a hyphen`);
    }
  }
  const tld = base[base.length - 1];
  if (base.length >= 2 && tld !== undefined && /^[0-9]+$/.test(tld)) {
    problems.push(`"${name}": the top-level label "${tld}" may not be all digits`);
  }
  return [...new Set(problems)];
}

/**
 * Validates the DNS names of a certificate request (RFC 8555 §7.1.3 identifiers of type "dns") and returns them
 * normalized. Checks LDH label syntax, label ≤ 63 and name ≤ 253 characters, wildcard only as the whole leftmost
 * label, no IP addresses, no duplicates after normalization, at least one and at most `maxNames` (default 100).
 * Throws a ValidationError listing every problem found.
 */
export function validateDnsNames(names: string[] | string, options: { maxNames?: number } = {}): string[] {
  const maxNames = options.maxNames ?? MAX_DNS_NAMES;
  const normalized = normalizeDnsNames(names);
  const problems: FieldProblem[] = [];
  if (normalized.length === 0) problems.push({ field: "dnsNames", message: "at least one DNS name is required" });
  if (normalized.length > maxNames) {
    problems.push({ field: "dnsNames", message: `${normalized.length} names given; at most ${maxNames} are allowed per certificate` });
  }
  const firstIndex = new Map<string, number>();
  normalized.forEach((name, i) => {
    for (const message of nameProblems(name)) problems.push({ field: `dnsNames[${i}]`, message });
    if (name === "") return;
    const seen = firstIndex.get(name);
    if (seen !== undefined) {
      problems.push({ field: `dnsNames[${i}]`, message: `"${name}" is a duplicate of dnsNames[${seen}]` });
    } else {
      firstIndex.set(name, i);
    }
  });
  if (problems.length > 0) throw new ValidationError(problems);
  return normalized;
}

function zoneKey(zoneName: string): string {
  return normalizeDnsName(zoneName);
}

function baseName(name: string): string {
  const n = normalizeDnsName(name);
  return n.startsWith("*.") ? n.slice(2) : n;
}

function inZone(base: string, zone: string): boolean {
  return base === zone || base.endsWith(`.${zone}`);
}

/**
 * Finds the zone that owns a name: the longest zone name that equals the name or is a suffix of it on a label
 * boundary; a wildcard name matches by its base (*.example.com -> example.com). Throws ValidationError when no
 * zone matches and ConfigurationError (naming both zone ids) when two zones of that name are visible.
 */
export function zoneForName<Z extends ZoneRef>(name: string, zones: readonly Z[]): Z {
  const base = baseName(name);
  let best: Z[] = [];
  let bestLength = -1;
  for (const zone of zones) {
    const key = zoneKey(zone.name);
    if (!inZone(base, key)) continue;
    if (key.length > bestLength) {
      best = [zone];
      bestLength = key.length;
    } else if (key.length === bestLength) {
      best.push(zone);
    }
  }
  const [first, second] = best;
  if (first === undefined) {
    throw new ValidationError([
      {
        field: "dnsNames",
        message: `"${normalizeDnsName(name)}" is not inside any DNS zone kv-acme can write to (${zones.length} zones visible)`,
      },
    ]);
  }
  if (second !== undefined) {
    const ids = best.map((z) => z.id);
    throw new ConfigurationError(
      `Two or more DNS zones named "${zoneKey(first.name)}" are visible (${ids.join(" and ")}); ` +
        `restrict the DNS providers so that one of them owns it (see docs/dns-providers.md)`,
      { name: normalizeDnsName(name), zoneIds: ids },
    );
  }
  return first;
}

/**
 * The relative TXT record set name of the DNS-01 challenge for `name` inside `zoneName` (RFC 8555 §8.4):
 * "_acme-challenge" for the apex and for "*.apex", "_acme-challenge.www" for www.apex or *.www.apex.
 */
export function challengeRecordName(name: string, zoneName: string): string {
  const base = baseName(name);
  const zone = zoneKey(zoneName);
  if (!inZone(base, zone)) {
    throw new ValidationError([{ field: "dnsNames", message: `"${normalizeDnsName(name)}" is not inside zone "${zone}"` }]);
  }
  return base === zone ? "_acme-challenge" : `_acme-challenge.${base.slice(0, base.length - zone.length - 1)}`;
}

/**
 * Validates a Key Vault certificate name (^[0-9a-zA-Z-]{1,127}$) and returns it; throws ValidationError otherwise.
 */
export function validateCertificateName(name: string): string {
  if (!CERTIFICATE_NAME.test(name)) {
    const why =
      name.length === 0
        ? "is empty"
        : name.length > 127
          ? `is ${name.length} characters long; at most 127 are allowed`
          : `"${name}" may only contain letters, digits and hyphens`;
    throw new ValidationError([{ field: "certificateName", message: `certificate name ${why}` }]);
  }
  return name;
}

/**
 * The default Key Vault certificate name derived from the first DNS name: normalized (punycode kept),
 * `*` -> `wildcard`, `.` -> `-`, trimmed to 127 characters. Throws ValidationError if nothing valid remains.
 */
export function defaultCertificateName(firstName: string): string {
  const derived = normalizeDnsName(firstName).replace(/\*/g, "wildcard").replace(/\./g, "-").slice(0, 127);
  return validateCertificateName(derived);
}
