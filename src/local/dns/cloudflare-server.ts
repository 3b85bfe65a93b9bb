/**
 * HTTPS stand-in for the Cloudflare API v4 calls kv-acme's Cloudflare provider makes, following Cloudflare's
 * OpenAPI (cloudflare/api-schemas; the subset is test/fixtures/schemas/cloudflare-openapi.subset.json):
 *   GET /client/v4/zones (name, status, page, per_page 5..50)
 *   GET /client/v4/zones/{zone_id}/dns_records (type, name, page, per_page)
 *   POST /client/v4/zones/{zone_id}/dns_records (TXT only; 81058 "An identical record already exists.")
 *   DELETE /client/v4/zones/{zone_id}/dns_records/{dns_record_id}
 * Auth: `Authorization: Bearer <token>`; each token reads some zones and edits DNS in some zones (a scoped token).
 * Unknown token: 401 code 10000; missing permission: 403 code 10000 (nothing written). Each TXT value is one
 * record whose id is derived from zone, name and content, so ids survive a restart.
 */
import type { FaultInjector } from "../faults";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  BodyTooLarge,
  changeTxt,
  ensureZones,
  readBody,
  relativeName,
  sendJson,
  stableId,
  startHttpsStandIn,
  txtAt,
  type StandInServer,
} from "./standin";
import type { ZoneStore } from "./zone-store";

export const CLOUDFLARE_RESOURCE_GROUP = "cloudflare";

export interface CloudflareToken {
  token: string;
  /** Zones the token may read ("*" = all). */
  zoneRead: "*" | string[];
  /** Zones whose DNS the token may edit ("*" = all). */
  dnsEdit: "*" | string[];
}

interface Failure {
  status: number;
  code: number;
  message: string;
}

const fail = (status: number, code: number, message: string): Failure => ({ status, code, message });

function envelope(result: unknown, resultInfo?: Record<string, number>) {
  return { success: true, errors: [], messages: [], result, ...(resultInfo ? { result_info: resultInfo } : {}) };
}

function failureBody(f: Failure) {
  return { success: false, errors: [{ code: f.code, message: f.message }], messages: [], result: null };
}

const allows = (grant: "*" | string[], zone: string) => grant === "*" || grant.map((z) => z.toLowerCase()).includes(zone.toLowerCase());

