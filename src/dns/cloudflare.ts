/**
 * Cloudflare DNS through API v4 with a scoped API token (plain REST: the official `cloudflare` SDK would add
 * megabytes to the cold start for four calls). Each TXT value is its own record with its own id, so adding and
 * removing one value never touches another order's value: add = POST unless an identical record exists, remove =
 * DELETE of exactly the records whose content is ours. Cloudflare has no "change is live" signal; the propagation
 * check asks the zone's name servers.
 *
 * Token permissions: Zone → Zone → Read (list zones) and Zone → DNS → Edit on the zones kv-acme writes.
 * Calls: GET /zones, GET /zones/{zone_id}/dns_records?type=TXT&name=<fqdn>, POST /zones/{zone_id}/dns_records,
 * DELETE /zones/{zone_id}/dns_records/{dns_record_id} (schema: cloudflare/api-schemas openapi.json).
 */
import { setting, readSettings } from "../config/descriptor";
import { apiUrlSetting } from "./instance-settings";
import { UpstreamError } from "../shared/errors";
import type { DnsProvider, DnsProviderType, DnsZone } from "./provider";
import { httpFailure, parseJson, send, type CallContext, type RestRequest } from "./rest";

export const CLOUDFLARE_API_URL = "https://api.cloudflare.com/client/v4";
/** Zones per page (the API's maximum for GET /zones). */
const ZONES_PER_PAGE = 50;
/** Cloudflare's error code for "An identical record already exists." */
const IDENTICAL_RECORD_EXISTS = 81058;
/** Cloudflare's error code for "Record does not exist." */
const RECORD_NOT_FOUND = 81044;

export interface CloudflareOptions {
  /** Scoped API token (secret). */
  apiToken: string;
  /** API base URL, default https://api.cloudflare.com/client/v4. */
  apiUrl: string;
  /** Registry name of this instance (e.g. "cloudflare", or "cloudflare-2" for a second account). */
  name?: string;
}

interface Envelope<T> {
  success: boolean;
  errors?: { code: number; message: string }[];
  result: T;
  result_info?: { page?: number; per_page?: number; total_pages?: number; count?: number; total_count?: number };
}

interface CfZone {
  id: string;
  name: string;
  status?: string;
  name_servers?: string[];
}

interface CfRecord {
  id: string;
  type: string;
  name: string;
  content: string;
}

/** TXT content as Cloudflare may return it (quoted or not) compared as the bare value. */
export function unquoteTxt(content: string): string {
  return content.length >= 2 && content.startsWith('"') && content.endsWith('"') ? content.slice(1, -1).replace(/\\(.)/g, "$1") : content;
}

function fqdnOf(zone: DnsZone, recordName: string): string {
  return recordName === "@" || recordName === "" ? zone.name : `${recordName}.${zone.name}`;
}

export class CloudflareDnsProvider implements DnsProvider {
  readonly type = "cloudflare";
  readonly name: string;
  private readonly base: string;

  constructor(private readonly options: CloudflareOptions) {
    this.name = options.name ?? "cloudflare";
    this.base = options.apiUrl.replace(/\/+$/, "");
  }

  private async call<T>(req: Omit<RestRequest, "url"> & { path: string }, ctx: CallContext, accept: number[] = []): Promise<Envelope<T>> {
    const res = await send(
      {
        method: req.method,
        url: `${this.base}${req.path}`,
        headers: { authorization: `Bearer ${this.options.apiToken}`, accept: "application/json", "content-type": "application/json" },
        body: req.body,
      },
      ctx,
    );
    const body = res.text ? parseJson<Envelope<T>>(res, ctx) : ({ success: res.status < 300, result: null } as Envelope<T>);
    if (res.status >= 200 && res.status < 300 && body.success) return body;
    const codes = (body.errors ?? []).map((e) => e.code);
    if (codes.some((c) => accept.includes(c))) return body;
    const detail = (body.errors ?? []).map((e) => `${e.message} (code ${e.code})`).join("; ") || `HTTP ${res.status}`;
    throw httpFailure(ctx, res.status >= 200 && res.status < 300 ? 502 : res.status, detail, res.headers);
  }

  private ctx(action: string, zone?: string): CallContext {
    return { provider: `Cloudflare (${this.name})`, action, zone };
  }

