/**
 * Google Cloud DNS through its REST API (dns/v1) with a service account key: a JWT signed with the key (RS256) is
 * exchanged at the key's token_uri for an OAuth access token (RFC 7523 §2.1, the flow google-auth-library runs),
 * cached until shortly before it expires. Plain REST: @google-cloud/dns and google-auth-library would load far more
 * than four calls need at cold start.
 *
 * Cloud DNS stores whole RRsets and applies a Change atomically, its deletions having to match the current set
 * exactly: a value is added or removed with one Change that deletes the set read and adds the new one; when another
 * writer changed the set in between, the Change fails (412 conditionNotMet, or 409 alreadyExists for a set created
 * meanwhile) and the set is read again. Scope: https://www.googleapis.com/auth/ndev.clouddns.readwrite (role
 * roles/dns.admin, or a custom role with dns.managedZones.list, dns.resourceRecordSets.list, dns.changes.create,
 * dns.changes.get).
 */
import { createSign } from "node:crypto";
import { setting, readSettings } from "../config/descriptor";
import { apiUrlSetting, jsonSecretSetting } from "./instance-settings";
import { ConfigurationError, UpstreamError } from "../shared/errors";
import { sleep } from "../shared/time";
import type { DnsChange, DnsProvider, DnsProviderType, DnsZone } from "./provider";
import { httpFailure, parseJson, send, throttledFor, type CallContext } from "./rest";

export const GCLOUD_DNS_API_URL = "https://dns.googleapis.com/dns/v1";
export const GCLOUD_DNS_SCOPE = "https://www.googleapis.com/auth/ndev.clouddns.readwrite";
const MAX_CHANGE_ATTEMPTS = 8;

/** The fields of a service account JSON key file kv-acme uses. */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
}

export interface GcloudDnsOptions {
  project: string;
  /** The service account key (JSON key file contents; secret). */
  serviceAccountKey: ServiceAccountKey;
  /** API base, default https://dns.googleapis.com/dns/v1. */
  apiUrl: string;
  name?: string;
}

/** Parses a service account JSON key; throws ConfigurationError naming what is missing (never echoing the key). */
export function parseServiceAccountKey(raw: string): ServiceAccountKey {
  let key: Partial<ServiceAccountKey> & { type?: string };
  try {
    key = JSON.parse(raw) as typeof key;
  } catch {
    throw new ConfigurationError("The Google service account key is not JSON (paste the whole key file)");
  }
  const missing = (["client_email", "private_key", "token_uri"] as const).filter((f) => typeof key[f] !== "string" || key[f] === "");
  if (key.type !== undefined && key.type !== "service_account")
    throw new ConfigurationError(`The Google key is of type "${key.type}", not service_account`);
  if (missing.length > 0) throw new ConfigurationError(`The Google service account key lacks ${missing.join(", ")}`);
  return key as ServiceAccountKey;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

/** The signed JWT assertion of RFC 7523 §2.1 for the key, scope and audience (the token URI). */
export function serviceAccountAssertion(key: ServiceAccountKey, scope: string, now = Date.now()): string {
  const iat = Math.floor(now / 1000);
  const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", ...(key.private_key_id ? { kid: key.private_key_id } : {}) }));
  const claims = b64url(JSON.stringify({ iss: key.client_email, scope, aud: key.token_uri, iat, exp: iat + 3600 }));
  const signature = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(key.private_key);
  return `${header}.${claims}.${b64url(signature)}`;
}

interface RRset {
  name: string;
  type: string;
  ttl: number;
  rrdatas: string[];
}

const quote = (v: string) => `"${v.replace(/(["\\])/g, "\\$1")}"`;
const unquote = (rrdata: string) =>
  [...rrdata.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] as string).replace(/\\(.)/g, "$1")).join("") || rrdata;

export class GcloudDnsProvider implements DnsProvider {
  readonly type = "gcloud";
  readonly name: string;
  private readonly api: string;
  private token?: { value: string; expiresAt: number };

  constructor(private readonly options: GcloudDnsOptions) {
    this.name = options.name ?? "gcloud";
    this.api = `${options.apiUrl.replace(/\/+$/, "")}/projects/${encodeURIComponent(options.project)}`;
  }

  private ctx(action: string, zone?: string): CallContext {
    return { provider: `Google Cloud DNS (${this.name})`, action, zone };
  }

