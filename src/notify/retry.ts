/** Pure retry policy for webhook deliveries. */

/** What happened on one attempt. */
export interface AttemptOutcome {
  status?: number;
  networkError?: boolean;
  timedOut?: boolean;
  /** The `Retry-After` response header, verbatim. */
  retryAfter?: string | null;
}

export const RETRY_BASE_DELAY_MS = 1000;
export const RETRY_MAX_DELAY_MS = 5 * 60 * 1000;

/** Parses `Retry-After` (delta-seconds or an HTTP-date, RFC 9110 §10.2.3) into milliseconds from `now`; null if invalid. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

/**
 * Should attempt number `attempt` (1-based, the one that just failed) be followed by another, and after how long?
 * Retries 5xx, 429, network errors and timeouts while `attempt < maxAttempts`; never other statuses. The delay
 * honours Retry-After, else is exponential (1 s, 2 s, 4 s, ...) with jitter in [50 %, 100 %]; always capped at 5 minutes.
 */
export function retryDecision(
  attempt: number,
  outcome: AttemptOutcome,
  maxAttempts: number,
  now: Date,
  random: () => number = Math.random,
): { retry: boolean; delayMs: number } {
  const retryable =
    outcome.networkError === true ||
    outcome.timedOut === true ||
    (outcome.status !== undefined && (outcome.status === 429 || outcome.status >= 500));
  if (!retryable || attempt >= maxAttempts) return { retry: false, delayMs: 0 };
  const hinted = parseRetryAfter(outcome.retryAfter, now);
  if (hinted !== null) return { retry: true, delayMs: Math.min(hinted, RETRY_MAX_DELAY_MS) };
  const exp = Math.min(RETRY_BASE_DELAY_MS * 2 ** (attempt - 1), RETRY_MAX_DELAY_MS);
  return { retry: true, delayMs: Math.round(exp * (0.5 + 0.5 * random())) };
}
