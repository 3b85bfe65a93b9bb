/**
 * "Custom DNS" over HTTP, compatible with the contract of the C# tool (Acmebot / keyvault-acmebot,
 * src/Acmebot/Providers/CustomDnsProvider.cs), so endpoints written for it work unchanged:
 *   GET    {endpoint}zones                          -> [{ "id", "name", "nameServers": [] }]
 *   PUT    {endpoint}zones/{zoneId}/records/{fqdn}  { "type": "TXT", "ttl": 60, "values": [...] }  (replaces the set)
 *   DELETE {endpoint}zones/{zoneId}/records/{fqdn}  (deletes the set)
 * every request with `Accept: application/json` and `<ApiKeyHeaderName>: <ApiKey>`; any non-2xx answer fails.
 *
 * The contract replaces whole sets and has no read, so adding one value keeps the others by reading the current
 * TXT set from the zone's authoritative name servers (or `resolvers`) and PUTting the union; removing PUTs the rest,
 * or DELETEs when nothing is left. Writes to one name are serialized inside this process; two processes writing the
 * same name at the same moment can still lose a value (the contract offers no precondition) — the propagation
 * check then fails and the order is retried.
 */
import { promises as dns } from "node:dns";
import { setting, readSettings } from "../config/descriptor";
import { parseResolvers, parseServiceUrl } from "../config/parsers";
import { UpstreamError } from "../shared/errors";
import { authoritativeServers, parseResolverList } from "./propagation";
import type { DnsProvider, DnsProviderType, DnsZone } from "./provider";
import { KeyedLock, httpFailure, parseJson, send, type CallContext } from "./rest";

export interface CustomDnsOptions {
  /** Base URL; the contract's relative paths are appended (a missing trailing "/" is added). */
  endpoint: string;
  apiKey: string;
  /** Header carrying the key, default X-Api-Key (Acmebot's ApiKeyHeaderName). */
  apiKeyHeaderName: string;
  /** DNS servers ("host:port") to read the current TXT set from instead of the zone's name servers. */
  resolvers?: string[];
  name?: string;
}

const NO_DATA = new Set(["ENODATA", "ENOTFOUND", "NXDOMAIN", "ENONAME"]);
/** One lock per process (keyed by endpoint and name): every provider instance of this process queues on it. */
const WRITES = new KeyedLock();

export class CustomDnsProvider implements DnsProvider {
  readonly type = "custom";
  readonly name: string;
  private readonly base: string;

  constructor(private readonly options: CustomDnsOptions) {
    this.name = options.name ?? "custom";
    this.base = options.endpoint.endsWith("/") ? options.endpoint : `${options.endpoint}/`;
  }

  private ctx(action: string, zone?: string): CallContext {
    return { provider: `Custom DNS (${this.name})`, action, zone };
  }

