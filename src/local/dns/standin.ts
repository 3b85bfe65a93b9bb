/**
 * What the hosted DNS providers' stand-ins (Cloudflare, Route 53, Google Cloud DNS, Custom DNS, acme-dns) share:
 * an HTTPS server with the local CA's certificate, bounded request bodies, and TXT writes into the zone store the
 * stack's authoritative DNS server answers from, so Pebble validates what a provider wrote over real DNS.
 *
 * Each stand-in keeps its zones in the store under its own resource group (e.g. "cloudflare"), created at start
 * when missing; record sets live in the store (persisted, shared), so a restarted stand-in sees what it wrote.
 */
import { createHash } from "node:crypto";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { withHttpFaults, type ErrorStyle, type FaultInjector } from "../faults";
import { STANDIN_KEEP_ALIVE_MS, listen, urlHost } from "../net";
import { DnsStoreError, type ZoneStore } from "./zone-store";

/** Largest request body a stand-in reads. */
export const MAX_STANDIN_BODY_BYTES = 256 * 1024;

export interface StandInServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export class BodyTooLarge extends Error {}

/** Reads a request body up to MAX_STANDIN_BODY_BYTES; throws BodyTooLarge beyond. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_STANDIN_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => (tooLarge ? reject(new BodyTooLarge("request body too large")) : resolve(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

export function sendBody(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendBody(res, status, "application/json; charset=utf-8", JSON.stringify(body), headers);
}

/** Starts an HTTPS stand-in; `handle` errors become `onError(res, err)` answers. */
export async function startHttpsStandIn(options: {
  tls: { certPem: string; keyPem: string };
  host?: string;
  port?: number;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  onError(res: ServerResponse, err: unknown): void;
  /** Fault injection for this stand-in under `faultTarget` (e.g. "cloudflare"), errors worded in `faultStyle`. */
  faults?: FaultInjector;
  faultTarget?: string;
  faultStyle?: ErrorStyle;
}): Promise<StandInServer> {
  const host = options.host ?? "127.0.0.1";
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    options.handle(req, res).catch((err: unknown) => options.onError(res, err));
  };
  const server = https.createServer(
    { cert: options.tls.certPem, key: options.tls.keyPem },
    withHttpFaults(handler, options.faults, options.faultTarget ?? "standin", options.faultStyle ?? "plain"),
  );
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

/** A stable hex id (Cloudflare-style 32 hex digits) derived from parts, so ids survive a restart. */
export function stableId(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);
}

/** Creates the stand-in's zones in the store (resource group = the provider's name) when missing. */
export async function ensureZones(store: ZoneStore, resourceGroup: string, zones: readonly string[]): Promise<void> {
  for (const name of zones) {
    const existing = store.getZone(name);
    if (existing && existing.resourceGroup.toLowerCase() !== resourceGroup.toLowerCase()) {
      throw new Error(`zone ${name} already belongs to resource group ${existing.resourceGroup}, not to the ${resourceGroup} stand-in`);
    }
    if (!existing) await store.createOrUpdateZone(resourceGroup, name, {});
  }
}

/** Zone-relative record set name ("@" for the apex) of an FQDN inside `zone`, or undefined when it is outside. */
export function relativeName(fqdn: string, zone: string): string | undefined {
  const n = fqdn.toLowerCase().replace(/\.$/, "");
  const z = zone.toLowerCase().replace(/\.$/, "");
  if (n === z) return "@";
  return n.endsWith(`.${z}`) ? n.slice(0, -(z.length + 1)) : undefined;
}

/** The TXT values at `name` (each record's strings joined) and the set's TTL. */
export function txtAt(store: ZoneStore, zone: string, name: string): { values: string[]; ttl: number; etag: string } | undefined {
  const set = store.getRecordSet(zone, name, "TXT");
  if (!set) return undefined;
  return { values: (set.records.TXTRecords ?? []).map((r) => r.value.join("")), ttl: set.ttl, etag: set.etag };
}

/**
 * Replaces the TXT set at `name` with what `change` returns from the current values (undefined: leave it; empty:
 * delete the set), under the store's ETag preconditions, retrying when a concurrent write moved the set.
 */
export async function changeTxt(
  store: ZoneStore,
  resourceGroup: string,
  zone: string,
  name: string,
  change: (current: string[], ttl: number | undefined) => { values: string[]; ttl: number } | undefined,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = txtAt(store, zone, name);
    const next = change(current?.values ?? [], current?.ttl);
    if (!next) return;
    try {
      if (next.values.length === 0) {
        if (current) await store.deleteRecordSet(resourceGroup, zone, name, "TXT", { ifMatch: current.etag });
      } else {
        await store.createOrUpdateRecordSet(
          resourceGroup,
          zone,
          name,
          "TXT",
          { ttl: next.ttl, properties: { TXTRecords: next.values.map((v) => ({ value: [v] })) } },
          current ? { ifMatch: current.etag } : { ifNoneMatch: "*" },
        );
      }
      return;
    } catch (err) {
      if (err instanceof DnsStoreError && err.status === 412 && attempt < 20) continue;
      throw err;
    }
  }
}
