/**
 * The local stack: everything kv-acme talks to, on loopback, with no Azure account.
 *   local CA -> TLS for every HTTPS endpoint;  token endpoint (managed identity);  Key Vault stand-in;
 *   Azure DNS (ARM) stand-in + authoritative DNS server sharing one zone store;  Pebble validating against that DNS.
 * `startStack` runs it in-process (tests use ephemeral ports); `npm run stack` runs it in the foreground and
 * writes .local/stack.json, the contract other scripts and people rely on.
 */
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { promises as fs } from "node:fs";
import path from "node:path";
import { ensureLocalCa } from "./ca";
import { startArmDnsServer } from "./dns/arm-server";
import { startDnsServer } from "./dns/dns-server";
import { ForwardTable, answerWithForwarding } from "./dns/forward";
import { STACK_DNS_PROVIDERS, type StackDnsService } from "./dns/providers";
import { openZoneStore, type ZoneStore } from "./dns/zone-store";
import { startIdentityServer } from "./identity/server";
import { loadTokenAuthority, newIdentityHeader } from "./identity/tokens";
import { startAcmeProxy, type AcmeProxy } from "./acme-proxy";
import { startAzurite } from "./azurite";
import { FaultInjector, loadFaultSpec, type FaultPlan } from "./faults";
import { startKeyVaultServer, type KeyVaultServer } from "./keyvault/server";
import type { KeyVaultLimits } from "./keyvault/throttle";
import { assertPortsFree, freePort, type PortNeed } from "./net";
import { kvAcmeHome } from "./paths";
import { startPebble } from "./pebble";
import { writeFileAtomic } from "../shared/fs";

/** Fixed default ports of `npm run stack`; tests pass `ephemeral: true`. */
export const DEFAULT_PORTS = {
  identity: 42400,
  keyVault: 42401,
  arm: 42402,
  acme: 42414,
  pebbleManagement: 42415,
  dns: 42453,
  tables: 42416,
} as const;
export type StackPorts = { -readonly [K in keyof typeof DEFAULT_PORTS]: number };

export const DEFAULT_SUBSCRIPTION_ID = "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10";
export const DEFAULT_RESOURCE_GROUP = "kv-acme-local";
export const DEFAULT_ZONES = ["example.com", "example.org"];

export interface StackOptions {
  /** State root (default $KVACME_HOME or .local/); the CA always lives in <home>/ca. */
  home?: string;
  /** Where this stack keeps vault, DNS and Pebble state (default <home>/stack). */
  stateDir?: string;
  /** Use ephemeral ports for everything (tests). */
  ephemeral?: boolean;
  ports?: Partial<StackPorts>;
  zones?: string[];
  subscriptionId?: string;
  resourceGroup?: string;
  pebble?: {
    nonceRejectPercent?: number;
    eab?: boolean;
    validityPeriodSeconds?: number;
    log?: (line: string) => void;
    alternateRoots?: number;
  };
  /** Extra zone-file lines per zone of the real DNS servers (`dns`: BIND, Knot, PowerDNS), e.g. CAA records. */
  dnsRecords?: Record<string, string[]>;
  /** Fields merged into the ACME directory's `meta` by a proxy in front of Pebble (`profiles`, `caaIdentities`). */
  acmeDirectoryMeta?: Record<string, unknown>;
  /**
   * Fault injection per dependency (see faults.ts): a spec such as "keyvault=429:10%,acme=rateLimited:5%" or a
   * parsed plan. With ACME faults the directory URL points at a proxy in front of Pebble.
   */
  faults?: string | FaultPlan;
  /** Key Vault stand-in timing: "realistic" (default) or "instant" (tests that want speed). */
  keyVaultTiming?: "realistic" | "instant";
  /**
   * Key Vault's throttling in every stand-in (keyvault/throttle.ts): the published limits per vault per 10 s by
   * default, some of them replaced, or false for none (`npm run stack -- --kv-limits off`).
   */
  keyVaultLimits?: Partial<KeyVaultLimits> | false;
  /** The Key Vault stand-ins' throttle clock in ms (default Date.now; the fleet bench's simulated clock). */
  keyVaultNow?: () => number;
  /** Write <home>/stack.json (default true unless ephemeral). */
  writeStackJson?: boolean;
  /** DNS providers besides the Azure DNS stand-in (names of src/local/dns/providers.ts, e.g. "rfc2136", "powerdns"). */
  dns?: string[];
  /** Start Azurite's Table service for the fleet's agent reports (default true; test stacks opt in). */
  tables?: boolean;
  /** Key Vault stand-ins (1-8, default 1): the first is the default vault, the others `vault2`, `vault3`, ... (ephemeral ports). */
  vaults?: number;
}

