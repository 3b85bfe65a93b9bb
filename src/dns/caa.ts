/**
 * CAA pre-flight (RFC 8659): before an order is placed, read each name's relevant CAA RRset at the authoritative
 * servers and refuse (400, nothing written) when none of the CA's `meta.caaIdentities` may issue for it, naming the
 * record. The relevant RRset of X (§3): the CAA RRset of X (a CNAME at X is followed, as a resolver would), else of
 * its parent, and so on up to but not including the root; the first non-empty one decides.
 * Decision (§4): `issue` properties authorize issuer domain names (`;` alone: nobody); for a wildcard name
 * `issuewild` properties take precedence when present; a set without the relevant property restricts nothing; a
 * critical property kv-acme does not know forbids issuance.
 * Queries: each name climbed is asked once per pre-flight (an apex and its wildcard share every label), and the
 * validations of one run (its validationRun, an id the server makes: a renewal run's certificates, an HTTP request and
 * the orchestration it starts; never a client's header) share their answers for at most CAA_RUN_CACHE_MS; a failed
 * lookup is never kept.
 */
import { promises as dns } from "node:dns";
import { normalizeDnsName, zoneForName } from "../acme/names";
import { UpstreamError, ValidationError, type FieldProblem } from "../shared/errors";
import type { CnameLookup } from "./delegation";
import { MAX_CNAME_HOPS } from "./delegation";
import { authoritativeServers, parseResolverList } from "./propagation";
import type { DnsZone } from "./provider";

/** One CAA resource record (RFC 8659 §4.1). */
export interface CaaRecord {
  /** The issuer critical flag (bit 128 of the flags octet). */
  critical: boolean;
  tag: string;
  value: string;
}

/** The relevant RRset of a name: where it was found (after climbing and CNAMEs) and its records. */
export interface RelevantCaa {
  /** The name climbed to whose RRset is non-empty. */
  owner: string;
  /** When `owner` is a CNAME: the chain followed to the name holding the records (owner first). */
  cnameChain?: string[];
  records: CaaRecord[];
}

/** What a lookup answers for one name: its CAA RRset (empty when it has none) and the CNAMEs followed to it. */
export type CaaAnswer = { records: CaaRecord[]; cnameChain?: string[] };

/**
 * Reads the CAA RRset of one name (following CNAMEs). `run` names the validation run the lookup belongs to (a
 * server-made id): a lookup may answer the lookups of one run from one query.
 */
export type CaaRRsetLookup = (name: string, zones: readonly DnsZone[], run?: string) => Promise<CaaAnswer>;

/** How long the answers of one run serve its later validations (a long renewal run asks again after this). */
export const CAA_RUN_CACHE_MS = 10 * 60_000;
/** The runs whose answers are kept at once (the oldest is dropped first). */
const CAA_RUNS_KEPT = 64;

/** Properties kv-acme knows (RFC 8659 §4.2-4.4; issuemail RFC 9495, issuevmc, contact tags of the CA/B BRs). */
const KNOWN_TAGS = new Set(["issue", "issuewild", "iodef", "issuemail", "issuevmc", "contactemail", "contactphone"]);

/** The issuer domain name of an issue/issuewild value (before `;`), lower case; "" when the value names none. */
export function issuerDomainOf(value: string): string {
  return (value.split(";")[0] ?? "").trim().toLowerCase().replace(/\.$/, "");
}

/** A record as a zone file shows it (`0 issue "letsencrypt.org"`). */
export function formatCaaRecord(r: CaaRecord): string {
  return `${r.critical ? 128 : 0} ${r.tag} "${r.value}"`;
}

/**
 * Whether a CA known by `identities` may issue for a name (wildcard or not) under its relevant CAA records; the
 * refusal says why. An empty identity list is not checked (the CA publishes none).
 */
export function caaPermits(
  records: readonly CaaRecord[],
  options: { wildcard: boolean; identities: readonly string[] },
): { ok: true } | { ok: false; reason: string } {
  const unknownCritical = records.find((r) => r.critical && !KNOWN_TAGS.has(r.tag.toLowerCase()));
  if (unknownCritical) return { ok: false, reason: `the critical property ${formatCaaRecord(unknownCritical)} is not one a CA may ignore` };
  const issue = records.filter((r) => r.tag.toLowerCase() === "issue");
  const wild = records.filter((r) => r.tag.toLowerCase() === "issuewild");
  const relevant = options.wildcard && wild.length > 0 ? wild : issue;
  if (relevant.length === 0) return { ok: true };
  const allowed = new Set(relevant.map((r) => issuerDomainOf(r.value)).filter((d) => d !== ""));
  const ids = options.identities.map((i) => i.trim().toLowerCase().replace(/\.$/, ""));
  if (ids.some((id) => allowed.has(id))) return { ok: true };
  const shown = relevant.map(formatCaaRecord).join(", ");
  return {
    ok: false,
    reason:
      allowed.size === 0 ? `${shown} allows no CA to issue` : `${shown} allows ${[...allowed].join(", ")}, not this CA (${ids.join(", ")})`,
  };
}

/** The names climbed for X (RFC 8659 §3): X, its parent, ..., the top-level label (never the root). */
export function climbingNames(name: string): string[] {
  const labels = normalizeDnsName(name).replace(/^\*\./, "").split(".");
  return labels.map((_, i) => labels.slice(i).join("."));
}

