/**
 * The DNS a run of bench/issue-latency.ts writes its TXT values to (`--dns azure|rfc2136|powerdns`), the same for
 * every contender in the run:
 *   azure     the stack's Azure DNS (ARM) stand-in; certbot and lego through the ARM hook (bench/hooks/arm-txt.sh);
 *   rfc2136   BIND 9 (Debian bind9) with TSIG-signed RFC 2136 updates; certbot's dns-rfc2136 plugin (Debian
 *             python3-certbot-dns-rfc2136) and lego's rfc2136 provider write to the same server with the same key;
 *   powerdns  PowerDNS Authoritative (Debian pdns-server + pdns-backend-sqlite3) through its HTTP API; lego's pdns
 *             provider (certbot has no PowerDNS plugin in Debian, so it does not take part).
 * The stack's DNS server forwards the BIND / PowerDNS zone to that server, so Pebble validates real answers of it.
 */
import { Resolver } from "node:dns/promises";
import { STACK_DNS_PROVIDERS } from "../../src/local/dns/providers";
import type { Stack } from "../../src/local/stack";
import type { ToolName } from "./issue-tools";

export const BENCH_DNS = ["azure", "rfc2136", "powerdns"] as const;
export type BenchDns = (typeof BENCH_DNS)[number];

/** The contenders each DNS supports, in run order. */
export const DNS_TOOLS: Readonly<Record<BenchDns, readonly ToolName[]>> = {
  azure: ["kvAcme", "certbot", "lego"],
  rfc2136: ["kvAcme", "certbot", "lego"],
  powerdns: ["kvAcme", "lego"],
};

/** What the issue asks of each DNS: a median bound and RSS for kv-acme (azure, issue 3), ratios over every peer. */
export const DNS_TARGETS: Readonly<
  Record<BenchDns, { kvAcmeMedianMsMax?: number; kvAcmePeakRssMbMax?: number; peerOverKvAcmeMin: number }>
> = {
  azure: { kvAcmeMedianMsMax: 500, kvAcmePeakRssMbMax: 150, peerOverKvAcmeMin: 5 },
  rfc2136: { peerOverKvAcmeMin: 10 },
  powerdns: { peerOverKvAcmeMin: 10 },
};

/** How certbot and lego reach the DNS of the run. */
export type PeerDns =
  | { kind: "azure"; hookEnv: NodeJS.ProcessEnv }
  | { kind: "rfc2136"; host: string; port: number; tsig: { name: string; algorithm: string; secret: string } }
  | { kind: "powerdns"; apiUrl: string; apiKey: string };

export interface BenchDnsSetup {
  dns: BenchDns;
  /** The zone the certificates are issued in (bench-<i>-<tool>.<zone>). */
  zone: string;
  /** What runs there, for the JSON ("Azure DNS stand-in", "BIND 9", "PowerDNS"). */
  server: string;
  peer: PeerDns;
}

/** The stack DNS providers (src/local/dns/providers.ts) a --dns value needs besides the Azure DNS stand-in. */
export function stackDnsFor(dns: BenchDns): string[] {
  return dns === "azure" ? [] : [dns];
}

export function benchDnsSetup(dns: BenchDns, stack: Stack, hookEnv: NodeJS.ProcessEnv): BenchDnsSetup {
  if (dns === "azure") return { dns, zone: stack.info.zones[0] as string, server: "Azure DNS stand-in", peer: { kind: "azure", hookEnv } };
  const service = stack.dns[dns];
  const server = service?.server;
  const zone = STACK_DNS_PROVIDERS[dns]?.zones[0];
  if (!service || !server || !zone) throw new Error(`the stack did not start its ${dns} DNS server`);
  if (dns === "rfc2136") {
    if (!server.tsig) throw new Error("the stack's BIND has no TSIG key");
    return { dns, zone, server: server.label, peer: { kind: "rfc2136", host: server.host, port: server.port, tsig: server.tsig } };
  }
  if (!server.api) throw new Error("the stack's PowerDNS has no API");
  return { dns, zone, server: server.label, peer: { kind: "powerdns", apiUrl: server.api.url, apiKey: server.api.apiKey } };
}

const ABSENT = new Set(["ENODATA", "ENOTFOUND", "NXDOMAIN"]);

/**
 * The TXT values at `_acme-challenge.<apex>` as the stack's DNS server answers them (it forwards BIND / PowerDNS
 * zones to their server): empty when the contender cleaned up. Checked after every run of every contender.
 */
export async function leftoverValues(stack: Stack, apex: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: 2_000, tries: 2 });
  resolver.setServers([stack.info.dnsServer]);
  try {
    return (await resolver.resolveTxt(`_acme-challenge.${apex}`)).map((chunks) => chunks.join(""));
  } catch (err) {
    if (ABSENT.has((err as { code?: string }).code ?? "")) return [];
    throw err;
  }
}
