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
  close(): Promise<void>;
}

/** Pebble's newOrder path (its directory's `newOrder`). */
const NEW_ORDER_PATH = "/order-plz";

export async function startAcmeProxy(options: {
  /** Pebble's origin, e.g. https://127.0.0.1:14000 */
  upstream: string;
  tls: { certPem: string; keyPem: string };
  caCertPem: string;
  injector: FaultInjector;
  port?: number;
}): Promise<AcmeProxy> {
  const upstream = new URL(options.upstream);
  const agent = new https.Agent({ ca: options.caCertPem, keepAlive: true });
  const forward = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse): void => {
    // Rate limits apply to new orders, as Let's Encrypt's do.
    if (req.method === "POST" && req.url === NEW_ORDER_PATH) {
      const limited = options.injector.decide("acme", (f) => f.kind === "rateLimited");
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
    req.pipe(out);
  };
  const server = https.createServer(
    { cert: options.tls.certPem, key: options.tls.keyPem },
    withHttpFaults(forward, options.injector, "acme", "acme"),
  );
  const port = await listen(server, options.port ?? 0, "127.0.0.1");
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
