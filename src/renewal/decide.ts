/**
 * Is a certificate due for renewal? An ordered list of named rules (RENEWAL_RULES, cert-manager's policy chain), each
 * a pure function returning a constant reason and a message, evaluated over state gathered once (`gather`) and an
 * injected clock. Pure and deterministic. Adding a rule: one function and one entry in RENEWAL_RULES, in this file.
 *
 * When a certificate becomes due (its `renewAt`):
 * - ARI (RFC 9773): when the CA gave a window and the caller picked a moment inside it, that moment wins — earlier
 *   or later than the fixed rules — unless it is not before notAfter (then the CA's answer is ignored). A failed ARI
 *   lookup (`{ error }`) falls back to the fixed rules for that certificate only.
 * - Fixed rules, whichever comes first:
 *   - lifetime fraction: notBefore + renewAtPercentOfLifetime % of the lifetime;
 *   - days before expiry: notAfter - renewBeforeExpiryDays, but ONLY for certificates whose lifetime is at least
 *     1.5 x renewBeforeExpiryDays, i.e. when that moment is not inside the first third of the lifetime. Shorter-lived
 *     certificates renew by the fraction alone, so a fresh 6-day certificate never renews in a loop under a 30-day
 *     setting. Defaults (30 days, 66 %): 90-day -> day 59.4 (30.6 days before expiry), 47-day -> day 17
 *     (30 days before expiry), 6-day -> day 3.96 (66 %).
 * - Expired certificates are always due.
 * After failures, attempts back off exponentially (`nextAttemptAt`); a due certificate inside its backoff is
 * reported as BackingOff (not due) with `renewAt` = the next attempt.
 * When the CA refused the last renewal as rateLimited, its Retry-After (`renewNotBefore`) holds a due certificate
 * until then, reported as RateLimitedByCa (not due) with `renewAt` = the later of the CA's time and the backoff.
 * A pending operation a person created by hand (a CSR for another CA, its chain still to be merged) holds a due
 * certificate, even an expired one, until it is stale (`manualPending.holdUntil`), reported as ManualPendingOperation:
 * a renewal would otherwise cancel that operation or finalize its CSR at the ACME CA.
 */
import { ValidationError, type FieldProblem } from "../shared/errors";

export interface AriState {
  /** The moment picked inside the window (pickRenewalTime). */
  renewAt: Date;
  window: { start: Date; end: Date };
}

export interface RenewalState {
  notBefore: Date;
  notAfter: Date;
  ari?: AriState | { error: string };
  lastFailure?: { at: Date; attempts: number };
  /** The CA refused the last renewal as rateLimited: not before this time (its Retry-After, RFC 8555 §6.6). */
  renewNotBefore?: Date;
  /** A pending operation created by hand is in progress: created then, left alone until holdUntil. */
  manualPending?: { createdAt: Date; holdUntil: Date };
}

export interface RenewalPolicy {
  renewBeforeExpiryDays: number;
  renewAtPercentOfLifetime: number;
}

