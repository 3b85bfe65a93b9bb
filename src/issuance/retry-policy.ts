/**
 * When a transient step failure is tried again, the same for both drivers: after the service's Retry-After when it
 * gave one (a throttled Key Vault or ARM), else after an exponential backoff; never more than RETRY.maxNumberOfAttempts
 * attempts, and never a Retry-After longer than RETRY.maxRetryAfterMs (the step then fails at once, saying so). The
 * durable driver waits in durable timers (src/orchestrations/calls.ts), the in-process one sleeps (./direct).
 * Plain and deterministic: orchestrators import it.
 */

/**
 * Transient failures: first retry after 2 s, backoff ×2 (2, 4, 8, 16 s), 5 attempts in all, no backoff wait above
 * 60 s; a Retry-After replaces the backoff wait, up to one hour.
 */
export const RETRY = {
  firstRetryIntervalInMilliseconds: 2_000,
  backoffCoefficient: 2,
  maxNumberOfAttempts: 5,
  maxRetryIntervalInMilliseconds: 60_000,
  maxRetryAfterMs: 3_600_000,
} as const;

/** The decision after attempt `attempt` (1-based) failed: wait `delayMs` and try again, or give up saying why. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; why: string };

/** Whether and when to try again after attempt `attempt` failed, `retryAfterMs` being the service's Retry-After. */
export function retryDecision(attempt: number, retryAfterMs?: number): RetryDecision {
  if (attempt >= RETRY.maxNumberOfAttempts) return { retry: false, why: `gave up after ${attempt} attempts` };
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > RETRY.maxRetryAfterMs)
      return { retry: false, why: `gave up: the service asked to wait more than ${RETRY.maxRetryAfterMs / 1000} s` };
    return { retry: true, delayMs: retryAfterMs };
  }
  const backoff = RETRY.firstRetryIntervalInMilliseconds * RETRY.backoffCoefficient ** (attempt - 1);
  return { retry: true, delayMs: Math.min(RETRY.maxRetryIntervalInMilliseconds, backoff) };
}
