/**
 * Known answers, computed outside kv-acme, where a library would otherwise only check itself:
 * - Standard Webhooks signatures: the specification's published example, and kv-acme's own headers for a fixed event,
 *   id, time and secrets, whose values were computed with `openssl dgst -sha256 -mac HMAC` (commands below). A
 *   signature over the body alone (an unsigned timestamp, so replays pass) or over a different key fails here.
 * - ARI (RFC 9773) window picks and poll times for a fixed clock and fixed randomness.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { legacySignature, signatureHeaders, standardSignature } from "../../src/notify/signing";
import { parseRenewalInfo, pickRenewalTime } from "../../src/acme/ari";

// The example of the Standard Webhooks specification (and of its reference libraries' tests).
const SPEC = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};

describe("webhook signatures (known answers)", () => {
  it("the Standard Webhooks specification's example signature", () => {
    assert.equal(standardSignature(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.body), SPEC.signature);
  });

  it("the signature covers id and timestamp: a replay with another timestamp or id gets another signature", () => {
    assert.notEqual(standardSignature(SPEC.secret, SPEC.id, SPEC.timestamp + 1, SPEC.body), SPEC.signature);
    assert.notEqual(standardSignature(SPEC.secret, "msg_other", SPEC.timestamp, SPEC.body), SPEC.signature);
  });

  it("headers for a primary, a secondary and a legacy secret at a fixed time are exactly the openssl-computed values", () => {
    // printf '%s' 'evt_01.1700000000.<body>' | openssl dgst -sha256 -mac HMAC -macopt hexkey:<key hex> -binary | base64
    // printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac 'legacy-secret-of-the-first-scheme'
    const body = '{"type":"certificate.renewed","subject":"shop"}';
    const headers = signatureHeaders(
      {
        secrets: [SPEC.secret, "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="],
        legacySecret: "legacy-secret-of-the-first-scheme",
      },
      "evt_01",
      body,
      new Date(1_700_000_000_999),
    );
    assert.deepEqual(headers, {
      "webhook-id": "evt_01",
      "webhook-timestamp": "1700000000",
      "webhook-signature": [
        "v1,E+lMZ/AGjcIXcCKWqIvcH2AIthQNam2oRB/u4y7PJy0=",
        "v1,fdEOt4uEUxWq+uMKGWHui6tXJf5wX6nfnTKmgH568E4=",
        "v1=df50057730b6384ccc7a69eb6196e4c3b99c7bafabbd6d8c61b2921836acd48f",
      ].join(" "),
    });
    assert.equal(
      legacySignature("legacy-secret-of-the-first-scheme", 1_700_000_000, body),
      "v1=df50057730b6384ccc7a69eb6196e4c3b99c7bafabbd6d8c61b2921836acd48f",
    );
  });
});

describe("ARI window picks and poll times (fixed clock, fixed randomness)", () => {
  const window = { start: new Date("2026-03-01T00:00:00Z"), end: new Date("2026-03-03T00:00:00Z") };
  for (const [random, expected] of [
    [0, "2026-03-01T00:00:00.000Z"],
    [0.25, "2026-03-01T12:00:00.000Z"],
    [0.5, "2026-03-02T00:00:00.000Z"],
    [0.999999, "2026-03-02T23:59:59.827Z"],
    [1, "2026-03-02T23:59:59.999Z"],
    [-3, "2026-03-01T00:00:00.000Z"],
  ] as const) {
    it(`random ${random} picks ${expected}`, () => assert.equal(pickRenewalTime(window, () => random).toISOString(), expected));
  }

  const now = new Date("2026-02-01T10:00:00Z");
  const body = {
    suggestedWindow: { start: "2026-03-01T00:00:00Z", end: "2026-03-03T00:00:00Z" },
    explanationURL: "https://ca.example/why",
  };
  for (const [retryAfter, expected] of [
    [null, "2026-02-01T16:00:00.000Z"], // none: 6 h
    ["3600", "2026-02-01T11:00:00.000Z"],
    ["5", "2026-02-01T10:01:00.000Z"], // at least 1 min
    ["172800", "2026-02-02T10:00:00.000Z"], // at most 24 h
    ["Sun, 01 Feb 2026 12:30:00 GMT", "2026-02-01T12:30:00.000Z"],
    ["soon", "2026-02-01T16:00:00.000Z"], // unusable: 6 h
  ] as const) {
    it(`Retry-After ${JSON.stringify(retryAfter)} at ${now.toISOString()}: ask again at ${expected}`, () => {
      const info = parseRenewalInfo(body, retryAfter, now);
      assert.equal(info.retryAfter.toISOString(), expected);
      assert.deepEqual(info.window, window);
      assert.equal(info.explanationUrl, "https://ca.example/why");
    });
  }
});