  private async call(method: "GET" | "PUT" | "DELETE", path: string, ctx: CallContext, body?: unknown): Promise<string> {
    const res = await send(
      {
        method,
        url: new URL(path, this.base).toString(),
        headers: {
          accept: "application/json",
          [this.options.apiKeyHeaderName]: this.options.apiKey,
          ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
      ctx,
    );
    if (res.status < 200 || res.status > 299)
      throw httpFailure(ctx, res.status, res.text.slice(0, 300) || `HTTP ${res.status}`, res.headers);
    return res.text;
  }

  async listZones(): Promise<DnsZone[]> {
    const ctx = this.ctx("listing zones");
    const text = await this.call("GET", "zones", ctx);
    const zones = parseJson<{ id?: unknown; name?: unknown; nameServers?: unknown }[]>({ status: 200, headers: new Headers(), text }, ctx);
    if (!Array.isArray(zones)) throw new UpstreamError("CustomDNS", `Custom DNS (${this.name}): GET zones did not answer a JSON array`);
    return zones
      .filter((z) => typeof z.id === "string" && typeof z.name === "string")
      .map((z) => ({
        provider: this.name,
        id: z.id as string,
        name: (z.name as string).replace(/\.$/, "").toLowerCase(),
        nameServers: Array.isArray(z.nameServers) ? z.nameServers.filter((n): n is string => typeof n === "string") : [],
      }));
  }

  /** The TXT values at `fqdn` on the zone's authoritative servers (the first that answers). */
  private async currentValues(zone: DnsZone, fqdn: string, ctx: CallContext): Promise<string[]> {
    const servers =
      this.options.resolvers && this.options.resolvers.length > 0
        ? parseResolverList(this.options.resolvers)
        : await authoritativeServers(zone.name, zone.nameServers);
    let lastError: unknown;
    for (const server of servers) {
      const resolver = new dns.Resolver({ timeout: 2_000, tries: 2 });
      resolver.setServers([server]);
      try {
        return (await resolver.resolveTxt(fqdn)).map((chunks) => chunks.join(""));
      } catch (err) {
        if (NO_DATA.has((err as { code?: string }).code ?? "")) return [];
        lastError = err;
      }
    }
    throw new UpstreamError(
      "CustomDNS",
      `Custom DNS (${this.name}): ${ctx.action} in zone ${zone.name}: cannot read the current TXT set: ${String(lastError)}`,
      {
        retryable: true,
      },
    );
  }

  private path(zone: DnsZone, fqdn: string): string {
    return `zones/${zone.id}/records/${fqdn}`;
  }

  async addTxtValues(zone: DnsZone, recordName: string, values: string[], ttl: number): Promise<void> {
    const fqdn = `${recordName}.${zone.name}`;
    const ctx = this.ctx(`adding TXT values at ${fqdn}`, zone.name);
    await WRITES.run(`${this.base} ${fqdn}`, async () => {
      const current = await this.currentValues(zone, fqdn, ctx);
      const missing = [...new Set(values)].filter((v) => !current.includes(v));
      if (missing.length === 0) return;
      await this.call("PUT", this.path(zone, fqdn), ctx, { type: "TXT", ttl, values: [...current, ...missing] });
    });
  }

  async removeTxtValues(zone: DnsZone, recordName: string, values: string[]): Promise<void> {
    const fqdn = `${recordName}.${zone.name}`;
    const ctx = this.ctx(`removing TXT values at ${fqdn}`, zone.name);
    await WRITES.run(`${this.base} ${fqdn}`, async () => {
      const current = await this.currentValues(zone, fqdn, ctx);
      if (!current.some((v) => values.includes(v))) return;
      const remaining = current.filter((v) => !values.includes(v));
      if (remaining.length === 0) await this.call("DELETE", this.path(zone, fqdn), ctx);
      else await this.call("PUT", this.path(zone, fqdn), ctx, { type: "TXT", ttl: 60, values: remaining });
    });
  }
}

/**
 * The settings of one Custom DNS instance, declared once for `KvAcme__Dns__<instance>__<Key>` and once for the leading
 * C# tool's `Acmebot__CustomDns__<Key>` (its CustomDnsOptions), which configure the instance `customdns`.
 */
function customSettings(names: (key: string) => { key?: string; aliases: string[] }) {
  return {
    endpoint: setting({
      ...names("Endpoint"),
      field: "endpoint",
      type: "URL",
      required: true,
      doc: "Base URL of the endpoint (Acmebot's `CustomDns:Endpoint`); `zones`, `zones/{id}/records/{name}` are appended.",
      parse: (raw: string) => parseServiceUrl(raw).href,
    }),
    apiKey: setting({
      ...names("ApiKey"),
      field: "apiKey",
      type: "string",
      required: true,
      secret: true,
      doc: "The key sent in the API key header (Acmebot's `CustomDns:ApiKey`). Secret: use a Key Vault reference.",
      parse: (raw: string) => raw,
    }),
    apiKeyHeaderName: setting({
      ...names("ApiKeyHeaderName"),
      field: "apiKeyHeaderName",
      type: "header name",
      default: "X-Api-Key",
      doc: "The header carrying the key (Acmebot's `CustomDns:ApiKeyHeaderName`).",
      parse: (raw: string) => raw,
    }),
  };
}

const SETTINGS = {
  ...customSettings((key) => ({ key: `Dns__<n>__${key}`, aliases: [] })),
  resolvers: setting({
    key: "Dns__<n>__Resolvers",
    aliases: [],
    field: "resolvers",
    type: "host:port list",
    defaultDoc: "(the zone's name servers)",
    doc: "DNS servers to read a name's current TXT values from before replacing the set (the contract has no read).",
    parse: parseResolvers,
  }),
};

/**
 * `Acmebot__CustomDns__Endpoint`, `__ApiKey`, `__ApiKeyHeaderName`. Acmebot's `CustomDns:PropagationSeconds` (a fixed
 * wait, default 180 s) is not read: kv-acme checks the values at the zone's authoritative servers instead, within
 * `KvAcme__PropagationTimeoutSeconds`.
 */
export const CUSTOM_DNS_ACMEBOT_SETTINGS = customSettings((key) => ({ aliases: [`Acmebot__CustomDns__${key}`] }));

export const custom: DnsProviderType<CustomDnsOptions> = {
  type: "custom",
  title: "Custom DNS over HTTP (Acmebot's Custom DNS contract)",
  description: [
    "Talks to an endpoint written for Acmebot's Custom DNS provider, unchanged: `GET zones`, `PUT zones/{id}/records/{fqdn}` with",
    "all values of the name, `DELETE zones/{id}/records/{fqdn}`. The contract replaces whole sets and has no read, so the",
    "current values are read from DNS first and kept; writes to one name are serialized per process (two processes writing",
    "the same name at the same moment can still lose a value: the propagation check then fails and the order is retried).",
    "An Acmebot configuration works as it is: `Acmebot__CustomDns__Endpoint`, `Acmebot__CustomDns__ApiKey` and",
    "`Acmebot__CustomDns__ApiKeyHeaderName` configure the instance `customdns`. Acmebot's `CustomDns__PropagationSeconds` (a",
    "fixed wait) is not read: kv-acme checks the values at the zone's authoritative servers instead.",
  ].join("\n"),
  testedAgainst:
    "A stand-in (src/local/dns/custom-server.ts) answering the contract as Acmebot's CustomDnsProvider.cs calls it. `npm run demo -- --dns custom` runs the Quick start through it.",
  settings: SETTINGS,
  example: {
    Type: "custom",
    Endpoint: "https://dns-api.example.com/api/",
    ApiKey: "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/custom-dns-key)",
  },
  build: (reader) => readSettings(reader, SETTINGS),
  topLevel: {
    instance: "customdns",
    settings: CUSTOM_DNS_ACMEBOT_SETTINGS,
    build: (reader) => readSettings(reader, CUSTOM_DNS_ACMEBOT_SETTINGS),
  },
  create: (settings, context) => new CustomDnsProvider({ ...settings, name: context.instance }),
};
