/**
 * Edge cases of what the webhook code parses, each killing a mutant StrykerJS found surviving (docs/testing.md):
 * Retry-After is delta-seconds only when the whole trimmed value is digits (else an HTTP-date, else nothing), and a
 * whsec_ secret must be padded base64 (groups of four characters).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRetryAfter } from "../../src/notify/retry";
import { signingSecretProblem } from "../../src/notify/signing";

const NOW = new Date("2026-02-01T10:00:00Z");

describe("parseRetryAfter", () => {
  for (const [value, expected] of [
    ["120", 120_000], // several digits
    [" 120 ", 120_000], // surrounding spaces trimmed
    ["5 seconds", null], // digits first, then words: not delta-seconds, not a date
    ["soon5", null], // digits last: not delta-seconds, not a date
    ["Sun, 01 Feb 2026 10:01:00 GMT", 60_000],
    ["Sun, 01 Feb 2026 09:00:00 GMT", 0], // in the past: now
    ["", null],
  ] as const) {
    it(`${JSON.stringify(value)} -> ${expected}`, () => assert.equal(parseRetryAfter(value, NOW), expected));
  }
});

describe("signingSecretProblem", () => {
  it("refuses base64 whose length is not a multiple of four (unpadded), though it decodes to enough bytes", () => {
    assert.match(signingSecretProblem(`whsec_${"A".repeat(33)}`) ?? "", /standard base64 \(padded\)/);
  });
  it("accepts the same key padded", () => {
    assert.equal(signingSecretProblem(`whsec_${"A".repeat(32)}`), null);
  });
});
