/**
 * HTTPS stand-in for the Azure Resource Manager DNS API (Microsoft.Network/dnsZones, api-version 2018-05-01), the
 * subset @azure/arm-dns 5.x sends: zones list/get/createOrUpdate/update/delete (LRO) and record sets
 * get/createOrUpdate/update/delete/list. Bearer tokens are verified for the ARM audience; errors use the ARM shape
 * `{"error":{"code","message"}}`; bad input changes nothing.
 */
import { withHttpFaults, type FaultInjector } from "../faults";
import { STANDIN_KEEP_ALIVE_MS, listen, urlHost } from "../net";
import { randomUUID } from "node:crypto";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ARM_AUDIENCE, LOCAL_TENANT_ID, type TokenAuthority } from "../identity/tokens";
import { KvAcmeError } from "../../shared/errors";
import { RECORD_PROPERTY, parseRecordType, MAX_RECORDS_PER_RECORD_SET, MAX_RECORD_SETS_PER_ZONE } from "./records";
import { zoneNotFound, recordSetNotFound, type RecordSetSnapshot, type ZoneSnapshot, type ZoneStore } from "./zone-store";

/** api-versions of Microsoft.Network/dnsZones we answer (arm-dns 5.x sends 2018-05-01). */
export const SUPPORTED_API_VERSIONS = ["2016-04-01", "2017-09-01", "2017-10-01", "2018-03-01-preview", "2018-05-01"];
/** Largest request body we read; ARM rejects bodies over 4 MB, we are stricter. */
export const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_PAGE_SIZE = 100;

class ArmError extends KvAcmeError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message, status);
  }
}

