/**
 * Test helper: an HTTPS pass-through in front of Pebble that keeps the answer to the first newOrder to itself. The CA
 * has created the order, the client never hears of it: a test kills the client meanwhile, the crash between the CA
 * creating an order and the host recording it. Later requests pass through. The Host header is kept, so Pebble builds
 * every URL (directory, orders, nonces) on the proxy's origin and the client stays behind it.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ensureLocalCa } from "../../src/local/ca";
import { listen } from "../../src/local/net";

export interface HeldOrderProxy {
  /** The directory URL through the proxy (Pebble's path on the proxy's origin). */
  directoryUrl: string;
  /** Resolves (with the CA's status, 201) once the CA has created the first order, its answer held back. */
  held: Promise<number>;
  /** Orders the CA created through the proxy (newOrder answered 201), the held one included. */
  newOrders(): number;
  close(): Promise<void>;
}

/** Pebble's newOrder path (its directory's `newOrder`). */
const NEW_ORDER_PATH = "/order-plz";

export async function startHeldOrderProxy(pebbleDirectoryUrl: string): Promise<HeldOrderProxy> {
  const upstream = new URL(pebbleDirectoryUrl);
  const ca = await ensureLocalCa();
  const tls = await ca.issueServerCertificate(["127.0.0.1", "localhost"]);
  const agent = new https.Agent({ ca: ca.caCertPem, keepAlive: true });
  let created = 0;
  let markHeld: (status: number) => void = () => {};
  const held = new Promise<number>((resolve) => (markHeld = resolve));
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const newOrder = req.method === "POST" && req.url === NEW_ORDER_PATH;
    const out = https.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (up) => {
        // The first order the CA creates (201; a badNonce refusal passes through and the client signs again) is read to
        // the end and answered with nothing: the client waits until it is killed.
        if (newOrder && up.statusCode === 201 && created++ === 0) {
          up.resume();
          up.on("end", () => markHeld(201));
          return;
        }
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
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, forward);
  const port = await listen(server, 0, "127.0.0.1");
  return {
    directoryUrl: `https://127.0.0.1:${port}${upstream.pathname}`,
    held,
    newOrders: () => created,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
