/**
 * When a transient step failure is tried again, the same for both drivers (the durable one waits in durable timers,
 * src/orchestrations/calls.ts; the in-process one sleeps, ./direct). Two budgets, so that throttling does not use up
 * the give-up budget meant for failures:
 * - a failure without a Retry-After (a 5xx, a reset, a timeout) counts against RETRY.maxNumberOfAttempts; it is tried
 *   again after the exponential backoff of its attempt (2, 4, 8, 16 s, at most 60 s);
 * - a throttled failure (a Key Vault's or ARM's 429/503 with Retry-After) does not: it waits the Retry-After, taken as
 *   a floor under that same backoff (a 1 s Retry-After on the fourth attempt waits 16 s), and such waits are counted
 *   against a time budget instead, RETRY.maxThrottledWaitMs in all. A Retry-After longer than RETRY.maxRetryAfterMs
 *   fails the step at once, saying so.
 * Plain and deterministic: orchestrators import it.
 */

/**
 * Transient failures: first retry after 2 s, backoff ×2 (2, 4, 8, 16 s), 5 attempts that failed without a
 * Retry-After, no backoff wait above 60 s; a throttled failure waits max(Retry-After, backoff), up to one hour for one
 * wait, and throttled waits are taken until they add up to 10 minutes.
 */
export const RETRY = {
  firstRetryIntervalInMilliseconds: 2_000,
  backoffCoefficient: 2,
  maxNumberOfAttempts: 5,
  maxRetryIntervalInMilliseconds: 60_000,
  maxRetryAfterMs: 3_600_000,
  maxThrottledWaitMs: 600_000,
} as const;

/** The decision after a failed attempt: wait `delayMs` and try again, or give up saying why. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; why: string };

/** What one step's attempts have used so far (updated by retryDecision). */
export interface RetryTally {
  /** Attempts made (failed ones). */
  attempts: number;
  /** Of those, the ones that failed without a Retry-After. */
  failures: number;
  /** Time spent waiting for throttling (ms). */
  throttledMs: number;
}

/** A step's tally before its first attempt. */
export function newRetryTally(): RetryTally {
  return { attempts: 0, failures: 0, throttledMs: 0 };
}

/** The backoff wait after attempt `attempt` (1-based) failed. */
export function backoffMs(attempt: number): number {
  const backoff = RETRY.firstRetryIntervalInMilliseconds * RETRY.backoffCoefficient ** (attempt - 1);
  return Math.min(RETRY.maxRetryIntervalInMilliseconds, backoff);
}

/**
 * Whether and when to try again after one more attempt failed, `retryAfterMs` being the service's Retry-After (a
 * throttled failure) or undefined. Counts the attempt into `tally` (and the wait, when throttled).
 */
export function retryDecision(tally: RetryTally, retryAfterMs?: number): RetryDecision {
  const attempt = ++tally.attempts;
  if (retryAfterMs === undefined) {
    if (++tally.failures >= RETRY.maxNumberOfAttempts) return { retry: false, why: `gave up after ${attempt} attempts` };
    return { retry: true, delayMs: backoffMs(attempt) };
  }
  if (retryAfterMs > RETRY.maxRetryAfterMs)
    return { retry: false, why: `gave up: the service asked to wait more than ${RETRY.maxRetryAfterMs / 1000} s` };
  if (tally.throttledMs >= RETRY.maxThrottledWaitMs)
    return {
      retry: false,
      why: `gave up after ${attempt} attempts, throttled for ${Math.round(tally.throttledMs / 1000)} s (at most ${RETRY.maxThrottledWaitMs / 1000} s of throttling)`,
    };
  const delayMs = Math.max(retryAfterMs, backoffMs(attempt));
  tally.throttledMs += delayMs;
  return { retry: true, delayMs };
}
