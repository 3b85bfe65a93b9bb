/**
 * decideForItem with the CA's ARI answer (RFC 9773), against a local directory that serves renewalInfo (Debian's
 * Pebble has none): the window decides when it is earlier than the fixed rules, the renewal moment is picked inside
 * it, and a failed lookup falls back to the fixed rules for that certificate only. Fixed clock, fixed randomness.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { IssuanceDeps } from "../../src/issuance";
import type { AcmeSession } from "../../src/acme/client";
import { decideForItem, type RenewalCandidate } from "../../src/renewal/scan";

const DAY = 86_400_000;
const ISSUED = Date.parse("2026-01-01T00:00:00Z");
const CERT_ID = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";

/** renewalInfo/<id> -> [status, body]; every request is recorded. */
const answers = new Map<string, [number, unknown]>();
const requested: string[] = [];
let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    requested.push(req.url ?? "");
    const id = decodeURIComponent((req.url ?? "").replace(/^\/acme\/renewal-info\//, ""));
    const [status, body] = answers.get(id) ?? [404, { type: "urn:ietf:params:acme:error:malformed", detail: "unknown certificate" }];
    res.writeHead(status, { "content-type": "application/json", ...(status === 200 ? { "retry-after": "21600" } : {}) });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

function deps(): IssuanceDeps {
  const session = { directory: { renewalInfo: `${base}/acme/renewal-info` } } as unknown as AcmeSession;
  return {
    settings: { renewBeforeExpiryDays: 30, renewAtPercentOfLifetime: 66 },
    acme: async () => session,
  } as unknown as IssuanceDeps;
}

/** A 90-day certificate issued 2026-01-01 with the ARI id ("" for none). */
const candidate = (name: string, ariCertId = CERT_ID): RenewalCandidate => ({
  name,
  notBefore: new Date(ISSUED).toISOString(),
  expiresOn: new Date(ISSUED + 90 * DAY).toISOString(),
  ...(ariCertId ? { ariCertId } : {}),
});

const window = (fromDay: number, toDay: number) => ({
  suggestedWindow: { start: new Date(ISSUED + fromDay * DAY).toISOString(), end: new Date(ISSUED + toDay * DAY).toISOString() },
});

describe("decideForItem with an ARI-serving directory", () => {
  it("day 10, the CA's window days 5-7 (fixed rules: day 59.4): due, AriWindowOpen, window reported", async () => {
    answers.set(CERT_ID, [200, window(5, 7)]);
    const d = await decideForItem(candidate("early"), deps(), new Date(ISSUED + 10 * DAY), () => 0.5);
    assert.ok(requested.includes(`/acme/renewal-info/${CERT_ID}`), requested.join(", "));
    assert.equal(d?.ari, "used");
    assert.equal(d?.rule, "ari");
    assert.equal(d?.decision.due, true);
    assert.equal(d?.decision.reason, "AriWindowOpen");
    assert.deepEqual(d?.ariWindow, { start: "2026-01-06T00:00:00.000Z", end: "2026-01-08T00:00:00.000Z" });
  });

  it("day 10, the CA's window days 20-22: not due yet, renewAt the moment picked in the window (random 0.25: day 20.5)", async () => {
    answers.set(CERT_ID, [200, window(20, 22)]);
    const d = await decideForItem(candidate("later"), deps(), new Date(ISSUED + 10 * DAY), () => 0.25);
    assert.equal(d?.ari, "used");
    assert.equal(d?.decision.due, false);
    assert.equal(d?.decision.reason, "NotDue");
    assert.equal(d?.decision.renewAt, new Date(ISSUED + 20.5 * DAY).toISOString());
  });

  it("the renewalInfo answer is an error (HTTP 404): ARI failed, the fixed rules decide (day 59.7: due by the lifetime rule)", async () => {
    // (A 5xx would do the same after acme-client's own retries, 75 s of back-off.)
    answers.set(CERT_ID, [404, { type: "urn:ietf:params:acme:error:malformed" }]);
    const d = await decideForItem(candidate("fallback"), deps(), new Date(ISSUED + 59.7 * DAY), () => 0.5);
    assert.equal(d?.ari, "failed");
    assert.equal(d?.decision.due, true);
    assert.equal(d?.decision.reason, "LifetimeFractionElapsed");
    assert.match(d?.decision.message ?? "", /ARI lookup failed: .*404/);
  });

  it("no ARI id: the directory is not asked and the fixed rules decide (day 10: not due)", async () => {
    const before = requested.length;
    const d = await decideForItem(candidate("no-id", ""), deps(), new Date(ISSUED + 10 * DAY), () => 0.5);
    assert.equal(requested.length, before, "no renewalInfo request");
    assert.equal(d?.ari, "skipped");
    assert.equal(d?.decision.due, false);
    assert.equal(d?.decision.renewAt, new Date(ISSUED + 0.66 * 90 * DAY).toISOString());
  });
});
