/**
 * What a request to a CA that gives no answer fails with (src/acme/client.ts, hookAcmeTransport): the cause, retryable
 * where a retry can help, after acme-client's own retries, not acme-client's "Cannot read properties of undefined
 * (reading 'config')" that its interceptor throws once it has retried a request without a response.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import * as acme from "acme-client";
import { fetchDirectory } from "../../src/acme/client";
import { freePort, listen } from "../../src/local/net";
import { rejection } from "../support/rejections";

const settings = (acme.axios.defaults as unknown as { acmeSettings: { retryDefaultDelay: number; retryMaxAttempts: number } }).acmeSettings;
const saved = { ...settings };

let closedPort = 0;
let plainHttp: http.Server;
let plainPort = 0;
let connections = 0;
before(async () => {
  // Retries without their 5-25 s waits; the number of attempts stays acme-client's.
  settings.retryDefaultDelay = 0;
  closedPort = await freePort();
  // A plain-HTTP server behind an https:// URL: every attempt fails in the TLS handshake, without an answer.
  plainHttp = http.createServer((_req, res) => res.end("{}"));
  plainHttp.on("connection", () => connections++);
  plainPort = await listen(plainHttp, 0, "127.0.0.1");
});
after(async () => {
  Object.assign(settings, saved);
  await new Promise<void>((resolve) => plainHttp.close(() => resolve()));
});

describe("a CA that gives no answer", () => {
  it("a refused connection fails with ECONNREFUSED, retryable, after acme-client's attempts", async () => {
    const url = `https://127.0.0.1:${closedPort}/dir`;
    const err = await rejection(fetchDirectory(url));
    assert.match(err.message, new RegExp(`^Cannot read the ACME directory ${url.replace(/[./]/g, "\\$&")}: .*ECONNREFUSED`));
    assert.doesNotMatch(err.message, /reading 'config'/);
    assert.equal(err.retryable, true);
    assert.equal((err.cause as { code?: string }).code, "ECONNREFUSED");
  });

  it("a failed TLS handshake names the TLS failure, once every attempt has been made", async () => {
    connections = 0;
    const err = await rejection(fetchDirectory(`https://127.0.0.1:${plainPort}/dir`));
    assert.match(err.message, /SSL|TLS|EPROTO|wrong version/i);
    assert.doesNotMatch(err.message, /reading 'config'/);
    assert.equal(connections, 1 + settings.retryMaxAttempts, "the first attempt and acme-client's retries");
  });
});