/** The relevant RRset of `name` (climbing), or undefined when every RRset up the tree is empty. */
export async function relevantCaa(name: string, zones: readonly DnsZone[], lookup: CaaRRsetLookup): Promise<RelevantCaa | undefined> {
  for (const candidate of climbingNames(name)) {
    const found = await lookup(candidate, zones);
    if (found.records.length > 0)
      return { owner: candidate, records: found.records, ...(found.cnameChain ? { cnameChain: found.cnameChain } : {}) };
  }
  return undefined;
}

/**
 * The pre-flight: every name checked against the CA's identities; one ValidationError naming each refused name, the
 * record that refuses it and where it was found. Nothing is checked when the CA publishes no caaIdentities.
 */
export async function assertCaaAllows(
  names: readonly string[],
  identities: readonly string[],
  zones: readonly DnsZone[],
  lookup: CaaRRsetLookup,
  run?: string,
): Promise<void> {
  if (identities.length === 0) return;
  const problems: FieldProblem[] = [];
  // Each name climbed is asked once: `*.example.com` and `example.com` both climb example.com, com.
  const asked = new Map<string, Promise<CaaAnswer>>();
  const once: CaaRRsetLookup = (name, z) => {
    let answer = asked.get(name);
    if (!answer) asked.set(name, (answer = lookup(name, z, run)));
    return answer;
  };
  await Promise.all(
    names.map(async (name, i) => {
      const relevant = await relevantCaa(name, zones, once);
      if (!relevant) return;
      const verdict = caaPermits(relevant.records, { wildcard: name.startsWith("*."), identities });
      if (verdict.ok) return;
      const where = relevant.cnameChain ? `${relevant.owner} (CNAME ${relevant.cnameChain.join(" -> ")})` : relevant.owner;
      problems.push({ field: `dnsNames[${i}]`, message: `CAA at ${where} forbids issuing ${name}: ${verdict.reason} (RFC 8659)` });
    }),
  );
  if (problems.length > 0) throw new ValidationError(problems.sort((a, b) => a.field.localeCompare(b.field, "en", { numeric: true })));
}

const NO_RECORDS = new Set(["ENODATA", "ENOTFOUND", "NXDOMAIN", "ENONAME", "EREFUSED"]);

/** The servers to ask about `name`: the override, else its configured zone's, else the zone cut found through DNS. */
async function serversFor(name: string, zones: readonly DnsZone[], override: string[]): Promise<string[] | undefined> {
  if (override.length > 0) return override;
  let own: DnsZone | undefined;
  try {
    own = zoneForName(name, zones);
  } catch {
    own = undefined;
  }
  if (own) return authoritativeServers(own.name, own.nameServers);
  const labels = name.split(".");
  for (let i = 0; i < labels.length; i++) {
    const candidate = labels.slice(i).join(".");
    const ns = await dns.resolveNs(candidate).catch(() => [] as string[]);
    if (ns.length > 0) return authoritativeServers(candidate, ns);
  }
  return undefined;
}

/**
 * The CAA RRset lookup kv-acme uses: CNAMEs followed with the delegation's authoritative CNAME lookup (at most
 * MAX_CNAME_HOPS, a loop ends the chain), then CAA asked at the final name's authoritative servers (or the resolver
 * override). No data, no such name or a refusal (a server outside the name's zone) is an empty RRset; a server that
 * does not answer is a retryable error, as a CA would refuse to issue then too.
 */
export function authoritativeCaaLookup(
  cnameLookup: CnameLookup,
  options: { resolvers?: string[]; queryTimeoutMs?: number } = {},
): CaaRRsetLookup {
  const override = parseResolverList(options.resolvers);
  const runs = new Map<string, { since: number; answers: Map<string, Promise<CaaAnswer>> }>();
  const query = async (name: string, zones: readonly DnsZone[]): Promise<CaaAnswer> => {
    const chain = [name];
    for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      const target = await cnameLookup(chain[chain.length - 1] as string, zones).catch(() => undefined);
      if (target === undefined || chain.includes(target)) break;
      chain.push(target);
    }
    const final = chain[chain.length - 1] as string;
    const servers = await serversFor(final, zones, override);
    if (!servers) return { records: [] };
    const resolver = new dns.Resolver({ timeout: options.queryTimeoutMs ?? 2_000, tries: 2 });
    resolver.setServers(servers);
    try {
      const answers = await resolver.resolveCaa(final);
      const records = answers.map((a): CaaRecord => {
        const { critical, ...rest } = a as unknown as { critical: number } & Record<string, string>;
        const [tag, value] = Object.entries(rest)[0] ?? ["", ""];
        return { critical: (critical & 128) !== 0, tag, value };
      });
      return { records, ...(chain.length > 1 ? { cnameChain: chain } : {}) };
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      if (NO_RECORDS.has(code)) return { records: [] };
      throw new UpstreamError("Dns", `Cannot read CAA of ${final} at ${servers.join(", ")}: ${code || (err as Error).message}`, {
        retryable: true,
        cause: err,
      });
    }
  };
  return (name, zones, run) => {
    if (run === undefined) return query(name, zones);
    const now = Date.now();
    for (const [id, r] of runs) if (now - r.since > CAA_RUN_CACHE_MS) runs.delete(id);
    let kept = runs.get(run);
    if (!kept) {
      kept = { since: now, answers: new Map() };
      runs.set(run, kept);
      if (runs.size > CAA_RUNS_KEPT) runs.delete(runs.keys().next().value as string);
    }
    const answers = kept.answers;
    let answer = answers.get(name);
    if (!answer) {
      answer = query(name, zones);
      answers.set(name, answer);
      // A failure (a server that did not answer) is asked again by the next validation.
      answer.catch(() => answers.get(name) === answer && answers.delete(name));
    }
    return answer;
  };
}
