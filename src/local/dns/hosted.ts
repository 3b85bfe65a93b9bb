/**
 * The hosted DNS providers' stand-ins the local stack can run beside the Azure DNS stand-in (`npm run stack --
 * --dns cloudflare,route53,…`): one table row per provider with its zone, the credentials generated for this run,
 * and how to start it on the shared zone store. Each stand-in can be stopped and restarted on the same port (tests
 * of "the provider's server stopped mid-order").
 */
import { randomBytes } from "node:crypto";
import { startCloudflareServer } from "./cloudflare-server";
import { startRoute53Server } from "./route53-server";
import type { StandInServer } from "./standin";
import type { ZoneStore } from "./zone-store";

export interface StandInContext {
  store: ZoneStore;
  tls: { certPem: string; keyPem: string };
  port?: number;
}

/** What a running stand-in tells its users: where it is, its zones, and the provider options that reach it. */
export interface HostedStandInInfo {
  url: string;
  zones: string[];
  /** The kv-acme provider options for this stand-in (credentials included: they exist only for this run). */
  options: Record<string, string>;
}

export interface HostedStandIn {
  info: HostedStandInInfo;
  /** Stops the server (its records stay in the zone store). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same credentials. */
  start(): Promise<void>;
}

interface StandInDefinition {
  zones: string[];
  /** Credentials for one run. */
  credentials(): Record<string, string>;
  start(ctx: StandInContext, credentials: Record<string, string>): Promise<StandInServer & { options: Record<string, string> }>;
}

const secret = (bytes = 24) => randomBytes(bytes).toString("base64url");

export const HOSTED_STANDINS = {
  cloudflare: {
    zones: ["cloudflare.example"],
    credentials: () => ({ apiToken: secret(30) }),
    async start(ctx, credentials) {
      const server = await startCloudflareServer({
        ...ctx,
        zones: this.zones,
        tokens: [{ token: credentials.apiToken as string, zoneRead: "*", dnsEdit: "*" }],
      });
      return { ...server, options: { apiToken: credentials.apiToken as string, apiUrl: server.apiUrl } };
    },
  },
  route53: {
    zones: ["route53.example"],
    credentials: () => ({ accessKeyId: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`, secretAccessKey: secret(30) }),
    async start(ctx, credentials) {
      const keys = [
        { accessKeyId: credentials.accessKeyId as string, secretAccessKey: credentials.secretAccessKey as string, zones: "*" as const },
      ];
      const server = await startRoute53Server({ ...ctx, zones: this.zones, keys });
      return { ...server, options: { ...credentials, endpoint: server.url } };
    },
  },
} satisfies Record<string, StandInDefinition>;

export type HostedProviderName = keyof typeof HOSTED_STANDINS;

export function isHostedProviderName(name: string): name is HostedProviderName {
  return Object.prototype.hasOwnProperty.call(HOSTED_STANDINS, name);
}

/** Starts one stand-in; `start()` after `stop()` reuses the port and the credentials. */
export async function startHostedStandIn(name: HostedProviderName, ctx: StandInContext): Promise<HostedStandIn> {
  const def: StandInDefinition = HOSTED_STANDINS[name];
  const credentials = def.credentials();
  let server: (StandInServer & { options: Record<string, string> }) | undefined = await def.start(ctx, credentials);
  const port = server.port;
  const info: HostedStandInInfo = { url: server.url, zones: [...def.zones], options: server.options };
  return {
    info,
    async stop() {
      const s = server;
      server = undefined;
      await s?.close();
    },
    async start() {
      if (!server) server = await def.start({ ...ctx, port }, credentials);
    },
  };
}