  async listZones(): Promise<DnsZone[]> {
    const zones: DnsZone[] = [];
    for (let page = 1; ; page++) {
      const body = await this.call<CfZone[]>(
        { method: "GET", path: `/zones?status=active&per_page=${ZONES_PER_PAGE}&page=${page}` },
        this.ctx("listing zones"),
      );
      if (!Array.isArray(body.result)) throw new UpstreamError("Cloudflare", `Cloudflare (${this.name}): listing zones: no result array`);
      for (const z of body.result) {
        zones.push({ provider: this.name, id: z.id, name: z.name.toLowerCase(), nameServers: z.name_servers ?? [] });
      }
      const totalPages = body.result_info?.total_pages;
      if (body.result.length < ZONES_PER_PAGE || (totalPages !== undefined && page >= totalPages)) break;
    }
    return zones;
  }

  private async txtRecords(zone: DnsZone, fqdn: string, action: string): Promise<CfRecord[]> {
    const query = new URLSearchParams({ type: "TXT", name: fqdn, per_page: "100" });
    const body = await this.call<CfRecord[]>(
      { method: "GET", path: `/zones/${encodeURIComponent(zone.id)}/dns_records?${query}` },
      this.ctx(action, zone.name),
    );
    return (body.result ?? []).filter((r) => r.type === "TXT" && r.name.toLowerCase() === fqdn.toLowerCase());
  }

  async addTxtValues(zone: DnsZone, recordName: string, values: string[], ttl: number): Promise<void> {
    const fqdn = fqdnOf(zone, recordName);
    const action = `adding TXT values at ${fqdn}`;
    const existing = new Set((await this.txtRecords(zone, fqdn, action)).map((r) => unquoteTxt(r.content)));
    for (const value of new Set(values)) {
      if (existing.has(value)) continue;
      // A concurrent writer may have created the same record since our read: Cloudflare refuses the duplicate.
      await this.call(
        {
          method: "POST",
          path: `/zones/${encodeURIComponent(zone.id)}/dns_records`,
          body: JSON.stringify({ type: "TXT", name: fqdn, content: value, ttl }),
        },
        this.ctx(action, zone.name),
        [IDENTICAL_RECORD_EXISTS],
      );
    }
  }

  async removeTxtValues(zone: DnsZone, recordName: string, values: string[]): Promise<void> {
    const fqdn = fqdnOf(zone, recordName);
    const action = `removing TXT values at ${fqdn}`;
    const ours = new Set(values);
    for (const record of await this.txtRecords(zone, fqdn, action)) {
      if (!ours.has(unquoteTxt(record.content))) continue;
      await this.call(
        { method: "DELETE", path: `/zones/${encodeURIComponent(zone.id)}/dns_records/${encodeURIComponent(record.id)}`, body: "{}" },
        this.ctx(action, zone.name),
        [RECORD_NOT_FOUND],
      );
    }
  }
}

const SETTINGS = {
  apiToken: setting({
    key: "Dns__<n>__ApiToken",
    aliases: [],
    field: "apiToken",
    type: "string",
    required: true,
    secret: true,
    doc: "A scoped API token with Zone → Zone → Read and Zone → DNS → Edit. Secret: use a Key Vault reference.",
    parse: (raw: string) => raw,
  }),
  apiUrl: apiUrlSetting({ default: CLOUDFLARE_API_URL, doc: "The API base URL (only the local stand-in needs another one)." }),
};

export const cloudflare: DnsProviderType<CloudflareOptions> = {
  type: "cloudflare",
  title: "Cloudflare (API v4, scoped API token)",
  description: [
    "Lists the account's active zones (`GET /zones`) and adds each value as its own TXT record (`POST /zones/{id}/dns_records`),",
    "removing exactly the records whose content is ours (`DELETE .../dns_records/{id}`), so other values are never touched.",
  ].join("\n"),
  testedAgainst:
    "A stand-in (src/local/dns/cloudflare-server.ts) held to Cloudflare's published OpenAPI schema; its zones are served by the stack's DNS server. `npm run demo -- --dns cloudflare` runs the Quick start through it.",
  settings: SETTINGS,
  example: { Type: "cloudflare", ApiToken: "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/cloudflare-token)" },
  build: (reader) => readSettings(reader, SETTINGS),
  create: (settings, context) => new CloudflareDnsProvider({ ...settings, name: context.instance }),
};
