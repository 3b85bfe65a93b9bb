import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  decideRenewal,
  nextAttemptAt,
  renewalTime,
  type RenewalPolicy,
  type RenewalReason,
  type RenewalState,
} from "../../src/renewal/decide";
import { ValidationError } from "../../src/shared/errors";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = new Date("2025-01-01T00:00:00Z");
const at = (ms: number) => new Date(T0.getTime() + ms);
const cert = (days: number): Pick<RenewalState, "notBefore" | "notAfter"> => ({ notBefore: T0, notAfter: at(days * DAY) });
const defaults: RenewalPolicy = { renewBeforeExpiryDays: 30, renewAtPercentOfLifetime: 66 };

describe("decideRenewal scenarios", () => {
  const cases: {
    name: string;
    state: RenewalState;
    now: Date;
    policy?: RenewalPolicy;
    due: boolean;
    reason: RenewalReason;
    renewAt: Date;
    message?: RegExp;
  }[] = [
    {
      name: "90-day LE cert at day 59: not due",
      state: cert(90),
      now: at(59 * DAY),
      due: false,
      reason: "NotDue",
      renewAt: at(59.4 * DAY),
    },
    {
      name: "90-day LE cert at day 61: due, within 30 days",
      state: cert(90),
      now: at(61 * DAY),
      due: true,
      reason: "WithinRenewBeforeExpiry",
      renewAt: at(60 * DAY),
    },
    {
      name: "90-day LE cert at day 59.5: 66 % elapsed",
      state: cert(90),
      now: at(59.5 * DAY),
      due: true,
      reason: "LifetimeFractionElapsed",
      renewAt: at(59.4 * DAY),
    },
    { name: "90-day cert day 1: not due", state: cert(90), now: at(DAY), due: false, reason: "NotDue", renewAt: at(59.4 * DAY) },
    { name: "47-day cert at day 16: not due", state: cert(47), now: at(16 * DAY), due: false, reason: "NotDue", renewAt: at(17 * DAY) },
    {
      name: "47-day cert at day 17: due, 30 days left",
      state: cert(47),
      now: at(17 * DAY),
      due: true,
      reason: "WithinRenewBeforeExpiry",
      renewAt: at(17 * DAY),
    },
    {
      name: "6-day cert fresh: not due despite 30-day setting",
      state: cert(6),
      now: at(HOUR),
      due: false,
      reason: "NotDue",
      renewAt: at(6 * DAY * 0.66),
    },
    {
      name: "6-day cert at day 3.9: not due",
      state: cert(6),
      now: at(3.9 * DAY),
      due: false,
      reason: "NotDue",
      renewAt: at(6 * DAY * 0.66),
    },
    {
      name: "6-day cert at day 4: due by the fraction",
      state: cert(6),
      now: at(4 * DAY),
      due: true,
      reason: "LifetimeFractionElapsed",
      renewAt: at(6 * DAY * 0.66),
    },
    {
      name: "44-day cert: days rule would fire in first third, fraction only",
      state: cert(44),
      now: at(20 * DAY),
      due: false,
      reason: "NotDue",
      renewAt: at(44 * DAY * 0.66),
    },
    {
      name: "expired",
      state: cert(90),
      now: at(91 * DAY),
      due: true,
      reason: "Expired",
      renewAt: at(90 * DAY),
      message: /expired at 2025-04-01/,
    },
    { name: "expiring exactly now", state: cert(90), now: at(90 * DAY), due: true, reason: "Expired", renewAt: at(90 * DAY) },
    {
      name: "ARI window open: early renewal requested by the CA (day 10)",
      state: { ...cert(90), ari: { renewAt: at(10 * DAY), window: { start: at(9 * DAY), end: at(11 * DAY) } } },
      now: at(10.5 * DAY),
      due: true,
      reason: "AriWindowOpen",
      renewAt: at(10 * DAY),
      message: /renewal window/,
    },
    {
      name: "ARI window open but picked moment not yet reached",
      state: { ...cert(90), ari: { renewAt: at(10 * DAY), window: { start: at(9 * DAY), end: at(11 * DAY) } } },
      now: at(9.5 * DAY),
      due: false,
      reason: "NotDue",
      renewAt: at(10 * DAY),
      message: /ARI/,
    },
    {
      name: "ARI window not yet open overrides the days rule",
      state: { ...cert(90), ari: { renewAt: at(62 * DAY), window: { start: at(61 * DAY), end: at(63 * DAY) } } },
      now: at(61 * DAY),
      due: false,
      reason: "NotDue",
      renewAt: at(62 * DAY),
    },
    {
      name: "ARI moment after expiry is ignored",
      state: { ...cert(90), ari: { renewAt: at(95 * DAY), window: { start: at(94 * DAY), end: at(96 * DAY) } } },
      now: at(61 * DAY),
      due: true,
      reason: "WithinRenewBeforeExpiry",
      renewAt: at(60 * DAY),
    },
    {
      name: "ARI lookup failed: falls back to days rule",
      state: { ...cert(90), ari: { error: "HTTP 503 from renewalInfo" } },
      now: at(61 * DAY),
      due: true,
      reason: "WithinRenewBeforeExpiry",
      renewAt: at(60 * DAY),
      message: /ARI lookup failed: HTTP 503/,
    },
    {
      name: "ARI lookup failed, not due by fixed rules",
      state: { ...cert(90), ari: { error: "timeout" } },
      now: at(30 * DAY),
      due: false,
      reason: "NotDue",
      renewAt: at(59.4 * DAY),
      message: /ARI lookup failed: timeout/,
    },
    {
      name: "backoff active: 3 failures, last 2 h ago (next after 4 h)",
      state: { ...cert(90), lastFailure: { at: at(61 * DAY), attempts: 3 } },
      now: at(61 * DAY + 2 * HOUR),
      due: false,
      reason: "BackingOff",
      renewAt: at(61 * DAY + 4 * HOUR),
      message: /3 attempt\(s\) failed/,
    },
    {
      name: "backoff over: 3 failures, last 5 h ago",
      state: { ...cert(90), lastFailure: { at: at(61 * DAY), attempts: 3 } },
      now: at(61 * DAY + 5 * HOUR),
      due: true,
      reason: "WithinRenewBeforeExpiry",
      renewAt: at(61 * DAY + 4 * HOUR),
    },
    {
      name: "backoff on a not-due certificate reports NotDue",
      state: { ...cert(90), lastFailure: { at: at(30 * DAY), attempts: 1 } },
      now: at(30 * DAY),
      due: false,
      reason: "NotDue",
      renewAt: at(59.4 * DAY),
    },
    {
      name: "expired cert is retried despite failures (backoff capped before expiry)",
      state: { ...cert(90), lastFailure: { at: at(90 * DAY - 30 * 60_000), attempts: 10 } },
      now: at(90 * DAY),
      due: true,
      reason: "Expired",
      renewAt: at(90 * DAY),
    },
    {
      name: "custom policy: 50 % of a 90-day cert",
      state: cert(90),
      policy: { renewBeforeExpiryDays: 10, renewAtPercentOfLifetime: 50 },
      now: at(46 * DAY),
      due: true,
      reason: "LifetimeFractionElapsed",
      renewAt: at(45 * DAY),
    },
    {
      name: "custom policy: 45 days before expiry of a 90-day cert",
      state: cert(90),
      policy: { renewBeforeExpiryDays: 45, renewAtPercentOfLifetime: 66 },
      now: at(45 * DAY),
      due: true,
      reason: "WithinRenewBeforeExpiry",
      renewAt: at(45 * DAY),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decideRenewal(c.state, c.policy ?? defaults, c.now);
      assert.equal(d.reason, c.reason, d.message);
      assert.equal(d.due, c.due);
      assert.equal(d.renewAt.toISOString(), c.renewAt.toISOString());
      if (c.message) assert.match(d.message, c.message);
    });
  }

  it("a fresh certificate of any lifetime is never due under the defaults", () => {
    for (const days of [1, 2, 6, 7, 10, 30, 31, 45, 46, 47, 60, 90, 180, 397]) {
      const d = decideRenewal(cert(days), defaults, at(60_000));
      assert.equal(d.due, false, `${days}-day certificate: ${d.message}`);
      assert.ok(d.renewAt.getTime() >= T0.getTime() + (days * DAY) / 3, `${days}-day certificate renews in its first third`);
    }
  });
});

