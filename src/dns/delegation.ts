/**
 * Where each DNS-01 TXT value goes (RFC 8555 §8.4, and the CNAME following CAs do): `_acme-challenge.<name>` in the
 * zone that owns the name, unless
 *   - the certificate has a `dnsAlias` (the leading C# tool's field): `_acme-challenge.<dnsAlias>` for every name,
 *     for delegations not yet visible in DNS; or
 *   - `_acme-challenge.<name>` (or the alias name) is a CNAME at its zone's authoritative servers: the chain is
 *     followed (at most 8 hops, loops refused) and the TXT goes to the final target, in whichever configured provider
 *     owns that zone — the acme-dns style setup, and zones the certificate's owner may not write to.
 * The owner zone of a delegated name need not be writable by kv-acme at all. Every problem is a 400 (nothing written).
 */
import { promises as dns } from "node:dns";
import { challengeRecordName, normalizeDnsName, validateDnsNames, zoneForName } from "../acme/names";
import { UpstreamError, ValidationError, type FieldProblem } from "../shared/errors";
import { authoritativeServers, parseResolverList } from "./propagation";
import type { DnsZone } from "./provider";

/** The most CNAME hops followed from `_acme-challenge.<name>` (lego follows 50; 8 is plenty for real setups). */
export const MAX_CNAME_HOPS = 8;

/** Where the TXT value of one identifier goes. */
export interface ChallengeTarget {
  zone: DnsZone;
  /** Record set name relative to the zone ("_acme-challenge", "_acme-challenge.www", "x1y2.auth"). */
  recordName: string;
  fqdn: string;
  /** When the TXT is not at `_acme-challenge.<name>`: that name, and how it leads to `fqdn`. */
  delegation?: { from: string; via: "cname" | "dnsAlias"; chain: string[] };
}

/** Asks the authoritative servers of `name` for its CNAME target; undefined when it has none. */
export type CnameLookup = (name: string, zones: readonly DnsZone[]) => Promise<string | undefined>;

const NO_CNAME = new Set(["ENODATA", "ENOTFOUND", "NXDOMAIN", "EREFUSED", "ENONAME"]);

function challengeOwner(name: string): string {
  const n = normalizeDnsName(name);
  return `_acme-challenge.${n.startsWith("*.") ? n.slice(2) : n}`;
}

function ownZone(name: string, zones: readonly DnsZone[]): DnsZone | undefined {
  try {
    return zoneForName(name, zones);
  } catch {
    return undefined;
  }
}

/** The zone cut above `name` found through the system resolver (NS at the closest enclosing name). */
async function enclosingZone(name: string): Promise<{ zone: string; nameServers: string[] }> {
  const labels = name.split(".");
  for (let i = 1; i < labels.length - 1; i++) {
    const candidate = labels.slice(i).join(".");
    const ns = await dns.resolveNs(candidate).catch(() => [] as string[]);
    if (ns.length > 0) return { zone: candidate, nameServers: ns };
  }
  throw new UpstreamError("Dns", `Cannot find the zone of ${name} (no NS records above it)`, { retryable: true });
}

/**
 * The CNAME lookup kv-acme uses: the servers of `resolvers` when set (local stack, split horizon), else the
 * authoritative servers of the name's zone (a configured zone's name servers, or the zone cut found through DNS).
 */
export function authoritativeCnameLookup(options: { resolvers?: string[]; queryTimeoutMs?: number } = {}): CnameLookup {
  const override = parseResolverList(options.resolvers);
  return async (name, zones) => {
    const own = ownZone(name, zones);
    let servers = override;
    if (servers.length === 0) {
      const where = own ? { zone: own.name, nameServers: own.nameServers } : await enclosingZone(name);
      servers = await authoritativeServers(where.zone, where.nameServers);
    }
    const resolver = new dns.Resolver({ timeout: options.queryTimeoutMs ?? 2_000, tries: 2 });
    resolver.setServers(servers);
    try {
      const [target] = await resolver.resolveCname(name);
      return target ? normalizeDnsName(target) : undefined;
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      if (NO_CNAME.has(code)) return undefined;
      // A writable zone whose servers do not answer: the propagation check will say so; nothing is delegated.
      if (own) return undefined;
      throw new UpstreamError("Dns", `Cannot look up the CNAME of ${name} at ${servers.join(", ")}: ${code || (err as Error).message}`, {
        retryable: true,
        cause: err,
      });
    }
  };
}