  private async accessToken(ctx: CallContext): Promise<string> {
    if (this.token && this.token.expiresAt - Date.now() > 60_000) return this.token.value;
    const key = this.options.serviceAccountKey;
    const body = new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion: serviceAccountAssertion(key, GCLOUD_DNS_SCOPE),
    }).toString();
    const tokenCtx = { ...ctx, action: `${ctx.action}: getting an access token for ${key.client_email}` };
    const res = await send(
      { method: "POST", url: key.token_uri, headers: { "content-type": "application/x-www-form-urlencoded" }, body },
      tokenCtx,
    );
    const json = parseJson<{ access_token?: string; expires_in?: number; error?: string; error_description?: string }>(res, tokenCtx);
    if (res.status !== 200 || !json.access_token) {
      // The token endpoint answers a bad key or an unknown service account with 400 invalid_grant: a credential problem.
      const status = res.status === 400 && json.error === "invalid_grant" ? 401 : res.status;
      throw httpFailure(tokenCtx, status, `${json.error ?? "no access_token"}: ${json.error_description ?? ""}`);
    }
    this.token = { value: json.access_token, expiresAt: Date.now() + (json.expires_in ?? 3600) * 1000 };
    return json.access_token;
  }

  private async call<T>(
    method: "GET" | "POST",
    path: string,
    ctx: CallContext,
    body?: unknown,
    retried = false,
  ): Promise<{ status: number; json: T; reason?: string; headers?: Headers }> {
    const token = await this.accessToken(ctx);
    const res = await send(
      {
        method,
        url: `${this.api}${path}`,
        headers: { authorization: `Bearer ${token}`, accept: "application/json", ...(body ? { "content-type": "application/json" } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
      ctx,
    );
    const json = parseJson<T & { error?: { code?: number; message?: string; errors?: { reason?: string }[] } }>(res, ctx);
    if (res.status >= 200 && res.status < 300) return { status: res.status, json };
    if (res.status === 401 && !retried) {
      // A cached token the API no longer takes (revoked, expired early): get a new one, once.
      this.token = undefined;
      return this.call(method, path, ctx, body, true);
    }
    return {
      status: res.status,
      json,
      reason: `${json.error?.errors?.[0]?.reason ?? "error"}: ${json.error?.message ?? `HTTP ${res.status}`}`,
      headers: res.headers,
    };
  }

  async listZones(): Promise<DnsZone[]> {
    const zones: DnsZone[] = [];
    let pageToken: string | undefined;
    const ctx = this.ctx(`listing managed zones of project ${this.options.project}`);
    do {
      const query = new URLSearchParams({ maxResults: "100", ...(pageToken ? { pageToken } : {}) });
      const r = await this.call<{
        managedZones?: { name: string; dnsName: string; nameServers?: string[]; visibility?: string }[];
        nextPageToken?: string;
      }>("GET", `/managedZones?${query}`, ctx);
      if (r.reason) throw httpFailure(ctx, r.status, r.reason, r.headers);
      for (const z of r.json.managedZones ?? []) {
        if (z.visibility === "private") continue;
        zones.push({
          provider: this.name,
          id: z.name,
          name: z.dnsName.replace(/\.$/, "").toLowerCase(),
          nameServers: (z.nameServers ?? []).map((n) => n.replace(/\.$/, "")),
        });
      }
      pageToken = r.json.nextPageToken;
    } while (pageToken);
    return zones;
  }

  /** The TXT set at `fqdn`, read through every page of resourceRecordSets.list (the server decides a page's size). */
  private async readSet(zone: DnsZone, fqdn: string, ctx: CallContext): Promise<RRset | undefined> {
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams({ name: `${fqdn}.`, type: "TXT", ...(pageToken ? { pageToken } : {}) });
      const r = await this.call<{ rrsets?: RRset[]; nextPageToken?: string }>(
        "GET",
        `/managedZones/${encodeURIComponent(zone.id)}/rrsets?${query}`,
        ctx,
      );
      if (r.reason) throw httpFailure(ctx, r.status, r.reason, r.headers);
      const set = (r.json.rrsets ?? []).find((s) => s.type === "TXT" && s.name.toLowerCase() === `${fqdn.toLowerCase()}.`);
      if (set) return set;
      pageToken = r.json.nextPageToken;
    } while (pageToken);
    return undefined;
  }

  /** One atomic Change replacing the TXT set with `next(current values)`, re-read when another writer got in first. */
  private async change(
    zone: DnsZone,
    fqdn: string,
    action: string,
    next: (values: string[], ttl: number | undefined) => { values: string[]; ttl: number } | undefined,
  ): Promise<DnsChange | undefined> {
    const ctx = this.ctx(action, zone.name);
    for (let attempt = 1; ; attempt++) {
      const current = await this.readSet(zone, fqdn, ctx);
      const wanted = next((current?.rrdatas ?? []).map(unquote), current?.ttl);
      if (!wanted) return undefined;
      const change = {
        kind: "dns#change",
        ...(current ? { deletions: [current] } : {}),
        ...(wanted.values.length > 0
          ? {
              additions: [
                { kind: "dns#resourceRecordSet", name: `${fqdn}.`, type: "TXT", ttl: wanted.ttl, rrdatas: wanted.values.map(quote) },
              ],
            }
          : {}),
      };
      const r = await this.call<{ id?: string; status?: string }>(
        "POST",
        `/managedZones/${encodeURIComponent(zone.id)}/changes`,
        ctx,
        change,
      );
      if (!r.reason) return;
      // 412: a deletion no longer matches; 409: the set was created meanwhile. Both mean: read again.
      // A throttled answer with Retry-After is not retried here: the driver waits it (rest.ts).
      const again = r.status === 412 || r.status === 409 || r.status === 429 || r.status >= 500;
      if (again && throttledFor(r.status, r.headers) === undefined && attempt < MAX_CHANGE_ATTEMPTS) {
        await sleep(Math.floor(100 * attempt + Math.random() * 100 * attempt));
        continue;
      }
      throw httpFailure(ctx, r.status, r.reason, r.headers);
    }
  }

  async addTxtValues(zone: DnsZone, recordName: string, values: string[], ttl: number): Promise<DnsChange | undefined> {
    const fqdn = recordName === "@" ? zone.name : `${recordName}.${zone.name}`;
    return this.change(zone, fqdn, `adding TXT values at ${fqdn}`, (current, currentTtl) => {
      const missing = [...new Set(values)].filter((v) => !current.includes(v));
      if (missing.length === 0) return undefined;
      return { values: [...current, ...missing], ttl: currentTtl === undefined ? ttl : Math.min(currentTtl, ttl) };
    });
  }

  /** Polls changes.get until "done" (sent to Google's authoritative servers; the propagation check asks them). */
  async waitUntilLive(zone: DnsZone, change: DnsChange, options: { timeoutMs: number }): Promise<void> {
    const ctx = this.ctx(`waiting for change ${change.id}`, zone.name);
    const deadline = Date.now() + options.timeoutMs;
    let interval = 250;
    for (;;) {
      const r = await this.call<{ status?: string }>(
        "GET",
        `/managedZones/${encodeURIComponent(zone.id)}/changes/${encodeURIComponent(change.id)}`,
        ctx,
      );
      if (r.reason) throw httpFailure(ctx, r.status, r.reason, r.headers);
      if (r.json.status === "done") return;
      if (Date.now() + interval > deadline) {
        throw new UpstreamError(
          "GoogleCloudDNS",
          `Google Cloud DNS (${this.name}): change ${change.id} in zone ${zone.name} not done after ${options.timeoutMs} ms`,
          {
            status: 504,
            retryable: true,
          },
        );
      }
      await sleep(interval);
      interval = Math.min(interval * 2, 3_000);
    }
  }

  async removeTxtValues(zone: DnsZone, recordName: string, values: string[]): Promise<void> {
    const fqdn = recordName === "@" ? zone.name : `${recordName}.${zone.name}`;
    await this.change(zone, fqdn, `removing TXT values at ${fqdn}`, (current, currentTtl) =>
      current.some((v) => values.includes(v)) ? { values: current.filter((v) => !values.includes(v)), ttl: currentTtl ?? 300 } : undefined,
    );
  }
}

const SETTINGS = {
  project: setting({
    key: "Dns__<n>__Project",
    aliases: [],
    field: "project",
    type: "string",
    required: true,
    doc: "The Google Cloud project id whose Cloud DNS zones may be used.",
    parse: (raw: string) => raw,
  }),
  serviceAccountKey: jsonSecretSetting({
    key: "ServiceAccountKey",
    field: "serviceAccountKey",
    doc: "The service account's JSON key file, whole. Secret: use a Key Vault reference.",
    parse: parseServiceAccountKey,
  }),
  apiUrl: apiUrlSetting({ default: GCLOUD_DNS_API_URL, doc: "The Cloud DNS API base URL (only the local stand-in needs another one)." }),
};

export const gcloud: DnsProviderType<GcloudDnsOptions> = {
  type: "gcloud",
  title: "Google Cloud DNS (REST API, service account key)",
  description: [
    "Gets an OAuth token for the service account (a JWT signed with its key, exchanged at the key's `token_uri`), lists the",
    "project's public managed zones (every page), and changes a TXT RRset with one atomic Change (deletion of the exact set read + addition",
    "of the new one; re-read on 412/409), then waits for the Change to be `done`. Role: `roles/dns.admin`, or a custom role",
    "with `dns.managedZones.list`, `dns.resourceRecordSets.list`, `dns.changes.create`, `dns.changes.get`.",
  ].join("\n"),
  testedAgainst:
    "A stand-in (src/local/dns/gcloud-server.ts, with a token endpoint verifying the JWT) held to the Cloud DNS discovery document; its zones are served by the stack's DNS server. `npm run demo -- --dns gcloud` runs the Quick start through it.",
  settings: SETTINGS,
  example: {
    Type: "gcloud",
    Project: "my-project",
    ServiceAccountKey: "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/gcloud-dns-key)",
  },
  build: (reader) => readSettings(reader, SETTINGS),
  create: (settings, context) => new GcloudDnsProvider({ ...settings, name: context.instance }),
};