describe("renewalTime", () => {
  const cases: { name: string; state: RenewalState; want: { at: Date; rule: string } }[] = [
    { name: "90-day: fraction is earlier", state: cert(90), want: { at: at(59.4 * DAY), rule: "percent" } },
    { name: "47-day: days rule", state: cert(47), want: { at: at(17 * DAY), rule: "days" } },
    { name: "6-day: fraction", state: cert(6), want: { at: at(6 * DAY * 0.66), rule: "percent" } },
    {
      name: "ARI",
      state: { ...cert(90), ari: { renewAt: at(5 * DAY), window: { start: at(4 * DAY), end: at(6 * DAY) } } },
      want: { at: at(5 * DAY), rule: "ari" },
    },
    { name: "failed ARI", state: { ...cert(47), ari: { error: "x" } }, want: { at: at(17 * DAY), rule: "days" } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = renewalTime(c.state, defaults);
      assert.deepEqual({ at: t.at.toISOString(), rule: t.rule }, { at: c.want.at.toISOString(), rule: c.want.rule });
    });
  }
});

describe("nextAttemptAt", () => {
  const notAfter = at(90 * DAY);
  const cases: { name: string; attempts: number; lastAt: Date; want: Date }[] = [
    { name: "no failures: immediately", attempts: 0, lastAt: at(DAY), want: at(DAY) },
    { name: "1 failure: 1 h", attempts: 1, lastAt: at(DAY), want: at(DAY + HOUR) },
    { name: "2 failures: 2 h", attempts: 2, lastAt: at(DAY), want: at(DAY + 2 * HOUR) },
    { name: "4 failures: 8 h", attempts: 4, lastAt: at(DAY), want: at(DAY + 8 * HOUR) },
    { name: "5 failures: 16 h", attempts: 5, lastAt: at(DAY), want: at(DAY + 16 * HOUR) },
    { name: "6 failures: capped at 24 h", attempts: 6, lastAt: at(DAY), want: at(2 * DAY) },
    { name: "100 failures: still 24 h", attempts: 100, lastAt: at(DAY), want: at(2 * DAY) },
    { name: "never past notAfter - 1 h", attempts: 6, lastAt: at(89.5 * DAY), want: at(90 * DAY - HOUR) },
  ];
  for (const c of cases)
    it(c.name, () => assert.equal(nextAttemptAt({ at: c.lastAt, attempts: c.attempts }, notAfter).toISOString(), c.want.toISOString()));
});

describe("decideRenewal input validation", () => {
  const cases: { name: string; state: RenewalState; policy: RenewalPolicy; field: string }[] = [
    { name: "notAfter before notBefore", state: { notBefore: at(DAY), notAfter: T0 }, policy: defaults, field: "certificate" },
    { name: "invalid date", state: { notBefore: new Date("x"), notAfter: T0 }, policy: defaults, field: "certificate" },
    {
      name: "negative days",
      state: cert(90),
      policy: { renewBeforeExpiryDays: -1, renewAtPercentOfLifetime: 66 },
      field: "renewBeforeExpiryDays",
    },
    {
      name: "percent 0",
      state: cert(90),
      policy: { renewBeforeExpiryDays: 30, renewAtPercentOfLifetime: 0 },
      field: "renewAtPercentOfLifetime",
    },
    {
      name: "percent 100",
      state: cert(90),
      policy: { renewBeforeExpiryDays: 30, renewAtPercentOfLifetime: 100 },
      field: "renewAtPercentOfLifetime",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => decideRenewal(c.state, c.policy, T0),
        (err: unknown) => err instanceof ValidationError && err.problems.some((p) => p.field === c.field),
      );
    });
  }
});
