/**
 * DNS-01 propagation check (RFC 8555 §8.4): before asking the CA to validate, every expected TXT value must be
 * visible on every authoritative name server of its zone. Servers are the zone's NS records resolved to addresses,
 * or an explicit resolver list from settings (local stack, split horizon). Each server is queried directly (no
 * recursive resolver, no cache), polling from a short interval with backoff until an overall timeout.
 */
import { promises as dns } from "node:dns";
import { isIP } from "node:net";
import { UpstreamError, ValidationError } from "../shared/errors";
import { sleep } from "../shared/time";

/** TXT values expected at one name. */
export interface ExpectedTxt {
  /** Fully qualified record name, e.g. "_acme-challenge.example.com". */
  fqdn: string;
  values: string[];
  /** The zone that holds the record (its NS set names the authoritative servers). */
  zoneName: string;
  /** Name servers the DNS provider reports for the zone; looked up through DNS when empty. */
  nameServers?: string[];
}

export interface PropagationOptions {
  /** "host:port" (or bare IP) servers to ask instead of the zone's name servers. */
  resolvers?: string[];
  /** Overall time limit, default 120 s. */
  timeoutMs?: number;
  /** First poll interval, default 250 ms; grows ×1.5 up to `maxIntervalMs` (default 2 s). */
  intervalMs?: number;
  maxIntervalMs?: number;
  /** Per-query timeout, default 1 s. */
  queryTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface PropagationResult {
  elapsedMs: number;
  /** Queries sent in total. */
  queries: number;
  /** Servers each zone was checked on. */
  servers: Record<string, string[]>;
}

/** Parses a resolver list ("127.0.0.1:5353, [::1]:53, 10.0.0.2") into node:dns server strings; throws on junk. */
export function parseResolverList(input: string | string[] | undefined): string[] {
  if (input === undefined) return [];
  const parts = (Array.isArray(input) ? input : input.split(/[\s,;]+/)).map((s) => s.trim()).filter((s) => s !== "");
  return parts.map((p) => {
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(p);
    const v4 = /^([^:]+?)(?::(\d+))?$/.exec(p);
    const host = v6 ? v6[1] : isIP(p) === 6 ? p : v4?.[1];
    const port = v6 ? v6[2] : isIP(p) === 6 ? undefined : v4?.[2];
    if (!host || isIP(host) === 0 || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
      throw new ValidationError([
        { field: "dnsResolver", message: `"${p}" is not an IP address with an optional port (like 127.0.0.1:5353)` },
      ]);
    }
    const h = isIP(host) === 6 ? `[${host}]` : host;
    return port ? `${h}:${port}` : isIP(host) === 6 ? `[${host}]:53` : host;
  });
}

/** Values of `expected` not among `observed` TXT strings (each observed record's strings joined, RFC 7208 §3.3 style). */
export function missingValues(expected: readonly string[], observed: readonly string[][]): string[] {
  const seen = new Set(observed.map((chunks) => chunks.join("")));
  return expected.filter((v) => !seen.has(v));
}

/** Next poll interval: ×1.5 up to max. */
export function nextInterval(current: number, max: number): number {
  return Math.min(max, Math.ceil(current * 1.5));
}

/** Merges expectations for the same name (apex + wildcard share one record). */
export function groupExpectations(items: readonly ExpectedTxt[]): ExpectedTxt[] {
  const byName = new Map<string, ExpectedTxt>();
  for (const item of items) {
    const key = item.fqdn.toLowerCase().replace(/\.$/, "");
    const existing = byName.get(key);
    if (existing) existing.values = [...new Set([...existing.values, ...item.values])];
    else byName.set(key, { ...item, fqdn: key, values: [...new Set(item.values)] });
  }
  return [...byName.values()];
}

async function addressesOf(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [isIP(host) === 6 ? `[${host}]:53` : host];
  const name = host.replace(/\.$/, "");
  const [v4, v6] = await Promise.all([dns.resolve4(name).catch(() => [] as string[]), dns.resolve6(name).catch(() => [] as string[])]);
  return [...v4, ...v6.map((a) => `[${a}]:53`)];
}

/** The addresses of a zone's authoritative servers: given NS names, else the zone's NS records via the system resolver. */
export async function authoritativeServers(zoneName: string, nameServers: readonly string[] = []): Promise<string[]> {
  let names = [...nameServers];
  if (names.length === 0) {
    names = await dns.resolveNs(zoneName).catch((err: unknown) => {
      throw new UpstreamError("Dns", `Cannot find the name servers of zone ${zoneName}: ${(err as Error).message}`, {
        retryable: true,
        cause: err,
      });
    });
  }
  const addresses = [...new Set((await Promise.all(names.map(addressesOf))).flat())];
  if (addresses.length === 0) {
    throw new UpstreamError("Dns", `None of the name servers of zone ${zoneName} (${names.join(", ")}) resolve to an address`, {
      retryable: true,
    });
  }
  return addresses;
}

const NO_DATA = new Set(["ENODATA", "ENOTFOUND", "NXDOMAIN", "ENONAME"]);

/**
 * Waits until every expected TXT value is visible on every authoritative server of its zone. Throws a retryable
 * UpstreamError naming the servers and values still missing when the timeout passes.
 */
export async function waitForTxtPropagation(
  expected: readonly ExpectedTxt[],
  options: PropagationOptions = {},
): Promise<PropagationResult> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const maxInterval = options.maxIntervalMs ?? 2_000;
  let interval = options.intervalMs ?? 250;
  const override = parseResolverList(options.resolvers);
  const items = groupExpectations(expected);

  const servers: Record<string, string[]> = {};
  for (const item of items) {
    if (!servers[item.zoneName])
      servers[item.zoneName] = override.length > 0 ? override : await authoritativeServers(item.zoneName, item.nameServers);
  }
  const resolvers = new Map<string, dns.Resolver>();
  const resolverFor = (server: string) => {
    let r = resolvers.get(server);
    if (!r) {
      r = new dns.Resolver({ timeout: options.queryTimeoutMs ?? 1_000, tries: 1 });
      r.setServers([server]);
      resolvers.set(server, r);
    }
    return r;
  };

  // Pending checks: (server, item) pairs not yet satisfied.
  let pending = items.flatMap((item) => (servers[item.zoneName] ?? []).map((server) => ({ server, item, last: "not checked yet" })));
  let queries = 0;
  for (;;) {
    const results = await Promise.all(
      pending.map(async (check) => {
        queries++;
        try {
          const observed = await resolverFor(check.server).resolveTxt(check.item.fqdn);
          const missing = missingValues(check.item.values, observed);
          check.last = missing.length === 0 ? "ok" : `missing ${missing.join(", ")}`;
          return missing.length === 0;
        } catch (err) {
          const code = (err as { code?: string }).code ?? "";
          check.last = NO_DATA.has(code) ? "no TXT record yet" : `query failed: ${code || (err as Error).message}`;
          return false;
        }
      }),
    );
    pending = pending.filter((_, i) => !results[i]);
    if (pending.length === 0) return { elapsedMs: Date.now() - started, queries, servers };
    const remaining = timeoutMs - (Date.now() - started);
    if (remaining <= 0) {
      const detail = pending.map((c) => `${c.item.fqdn} @ ${c.server}: ${c.last}`).join("; ");
      throw new UpstreamError(
        "Dns",
        `TXT records not visible on every authoritative server after ${Math.round(timeoutMs / 1000)} s: ${detail}`,
        {
          status: 504,
          retryable: true,
        },
      );
    }
    await sleep(Math.min(interval, remaining), options.signal);
    interval = nextInterval(interval, maxInterval);
  }
}
