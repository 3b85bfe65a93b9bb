/**
 * Which certificates a renewal run reports as `certificate.expiring`: pure functions of what the run gathered (the
 * scan, the decisions, the outcome of each renewal) and the configured warning threshold. Deterministic, so the
 * renewal orchestration may call them.
 *
 * A certificate is watched when the decision found it due (or due but held back by the failure backoff) and it either
 * expires within the warning threshold or has failed renewals on record. At the end of the run every watched
 * certificate that was NOT renewed (it failed, was skipped, was held back, or the run was a dry run) gets one notice:
 * - `within-warning-threshold` when it expires within `expiryWarningDays`;
 * - else `renewal-attempts-exhausted` once EXPIRING_AFTER_FAILED_ATTEMPTS consecutive renewals have failed
 *   (the failures recorded in the kv-acme-renewal-failures tag, plus this run's).
 */

/** Consecutive failed renewals after which a certificate is reported even when it is not close to expiry. */
export const EXPIRING_AFTER_FAILED_ATTEMPTS = 3;

const DAY_MS = 86_400_000;

/** A certificate the renewal decision flagged for a possible expiry warning. JSON, kept small (history). */
export interface WatchedCertificate {
  certificateName: string;
  notAfter: string;
  /** Whole days from the run's start to notAfter, rounded down (negative once expired). */
  daysRemaining: number;
  /** Failed renewals on record before this run. */
  failedAttempts: number;
}

export interface ExpiringNotice {
  certificateName: string;
  notAfter: string;
  daysRemaining: number;
  reason: "renewal-attempts-exhausted" | "within-warning-threshold";
  failedAttempts: number;
}

/** Whole days from `now` to `notAfter`, rounded down. */
export function daysRemaining(notAfter: string, now: Date): number {
  return Math.floor((Date.parse(notAfter) - now.getTime()) / DAY_MS);
}

/**
 * Should a due (or held back) certificate be watched? `failedAttempts` are those on record before the run; one more
 * failure in this run may reach the threshold, so it is watched from EXPIRING_AFTER_FAILED_ATTEMPTS - 1 on.
 */
export function shouldWatch(days: number, failedAttempts: number, expiryWarningDays: number): boolean {
  return days <= expiryWarningDays || failedAttempts + 1 >= EXPIRING_AFTER_FAILED_ATTEMPTS;
}

/**
 * The expiry notices of one run: one per watched certificate that was not renewed and either expires within the
 * threshold or has failed at least EXPIRING_AFTER_FAILED_ATTEMPTS times in a row (counting this run's failure).
 * Sorted by certificate name; never two for the same certificate.
 */
export function expiringNotices(
  watched: readonly WatchedCertificate[],
  outcome: { renewed: readonly string[]; failed: readonly string[] },
  expiryWarningDays: number,
): ExpiringNotice[] {
  const renewed = new Set(outcome.renewed);
  const failed = new Set(outcome.failed);
  const seen = new Set<string>();
  const out: ExpiringNotice[] = [];
  for (const w of watched) {
    if (renewed.has(w.certificateName) || seen.has(w.certificateName)) continue;
    const failedAttempts = w.failedAttempts + (failed.has(w.certificateName) ? 1 : 0);
    let reason: ExpiringNotice["reason"] | undefined;
    if (w.daysRemaining <= expiryWarningDays) reason = "within-warning-threshold";
    else if (failedAttempts >= EXPIRING_AFTER_FAILED_ATTEMPTS) reason = "renewal-attempts-exhausted";
    if (!reason) continue;
    seen.add(w.certificateName);
    out.push({ certificateName: w.certificateName, notAfter: w.notAfter, daysRemaining: w.daysRemaining, reason, failedAttempts });
  }
  return out.sort((a, b) => a.certificateName.localeCompare(b.certificateName));
}
