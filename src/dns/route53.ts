/**
 * Amazon Route 53 through its REST-XML API (2013-04-01), signed with SigV4 by ./sigv4 (plain REST: the AWS SDK
 * client would load its whole middleware stack at cold start for four calls). Route 53 stores whole RRsets, so a
 * value is added or removed by replacing the set atomically: one ChangeBatch that DELETEs the exact set read and
 * CREATEs the new one; Route 53 applies a batch all or nothing, and a DELETE that no longer matches (another writer
 * changed the set) fails the batch with InvalidChangeBatch, upon which the set is read again. Nothing of another
 * order's values is lost. An add returns its change id; `waitUntilLive` polls GetChange until INSYNC (every Route 53
 * name server has it).
 *
 * IAM actions: route53:ListHostedZones, route53:ListResourceRecordSets, route53:ChangeResourceRecordSets (scope it
 * to the hosted zones and, with route53:ChangeResourceRecordSetsRecordTypes / ...NormalizedRecordNames, to TXT at
 * _acme-challenge.*), route53:GetChange.
 */
import { setting, readSettings } from "../config/descriptor";
import { apiUrlSetting } from "./instance-settings";
import { UpstreamError } from "../shared/errors";
import { sleep } from "../shared/time";
import { buildXml, child, childText, children, parseXml, type XmlElement } from "../shared/xml";
import type { DnsChange, DnsProvider, DnsProviderType, DnsZone } from "./provider";
import { httpFailure, send, throttledFor, type CallContext } from "./rest";
import { signRequest, type AwsCredentials } from "./sigv4";

export const ROUTE53_ENDPOINT = "https://route53.amazonaws.com";
export const ROUTE53_XMLNS = "https://route53.amazonaws.com/doc/2013-04-01/";
/** Route 53's control plane signs in us-east-1 (the global endpoint). */
export const ROUTE53_SIGNING_REGION = "us-east-1";

export interface Route53Options extends AwsCredentials {
  /** API endpoint, default https://route53.amazonaws.com. */
  endpoint: string;
  name?: string;
}

const MAX_CHANGE_ATTEMPTS = 8;

interface RRset {
  ttl: number;
  values: string[];
}

/** A TXT value as Route 53 stores it: one quoted character-string (values here are base64url, no quotes). */
export function quoteTxt(value: string): string {
  return `"${value.replace(/(["\\])/g, "\\$1")}"`;
}

/** A Route 53 TXT ResourceRecord value back to the text (its character-strings joined). */
export function unquoteRoute53Txt(value: string): string {
  return [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] as string).replace(/\\(.)/g, "$1")).join("") || value;
}

export class Route53DnsProvider implements DnsProvider {
  readonly type = "route53";
  readonly name: string;
  private readonly endpoint: string;

  constructor(private readonly options: Route53Options) {
    this.name = options.name ?? "route53";
    this.endpoint = options.endpoint.replace(/\/+$/, "");
  }

  private ctx(action: string, zone?: string): CallContext {
    return { provider: `Route 53 (${this.name})`, action, zone };
  }

  /** One signed call; returns the parsed XML body or throws the API's error (Code: Message). */
  private async call(
    method: "GET" | "POST",
    path: string,
    ctx: CallContext,
    body = "",
  ): Promise<{ status: number; xml?: XmlElement; code?: string; message?: string; headers?: Headers }> {
    const url = new URL(`${this.endpoint}${path}`);
    const headers = signRequest({ method, url, headers: body ? { "content-type": "application/xml" } : {}, body }, this.options, {
      region: ROUTE53_SIGNING_REGION,
      service: "route53",
    });
    delete headers.host; // fetch sets Host from the URL (the same value that was signed)
    const res = await send({ method, url: url.toString(), headers, body: body || undefined }, ctx);
    let xml: XmlElement | undefined;
    try {
      xml = res.text ? parseXml(res.text) : undefined;
    } catch {
      throw httpFailure(ctx, res.status >= 400 ? res.status : 502, "the answer is not XML", res.headers);
    }
    if (res.status >= 200 && res.status < 300) return { status: res.status, xml };
    // Errors come as <ErrorResponse><Error><Code/><Message/></Error></ErrorResponse>, except InvalidChangeBatch,
    // whose root is <InvalidChangeBatch><Messages><Message/>...</Messages></InvalidChangeBatch>.
    const error = child(xml, "Error");
    if (error)
      return {
        status: res.status,
        xml,
        code: childText(error, "Code") ?? `HTTP${res.status}`,
        message: childText(error, "Message") ?? "",
        headers: res.headers,
      };
    const messages = children(child(xml, "Messages"), "Message").map((m) => m.text.trim());
    return {
      status: res.status,
      xml,
      headers: res.headers,
      code: xml?.name ?? `HTTP${res.status}`,
      message: [childText(xml, "message"), ...messages].filter(Boolean).join("; "),
    };
  }