/** Starts the ARM DNS stand-in on HTTPS (default 127.0.0.1, port 0 = ephemeral). */
export async function startArmDnsServer(options: {
  store: ZoneStore;
  authority: TokenAuthority;
  tls: { certPem: string; keyPem: string };
  host?: string;
  port?: number;
  /** Fault injection (target "arm"): 429 with Retry-After, 5xx, resets, latency. */
  faults?: FaultInjector;
}): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const host = options.host ?? "127.0.0.1";
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    handle(options.store, options.authority, req, res).catch((err: unknown) => {
      sendError(
        res,
        err instanceof KvAcmeError ? err : new ArmError(500, "InternalServerError", "The server encountered an internal error."),
      );
    });
  };
  const server = https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, withHttpFaults(handler, options.faults, "arm"));
  server.keepAliveTimeout = STANDIN_KEEP_ALIVE_MS;
  const port = await listen(server, options.port ?? 0, host);
  return {
    url: `https://${urlHost(host)}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Completed zone deletions, answered by the operation status URL the delete LRO polls. */
const operations = new Map<string, { status: string; at: number }>();

async function handle(store: ZoneStore, authority: TokenAuthority, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  res.setHeader("x-ms-request-id", requestId);
  res.setHeader("x-ms-correlation-request-id", String(req.headers["x-ms-correlation-request-id"] ?? requestId));
  const url = new URL(req.url ?? "/", "https://localhost");
  // Read the body first so a rejected request never leaves unread data on a kept-alive connection.
  const body = await readBody(req);

  const auth = authority.verify(req.headers.authorization, ARM_AUDIENCE);
  if (!auth.ok) {
    const missing = !req.headers.authorization;
    const code = missing
      ? "AuthenticationFailed"
      : /audience/.test(auth.reason)
        ? "InvalidAuthenticationTokenAudience"
        : /expired/.test(auth.reason)
          ? "ExpiredAuthenticationToken"
          : "InvalidAuthenticationToken";
    const message = missing
      ? "Authentication failed. The 'Authorization' header is missing."
      : `The access token is invalid: ${auth.reason}.`;
    throw new ArmError(401, code, message, {
      "WWW-Authenticate": `Bearer authorization_uri="https://login.microsoftonline.com/${LOCAL_TENANT_ID}", error="invalid_token", error_description="${auth.reason.replace(/"/g, "'")}"`,
    });
  }
  if (body.tooLarge) throw new ArmError(413, "RequestEntityTooLarge", `The request body is larger than ${MAX_BODY_BYTES} bytes.`);

  const apiVersions = url.searchParams.getAll("api-version");
  if (apiVersions.length === 0)
    throw new ArmError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
  const apiVersion = apiVersions[0];
  if (!SUPPORTED_API_VERSIONS.includes(apiVersion)) {
    throw new ArmError(
      400,
      "InvalidApiVersionParameter",
      `The api-version '${apiVersion}' is invalid. The supported versions are '${SUPPORTED_API_VERSIONS.join(",")}'.`,
    );
  }

  const segments = url.pathname
    .split("/")
    .filter((s) => s !== "")
    .map(decodeSegment);
  const method = (req.method ?? "GET").toUpperCase();
  const lower = segments.map((s) => s.toLowerCase());
  if (lower[0] !== "subscriptions" || segments.length < 4) throw notFoundPath(url.pathname);
  if (lower[1] !== store.subscriptionId.toLowerCase()) {
    throw new ArmError(404, "SubscriptionNotFound", `The subscription '${segments[1]}' could not be found.`);
  }
  const base = `/subscriptions/${store.subscriptionId}`;
  const origin = `https://${req.headers.host ?? "localhost"}`;

  // /subscriptions/{s}/providers/Microsoft.Network/dnszones
  if (lower[2] === "providers" && lower[3] === "microsoft.network") {
    if (segments.length === 5 && lower[4] === "dnszones" && method === "GET") {
      return sendList(
        res,
        url,
        origin,
        store.listZones().map((z) => zoneBody(store, z)),
      );
    }
    if (segments.length === 6 && (lower[4] === "dnsoperationstatuses" || lower[4] === "dnsoperationresults") && method === "GET") {
      const op = operations.get(segments[5]);
      if (!op) throw new ArmError(404, "ResourceNotFound", `The operation '${segments[5]}' was not found.`);
      if (lower[4] === "dnsoperationresults") return send(res, 204);
      return send(res, 200, { status: op.status });
    }
    throw notFoundPath(url.pathname);
  }
  if (lower[2] !== "resourcegroups" || lower[4] !== "providers" || lower[5] !== "microsoft.network" || lower[6] !== "dnszones") {
    throw notFoundPath(url.pathname);
  }
  const rg = segments[3];
  if (segments.length === 7) {
    if (method !== "GET") throw methodNotAllowed(method);
    return sendList(
      res,
      url,
      origin,
      store.listZones(rg).map((z) => zoneBody(store, z)),
    );
  }
  const zoneName = segments[7];
  const pre = { ifMatch: header(req, "if-match"), ifNoneMatch: header(req, "if-none-match") };

  if (segments.length === 8) {
    switch (method) {
      case "GET": {
        const zone = store.getZone(zoneName);
        if (!zone || zone.resourceGroup.toLowerCase() !== rg.toLowerCase()) throw zoneNotFound(rg, zoneName);
        return send(res, 200, zoneBody(store, zone));
      }
      case "PUT": {
        const json = parseJson(body.data);
        const location = json.location;
        if (typeof location !== "string")
          throw new ArmError(400, "LocationRequired", "The location property is required for this definition.");
        if (location.toLowerCase() !== "global")
          throw new ArmError(400, "BadRequest", `DNS zones are global resources; location '${location}' is not valid, use 'global'.`);
        const props = optionalObject(json.properties, "properties");
        if (props.zoneType !== undefined && props.zoneType !== "Public")
          throw new ArmError(400, "BadRequest", `zoneType '${String(props.zoneType)}' is not supported; only 'Public' zones are.`);
        const { zone, created } = await store.createOrUpdateZone(rg, zoneName, { tags: json.tags }, pre);
        return send(res, created ? 201 : 200, zoneBody(store, zone));
      }
      case "PATCH": {
        const json = parseJson(body.data);
        const zone = await store.updateZone(rg, zoneName, { tags: json.tags }, pre);
        return send(res, 200, zoneBody(store, zone));
      }
      case "DELETE": {
        const deleted = await store.deleteZone(rg, zoneName, pre);
        if (!deleted) return send(res, 204);
        const id = randomUUID();
        operations.set(id, { status: "Succeeded", at: Date.now() });
        for (const [k, v] of operations) if (Date.now() - v.at > 3600_000) operations.delete(k);
        const q = `?api-version=${encodeURIComponent(apiVersion)}`;
        res.setHeader("Azure-AsyncOperation", `${origin}${base}/providers/Microsoft.Network/dnsoperationstatuses/${id}${q}`);
        res.setHeader("Location", `${origin}${base}/providers/Microsoft.Network/dnsoperationresults/${id}${q}`);
        return send(res, 202);
      }
      default:
        throw methodNotAllowed(method);
    }
  }

  const typeSegment = segments[8];
  if (segments.length === 9 && (lower[8] === "recordsets" || lower[8] === "all")) {
    if (method !== "GET") throw methodNotAllowed(method);
    requireZone(store, rg, zoneName);
    return sendList(
      res,
      url,
      origin,
      filterSuffix(url, store.listRecordSets(zoneName)).map((r) => recordSetBody(store, r)),
    );
  }
  const type = parseRecordType(typeSegment);
  if (!type)
    throw new ArmError(
      400,
      "BadRequest",
      `The record type '${typeSegment}' is not supported. Supported types: ${Object.keys(RECORD_PROPERTY).join(", ")}.`,
    );
  if (segments.length === 9) {
    if (method !== "GET") throw methodNotAllowed(method);
    requireZone(store, rg, zoneName);
    return sendList(
      res,
      url,
      origin,
      filterSuffix(url, store.listRecordSets(zoneName, type)).map((r) => recordSetBody(store, r)),
    );
  }
  if (segments.length !== 10) throw notFoundPath(url.pathname);
  const name = segments[9];
  switch (method) {
    case "GET": {
      requireZone(store, rg, zoneName);
      const rs = store.getRecordSet(zoneName, name.toLowerCase(), type);
      if (!rs) throw recordSetNotFound(rg, zoneName, name, type);
      return send(res, 200, recordSetBody(store, rs));
    }
    case "PUT":
    case "PATCH": {
      const json = parseJson(body.data);
      const props = optionalObject(json.properties, "properties");
      const input = { ttl: props.TTL, metadata: props.metadata, properties: props };
      if (method === "PUT") {
        const { recordSet, created } = await store.createOrUpdateRecordSet(rg, zoneName, name, type, input, pre);
        return send(res, created ? 201 : 200, recordSetBody(store, recordSet));
      }
      const rs = await store.updateRecordSet(rg, zoneName, name, type, input, pre);
      return send(res, 200, recordSetBody(store, rs));
    }
    case "DELETE": {
      const deleted = await store.deleteRecordSet(rg, zoneName, name, type, pre);
      return send(res, deleted ? 200 : 204);
    }
    default:
      throw methodNotAllowed(method);
  }
}

