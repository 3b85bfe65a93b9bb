/**
 * A local Application Insights ingestion endpoint for tests: HTTPS on 127.0.0.1 with a certificate from the
 * local CA, accepting what the Azure Monitor exporter POSTs to `<IngestionEndpoint>/v2.1/track` (JSON or
 * newline-delimited JSON, optionally gzip-compressed) and keeping every envelope it received.
 */
import https from "node:https";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import { ensureLocalCa } from "../../src/local/ca";

/** One telemetry envelope as Breeze receives it (only the fields the tests read are typed). */
export interface Envelope {
  name: string;
  time: string;
  iKey?: string;
  instrumentationKey?: string;
  tags?: Record<string, string>;
  data: {
    baseType: string;
    baseData: Record<string, unknown> & {
      properties?: Record<string, string>;
      metrics?: Array<{ name: string; value: number; count?: number }>;
    };
  };
}

export interface IngestionReceiver {
  port: number;
  /** `InstrumentationKey=...;IngestionEndpoint=https://127.0.0.1:PORT/` */
  connectionString: string;
  instrumentationKey: string;
  envelopes: Envelope[];
  requests: Array<{ path: string; contentEncoding?: string }>;
  close(): Promise<void>;
}

/** Starts the receiver on an ephemeral loopback port. */
export async function startIngestionReceiver(): Promise<IngestionReceiver> {
  const ca = await ensureLocalCa(path.resolve(".local/ca"));
  const { certPem, keyPem } = await ca.issueServerCertificate(["127.0.0.1", "localhost"]);
  const envelopes: Envelope[] = [];
  const requests: IngestionReceiver["requests"] = [];
  const server = https.createServer({ cert: certPem, key: keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      const encoding = req.headers["content-encoding"];
      requests.push({ path: req.url ?? "", contentEncoding: encoding });
      if (encoding === "gzip") body = gunzipSync(body);
      const text = body.toString("utf8").trim();
      let items: Envelope[] = [];
      if (text.startsWith("[")) items = JSON.parse(text) as Envelope[];
      else if (text)
        items = text
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Envelope);
      envelopes.push(...items);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const instrumentationKey = "00000000-0000-4000-8000-0000000000a1";
  return {
    port,
    instrumentationKey,
    connectionString: `InstrumentationKey=${instrumentationKey};IngestionEndpoint=https://127.0.0.1:${port}/`,
    envelopes,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