/** Most Key Vault stand-ins a stack runs (`--vaults N`). */
export const MAX_STACK_VAULTS = 8;

/** The name of the stack's n-th Key Vault stand-in (n from 1): `default` (KvAcme__VaultUrl), then `vault2`, ... */
export function stackVaultName(n: number): string {
  return n === 1 ? "default" : `vault${n}`;
}

/** One extra DNS provider in stack.json: the kv-acme instance it configures, its zones, its servers, its settings. */
export interface StackDnsInfo {
  instance: string;
  type: string;
  zones: string[];
  /** The `KvAcme__Dns__<instance>__*` settings (secrets included: stack.json is 0600 and local). */
  settings: Record<string, string>;
  [key: string]: unknown;
}

/** The stack.json contract. */
export interface StackInfo {
  /** The default vault's Key Vault stand-in (the first of `vaults`). */
  keyVaultUrl: string;
  /** Every Key Vault stand-in, by kv-acme vault name (the first is the default vault). */
  vaults: { name: string; url: string }[];
  armEndpoint: string;
  subscriptionId: string;
  resourceGroup: string;
  zones: string[];
  dnsServer: string;
  acmeDirectoryUrl: string;
  identityEndpoint: string;
  identityHeader: string;
  imdsEndpoint: string;
  caFile: string;
  pebbleRootUrl: string;
  pebbleManagementUrl: string;
  eab?: { keyId: string; hmacKey: string };
  functionsHostUrl?: string;
  /** Azurite's Table service (the fleet's agent reports), when started. */
  tableEndpoint?: string;
  /** Extra DNS providers by --dns name (the Azure DNS stand-in is always there: armEndpoint, zones). */
  dnsProviders?: Record<string, StackDnsInfo>;
  startedAt: string;
  pid: number;
}

export interface Stack {
  info: StackInfo;
  /** Environment for a kv-acme process using this stack (settings, managed identity, CA trust). */
  env: Record<string, string>;
  /** Gets tokens from the stack's token endpoint over HTTP, as the managed identity credential does. */
  credential: TokenCredential;
  stackJsonPath?: string;
  /** The zone store behind the Azure DNS stand-in, the hosted stand-ins and the DNS server. */
  zoneStore: ZoneStore;
  /** The extra DNS providers by --dns name (their servers can be stopped and started, e.g. by tests). */
  dns: Record<string, StackDnsService>;
  /** The stack DNS server's forwarded zones. */
  forwards: ForwardTable;
  /** The fault injector when faults were asked for (its `counts` tally what was injected). */
  faults?: FaultInjector;
  /** The Key Vault stand-ins by vault name (tests stop one to see the others carry on). */
  keyVaults: Record<string, KeyVaultServer>;
  /** The proxy in front of Pebble, when faults or directory meta asked for one (its `newOrders` record what was sent). */
  acmeProxy?: AcmeProxy;
  close(): Promise<void>;
}