export interface RenewalDecision {
  due: boolean;
  reason: RenewalReason;
  message: string;
  /** The earliest moment the certificate is (or was) due, after any backoff. */
  renewAt: Date;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** First retry delay after a failure; doubles per attempt. */
export const BACKOFF_BASE_MS = HOUR_MS;
/** Longest retry delay after failures. */
export const BACKOFF_MAX_MS = DAY_MS;
/** A retry is never scheduled later than this before expiry. */
export const BACKOFF_EXPIRY_MARGIN_MS = HOUR_MS;

/** Which rule sets a certificate's renewal moment. */
export type RenewalRule = "ari" | "days" | "percent";

function iso(d: Date): string {
  return d.toISOString();
}

function validate(state: RenewalState, policy: RenewalPolicy): void {
  const problems: FieldProblem[] = [];
  if (state.renewNotBefore !== undefined && Number.isNaN(state.renewNotBefore.getTime())) {
    problems.push({ field: "renewNotBefore", message: "must be a valid date" });
  }
  if (Number.isNaN(state.notBefore.getTime()) || Number.isNaN(state.notAfter.getTime())) {
    problems.push({ field: "certificate", message: "notBefore and notAfter must be valid dates" });
  } else if (state.notAfter.getTime() <= state.notBefore.getTime()) {
    problems.push({ field: "certificate", message: `notAfter ${iso(state.notAfter)} is not after notBefore ${iso(state.notBefore)}` });
  }
  if (!Number.isFinite(policy.renewBeforeExpiryDays) || policy.renewBeforeExpiryDays < 0) {
    problems.push({ field: "renewBeforeExpiryDays", message: `must be a number of days ≥ 0, got ${policy.renewBeforeExpiryDays}` });
  }
  if (!Number.isFinite(policy.renewAtPercentOfLifetime) || policy.renewAtPercentOfLifetime <= 0 || policy.renewAtPercentOfLifetime >= 100) {
    problems.push({
      field: "renewAtPercentOfLifetime",
      message: `must be between 0 and 100 (exclusive), got ${policy.renewAtPercentOfLifetime}`,
    });
  }
  if (problems.length > 0) throw new ValidationError(problems);
}

function hasAri(ari: RenewalState["ari"]): ari is AriState {
  return ari !== undefined && !("error" in ari);
}

/** The days-before-expiry moment, or undefined when it would fall inside the first third of the lifetime. */
function daysRuleAt(state: RenewalState, policy: RenewalPolicy): Date | undefined {
  const nb = state.notBefore.getTime();
  const na = state.notAfter.getTime();
  const at = na - policy.renewBeforeExpiryDays * DAY_MS;
  return at >= nb + (na - nb) / 3 ? new Date(at) : undefined;
}

function percentRuleAt(state: RenewalState, policy: RenewalPolicy): Date {
  const nb = state.notBefore.getTime();
  const na = state.notAfter.getTime();
  return new Date(nb + Math.round(((na - nb) * policy.renewAtPercentOfLifetime) / 100));
}

/**
 * The moment a certificate becomes due, ignoring backoff, and the rule that sets it (see the module comment):
 * the ARI moment when usable (RFC 9773 §4.2), else the earlier of the lifetime-fraction and days-before-expiry rules.
 */
export function renewalTime(state: RenewalState, policy: RenewalPolicy): { at: Date; rule: RenewalRule } {
  validate(state, policy);
  if (hasAri(state.ari) && state.ari.renewAt.getTime() < state.notAfter.getTime()) return { at: state.ari.renewAt, rule: "ari" };
  const percent = percentRuleAt(state, policy);
  const days = daysRuleAt(state, policy);
  return days !== undefined && days.getTime() <= percent.getTime() ? { at: days, rule: "days" } : { at: percent, rule: "percent" };
}

/**
 * When the next attempt may start after `attempts` consecutive failures, the last at `lastFailure.at`:
 * 1 h, 2 h, 4 h ... doubling, capped at 24 h, and never later than notAfter - 1 h (an expiring certificate
 * keeps being retried).
 */
export function nextAttemptAt(lastFailure: { at: Date; attempts: number }, notAfter: Date): Date {
  const attempts = Math.max(0, Math.floor(lastFailure.attempts));
  if (attempts === 0) return lastFailure.at;
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempts - 1, 30));
  return new Date(Math.min(lastFailure.at.getTime() + delay, notAfter.getTime() - BACKOFF_EXPIRY_MARGIN_MS));
}

/** Everything a rule reads, gathered once per decision: the state, the policy, the clock and the derived moments. */
export interface Gathered {
  state: RenewalState;
  policy: RenewalPolicy;
  now: Date;
  /** The moment the fixed rules or ARI set (renewalTime). */
  timing: { at: Date; rule: RenewalRule };
  /** The next attempt allowed after recorded failures (nextAttemptAt), when there are any. */
  retryAt?: Date;
  /** " (ARI lookup failed: …; fixed rules used)" when the lookup failed, else "". */
  ariNote: string;
}

/** What a rule found: why (its message) and from when (`at`). */
export interface Finding {
  message: string;
  at: Date;
}

