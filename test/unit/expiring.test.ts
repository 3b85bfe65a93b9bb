/**
 * Pure parts of issue 5's gaps: which certificates a renewal run reports as `certificate.expiring`, the failure
 * counter tag, what an operation status shows of a webhook delivery, and the operation id of an HTTP request.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  EXPIRING_AFTER_FAILED_ATTEMPTS,
  daysRemaining,
  expiringNotices,
  shouldWatch,
  type WatchedCertificate,
} from "../../src/renewal/expiring";
import {
  TAG_RENEWAL_FAILURES,
  formatRenewalFailures,
  nextRenewalFailures,
  parseRenewalFailures,
  readManagedTags,
} from "../../src/keyvault/tags";
import { notificationSummaries } from "../../src/orchestrations/issue-certificate";
import { requestOperationId } from "../../src/api/handlers";
import { decideRenewal } from "../../src/renewal/decide";

const w = (certificateName: string, days: number, failedAttempts = 0): WatchedCertificate => ({
  certificateName,
  notAfter: "2026-01-10T00:00:00.000Z",
  daysRemaining: days,
  failedAttempts,
});

describe("expiringNotices", () => {
  const table: Array<{
    name: string;
    watched: WatchedCertificate[];
    renewed?: string[];
    failed?: string[];
    want: Array<[string, string, number]>;
  }> = [
    { name: "renewed certificates are never reported", watched: [w("a", 2)], renewed: ["a"], want: [] },
    { name: "failed this run and within the threshold", watched: [w("a", 2)], failed: ["a"], want: [["a", "within-warning-threshold", 1]] },
    {
      name: "skipped (dry run, in progress, backing off) and within the threshold",
      watched: [w("a", 7, 2)],
      want: [["a", "within-warning-threshold", 2]],
    },
    { name: "just outside the threshold, few failures: nothing", watched: [w("a", 8, 1)], failed: ["a"], want: [] },
    {
      name: "outside the threshold but the Nth consecutive failure",
      watched: [w("a", 20, EXPIRING_AFTER_FAILED_ATTEMPTS - 1)],
      failed: ["a"],
      want: [["a", "renewal-attempts-exhausted", EXPIRING_AFTER_FAILED_ATTEMPTS]],
    },
    {
      name: "held back after N failures, not failing this run",
      watched: [w("a", 20, EXPIRING_AFTER_FAILED_ATTEMPTS)],
      want: [["a", "renewal-attempts-exhausted", EXPIRING_AFTER_FAILED_ATTEMPTS]],
    },
    { name: "expired (negative days) is within the threshold", watched: [w("a", -1)], want: [["a", "within-warning-threshold", 0]] },
    {
      name: "one notice per certificate, sorted",
      watched: [w("b", 1), w("a", 1), w("b", 1)],
      want: [
        ["a", "within-warning-threshold", 0],
        ["b", "within-warning-threshold", 0],
      ],
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const got = expiringNotices(t.watched, { renewed: t.renewed ?? [], failed: t.failed ?? [] }, 7).map((n) => [
        n.certificateName,
        n.reason,
        n.failedAttempts,
      ]);
      assert.deepEqual(got, t.want);
    });
  }

  it("watches certificates within the threshold or one failure short of N; days round down", () => {
    assert.equal(shouldWatch(7, 0, 7), true);
    assert.equal(shouldWatch(8, 0, 7), false);
    assert.equal(shouldWatch(30, EXPIRING_AFTER_FAILED_ATTEMPTS - 1, 7), true);
    assert.equal(shouldWatch(30, EXPIRING_AFTER_FAILED_ATTEMPTS - 2, 7), false);
    const now = new Date("2026-01-01T00:00:00.000Z");
    assert.equal(daysRemaining("2026-01-08T23:59:59.000Z", now), 7);
    assert.equal(daysRemaining("2026-01-01T00:05:00.000Z", now), 0);
    assert.equal(daysRemaining("2025-12-31T12:00:00.000Z", now), -1);
  });
});

describe("kv-acme-renewal-failures tag", () => {
  const at = new Date("2026-03-01T02:00:00.000Z");

  it("counts each failure once, however often the same failure is recorded", () => {
    const first = nextRenewalFailures(undefined, "f1", at);
    assert.deepEqual(first, { attempts: 1, at: at.toISOString(), failureId: "f1" });
    assert.equal(nextRenewalFailures(first, "f1", new Date()), first, "a retried activity does not count twice");
    const second = nextRenewalFailures(parseRenewalFailures(formatRenewalFailures(first)), "f2", new Date("2026-03-02T02:00:00.000Z"));
    assert.equal(second.attempts, 2);
    const long = "x".repeat(100);
    const recorded = parseRenewalFailures(formatRenewalFailures(nextRenewalFailures(second, long, at)));
    assert.equal(recorded?.attempts, 3);
    assert.equal(nextRenewalFailures(recorded, long, at).attempts, 3, "a long id is compared in its stored (clipped) form");
    assert.ok(formatRenewalFailures(nextRenewalFailures(second, long, at)).length <= 256);
  });

  it("is read with the managed tags; malformed values are ignored", () => {
    const tags = { "kv-acme-managed": "true", [TAG_RENEWAL_FAILURES]: "2;2026-03-01T02:00:00.000Z;abc" };
    assert.deepEqual(readManagedTags(tags).renewalFailures, { attempts: 2, at: "2026-03-01T02:00:00.000Z", failureId: "abc" });
    for (const bad of ["", "two;2026-03-01T02:00:00Z;x", "0;2026-03-01T02:00:00Z;x", "1;yesterday;x", "1;2026-03-01T02:00:00Z"]) {
      assert.equal(parseRenewalFailures(bad), undefined, bad);
    }
  });

  it("drives the renewal decision's backoff", () => {
    const state = { notBefore: new Date("2026-01-01T00:00:00Z"), notAfter: new Date("2026-04-01T00:00:00Z") };
    const policy = { renewBeforeExpiryDays: 30, renewAtPercentOfLifetime: 66 };
    const now = new Date("2026-03-15T00:00:00Z");
    assert.equal(decideRenewal(state, policy, now).due, true);
    const held = decideRenewal({ ...state, lastFailure: { at: new Date("2026-03-14T23:00:00Z"), attempts: 2 } }, policy, now);
    assert.equal(held.reason, "BackingOff", "2 failures: the next attempt waits 2 h after the last");
  });
});

describe("what an operation shows of webhook deliveries", () => {
  it("origin, event, ok, attempts and status only", () => {
    const out = notificationSummaries({
      eventId: "evt_1",
      results: [
        {
          target: "https://hooks.slack.com",
          format: "slack",
          eventId: "evt_1",
          eventType: "certificate.issued",
          ok: false,
          attempts: 5,
          status: 503,
          error: "HTTP 503",
          durationMs: 9,
        },
        {
          target: "https://hooks.example.net/T000/s3cr3t?token=abc",
          format: "generic",
          eventId: "evt_1",
          eventType: "certificate.issued",
          ok: true,
          attempts: 1,
          durationMs: 3,
        },
      ],
    });
    assert.deepEqual(out, [
      { event: "certificate.issued", target: "https://hooks.slack.com", ok: false, attempts: 5, status: 503 },
      { event: "certificate.issued", target: "https://hooks.example.net", ok: true, attempts: 1 },
    ]);
    assert.deepEqual(notificationSummaries(undefined), [], "a notify activity that failed reports nothing");
  });
});

describe("operation id of an HTTP request", () => {
  const req = (traceparent?: string) => ({
    method: "POST",
    url: "http://x/api/certificates",
    params: {},
    query: new URLSearchParams(),
    body: new Uint8Array(),
    headers: { get: (n: string) => (n === "traceparent" ? (traceparent ?? null) : null) },
  });
  it("is the traceparent's trace id, else a new one", () => {
    assert.equal(requestOperationId(req("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")), "4bf92f3577b34da6a3ce929d0e0e4736");
    const a = requestOperationId(req());
    const b = requestOperationId(req("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.match(b, /^[0-9a-f]{32}$/);
    assert.notEqual(a, b);
    assert.notEqual(b, "4bf92f3577b34da6a3ce929d0e0e4736", "an invalid traceparent is not trusted");
  });
});
