/**
 * Is a certificate due for renewal? A chain of tiny policy functions over gathered state and an injected clock,
 * each returning a constant reason and a message (the cert-manager pattern). Pure and deterministic.
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
 */
import { ValidationError, type FieldProblem } from "../shared/errors";

export type RenewalReason = "Expired" | "AriWindowOpen" | "WithinRenewBeforeExpiry" | "LifetimeFractionElapsed" | "BackingOff" | "NotDue";

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

interface Context {
  state: RenewalState;
  policy: RenewalPolicy;
  now: Date;
  ariNote: string;
}
type Verdict = { reason: RenewalReason; message: string; at: Date };
type PolicyCheck = (ctx: Context) => Verdict | undefined;

const expired: PolicyCheck = ({ state, now }) =>
  now.getTime() >= state.notAfter.getTime()
    ? { reason: "Expired", message: `the certificate expired at ${iso(state.notAfter)}`, at: state.notAfter }
    : undefined;

const ariWindowOpen: PolicyCheck = ({ state, policy, now }) => {
  const t = renewalTime(state, policy);
  if (t.rule !== "ari" || !hasAri(state.ari) || now.getTime() < t.at.getTime()) return undefined;
  const w = state.ari.window;
  return {
    reason: "AriWindowOpen",
    message: `the CA's renewal window ${iso(w.start)} – ${iso(w.end)} is open (renewal moment ${iso(t.at)})`,
    at: t.at,
  };
};

const withinRenewBeforeExpiry: PolicyCheck = ({ state, policy, now, ariNote }) => {
  if (renewalTime(state, policy).rule === "ari") return undefined;
  const at = daysRuleAt(state, policy);
  if (at === undefined || now.getTime() < at.getTime()) return undefined;
  return {
    reason: "WithinRenewBeforeExpiry",
    message: `expires ${iso(state.notAfter)}, within ${policy.renewBeforeExpiryDays} days${ariNote}`,
    at,
  };
};

const lifetimeFractionElapsed: PolicyCheck = ({ state, policy, now, ariNote }) => {
  if (renewalTime(state, policy).rule === "ari") return undefined;
  const at = percentRuleAt(state, policy);
  if (now.getTime() < at.getTime()) return undefined;
  return {
    reason: "LifetimeFractionElapsed",
    message: `${policy.renewAtPercentOfLifetime} % of the lifetime elapsed at ${iso(at)}${ariNote}`,
    at,
  };
};

/** The chain, in order of precedence; the first that fires gives the reason. */
const DUE_CHECKS: readonly PolicyCheck[] = [expired, ariWindowOpen, withinRenewBeforeExpiry, lifetimeFractionElapsed];

/**
 * Decides whether a certificate is due for renewal now: Expired, AriWindowOpen (RFC 9773), WithinRenewBeforeExpiry
 * or LifetimeFractionElapsed make it due; BackingOff holds a due certificate back after recent failures; NotDue
 * otherwise. `renewAt` is the earliest moment it is due (after backoff). Throws ValidationError on inconsistent input.
 */
export function decideRenewal(state: RenewalState, policy: RenewalPolicy, now: Date): RenewalDecision {
  validate(state, policy);
  const ariNote = state.ari !== undefined && "error" in state.ari ? ` (ARI lookup failed: ${state.ari.error}; fixed rules used)` : "";
  const ctx: Context = { state, policy, now, ariNote };
  let verdict: Verdict | undefined;
  for (const check of DUE_CHECKS) {
    verdict = check(ctx);
    if (verdict) break;
  }
  const retryAt = state.lastFailure ? nextAttemptAt(state.lastFailure, state.notAfter) : undefined;
  if (verdict === undefined) {
    const t = renewalTime(state, policy);
    const at = retryAt !== undefined && retryAt.getTime() > t.at.getTime() ? retryAt : t.at;
    const by =
      t.rule === "ari"
        ? "the CA's renewal window (ARI)"
        : t.rule === "days"
          ? `${policy.renewBeforeExpiryDays} days before expiry`
          : `${policy.renewAtPercentOfLifetime} % of the lifetime`;
    return { due: false, reason: "NotDue", message: `due at ${iso(at)} (${by}); expires ${iso(state.notAfter)}${ariNote}`, renewAt: at };
  }
  if (retryAt !== undefined && now.getTime() < retryAt.getTime()) {
    const attempts = state.lastFailure?.attempts ?? 0;
    return {
      due: false,
      reason: "BackingOff",
      message: `due (${verdict.reason}) but ${attempts} attempt(s) failed, the last at ${iso(state.lastFailure?.at ?? now)}; next attempt at ${iso(retryAt)}`,
      renewAt: retryAt,
    };
  }
  const at = retryAt !== undefined && retryAt.getTime() > verdict.at.getTime() ? retryAt : verdict.at;
  return { due: true, reason: verdict.reason, message: verdict.message, renewAt: at };
}