/**
 * One renewal rule: a constant reason and a pure check. A "due" rule makes a certificate due when no earlier rule
 * did; a "hold" rule holds back a certificate an earlier rule made due (it is then reported with the hold's reason).
 */
export interface Rule<R extends string = string> {
  reason: R;
  effect: "due" | "hold";
  check(g: Gathered, due?: { reason: string; finding: Finding }): Finding | undefined;
}

function rule<const R extends string>(r: Rule<R>): Rule<R> {
  return r;
}

/** An expired certificate is always due. */
const expired = rule({
  reason: "Expired",
  effect: "due",
  check: ({ state, now }) =>
    now.getTime() >= state.notAfter.getTime()
      ? { message: `the certificate expired at ${iso(state.notAfter)}`, at: state.notAfter }
      : undefined,
});

/** The CA's ARI window (RFC 9773): the moment picked inside it has come. */
const ariWindowOpen = rule({
  reason: "AriWindowOpen",
  effect: "due",
  check: ({ state, now, timing }) => {
    if (timing.rule !== "ari" || !hasAri(state.ari) || now.getTime() < timing.at.getTime()) return undefined;
    const w = state.ari.window;
    return { message: `the CA's renewal window ${iso(w.start)} – ${iso(w.end)} is open (renewal moment ${iso(timing.at)})`, at: timing.at };
  },
});

/** Days before expiry: notAfter - renewBeforeExpiryDays has passed (not for lifetimes under 1.5 x that; ARI wins). */
const withinRenewBeforeExpiry = rule({
  reason: "WithinRenewBeforeExpiry",
  effect: "due",
  check: ({ state, policy, now, timing, ariNote }) => {
    if (timing.rule === "ari") return undefined;
    const at = daysRuleAt(state, policy);
    if (at === undefined || now.getTime() < at.getTime()) return undefined;
    return { message: `expires ${iso(state.notAfter)}, within ${policy.renewBeforeExpiryDays} days${ariNote}`, at };
  },
});

/** Fraction of the lifetime: renewAtPercentOfLifetime % of notBefore..notAfter has elapsed (ARI wins). */
const lifetimeFractionElapsed = rule({
  reason: "LifetimeFractionElapsed",
  effect: "due",
  check: ({ state, policy, now, timing, ariNote }) => {
    if (timing.rule === "ari") return undefined;
    const at = percentRuleAt(state, policy);
    if (now.getTime() < at.getTime()) return undefined;
    return { message: `${policy.renewAtPercentOfLifetime} % of the lifetime elapsed at ${iso(at)}${ariNote}`, at };
  },
});

/**
 * A pending operation created by hand (`pending create`) is not taken over: a due certificate waits until it is merged,
 * deleted or stale (ManualPendingHoldHours after its creation), and for the failure backoff when that ends later.
 */
const manualPendingOperation = rule({
  reason: "ManualPendingOperation",
  effect: "hold",
  check: ({ state, now, retryAt }, due) => {
    const manual = state.manualPending;
    if (!due || !manual || now.getTime() >= manual.holdUntil.getTime()) return undefined;
    return {
      message:
        `due (${due.reason}) but a pending operation created by hand at ${iso(manual.createdAt)} (a CSR for another CA) is in ` +
        `progress: left alone until ${iso(manual.holdUntil)}; merge its chain or delete it to renew sooner`,
      at: later(manual.holdUntil, retryAt),
    };
  },
});

/**
 * The CA's rate limit: a due certificate the CA refused as rateLimited waits for the time the CA gave (its
 * Retry-After), or for the failure backoff when that ends later. Never a retry before the CA's time.
 */
const rateLimitedByCa = rule({
  reason: "RateLimitedByCa",
  effect: "hold",
  check: ({ state, now, retryAt }, due) => {
    const notBefore = state.renewNotBefore;
    if (!due || notBefore === undefined || now.getTime() >= notBefore.getTime()) return undefined;
    const at = later(notBefore, retryAt);
    const backoff = at === notBefore ? "" : `; with the failure backoff the next attempt is at ${iso(at)}`;
    return { message: `due (${due.reason}) but the CA rate-limited the last renewal: not before ${iso(notBefore)}${backoff}`, at };
  },
});

