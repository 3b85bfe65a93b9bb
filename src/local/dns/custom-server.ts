/**
 * HTTPS stand-in for a "Custom DNS" endpoint as the C# tool (Acmebot) calls it (CustomDnsProvider.cs; its reference
 * server is samples/CustomDns): GET zones, PUT zones/{zoneId}/records/{fqdn} replacing the TXT set with `values`,
 * DELETE zones/{zoneId}/records/{fqdn} (idempotent). The API key header must match (401 otherwise); unknown zones are
 * 404; a body that is not `{"type":"TXT","ttl":n,"values":[strings]}` is 400. Nothing is written on any error.
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
  type StandInServer,
} from "./standin";
import type { ZoneStore } from "./zone-store";

export const CUSTOM_RESOURCE_GROUP = "custom";

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startCustomDnsServer(options: {
  /** The stack's fault injector: this stand-in fails as the real API does (target "custom"). */
  faults?: FaultInjector;
  store: ZoneStore;
  tls: { certPem: string; keyPem: string };
  zones: string[];
  apiKey: string;
  apiKeyHeaderName?: string;
  host?: string;
  port?: number;
}): Promise<StandInServer & { endpoint: string }> {
  const { store } = options;
  await ensureZones(store, CUSTOM_RESOURCE_GROUP, options.zones);
  const header = (options.apiKeyHeaderName ?? "X-Api-Key").toLowerCase();
  const zones = () =>
    store
      .listZones(CUSTOM_RESOURCE_GROUP)
      .map((z) => ({ id: stableId("custom-zone", z.name), name: z.name, nameServers: store.nameServers.map((n) => n.replace(/\.$/, "")) }));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://stand-in");
    const body = await readBody(req);
    if (req.headers[header] !== options.apiKey) throw new HttpError(401, "Invalid API key");
    if (req.method === "GET" && url.pathname === "/api/zones") return void sendJson(res, 200, zones());
    const m = /^\/api\/zones\/([^/]+)\/records\/([^/]+)$/.exec(url.pathname);
    if (!m) throw new HttpError(404, "Not found");
    const zone = zones().find((z) => z.id === decodeURIComponent(m[1] as string));
    if (!zone) throw new HttpError(404, `Zone ${m[1]} not found`);
    const rel = relativeName(decodeURIComponent(m[2] as string), zone.name);
    if (!rel) throw new HttpError(400, `Record ${m[2]} is not in zone ${zone.name}`);
    if (req.method === "PUT") {
      let input: { type?: unknown; ttl?: unknown; values?: unknown };
      try {
        input = JSON.parse(body) as typeof input;
      } catch {
        throw new HttpError(400, "The body is not JSON");
      }
      const values = input.values;
      if (
        input.type !== "TXT" ||
        typeof input.ttl !== "number" ||
        !Number.isInteger(input.ttl) ||
        input.ttl < 1 ||
        !Array.isArray(values) ||
        values.length === 0 ||
        !values.every((v) => typeof v === "string" && v.length > 0 && v.length <= 1024)
      ) {
        throw new HttpError(400, 'Expected {"type":"TXT","ttl":<seconds>,"values":[<strings>]}');
      }
      const ttl = input.ttl;
      await changeTxt(store, CUSTOM_RESOURCE_GROUP, zone.name, rel, () => ({ values: [...new Set(values as string[])], ttl }));
      res.writeHead(204).end();
      return;
    }
    if (req.method === "DELETE") {
      await changeTxt(store, CUSTOM_RESOURCE_GROUP, zone.name, rel, (current) => (current.length > 0 ? { values: [], ttl: 0 } : undefined));
      res.writeHead(204).end();
      return;
    }
    throw new HttpError(405, "Method not allowed");
  }

  const server = await startHttpsStandIn({
    tls: options.tls,
    host: options.host,
    port: options.port,
    faults: options.faults,
    faultTarget: "custom",
    faultStyle: "plain",
    handle,
    onError(res, err) {
      const e =
        err instanceof HttpError
          ? err
          : err instanceof BodyTooLarge
            ? new HttpError(413, "Request body too large")
            : new HttpError(500, "Internal error");
      sendJson(res, e.status, { title: e.message, status: e.status });
    },
  });
  return { ...server, endpoint: `${server.url}/api/` };
}
