/**
 * How activities report errors so the durable retry policy retries only what may succeed on a second try:
 * - a PERMANENT failure (bad input, configuration, not found, conflict, an upstream answer marked not retryable)
 *   is returned as a value, `{ ok: false, error }`, so callActivityWithRetry does not retry it and the orchestrator
 *   fails fast with the original message;
 * - a TRANSIENT failure (network, throttling, 5xx, timeouts, anything unknown) is thrown, so the durable runtime
 *   retries it with backoff (RETRY below) and, when attempts run out, the orchestrator sees a TaskFailed.
 * Everything here is plain JSON and deterministic, so orchestrators may import it.
 */
import type * as df from "durable-functions";

export { StepFailedError, type StepError } from "../issuance/step-error";
import type { StepError } from "../issuance/step-error";

export type StepOutcome<T> = { ok: true; value: T } | { ok: false; error: StepError };

/**
 * Retry policy of transient activity failures: first retry after 2 s, backoff ×2 (2, 4, 8, 16 s), 5 attempts in all,
 * no single wait above 60 s. The wait is a durable timer run by the Durable Task runtime, not a sleep.
 */
export const RETRY = {
  firstRetryIntervalInMilliseconds: 2_000,
  backoffCoefficient: 2,
  maxNumberOfAttempts: 5,
  maxRetryIntervalInMilliseconds: 60_000,
} as const;

/** Builds RetryOptions for callActivityWithRetry from RETRY. */
export function retryOptions(dfModule: typeof df): df.RetryOptions {
  const options = new dfModule.RetryOptions(RETRY.firstRetryIntervalInMilliseconds, RETRY.maxNumberOfAttempts);
  options.backoffCoefficient = RETRY.backoffCoefficient;
  options.maxRetryIntervalInMilliseconds = RETRY.maxRetryIntervalInMilliseconds;
  return options;
}

/** The error of a failed durable task (activity after its last retry, or a sub-orchestration), as a StepError. */
export function taskError(err: unknown): StepError {
  const message = err instanceof Error ? err.message : String(err);
  // On Azure (and the local host) a failed activity arrives as "Activity function 'x' failed: <message> \n <details>"
  // and a failed sub-orchestration as "Orchestrator function 'x' failed: <message>"; keep the useful part.
  const m = /^(?:\w+: )?(?:Activity|Orchestrator) function '[^']+' failed: ([\s\S]*)$/.exec(message);
  return { name: err instanceof Error ? err.name : "Error", message: (m?.[1] ?? message).split("\n")[0] ?? message, retryable: true };
}

/** Does a StepOutcome-shaped value come back from an activity? (Guards against JSON junk in history.) */
export function isOutcome(value: unknown): value is StepOutcome<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { ok?: unknown }).ok === "boolean";
}
