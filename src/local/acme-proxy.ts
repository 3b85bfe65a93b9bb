/**
 * A proxy in front of Pebble that fails the way a production CA does under load: new orders refused with
 * `urn:ietf:params:acme:error:rateLimited` and Retry-After (Boulder answers 429), 503 with Retry-After from the load
 * balancer, resets and slow answers. Everything else passes through unchanged; the Host header is kept, so Pebble
 * builds every URL (directory, orders, nonces) on the proxy's origin and clients stay behind it.
 */
import https from "node:https";
import { withHttpFaults, writeFaultResponse, type FaultInjector } from "./faults";
import { listen } from "./net";

export interface AcmeProxy {
  url: string;
  port: number;
  /** The payloads of the newOrder requests received (decoded from their JWS), oldest first. */
  newOrders: Record<string, unknown>[];
  close(): Promise<void>;
}

/** The payload of a flattened JWS request body (RFC 8555 §6.2), or undefined. */
function jwsPayload(body: Buffer): Record<string, unknown> | undefined {
  try {
    const jws = JSON.parse(body.toString("utf8")) as { payload?: string };
    const payload: unknown = JSON.parse(Buffer.from(jws.payload ?? "", "base64url").toString("utf8"));
    return typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Pebble's newOrder path (its directory's `newOrder`) and its directory's path. */
const NEW_ORDER_PATH = "/order-plz";
const DIRECTORY_PATH = "/dir";

export async function startAcmeProxy(options: {
  /** Pebble's origin, e.g. https://127.0.0.1:14000 */
  upstream: string;
  tls: { certPem: string; keyPem: string };
  caCertPem: string;
  /** Faults to inject (none: a plain pass-through). */
  injector?: FaultInjector;
  port?: number;
  /**
   * Fields merged into the directory's `meta` (Pebble's path `/dir`): a CA offering ACME profiles (`profiles`) or
   * naming its CAA identities (`caaIdentities`), which the Debian Pebble does not.
   */
  directoryMeta?: Record<string, unknown>;
}): Promise<AcmeProxy> {
  const upstream = new URL(options.upstream);
  const agent = new https.Agent({ ca: options.caCertPem, keepAlive: true });
  const newOrders: Record<string, unknown>[] = [];
  const forward = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse): void => {
    if (options.directoryMeta && req.method === "GET" && req.url === DIRECTORY_PATH) {
      req.resume();
      rewriteDirectory(res, options.directoryMeta);
      return;
    }
    if (req.method === "POST" && req.url === NEW_ORDER_PATH) {
      // Buffered to record the payload, then sent on unchanged.
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        const payload = jwsPayload(body);
        if (payload) newOrders.push(payload);
        send(req, res, body);
      });
      return;
    }
    send(req, res);
  };
  const rewriteDirectory = (res: import("node:http").ServerResponse, meta: Record<string, unknown>): void => {
    https
      .get({ host: upstream.hostname, port: upstream.port, path: DIRECTORY_PATH, agent, headers: { host: `127.0.0.1:${port}` } }, (up) => {
        const chunks: Buffer[] = [];
        up.on("data", (c: Buffer) => chunks.push(c));
        up.on("end", () => {
          const directory = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { meta?: Record<string, unknown> };
          directory.meta = { ...directory.meta, ...meta };
          res.writeHead(up.statusCode ?? 200, { "content-type": "application/json" });
          res.end(JSON.stringify(directory));
        });
      })
      .on("error", () => {
        res.writeHead(502, { "content-type": "application/problem+json" });
        res.end(JSON.stringify({ type: "urn:ietf:params:acme:error:serverInternal", detail: "the CA did not answer", status: 502 }));
      });
  };
  const send = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse, buffered?: Buffer): void => {
    // Rate limits apply to new orders, as Let's Encrypt's do.
    if (req.method === "POST" && req.url === NEW_ORDER_PATH) {
      const limited = options.injector?.decide("acme", (f) => f.kind === "rateLimited");
      if (limited) {
        req.resume();
        writeFaultResponse(res, limited, "acme");
        return;
      }
    }
    const out = https.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ type: "urn:ietf:params:acme:error:serverInternal", detail: "the CA did not answer", status: 502 }));
    });
    if (buffered) out.end(buffered);
    else req.pipe(out);
  };
  const server = https.createServer(
    { cert: options.tls.certPem, key: options.tls.keyPem },
    withHttpFaults(forward, options.injector, "acme", "acme"),
  );
  const port = await listen(server, options.port ?? 0, "127.0.0.1");
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    newOrders,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
