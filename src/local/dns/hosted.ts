/**
 * The hosted DNS providers' stand-ins the local stack can run beside the Azure DNS stand-in (`npm run stack --
 * --dns cloudflare,route53,gcloud,custom,acme-dns`): one table row per provider with its zone, the credentials
 * generated for this run, and how to start it on the shared zone store (so the stack's DNS server answers for its
 * zones). Each stand-in can be stopped and restarted on the same port (tests of "the provider's server stopped
 * mid-order"). `hostedStackDefinitions()` plugs them into the stack's DNS provider table (./providers.ts).
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { startAcmeDnsServer } from "./acme-dns-server";
import { startCloudflareServer } from "./cloudflare-server";
import { startCustomDnsServer } from "./custom-server";
import { startGcloudServer } from "./gcloud-server";
import { startRoute53Server } from "./route53-server";
import type { FaultInjector } from "../faults";
import type { StackDnsDefinition } from "./providers";
import type { StandInServer } from "./standin";
import type { ZoneStore } from "./zone-store";

export interface StandInContext {
  store: ZoneStore;
  tls: { certPem: string; keyPem: string };
  /** The stack's authoritative DNS server ("host:port"). */
  dnsServer: string;
  port?: number;
  /** The stack's fault injector (each stand-in answers its own target: cloudflare, route53, gcloud, custom, acme-dns). */
  faults?: FaultInjector;
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
  gcloud: {
    zones: ["gcloud.example"],
    credentials: () => {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      return {
        project: "kv-acme-local",
        clientEmail: "kv-acme@kv-acme-local.iam.gserviceaccount.com",
        keyId: randomBytes(20).toString("hex"),
        privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
        tokenSecret: secret(32),
      };
    },
    async start(ctx, c) {
      const account = {
        clientEmail: c.clientEmail as string,
        keyId: c.keyId as string,
        publicKeyPem: c.publicKeyPem as string,
        zones: "*" as const,
      };
      const server = await startGcloudServer({
        ...ctx,
        project: c.project as string,
        zones: this.zones,
        serviceAccounts: [account],
        tokenSecret: c.tokenSecret as string,
      });
      const serviceAccountKey = JSON.stringify({
        type: "service_account",
        project_id: c.project,
        private_key_id: c.keyId,
        private_key: c.privateKeyPem,
        client_email: c.clientEmail,
        token_uri: server.tokenUri,
      });
      return { ...server, options: { project: c.project as string, serviceAccountKey, apiUrl: server.apiUrl } };
    },
  },
  custom: {
    zones: ["custom.example"],
    credentials: () => ({ apiKey: secret(24) }),
    async start(ctx, c) {
      const server = await startCustomDnsServer({ ...ctx, zones: this.zones, apiKey: c.apiKey as string });
      return {
        ...server,
        options: { endpoint: server.endpoint, apiKey: c.apiKey as string, apiKeyHeaderName: "X-Api-Key", resolvers: ctx.dnsServer },
      };
    },
  },
  "acme-dns": {
    zones: ["acme-dns.example"],
    credentials: () => ({ secret: secret(32) }),
    async start(ctx, c) {
      const server = await startAcmeDnsServer({ ...ctx, zone: this.zones[0] as string, secret: c.secret as string });
      return { ...server, options: { apiUrl: server.url } };
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

/** The kv-acme setting suffix of a provider option ("apiToken" -> "ApiToken"). */
const settingKey = (option: string) => option.charAt(0).toUpperCase() + option.slice(1);

/**
 * The stack DNS provider entries of the hosted stand-ins: each configures the kv-acme provider instance of the same
 * name and type (`KvAcme__Dns__<name>__Type=<name>` and its options). acme-dns registers one account at start (the
 * demo's CNAME points at it) and configures it for `delegateFrom`, the Azure zone the demo delegates from.
 */
export function hostedStackDefinitions(delegateFrom: string): Record<HostedProviderName, StackDnsDefinition> {
  const entries = (Object.keys(HOSTED_STANDINS) as HostedProviderName[]).map((name): [HostedProviderName, StackDnsDefinition] => [
    name,
    {
      description: `${name} API stand-in (src/local/dns/${name}-server.ts)`,
      zones: [...HOSTED_STANDINS[name].zones],
      debianPackages: [],
      async start(context) {
        const standIn = await startHostedStandIn(name, {
          store: context.store,
          tls: context.tls,
          dnsServer: context.dnsServer,
          faults: context.faults,
        });
        const options: Record<string, string> = { ...standIn.info.options };
        let account: Record<string, string> | undefined;
        if (name === "acme-dns") {
          const res = await fetch(`${standIn.info.url}/register`, { method: "POST" });
          if (res.status !== 201) throw new Error(`acme-dns stand-in: register answered ${res.status}`);
          account = (await res.json()) as Record<string, string>;
          options.accounts = JSON.stringify({ [delegateFrom]: account });
        }
        const prefix = `KvAcme__Dns__${name}__`;
        const env = {
          [`${prefix}Type`]: name,
          ...Object.fromEntries(Object.entries(options).map(([k, v]) => [`${prefix}${settingKey(k)}`, v])),
        };
        return {
          name,
          instance: name,
          type: name,
          zones: standIn.info.zones,
          env,
          info: {
            server: `${name} API stand-in ${standIn.info.url}`,
            dns: context.dnsServer,
            api: standIn.info.url,
            ...(account ? { account } : {}),
          },
          standIn,
          close: standIn.stop,
        };
      },
    },
  ]);
  return Object.fromEntries(entries) as Record<HostedProviderName, StackDnsDefinition>;
}