function requireZone(store: ZoneStore, rg: string, zoneName: string): void {
  const zone = store.getZone(zoneName);
  if (!zone || zone.resourceGroup.toLowerCase() !== rg.toLowerCase()) {
    throw new ArmError(
      404,
      "ParentResourceNotFound",
      `Can not perform requested operation on nested resource. Parent resource '${zoneName}' not found.`,
    );
  }
}

/** `$recordsetnamesuffix`: only record sets whose name is the suffix or ends with ".suffix". */
function filterSuffix(url: URL, sets: RecordSetSnapshot[]): RecordSetSnapshot[] {
  const suffix = url.searchParams.get("$recordsetnamesuffix")?.toLowerCase();
  if (!suffix) return sets;
  return sets.filter((r) => r.name === suffix || r.name.endsWith(`.${suffix}`));
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ArmError(400, "BadRequest", `The path segment '${s}' is not valid percent-encoding.`);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

function notFoundPath(pathname: string): ArmError {
  return new ArmError(404, "NotFound", `No HTTP resource was found that matches the request URI '${pathname}'.`);
}

function methodNotAllowed(method: string): ArmError {
  return new ArmError(405, "MethodNotAllowed", `The requested resource does not support http method '${method}'.`);
}

function readBody(req: IncomingMessage): Promise<{ data: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve({ data: Buffer.concat(chunks), tooLarge }));
    req.on("error", reject);
  });
}