/** What listens on each port of the stack, for messages about a port in use. */
export const PORT_PARTS: Readonly<Record<keyof StackPorts, string>> = {
  identity: "the managed-identity token endpoint",
  keyVault: "the Key Vault stand-in",
  arm: "the Azure DNS (ARM) stand-in",
  dns: "the authoritative DNS server",
  acme: "Pebble, the ACME CA",
  pebbleManagement: "Pebble's management API",
  tables: "Azurite's Table service",
};

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const started = Date.now();
  const home = options.home ?? kvAcmeHome();
  const stateDir = options.stateDir ?? path.join(home, "stack");
  const ephemeral = options.ephemeral ?? false;
  const port = async (key: keyof StackPorts): Promise<number> =>
    options.ports?.[key] ??
    (ephemeral ? (key === "acme" || key === "pebbleManagement" || key === "tables" ? freePort() : 0) : DEFAULT_PORTS[key]);
  const zones = options.zones ?? DEFAULT_ZONES;
  const subscriptionId = options.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
  const vaultCount = options.vaults ?? 1;
  if (!Number.isInteger(vaultCount) || vaultCount < 1 || vaultCount > MAX_STACK_VAULTS)
    throw new Error(`vaults must be an integer from 1 to ${MAX_STACK_VAULTS}, got ${String(options.vaults)}`);
  const resourceGroup = options.resourceGroup ?? DEFAULT_RESOURCE_GROUP;

  if (!ephemeral) {
    const fixed = async (key: keyof StackPorts, udp = false): Promise<PortNeed> => ({
      part: PORT_PARTS[key],
      port: await port(key),
      udp,
      flag: `--ports ${key}=N`,
    });
    await assertPortsFree(
      await Promise.all([
        fixed("identity"),
        fixed("keyVault"),
        fixed("arm"),
        fixed("dns", true),
        fixed("acme"),
        fixed("pebbleManagement"),
        ...((options.tables ?? true) ? [fixed("tables")] : []),
      ]),
      "start this one on free ports with --ephemeral",
    );
  }
  const faults =
    options.faults === undefined
      ? undefined
      : new FaultInjector(typeof options.faults === "string" ? loadFaultSpec(options.faults) : options.faults);
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const [ca, authority] = await Promise.all([ensureLocalCa(path.join(home, "ca")), loadTokenAuthority(path.join(stateDir, "identity"))]);
  const tls = await ca.issueServerCertificate(["localhost", "127.0.0.1", "::1"]);
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    closers.length = 0;
  };
  let azurite: Promise<{ tableEndpoint: string; stop(): Promise<void> }> | undefined;
  try {
    // Azurite (a child process that takes a second or two to load) starts first and comes up while the rest does.
    azurite = (options.tables ?? true) ? startAzurite({ dir: path.join(stateDir, "azurite"), tls, port: await port("tables") }) : undefined;
    void azurite?.then((a) => closers.push(a.stop)).catch(() => undefined);
    const identityHeader = newIdentityHeader();
    const identity = await startIdentityServer({ authority, identityHeader, port: await port("identity"), faults });
    closers.push(identity.close);
    const store = await openZoneStore({
      stateDir: path.join(stateDir, "dns"),
      subscriptionId,
      seedZones: zones.map((name) => ({ name, resourceGroup })),
      nameServers: ["ns1.kv-acme.localhost.", "ns2.kv-acme.localhost."],
    });
    const forwards = new ForwardTable();
    const [keyVault, arm, dns] = await Promise.all([
      startKeyVaultServer({
        authority,
        tls,
        stateDir: path.join(stateDir, "keyvault"),
        port: await port("keyVault"),
        timing: options.keyVaultTiming,
        faults,
        limits: options.keyVaultLimits,
        now: options.keyVaultNow,
      }),
      startArmDnsServer({ store, authority, tls, port: await port("arm"), faults }),
      startDnsServer({ store, port: await port("dns"), faults, answer: (message, o) => answerWithForwarding(store, forwards, message, o) }),
    ]);
    closers.push(keyVault.close, arm.close, dns.close);
    const keyVaults: Record<string, KeyVaultServer> = { [stackVaultName(1)]: keyVault };
    for (let n = 2; n <= vaultCount; n++) {
      const extra = await startKeyVaultServer({
        authority,
        tls,
        stateDir: path.join(stateDir, `keyvault-${stackVaultName(n)}`),
        port: 0,
        timing: options.keyVaultTiming,
        faults,
        limits: options.keyVaultLimits,
        now: options.keyVaultNow,
      });
      closers.push(extra.close);
      keyVaults[stackVaultName(n)] = extra;
    }
    const dnsServer = `${dns.host}:${dns.port}`;
    const extraDns: Record<string, StackDnsService> = {};
    for (const name of (options.dns ?? []).filter((n) => n !== "azure")) {
      const definition = STACK_DNS_PROVIDERS[name];
      if (!definition)
        throw new Error(`Unknown stack DNS provider "${name}" (known: azure, ${Object.keys(STACK_DNS_PROVIDERS).join(", ")})`);
      const service = await definition.start({
        dir: path.join(stateDir, "dns-providers"),
        forwards,
        store,
        tls,
        caCertPem: ca.caCertPem,
        dnsServer,
        faults,
        records: options.dnsRecords,
      });
      extraDns[name] = service;
      closers.push(service.close);
    }
    const pebble = await startPebble({
      dir: path.join(stateDir, "pebble"),
      tls,
      caCertPem: ca.caCertPem,
      dnsServer,
      acmePort: await port("acme"),
      managementPort: await port("pebbleManagement"),
      nonceRejectPercent: options.pebble?.nonceRejectPercent,
      eab: options.pebble?.eab,
      validityPeriodSeconds: options.pebble?.validityPeriodSeconds,
      log: options.pebble?.log,
      alternateRoots: options.pebble?.alternateRoots,
    });
    closers.push(pebble.stop);
    // ACME faults (new orders rate-limited, 503s) or directory meta the Debian Pebble lacks: clients reach Pebble
    // through a proxy.
    let acmeDirectoryUrl = pebble.directoryUrl;
    let acmeProxy: AcmeProxy | undefined;
    if ((faults && (faults.plan.rules.some((r) => r.target === "acme") || faults.plan.latency.acme)) || options.acmeDirectoryMeta) {
      const upstream = new URL(pebble.directoryUrl);
      const proxy = await startAcmeProxy({
        upstream: upstream.origin,
        tls,
        caCertPem: ca.caCertPem,
        injector: faults,
        directoryMeta: options.acmeDirectoryMeta,
      });
      closers.push(proxy.close);
      acmeDirectoryUrl = `${proxy.url}${upstream.pathname}`;
      acmeProxy = proxy;
    }

    const tableEndpoint = (await azurite)?.tableEndpoint;

    const info: StackInfo = {
      keyVaultUrl: keyVault.url,
      vaults: Object.entries(keyVaults).map(([name, server]) => ({ name, url: server.url })),
      armEndpoint: arm.url,
      subscriptionId,
      resourceGroup,
      zones: [...zones],
      dnsServer,
      acmeDirectoryUrl,
      identityEndpoint: identity.identityEndpoint,
      identityHeader,
      imdsEndpoint: identity.imdsEndpoint,
      caFile: ca.caFile,
      pebbleRootUrl: pebble.rootUrl,
      pebbleManagementUrl: pebble.managementUrl,
      ...(pebble.eab ? { eab: pebble.eab } : {}),
      ...(tableEndpoint ? { tableEndpoint } : {}),
      ...(Object.keys(extraDns).length > 0
        ? {
            dnsProviders: Object.fromEntries(
              Object.entries(extraDns).map(([name, d]) => [
                name,
                { ...d.info, instance: d.instance, type: d.type, zones: d.zones, settings: d.env },
              ]),
            ),
          }
        : {}),
      startedAt: new Date(started).toISOString(),
      pid: process.pid,
    };
    let stackJsonPath: string | undefined;
    if (options.writeStackJson ?? !ephemeral) {
      stackJsonPath = path.join(home, "stack.json");
      await writeFileAtomic(stackJsonPath, JSON.stringify(info, null, 2) + "\n", 0o600);
      const written = stackJsonPath;
      closers.unshift(() => fs.rm(written, { force: true }));
    }
    return {
      info,
      env: stackEnv(info),
      credential: stackCredential(info),
      stackJsonPath,
      zoneStore: store,
      dns: extraDns,
      forwards,
      faults,
      keyVaults,
      ...(acmeProxy ? { acmeProxy } : {}),
      close,
    };
  } catch (err) {
    await close();
    await azurite?.then((a) => a.stop()).catch(() => undefined);
    throw err;
  }
}

