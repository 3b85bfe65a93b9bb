/** Fault injection in the local stack: each dependency fails the way the real service does. */
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { readFileSync } from "node:fs";
import https from "node:https";
import { after, before, describe, it } from "node:test";
import { startTestStack, type TestStack } from "../support/stack";

function request(
  url: string,
  ca: string,
  method = "GET",
  body?: string,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, headers: body ? { "content-type": "application/jose+json" } : {} }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("fault injection in the local stack", () => {
  let stack: TestStack;
  let ca: string;
  before(async () => {
    stack = await startTestStack({ faults: "keyvault=429/2:100%,arm=reset:100%,dns=servfail:100%,acme=rateLimited/30:100%" });
    ca = readFileSync(stack.info.caFile, "utf8");
  });
  after(async () => stack.close());

  it("Key Vault answers 429 with Retry-After and Key Vault's error envelope", async () => {
    const r = await request(`${stack.info.keyVaultUrl}/secrets/x?api-version=7.4`, ca);
    assert.equal(r.status, 429);
    assert.equal(r.headers["retry-after"], "2");
    assert.equal((JSON.parse(r.text) as { error: { code: string } }).error.code, "TooManyRequests");
  });

  it("ARM resets the connection", async () => {
    await assert.rejects(request(`${stack.info.armEndpoint}/subscriptions/x?api-version=2018-05-01`, ca), /ECONNRESET|socket hang up/);
  });

  it("the DNS server answers SERVFAIL", async () => {
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([stack.info.dnsServer]);
    await assert.rejects(resolver.resolveTxt(`_acme-challenge.${stack.info.zones[0]}`), (e: { code?: string }) => e.code === "ESERVFAIL");
  });

  it("the CA's directory comes through the proxy; a new order is refused as rateLimited with Retry-After", async () => {
    const dir = await request(stack.info.acmeDirectoryUrl, ca);
    assert.equal(dir.status, 200);
    const directory = JSON.parse(dir.text) as { newOrder: string; newNonce: string };
    const origin = new URL(stack.info.acmeDirectoryUrl).origin;
    assert.ok(directory.newOrder.startsWith(origin), `${directory.newOrder} is behind the proxy ${origin}`);
    const nonce = await request(directory.newNonce, ca, "HEAD");
    assert.ok(nonce.headers["replay-nonce"], "other requests pass through to Pebble");
    const order = await request(directory.newOrder, ca, "POST", "{}");
    assert.equal(order.status, 429);
    assert.equal(order.headers["retry-after"], "30");
    const problem = JSON.parse(order.text) as { type: string; detail: string };
    assert.equal(problem.type, "urn:ietf:params:acme:error:rateLimited");
    assert.match(problem.detail, /retry after \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    assert.ok((stack.faults?.counts["acme:rateLimited"] ?? 0) >= 1);
  });
});