/** Failure backoff: a due certificate whose last renewals failed waits for its next attempt (nextAttemptAt). */
const backingOff = rule({
  reason: "BackingOff",
  effect: "hold",
  check: ({ state, now, retryAt }, due) => {
    if (!due || retryAt === undefined || !state.lastFailure || now.getTime() >= retryAt.getTime()) return undefined;
    const { attempts, at } = state.lastFailure;
    return {
      message: `due (${due.reason}) but ${attempts} attempt(s) failed, the last at ${iso(at)}; next attempt at ${iso(retryAt)}`,
      at: retryAt,
    };
  },
});

/**
 * The rules in order of precedence: the first due rule that fires gives the reason, then the hold rules may hold
 * the certificate back. A new rule is one function above and one line here.
 */
const RENEWAL_RULES = [
  // 1. Past notAfter: renew, whatever else holds.
  expired,
  // 2. The CA asked (ARI window open); when ARI is usable it replaces rules 3 and 4.
  ariWindowOpen,
  // 3. notAfter - renewBeforeExpiryDays (certificates long-lived enough for it).
  withinRenewBeforeExpiry,
  // 4. renewAtPercentOfLifetime % of the lifetime.
  lifetimeFractionElapsed,
  // 5. A pending operation created by hand is left alone until it is stale.
  manualPendingOperation,
  // 6. The CA rate-limited the last renewal: hold until the time it gave (or the backoff, if later).
  rateLimitedByCa,
  // 7. Recent failures hold a due certificate back until its next attempt.
  backingOff,
] as const;

/** Why a certificate is (or is not) due: the reason of one rule of RENEWAL_RULES, or NotDue. */
export type RenewalReason = (typeof RENEWAL_RULES)[number]["reason"] | "NotDue";

/** Gathers what the rules read, once. */
export function gather(state: RenewalState, policy: RenewalPolicy, now: Date): Gathered {
  validate(state, policy);
  const g: Gathered = {
    state,
    policy,
    now,
    timing: renewalTime(state, policy),
    ariNote: state.ari !== undefined && "error" in state.ari ? ` (ARI lookup failed: ${state.ari.error}; fixed rules used)` : "",
  };
  if (state.lastFailure) g.retryAt = nextAttemptAt(state.lastFailure, state.notAfter);
  return g;
}

function later(a: Date, b: Date | undefined): Date {
  return b !== undefined && b.getTime() > a.getTime() ? b : a;
}

/**
 * Decides whether a certificate is due for renewal now by RENEWAL_RULES; NotDue when no due rule fires. `renewAt`
 * is the earliest moment it is due (after backoff). Throws ValidationError on inconsistent input.
 */
export function decideRenewal(state: RenewalState, policy: RenewalPolicy, now: Date): RenewalDecision {
  const g = gather(state, policy, now);
  let due: { reason: RenewalReason; finding: Finding } | undefined;
  for (const r of RENEWAL_RULES as readonly Rule<RenewalReason>[]) {
    if (r.effect === "hold") {
      const held = due && r.check(g, due);
      if (held) return { due: false, reason: r.reason, message: held.message, renewAt: held.at };
    } else if (!due) {
      const finding = r.check(g);
      if (finding) due = { reason: r.reason, finding };
    }
  }
  if (due) return { due: true, reason: due.reason, message: due.finding.message, renewAt: later(due.finding.at, g.retryAt) };
  const at = later(later(g.timing.at, g.retryAt), state.renewNotBefore);
  const by =
    at === state.renewNotBefore
      ? "the CA's Retry-After after it rate-limited the last renewal"
      : g.timing.rule === "ari"
        ? "the CA's renewal window (ARI)"
        : g.timing.rule === "days"
          ? `${policy.renewBeforeExpiryDays} days before expiry`
          : `${policy.renewAtPercentOfLifetime} % of the lifetime`;
  return { due: false, reason: "NotDue", message: `due at ${iso(at)} (${by}); expires ${iso(state.notAfter)}${g.ariNote}`, renewAt: at };
}