/** The settings environment a kv-acme process (CLI, local host) needs to use a stack. */
export function stackEnv(info: StackInfo): Record<string, string> {
  const env: Record<string, string> = {
    IDENTITY_ENDPOINT: info.identityEndpoint,
    IDENTITY_HEADER: info.identityHeader,
    NODE_EXTRA_CA_CERTS: info.caFile,
    KvAcme__AcmeDirectoryUrl: info.acmeDirectoryUrl,
    KvAcme__VaultUrl: info.keyVaultUrl,
    // The other vaults by name (stack.json files of older stacks list none).
    ...Object.fromEntries((info.vaults ?? []).slice(1).map((v) => [`KvAcme__Vaults__${v.name}__Url`, v.url])),
    KvAcme__ArmEndpoint: info.armEndpoint,
    KvAcme__DnsSubscriptionIds: info.subscriptionId,
    KvAcme__DnsResolver: info.dnsServer,
    KvAcme__DisableChallengeResourceVerification: "true",
    KvAcme__PropagationTimeoutSeconds: "30",
  };
  // Hosted stand-ins keep their zones in the same store (other resource groups): Azure DNS keeps to its own group.
  if (info.dnsProviders) env.KvAcme__DnsResourceGroups = info.resourceGroup;
  if (info.tableEndpoint) env.KvAcme__Fleet__TableEndpoint = info.tableEndpoint;
  if (info.eab) {
    env.KvAcme__Eab__KeyId = info.eab.keyId;
    env.KvAcme__Eab__HmacKey = info.eab.hmacKey;
  }
  for (const d of Object.values(info.dnsProviders ?? {})) Object.assign(env, d.settings);
  return env;
}

