/**
 * The whole decision (due, reason, message, renewAt) for one scenario per rule and per edge: the boundary instants
 * (now exactly at a rule's moment, one millisecond before), the one-third-of-the-lifetime limit of the days rule, the
 * rounding of the lifetime fraction, the CA's Retry-After against the failure backoff (later, equal, passed), the
 * NotDue explanation for each rule, and the exact validation problems. renewal.test.ts matches messages loosely.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideRenewal, nextAttemptAt, type RenewalPolicy, type RenewalState } from "../../src/renewal/decide";
import { ValidationError } from "../../src/shared/errors";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = new Date("2025-01-01T00:00:00Z");
const at = (ms: number) => new Date(T0.getTime() + ms);
const cert = (days: number) => ({ notBefore: T0, notAfter: at(days * DAY) });
const DEFAULTS: RenewalPolicy = { renewBeforeExpiryDays: 30, renewAtPercentOfLifetime: 66 };
const DAYS_FIRST: RenewalPolicy = { renewBeforeExpiryDays: 30, renewAtPercentOfLifetime: 80 };
const ARI = { renewAt: at(50 * DAY), window: { start: at(48 * DAY), end: at(52 * DAY) } };
const EXPIRES = "expires 2025-04-01T00:00:00.000Z";

interface Case {
  name: string;
  state: RenewalState;
  now: Date;
  policy?: RenewalPolicy;
  want: { due: boolean; reason: string; message: string; renewAt: string };
}

const cases: Case[] = [
  {
    name: "at notAfter exactly: Expired",
    state: cert(90),
    now: at(90 * DAY),
    want: {
      due: true,
      reason: "Expired",
      message: "the certificate expired at 2025-04-01T00:00:00.000Z",
      renewAt: "2025-04-01T00:00:00.000Z",
    },
  },
  {
    name: "at the ARI moment exactly: AriWindowOpen naming the window and the moment",
    state: { ...cert(90), ari: ARI },
    now: at(50 * DAY),
    want: {
      due: true,
      reason: "AriWindowOpen",
      message:
        "the CA's renewal window 2025-02-18T00:00:00.000Z – 2025-02-22T00:00:00.000Z is open (renewal moment 2025-02-20T00:00:00.000Z)",
      renewAt: "2025-02-20T00:00:00.000Z",
    },
  },
  {
    name: "1 ms before the ARI moment: NotDue by the CA's window",
    state: { ...cert(90), ari: ARI },
    now: at(50 * DAY - 1),
    want: {
      due: false,
      reason: "NotDue",
      message: `due at 2025-02-20T00:00:00.000Z (the CA's renewal window (ARI)); ${EXPIRES}`,
      renewAt: "2025-02-20T00:00:00.000Z",
    },
  },
  {
    name: "an ARI moment at notAfter is ignored: the fixed rules decide",
    state: { ...cert(90), ari: { renewAt: at(90 * DAY), window: { start: at(89 * DAY), end: at(91 * DAY) } } },
    now: at(59.4 * DAY),
    want: {
      due: true,
      reason: "LifetimeFractionElapsed",
      message: "66 % of the lifetime elapsed at 2025-03-01T09:36:00.000Z",
      renewAt: "2025-03-01T09:36:00.000Z",
    },
  },
  {
    name: "at notAfter - 30 days exactly (80 % rule later): WithinRenewBeforeExpiry",
    state: cert(90),
    now: at(60 * DAY),
    policy: DAYS_FIRST,
    want: { due: true, reason: "WithinRenewBeforeExpiry", message: `${EXPIRES}, within 30 days`, renewAt: "2025-03-02T00:00:00.000Z" },
  },
  {
    name: "1 ms before notAfter - 30 days: NotDue by the days rule",
    state: cert(90),
    now: at(60 * DAY - 1),
    policy: DAYS_FIRST,
    want: {
      due: false,
      reason: "NotDue",
      message: `due at 2025-03-02T00:00:00.000Z (30 days before expiry); ${EXPIRES}`,
      renewAt: "2025-03-02T00:00:00.000Z",
    },
  },
  {
    // Both rules give day 66 of a 100-day certificate (34 days before expiry, 66 % of the lifetime): the days rule is
    // named when it is not later than the percent rule (`days <= percent` in renewalTime, not `<`).
    name: "both rules at the same moment (100 days, 34 days before, 66 %): NotDue names the days rule",
    state: cert(100),
    now: at(DAY),
    policy: { renewBeforeExpiryDays: 34, renewAtPercentOfLifetime: 66 },
    want: {
      due: false,
      reason: "NotDue",
      message: "due at 2025-03-08T00:00:00.000Z (34 days before expiry); expires 2025-04-11T00:00:00.000Z",
      renewAt: "2025-03-08T00:00:00.000Z",
    },
  },
  {
    name: "a days moment exactly one third into the lifetime still counts (60 days of a 90-day certificate)",
    state: cert(90),
    now: at(30 * DAY),
    policy: { renewBeforeExpiryDays: 60, renewAtPercentOfLifetime: 66 },
    want: { due: true, reason: "WithinRenewBeforeExpiry", message: `${EXPIRES}, within 60 days`, renewAt: "2025-01-31T00:00:00.000Z" },
  },
  {
    name: "at 66 % exactly: LifetimeFractionElapsed",
    state: cert(90),
    now: at(59.4 * DAY),
    want: {
      due: true,
      reason: "LifetimeFractionElapsed",
      message: "66 % of the lifetime elapsed at 2025-03-01T09:36:00.000Z",
      renewAt: "2025-03-01T09:36:00.000Z",
    },
  },
  {
    name: "a failed ARI lookup is named in a due message",
    state: { ...cert(90), ari: { error: "HTTP 503" } },
    now: at(59.4 * DAY),
    want: {
      due: true,
      reason: "LifetimeFractionElapsed",
      message: "66 % of the lifetime elapsed at 2025-03-01T09:36:00.000Z (ARI lookup failed: HTTP 503; fixed rules used)",
      renewAt: "2025-03-01T09:36:00.000Z",
    },
  },
  {
    name: "NotDue by the lifetime fraction, the failed ARI lookup named",
    state: { ...cert(90), ari: { error: "timeout" } },
    now: at(DAY),
    want: {
      due: false,
      reason: "NotDue",
      message: `due at 2025-03-01T09:36:00.000Z (66 % of the lifetime); ${EXPIRES} (ARI lookup failed: timeout; fixed rules used)`,
      renewAt: "2025-03-01T09:36:00.000Z",
    },
  },
  {
    name: "NotDue until the CA's Retry-After when it is the latest moment",
    state: { ...cert(90), renewNotBefore: at(70 * DAY) },
    now: at(DAY),
    want: {
      due: false,
      reason: "NotDue",
      message: `due at 2025-03-12T00:00:00.000Z (the CA's Retry-After after it rate-limited the last renewal); ${EXPIRES}`,
      renewAt: "2025-03-12T00:00:00.000Z",
    },
  },
  {
    name: "NotDue until the failure backoff when it ends after the rule's moment",
    state: { ...cert(90), lastFailure: { at: at(59.4 * DAY), attempts: 3 } },
    now: at(DAY),
    want: {
      due: false,
      reason: "NotDue",
      message: `due at 2025-03-01T13:36:00.000Z (66 % of the lifetime); ${EXPIRES}`,
      renewAt: "2025-03-01T13:36:00.000Z",
    },
  },
  {
    name: "due but the CA rate-limited it: held until the CA's time",
    state: { ...cert(90), renewNotBefore: at(62 * DAY) },
    now: at(61 * DAY),
    want: {
      due: false,
      reason: "RateLimitedByCa",
      message: "due (WithinRenewBeforeExpiry) but the CA rate-limited the last renewal: not before 2025-03-04T00:00:00.000Z",
      renewAt: "2025-03-04T00:00:00.000Z",
    },
  },
  {
    name: "rate-limited with a backoff ending later: held until the backoff, both named",
    state: { ...cert(90), renewNotBefore: at(61 * DAY + HOUR), lastFailure: { at: at(61 * DAY), attempts: 2 } },
    now: at(61 * DAY + HOUR / 2),
    want: {
      due: false,
      reason: "RateLimitedByCa",
      message:
        "due (WithinRenewBeforeExpiry) but the CA rate-limited the last renewal: not before 2025-03-03T01:00:00.000Z; with the failure backoff the next attempt is at 2025-03-03T02:00:00.000Z",
      renewAt: "2025-03-03T02:00:00.000Z",
    },
  },
  {
    name: "rate-limited with a backoff ending at the same instant: the CA's time alone is named",
    state: { ...cert(90), renewNotBefore: at(61 * DAY + 2 * HOUR), lastFailure: { at: at(61 * DAY), attempts: 2 } },
    now: at(61 * DAY + HOUR / 2),
    want: {
      due: false,
      reason: "RateLimitedByCa",
      message: "due (WithinRenewBeforeExpiry) but the CA rate-limited the last renewal: not before 2025-03-03T02:00:00.000Z",
      renewAt: "2025-03-03T02:00:00.000Z",
    },
  },
  {
    name: "at the CA's time exactly: no longer held",
    state: { ...cert(90), renewNotBefore: at(61 * DAY) },
    now: at(61 * DAY),
    want: { due: true, reason: "WithinRenewBeforeExpiry", message: `${EXPIRES}, within 30 days`, renewAt: "2025-03-02T00:00:00.000Z" },
  },
  {
    name: "inside the failure backoff: BackingOff naming the attempts and the next one",
    state: { ...cert(90), lastFailure: { at: at(61 * DAY), attempts: 3 } },
    now: at(61 * DAY + HOUR),
    want: {
      due: false,
      reason: "BackingOff",
      message:
        "due (WithinRenewBeforeExpiry) but 3 attempt(s) failed, the last at 2025-03-03T00:00:00.000Z; next attempt at 2025-03-03T04:00:00.000Z",
      renewAt: "2025-03-03T04:00:00.000Z",
    },
  },
  {
    name: "at the next attempt exactly: due, renewAt the next attempt",
    state: { ...cert(90), lastFailure: { at: at(61 * DAY), attempts: 3 } },
    now: at(61 * DAY + 4 * HOUR),
    want: { due: true, reason: "WithinRenewBeforeExpiry", message: `${EXPIRES}, within 30 days`, renewAt: "2025-03-03T04:00:00.000Z" },
  },
  {
    name: "the lifetime fraction is rounded to the millisecond (50 % of 1001 ms is 501 ms)",
    state: { notBefore: T0, notAfter: at(1001) },
    now: at(1),
    policy: { renewBeforeExpiryDays: 0, renewAtPercentOfLifetime: 50 },
    want: {
      due: false,
      reason: "NotDue",
      message: "due at 2025-01-01T00:00:00.501Z (50 % of the lifetime); expires 2025-01-01T00:00:01.001Z",
      renewAt: "2025-01-01T00:00:00.501Z",
    },
  },
];

describe("decideRenewal: the whole decision", () => {
  for (const c of cases) {
    it(c.name, () => {
      const d = decideRenewal(c.state, c.policy ?? DEFAULTS, c.now);
      assert.deepEqual({ ...d, renewAt: d.renewAt.toISOString() }, c.want);
    });
  }
});

describe("nextAttemptAt: attempts that are not whole positive numbers", () => {
  it("2.7 attempts count as 2 (2 h), -3 as none (at once), 40 as the 24 h cap", () => {
    const notAfter = at(90 * DAY);
    assert.equal(nextAttemptAt({ at: T0, attempts: 2.7 }, notAfter).toISOString(), at(2 * HOUR).toISOString());
    assert.equal(nextAttemptAt({ at: T0, attempts: -3 }, notAfter).toISOString(), T0.toISOString());
    assert.equal(nextAttemptAt({ at: T0, attempts: 40 }, notAfter).toISOString(), at(DAY).toISOString());
  });
});

describe("decideRenewal: exactly these validation problems", () => {
  const bad: { name: string; state: RenewalState; policy?: RenewalPolicy; want: { field: string; message: string }[] }[] = [
    {
      name: "an invalid renewNotBefore",
      state: { ...cert(90), renewNotBefore: new Date("x") },
      want: [{ field: "renewNotBefore", message: "must be a valid date" }],
    },
    {
      name: "notAfter equal to notBefore",
      state: { notBefore: T0, notAfter: T0 },
      want: [{ field: "certificate", message: "notAfter 2025-01-01T00:00:00.000Z is not after notBefore 2025-01-01T00:00:00.000Z" }],
    },
    {
      name: "an invalid notAfter",
      state: { notBefore: T0, notAfter: new Date("x") },
      want: [{ field: "certificate", message: "notBefore and notAfter must be valid dates" }],
    },
    {
      name: "infinite days and a NaN percent, both listed",
      state: cert(90),
      policy: { renewBeforeExpiryDays: Infinity, renewAtPercentOfLifetime: NaN },
      want: [
        { field: "renewBeforeExpiryDays", message: "must be a number of days ≥ 0, got Infinity" },
        { field: "renewAtPercentOfLifetime", message: "must be between 0 and 100 (exclusive), got NaN" },
      ],
    },
  ];
  for (const c of bad) {
    it(c.name, () => {
      assert.throws(
        () => decideRenewal(c.state, c.policy ?? DEFAULTS, at(DAY)),
        (err: unknown) => err instanceof ValidationError && (assert.deepEqual(err.problems, c.want), true),
      );
    });
  }
  it("0 days and 99.9 % are valid", () => {
    assert.equal(decideRenewal(cert(90), { renewBeforeExpiryDays: 0, renewAtPercentOfLifetime: 99.9 }, at(DAY)).reason, "NotDue");
  });
});
