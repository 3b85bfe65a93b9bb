/**
 * `kv-acme --endpoint`: credentials (function key, bearer token) go only to the endpoint's own origin, never over plain
 * http to a non-loopback host, never to another origin named by a Location header or a redirect. Real HTTP servers on
 * loopback: the API and a second origin that records what reaches it.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { runEndpointCommand, type EndpointIo } from "../../src/cli/endpoint";
import { ConfigurationError, UpstreamError } from "../../src/shared/errors";

const KEY = "cli-credential-test-key-0123456789";

function listen(
  handler: (req: IncomingMessage, res: import("node:http").ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })),
  );
}

const io = (): EndpointIo => ({ env: {}, progress: () => undefined, readFile: async () => "", maxPollIntervalMs: 50, timeoutMs: 5000 });

describe("CLI --endpoint credentials", () => {
  let api: { server: Server; url: string };
  let other: { server: Server; url: string };
  const seenByOther: { path: string; key?: string; auth?: string }[] = [];
  before(async () => {
    other = await listen((req, res) => {
      seenByOther.push({ path: req.url ?? "", key: req.headers["x-functions-key"] as string | undefined, auth: req.headers.authorization });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "Completed", output: { stolen: true } }));
    });
    api = await listen((req, res) => {
      if (req.method === "POST" && req.url?.endsWith("/certificates")) {
        // A hostile or misconfigured app names an operation on another origin.
        res.writeHead(202, { location: `${other.url}/api/automation/operations/kv-acme-x`, "retry-after": "1" });
        res.end(JSON.stringify({ id: "kv-acme-x", status: "Pending" }));
      } else if (req.url?.includes("/certificates/moved/pending")) {
        res.writeHead(302, { location: `${other.url}/api/automation/certificates/moved/pending` });
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  after(() => {
    api?.server.close();
    other?.server.close();
  });

  it("refuses to send the function key over plain http to a host that is not loopback (before any request)", async () => {
    for (const endpoint of ["http://kv-acme.example.invalid", "http://10.1.2.3:7071"]) {
      await assert.rejects(
        runEndpointCommand("list", [], { endpoint, "function-key": KEY }, io()),
        (err: unknown) => err instanceof ConfigurationError && /plain http/.test(err.message) && !err.message.includes(KEY),
      );
      await assert.rejects(
        runEndpointCommand("list", [], { endpoint, token: "t0ken" }, io()),
        (err: unknown) => err instanceof ConfigurationError && /plain http/.test(err.message),
      );
    }
  });

  it("loopback http is allowed (the local host)", async () => {
    await assert.rejects(
      runEndpointCommand("list", [], { endpoint: api.url.replace("127.0.0.1", "localhost"), "function-key": KEY }, io()),
      (err: unknown) => !(err instanceof ConfigurationError),
    );
  });

  it("does not follow a Location on another origin with the key", async () => {
    await assert.rejects(
      runEndpointCommand("issue", [], { endpoint: api.url, "function-key": KEY, "dns-names": ["a.example.com"] }, io()),
      (err: unknown) => err instanceof UpstreamError && /another origin/.test(err.message),
    );
    assert.deepEqual(seenByOther, [], "nothing reached the other origin");
  });

  it("does not follow a cross-origin redirect with the key", async () => {
    await assert.rejects(
      runEndpointCommand("pending", ["show", "moved"], { endpoint: api.url, "function-key": KEY }, io()),
      (err: unknown) => err instanceof UpstreamError && /another origin/.test(err.message),
    );
    assert.deepEqual(seenByOther, [], "nothing reached the other origin");
  });
});