/** A TokenCredential that asks the stack's App Service-style token endpoint, exactly like ManagedIdentityCredential. */
export function stackCredential(info: Pick<StackInfo, "identityEndpoint" | "identityHeader">): TokenCredential {
  const cache = new Map<string, AccessToken>();
  return {
    async getToken(scopes) {
      const resource = String([scopes].flat()[0]).replace(/\/\.default$/, "");
      const hit = cache.get(resource);
      if (hit && hit.expiresOnTimestamp - Date.now() > 60_000) return hit;
      const url = new URL(info.identityEndpoint);
      url.searchParams.set("api-version", "2019-08-01");
      url.searchParams.set("resource", resource);
      const res = await fetch(url, { headers: { "X-IDENTITY-HEADER": info.identityHeader } });
      if (!res.ok) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`);
      const body = (await res.json()) as { access_token: string; expires_on: string };
      const token = { token: body.access_token, expiresOnTimestamp: Number(body.expires_on) * 1000 };
      cache.set(resource, token);
      return token;
    },
  };
}

/** Reads .local/stack.json written by a running `npm run stack`. */
export async function readStackJson(home = kvAcmeHome()): Promise<StackInfo> {
  const file = path.join(home, "stack.json");
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as StackInfo;
  } catch {
    throw new Error(`No running local stack: ${file} is missing. Start one with \`npm run stack\`.`);
  }
}