/** Follows the CNAME chain from `start`; returns the names visited (start first) or a problem. */
async function followChain(
  start: string,
  zones: readonly DnsZone[],
  lookup: CnameLookup,
): Promise<{ chain: string[] } | { problem: string }> {
  const chain = [start];
  for (;;) {
    const target = await lookup(chain[chain.length - 1] as string, zones);
    if (target === undefined) return { chain };
    if (chain.includes(target)) return { problem: `the CNAME chain ${[...chain, target].join(" -> ")} is a loop` };
    chain.push(target);
    if (chain.length - 1 > MAX_CNAME_HOPS) {
      return { problem: `the CNAME chain from ${start} is longer than ${MAX_CNAME_HOPS} hops (${chain.join(" -> ")})` };
    }
  }
}

/**
 * The target of every name (same order), or one ValidationError listing every problem: no writable zone and no
 * delegation, a CNAME loop or an over-long chain, a chain ending outside every writable zone (dangling), a bad alias.
 */
export async function resolveChallengeTargets(
  names: readonly string[],
  zones: readonly DnsZone[],
  options: { dnsAlias?: string; lookup: CnameLookup },
): Promise<ChallengeTarget[]> {
  const problems: FieldProblem[] = [];
  let alias: string | undefined;
  if (options.dnsAlias !== undefined && options.dnsAlias !== "") {
    try {
      [alias] = validateDnsNames([options.dnsAlias]);
      if (alias?.startsWith("*.")) problems.push({ field: "dnsAlias", message: `"${alias}" may not be a wildcard` });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      problems.push(...err.problems.map((p) => ({ field: "dnsAlias", message: p.message })));
    }
    if (problems.length > 0) throw new ValidationError(problems);
  }
  const starts = [...new Set(names.map((n) => (alias ? `_acme-challenge.${alias}` : challengeOwner(n))))];
  const resolved = new Map<string, ChallengeTarget | string>();
  await Promise.all(
    starts.map(async (start) => {
      const followed = await followChain(start, zones, options.lookup);
      if ("problem" in followed) return void resolved.set(start, followed.problem);
      const end = followed.chain[followed.chain.length - 1] as string;
      const zone = ownZone(end, zones);
      if (!zone) {
        const base = start.replace(/^_acme-challenge\./, "");
        return void resolved.set(
          start,
          followed.chain.length > 1
            ? `the CNAME chain ${followed.chain.join(" -> ")} ends at ${end}, which is not in any zone kv-acme can write to (dangling or unconfigured target)`
            : alias
              ? `dnsAlias "${alias}" is not inside any DNS zone kv-acme can write to (${zones.length} zones visible)`
              : `"${base}" is not inside any DNS zone kv-acme can write to (${zones.length} zones visible), and ${start} is not a CNAME to one`,
        );
      }
      const recordName = end === zone.name ? "@" : end.slice(0, end.length - zone.name.length - 1);
      const target: ChallengeTarget = { zone, recordName, fqdn: end };
      const direct = !alias && followed.chain.length === 1;
      if (!direct) target.delegation = { from: start, via: alias ? "dnsAlias" : "cname", chain: followed.chain };
      resolved.set(start, target);
    }),
  );
  const targets: ChallengeTarget[] = [];
  names.forEach((name, i) => {
    const start = alias ? `_acme-challenge.${alias}` : challengeOwner(name);
    const r = resolved.get(start);
    if (typeof r === "string" || r === undefined)
      problems.push({ field: alias ? "dnsAlias" : `dnsNames[${i}]`, message: r ?? "unresolved" });
    else targets.push(withStandardRecordName(name, r, alias));
  });
  if (problems.length > 0) throw new ValidationError(dedupe(problems));
  return targets;
}

/** A direct target keeps the usual relative name ("_acme-challenge.www"), computed the one way names.ts does. */
function withStandardRecordName(name: string, target: ChallengeTarget, alias: string | undefined): ChallengeTarget {
  if (target.delegation || alias) return target;
  return { ...target, recordName: challengeRecordName(name, target.zone.name) };
}

function dedupe(problems: FieldProblem[]): FieldProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.field}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