  private failure(ctx: CallContext, r: { status: number; code?: string; message?: string; headers?: Headers }): never {
    // Route 53 answers throttling and "a change to this zone is still in progress" with 400: both are retryable.
    const transient = r.code === "Throttling" || r.code === "PriorRequestNotComplete";
    throw httpFailure(ctx, transient && r.status < 500 && r.status !== 429 ? 503 : r.status, `${r.code}: ${r.message}`, r.headers);
  }

  async listZones(): Promise<DnsZone[]> {
    const zones: DnsZone[] = [];
    let marker: string | undefined;
    do {
      const ctx = this.ctx("listing hosted zones");
      const query = new URLSearchParams({ maxitems: "100", ...(marker ? { marker } : {}) });
      const r = await this.call("GET", `/2013-04-01/hostedzone?${query}`, ctx);
      if (r.code) this.failure(ctx, r);
      for (const z of children(child(r.xml, "HostedZones"), "HostedZone")) {
        if (childText(child(z, "Config"), "PrivateZone") === "true") continue;
        const id = (childText(z, "Id") ?? "").replace(/^\/hostedzone\//, "");
        const name = (childText(z, "Name") ?? "").replace(/\.$/, "").toLowerCase();
        if (id && name) zones.push({ provider: this.name, id, name, nameServers: [] });
      }
      marker = childText(r.xml, "IsTruncated") === "true" ? childText(r.xml, "NextMarker") : undefined;
    } while (marker);
    return zones;
  }

  private async readSet(zone: DnsZone, fqdn: string, ctx: CallContext): Promise<RRset | undefined> {
    const query = new URLSearchParams({ name: `${fqdn}.`, type: "TXT", maxitems: "1" });
    const r = await this.call("GET", `/2013-04-01/hostedzone/${encodeURIComponent(zone.id)}/rrset?${query}`, ctx);
    if (r.code) this.failure(ctx, r);
    const set = children(child(r.xml, "ResourceRecordSets"), "ResourceRecordSet")[0];
    if (!set || childText(set, "Type") !== "TXT" || (childText(set, "Name") ?? "").toLowerCase().replace(/\.$/, "") !== fqdn.toLowerCase())
      return undefined;
    const values = children(child(set, "ResourceRecords"), "ResourceRecord").map((rr) => unquoteRoute53Txt(childText(rr, "Value") ?? ""));
    return { ttl: Number(childText(set, "TTL") ?? 300), values };
  }

  private rrset(fqdn: string, set: RRset) {
    return {
      Name: `${fqdn}.`,
      Type: "TXT",
      TTL: set.ttl,
      ResourceRecords: { ResourceRecord: set.values.map((v) => ({ Value: quoteTxt(v) })) },
    };
  }

  /** Replaces the TXT set at `fqdn` with `next(current)` atomically, re-reading when another writer got in first. */
  private async change(
    zone: DnsZone,
    fqdn: string,
    action: string,
    next: (current: RRset | undefined) => RRset | undefined,
  ): Promise<DnsChange | undefined> {
    const ctx = this.ctx(action, zone.name);
    for (let attempt = 1; ; attempt++) {
      const current = await this.readSet(zone, fqdn, ctx);
      const wanted = next(current);
      if (!wanted) return undefined;
      const changes = [
        ...(current ? [{ Action: "DELETE", ResourceRecordSet: this.rrset(fqdn, current) }] : []),
        ...(wanted.values.length > 0 ? [{ Action: "CREATE", ResourceRecordSet: this.rrset(fqdn, wanted) }] : []),
      ];
      const body = buildXml(
        "ChangeResourceRecordSetsRequest",
        { ChangeBatch: { Comment: "kv-acme DNS-01", Changes: { Change: changes } } },
        ROUTE53_XMLNS,
      );
      const r = await this.call("POST", `/2013-04-01/hostedzone/${encodeURIComponent(zone.id)}/rrset`, ctx, body);
      if (!r.code) {
        const id = childText(child(r.xml, "ChangeInfo"), "Id");
        return id ? { id } : undefined;
      }
      const retry = r.code === "InvalidChangeBatch" || r.code === "PriorRequestNotComplete" || r.code === "Throttling";
      // A throttled answer with Retry-After is not retried here: the driver waits it (rest.ts).
      if (!retry || throttledFor(r.status, r.headers) !== undefined || attempt >= MAX_CHANGE_ATTEMPTS) this.failure(ctx, r);
      await sleep(Math.floor(100 * attempt + Math.random() * 100 * attempt));
    }
  }

  /** Polls GetChange until INSYNC: Route 53 reports the change on all of its authoritative servers. */
  async waitUntilLive(zone: DnsZone, change: DnsChange, options: { timeoutMs: number }): Promise<void> {
    const changeId = change.id;
    const ctx = this.ctx(`waiting for change ${changeId}`, zone.name);
    const deadline = Date.now() + options.timeoutMs;
    let interval = 250;
    for (;;) {
      const r = await this.call("GET", `/2013-04-01/change/${encodeURIComponent(changeId.replace(/^\/change\//, ""))}`, ctx);
      if (r.code) this.failure(ctx, r);
      if (childText(child(r.xml, "ChangeInfo"), "Status") === "INSYNC") return;
      if (Date.now() + interval > deadline) {
        throw new UpstreamError(
          "Route53",
          `Route 53 (${this.name}): change ${changeId} in zone ${zone.name} not INSYNC after ${options.timeoutMs} ms`,
          {
            status: 504,
            retryable: true,
          },
        );
      }
      await sleep(interval);
      interval = Math.min(interval * 2, 5_000);
    }
  }

  async addTxtValues(zone: DnsZone, recordName: string, values: string[], ttl: number): Promise<DnsChange | undefined> {
    const fqdn = recordName === "@" ? zone.name : `${recordName}.${zone.name}`;
    return this.change(zone, fqdn, `adding TXT values at ${fqdn}`, (current) => {
      const missing = [...new Set(values)].filter((v) => !current?.values.includes(v));
      if (missing.length === 0) return undefined;
      return { ttl: current ? Math.min(current.ttl, ttl) : ttl, values: [...(current?.values ?? []), ...missing] };
    });
  }

  async removeTxtValues(zone: DnsZone, recordName: string, values: string[]): Promise<void> {
    const fqdn = recordName === "@" ? zone.name : `${recordName}.${zone.name}`;
    await this.change(zone, fqdn, `removing TXT values at ${fqdn}`, (current) => {
      if (!current || !current.values.some((v) => values.includes(v))) return undefined;
      return { ttl: current.ttl, values: current.values.filter((v) => !values.includes(v)) };
    });
  }
}

const SETTINGS = {
  accessKeyId: setting({
    key: "Dns__<n>__AccessKeyId",
    aliases: [],
    field: "accessKeyId",
    type: "string",
    required: true,
    doc: "Access key id of an IAM user (or of temporary credentials) allowed the Route 53 actions listed above.",
    parse: (raw: string) => raw,
  }),
  secretAccessKey: setting({
    key: "Dns__<n>__SecretAccessKey",
    aliases: [],
    field: "secretAccessKey",
    type: "string",
    required: true,
    secret: true,
    doc: "The secret access key. Secret: use a Key Vault reference.",
    parse: (raw: string) => raw,
  }),
  sessionToken: setting({
    key: "Dns__<n>__SessionToken",
    aliases: [],
    field: "sessionToken",
    type: "string",
    defaultDoc: "(none)",
    secret: true,
    doc: "STS session token, for temporary credentials.",
    parse: (raw: string) => raw,
  }),
  endpoint: apiUrlSetting({
    key: "Endpoint",
    field: "endpoint",
    default: ROUTE53_ENDPOINT,
    doc: "The Route 53 API endpoint (only the local stand-in needs another one).",
  }),
};

export const route53: DnsProviderType<Route53Options> = {
  type: "route53",
  title: "Amazon Route 53 (REST API, SigV4)",
  description: [
    "Lists the account's public hosted zones (every page) and changes a TXT RRset with one atomic change batch (DELETE of the exact set read +",
    "CREATE of the new one; re-read when another writer changed it), then waits for `GetChange` to report INSYNC. IAM:",
    "`route53:ListHostedZones`, `route53:ListResourceRecordSets`, `route53:ChangeResourceRecordSets` (limit it to TXT at",
    "`_acme-challenge.*` with the `route53:ChangeResourceRecordSetsRecordTypes` / `...NormalizedRecordNames` condition keys),",
    "`route53:GetChange`. Requests are signed with SigV4 (no AWS SDK: checked against AWS's published test suite).",
  ].join("\n"),
  testedAgainst:
    "A stand-in (src/local/dns/route53-server.ts) verifying SigV4 and held to the Route 53 Smithy model; its zones are served by the stack's DNS server. `npm run demo -- --dns route53` runs the Quick start through it.",
  settings: SETTINGS,
  example: {
    Type: "route53",
    AccessKeyId: "AKIA...",
    SecretAccessKey: "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/route53-secret)",
  },
  build: (reader) => readSettings(reader, SETTINGS),
  create: (settings, context) => new Route53DnsProvider({ ...settings, name: context.instance }),
};
