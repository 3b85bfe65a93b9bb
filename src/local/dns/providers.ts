/**
 * DNS providers of the local stack (`npm run stack -- --dns rfc2136,powerdns`, `npm run demo -- --dns knot`): each
 * name starts the servers or stand-ins that provider talks to, adds their zones to the stack DNS server's forward
 * table (so Pebble validates against real answers of that server), and hands back the kv-acme settings of one
 * provider instance (`KvAcme__Dns__<instance>__*`) and what stack.json lists about it. `azure` is the stack's own
 * Azure DNS stand-in and is always there. Another provider plugs in by adding an entry to STACK_DNS_PROVIDERS.
 */
import type { FaultInjector } from "../faults";
import path from "node:path";
import type { ZoneStore } from "./zone-store";
import type { ForwardTable } from "./forward";
import { startAuthoritative, type AuthoritativeKind, type AuthoritativeServer } from "./authoritative";
import { hostedStackDefinitions, type HostedStandIn } from "./hosted";

/** What a stack DNS provider gets: its own state directory, the forward table, the stack's CA/TLS material. */
export interface StackDnsContext {
  dir: string;
  forwards: ForwardTable;
  store: ZoneStore;
  tls: { certPem: string; keyPem: string };
  caCertPem: string;
  /** The stack's DNS server, host:port. */
  dnsServer: string;
  /** The stack's fault injector, for the hosted API stand-ins. */
  faults?: FaultInjector;
  /** Extra zone-file lines per zone for the real servers (e.g. CAA records of the CAA pre-flight tests). */
  records?: Record<string, string[]>;
}

export interface StackDnsService {
  /** The --dns name. */
  name: string;
  /** The kv-acme provider instance it configures (settings `KvAcme__Dns__<instance>__*`). */
  instance: string;
  /** The provider type of that instance. */
  type: string;
  zones: string[];
  /** kv-acme settings for the instance. */
  env: Record<string, string>;
  /** For stack.json: endpoints and what runs (secrets included: stack.json is 0600 and local). */
  info: Record<string, unknown>;
  /** The real server process, when there is one (tests stop and restart it). */
  server?: AuthoritativeServer;
  /** The API stand-in of a hosted provider (Cloudflare, Route 53, ...), when it is one (tests stop and restart it). */
  standIn?: HostedStandIn;
  close(): Promise<void>;
}

export interface StackDnsDefinition {
  description: string;
  /** Zones it serves in the stack (fixed so demos and docs can name them). */
  zones: string[];
  /** Debian packages it needs (the demo installs them when root). */
  debianPackages: string[];
  start(context: StackDnsContext): Promise<StackDnsService>;
}

function authoritativeProvider(
  name: string,
  kind: AuthoritativeKind,
  zones: string[],
  debianPackages: string[],
  description: string,
): StackDnsDefinition {
  return {
    description,
    zones,
    debianPackages,
    async start(context) {
      const server = await startAuthoritative(kind, { dir: path.join(context.dir, name), zones, records: context.records });
      for (const zone of zones) context.forwards.add(zone, server.host, server.port);
      const prefix = `KvAcme__Dns__${name}__`;
      const env: Record<string, string> =
        kind === "powerdns"
          ? { [`${prefix}Type`]: "powerdns", [`${prefix}ApiUrl`]: server.api?.url ?? "", [`${prefix}ApiKey`]: server.api?.apiKey ?? "" }
          : {
              [`${prefix}Type`]: "rfc2136",
              [`${prefix}Server`]: `${server.host}:${server.port}`,
              [`${prefix}Zones`]: zones.join(","),
              [`${prefix}KeyName`]: server.tsig?.name ?? "",
              [`${prefix}KeySecret`]: server.tsig?.secret ?? "",
              [`${prefix}KeyAlgorithm`]: server.tsig?.algorithm ?? "",
            };
      return {
        name,
        instance: name,
        type: kind === "powerdns" ? "powerdns" : "rfc2136",
        zones,
        env,
        server,
        info: {
          server: server.label,
          dns: `${server.host}:${server.port}`,
          zones,
          ...(server.tsig ? { tsig: server.tsig } : {}),
          ...(server.api ? { api: server.api } : {}),
        },
        close: () => server.close(),
      };
    },
  };
}

/** The stack's DNS providers by --dns name (besides `azure`, which is always there). */
export const STACK_DNS_PROVIDERS: Record<string, StackDnsDefinition> = {
  rfc2136: authoritativeProvider("rfc2136", "bind", ["example.net"], ["bind9"], "BIND 9 with RFC 2136 updates signed by TSIG"),
  knot: authoritativeProvider("knot", "knot", ["example.info"], ["knot"], "Knot DNS with RFC 2136 updates signed by TSIG"),
  powerdns: authoritativeProvider(
    "powerdns",
    "powerdns",
    ["example.edu"],
    ["pdns-server", "pdns-backend-sqlite3", "sqlite3"],
    "PowerDNS Authoritative with its HTTP API",
  ),
  ...hostedStackDefinitions("example.com"),
};

/** The names `--dns` accepts, `azure` first. */
export function stackDnsNames(): string[] {
  return ["azure", ...Object.keys(STACK_DNS_PROVIDERS)];
}

/** Parses a `--dns a,b` list; throws naming the known names for an unknown one. */
export function parseStackDnsList(raw: string | undefined): string[] {
  const names = (raw ?? "azure")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
  const unknown = names.filter((n) => !stackDnsNames().includes(n));
  if (unknown.length > 0) throw new Error(`--dns: unknown provider ${unknown.join(", ")}; known: ${stackDnsNames().join(", ")}`);
  return [...new Set(names)];
}