function parseJson(data: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(data.toString("utf8"));
  } catch (err) {
    throw new ArmError(
      400,
      "InvalidRequestContent",
      `The request content was invalid and could not be deserialized: ${(err as Error).message}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.");
  }
  return value as Record<string, unknown>;
}

function optionalObject(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ArmError(400, "InvalidRequestContent", `${where} must be an object.`);
  return value as Record<string, unknown>;
}

function zoneId(store: ZoneStore, rg: string, zone: string): string {
  return `/subscriptions/${store.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/dnszones/${zone}`;
}

function zoneBody(store: ZoneStore, z: ZoneSnapshot): Record<string, unknown> {
  return {
    id: zoneId(store, z.resourceGroup, z.name),
    name: z.name,
    type: "Microsoft.Network/dnszones",
    etag: z.etag,
    location: "global",
    tags: z.tags,
    properties: {
      maxNumberOfRecordSets: MAX_RECORD_SETS_PER_ZONE,
      maxNumberOfRecordsPerRecordSet: MAX_RECORDS_PER_RECORD_SET,
      numberOfRecordSets: z.numberOfRecordSets,
      nameServers: z.nameServers,
      zoneType: "Public",
    },
  };
}

function recordSetBody(store: ZoneStore, r: RecordSetSnapshot): Record<string, unknown> {
  const fqdn = r.name === "@" ? `${r.zone}.` : `${r.name}.${r.zone}.`;
  const records = structuredClone(r.records) as Record<string, unknown>;
  return {
    id: `${zoneId(store, r.resourceGroup, r.zone)}/${r.type}/${r.name}`,
    name: r.name,
    type: `Microsoft.Network/dnszones/${r.type}`,
    etag: r.etag,
    properties: {
      metadata: r.metadata,
      TTL: r.ttl,
      fqdn,
      provisioningState: "Succeeded",
      targetResource: {},
      ...records,
    },
  };
}

function sendList(res: ServerResponse, url: URL, origin: string, items: Record<string, unknown>[]): void {
  const topText = url.searchParams.get("$top");
  let pageSize = DEFAULT_PAGE_SIZE;
  if (topText !== null) {
    const top = Number(topText);
    if (!Number.isInteger(top) || top < 1 || top > 1000)
      throw new ArmError(400, "InvalidTopParameter", `$top must be an integer from 1 to 1000, got '${topText}'.`);
    pageSize = top;
  }
  const skipText = url.searchParams.get("$skipToken") ?? "0";
  const skip = Number(skipText);
  if (!Number.isInteger(skip) || skip < 0) throw new ArmError(400, "InvalidSkipToken", `The $skipToken '${skipText}' is not valid.`);
  const page = items.slice(skip, skip + pageSize);
  const body: Record<string, unknown> = { value: page };
  if (skip + pageSize < items.length) {
    const next = new URL(url.pathname, origin);
    next.searchParams.set("api-version", url.searchParams.get("api-version") ?? "2018-05-01");
    for (const k of ["$top", "$recordsetnamesuffix"]) {
      const v = url.searchParams.get(k);
      if (v !== null) next.searchParams.set(k, v);
    }
    next.searchParams.set("$skipToken", String(skip + pageSize));
    body.nextLink = next.toString();
  }
  send(res, 200, body);
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status, { "Content-Length": "0" });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: KvAcmeError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof ArmError) for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  send(res, err.status, { error: { code: err.code, message: err.message } });
}