export async function startCloudflareServer(options: {
  /** The stack's fault injector: this stand-in fails as the real API does (target "cloudflare"). */
  faults?: FaultInjector;
  store: ZoneStore;
  tls: { certPem: string; keyPem: string };
  zones: string[];
  tokens: CloudflareToken[];
  host?: string;
  port?: number;
}): Promise<StandInServer & { apiUrl: string }> {
  const { store } = options;
  await ensureZones(store, CLOUDFLARE_RESOURCE_GROUP, options.zones);
  const zoneId = (name: string) => stableId("cloudflare-zone", name);
  const recordId = (zone: string, name: string, content: string) => stableId("cloudflare-record", zone, name, content);
  const zones = () => store.listZones(CLOUDFLARE_RESOURCE_GROUP);

  const zoneJson = (name: string) => ({
    id: zoneId(name),
    name,
    status: "active",
    paused: false,
    type: "full",
    development_mode: 0,
    name_servers: store.nameServers.map((n) => n.replace(/\.$/, "")),
    original_name_servers: null,
    original_registrar: null,
    original_dnshost: null,
    created_on: "2026-01-01T00:00:00Z",
    modified_on: "2026-01-01T00:00:00Z",
    activated_on: "2026-01-01T00:00:00Z",
    account: { id: stableId("cloudflare-account"), name: "kv-acme local" },
    owner: { id: stableId("cloudflare-owner"), type: "user", name: "kv-acme local" },
    permissions: ["#dns_records:edit", "#dns_records:read", "#zone:read"],
    meta: { step: 2, custom_certificate_quota: 0, page_rule_quota: 3, phishing_detected: false },
  });
  const recordJson = (zone: string, rel: string, value: string, ttl: number) => {
    const name = rel === "@" ? zone : `${rel}.${zone}`;
    return {
      id: recordId(zone, name, value),
      zone_id: zoneId(zone),
      zone_name: zone,
      name,
      type: "TXT",
      content: value,
      proxiable: false,
      proxied: false,
      ttl,
      locked: false,
      meta: { auto_added: false, source: "primary" },
      tags: [],
      created_on: "2026-01-01T00:00:00Z",
      modified_on: "2026-01-01T00:00:00Z",
    };
  };
  const txtRecords = (zone: string) =>
    store
      .listRecordSets(zone, "TXT")
      .flatMap((set) => (set.records.TXTRecords ?? []).map((r) => recordJson(zone, set.name, r.value.join(""), set.ttl)));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://stand-in");
    const body = await readBody(req);
    const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "");
    if (!auth) return void sendJson(res, 400, failureBody(fail(400, 6003, "Invalid request headers")));
    const token = options.tokens.find((t) => t.token === auth[1]);
    if (!token) return void sendJson(res, 401, failureBody(fail(401, 10000, "Authentication error")));
    const path = url.pathname.replace(/\/+$/, "");

    if (req.method === "GET" && path === "/client/v4/zones") {
      const perPage = Number(url.searchParams.get("per_page") ?? 20);
      const page = Number(url.searchParams.get("page") ?? 1);
      if (!Number.isInteger(perPage) || perPage < 5 || perPage > 50 || !Number.isInteger(page) || page < 1) {
        return void sendJson(res, 400, failureBody(fail(400, 1019, "Invalid pagination parameters")));
      }
      const status = url.searchParams.get("status");
      const nameFilter = url.searchParams.get("name")?.toLowerCase();
      const visible = zones()
        .filter((z) => allows(token.zoneRead, z.name))
        .filter((z) => !nameFilter || z.name === nameFilter)
        .filter(() => !status || status === "active");
      const slice = visible.slice((page - 1) * perPage, page * perPage).map((z) => zoneJson(z.name));
      const info = {
        page,
        per_page: perPage,
        count: slice.length,
        total_count: visible.length,
        total_pages: Math.ceil(visible.length / perPage),
      };
      return void sendJson(res, 200, envelope(slice, info));
    }

    const m = /^\/client\/v4\/zones\/([0-9a-f]{32})\/dns_records(?:\/([0-9a-f]{32}))?$/.exec(path);
    const zone = m ? zones().find((z) => zoneId(z.name) === m[1]) : undefined;
    if (!m || !zone) return void sendJson(res, 404, failureBody(fail(404, 7003, "Could not route to the requested path.")));
    if (!allows(token.zoneRead, zone.name)) return void sendJson(res, 403, failureBody(fail(403, 10000, "Authentication error")));

    if (req.method === "GET" && !m[2]) {
      const type = url.searchParams.get("type");
      const name = url.searchParams.get("name")?.toLowerCase();
      const perPage = Number(url.searchParams.get("per_page") ?? 100);
      const page = Number(url.searchParams.get("page") ?? 1);
      if (type && type !== "TXT")
        return void sendJson(res, 200, envelope([], { page, per_page: perPage, count: 0, total_count: 0, total_pages: 0 }));
      const all = txtRecords(zone.name).filter((r) => !name || r.name === name);
      const slice = all.slice((page - 1) * perPage, page * perPage);
      return void sendJson(
        res,
        200,
        envelope(slice, {
          page,
          per_page: perPage,
          count: slice.length,
          total_count: all.length,
          total_pages: Math.ceil(all.length / perPage),
        }),
      );
    }
    if (!allows(token.dnsEdit, zone.name)) return void sendJson(res, 403, failureBody(fail(403, 10000, "Authentication error")));

    if (req.method === "POST" && !m[2]) {
      let input: { type?: unknown; name?: unknown; content?: unknown; ttl?: unknown };
      try {
        input = JSON.parse(body) as typeof input;
      } catch {
        return void sendJson(res, 400, failureBody(fail(400, 9207, "Request body is invalid.")));
      }
      if (input.type !== "TXT") return void sendJson(res, 400, failureBody(fail(400, 9004, "This stand-in only creates TXT records.")));
      const ttl = input.ttl === undefined ? 1 : input.ttl;
      if (typeof ttl !== "number" || !(ttl === 1 || (ttl >= 30 && ttl <= 86400)))
        return void sendJson(res, 400, failureBody(fail(400, 9009, "Invalid TTL.")));
      if (typeof input.content !== "string" || input.content.length === 0 || input.content.length > 2048) {
        return void sendJson(res, 400, failureBody(fail(400, 9005, "Content for TXT record is invalid.")));
      }
      const name = typeof input.name === "string" ? input.name.toLowerCase().replace(/\.$/, "") : "";
      const rel = name === "@" ? "@" : relativeName(name, zone.name);
      if (!rel) return void sendJson(res, 400, failureBody(fail(400, 9007, "Record name is not in the zone.")));
      const content = input.content;
      let duplicate = false;
      await changeTxt(store, CLOUDFLARE_RESOURCE_GROUP, zone.name, rel, (current, currentTtl) => {
        if (current.includes(content)) {
          duplicate = true;
          return undefined;
        }
        // One TTL per RRset in DNS: the set keeps the smallest one asked for (Cloudflare stores a TTL per record).
        const effective = ttl === 1 ? 300 : ttl;
        return { values: [...current, content], ttl: currentTtl === undefined ? effective : Math.min(currentTtl, effective) };
      });
      if (duplicate) return void sendJson(res, 400, failureBody(fail(400, 81058, "An identical record already exists.")));
      const set = txtAt(store, zone.name, rel);
      return void sendJson(res, 200, envelope(recordJson(zone.name, rel, content, set?.ttl ?? 300)));
    }

    if (req.method === "DELETE" && m[2]) {
      const record = txtRecords(zone.name).find((r) => r.id === m[2]);
      if (!record) return void sendJson(res, 404, failureBody(fail(404, 81044, "Record does not exist.")));
      const rel = relativeName(record.name, zone.name) ?? "@";
      await changeTxt(store, CLOUDFLARE_RESOURCE_GROUP, zone.name, rel, (current, currentTtl) =>
        current.includes(record.content) ? { values: current.filter((v) => v !== record.content), ttl: currentTtl ?? 300 } : undefined,
      );
      return void sendJson(res, 200, envelope({ id: record.id }));
    }
    return void sendJson(res, 405, failureBody(fail(405, 10405, "Method not allowed for this path.")));
  }

  const server = await startHttpsStandIn({
    tls: options.tls,
    host: options.host,
    port: options.port,
    faults: options.faults,
    faultTarget: "cloudflare",
    faultStyle: "cloudflare",
    handle,
    onError(res, err) {
      if (err instanceof BodyTooLarge) return sendJson(res, 413, failureBody(fail(413, 10413, "Request body too large.")));
      sendJson(res, 500, failureBody(fail(500, 10001, "Internal server error")));
    },
  });
  return { ...server, apiUrl: `${server.url}/client/v4` };
}
