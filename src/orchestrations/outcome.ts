/**
 * How activities report errors so the durable retry policy retries only what may succeed on a second try:
 * - a PERMANENT failure (bad input, configuration, not found, conflict, an upstream answer marked not retryable)
 *   is returned as a value, `{ ok: false, error }`, so the durable driver does not retry it and the orchestrator
 *   fails fast with the original message;
 * - a TRANSIENT failure (network, throttling, 5xx, timeouts, anything unknown) is thrown, so the orchestrator sees a
 *   TaskFailed and the durable driver tries again after a durable timer (RETRY, retryDecision: a backoff, at least
 *   the service's Retry-After when the failure's message carries one) until the attempts, or for throttling the
 *   time budget, run out.
 * Everything here is plain JSON and deterministic, so orchestrators may import it.
 */
import { retryAfterFromMessage } from "../shared/errors";

export { StepFailedError, type StepError } from "../issuance/step-error";
import { stepFromMessage, type StepError } from "../issuance/step-error";

export type StepOutcome<T> = { ok: true; value: T } | { ok: false; error: StepError };

export { RETRY, newRetryTally, retryDecision } from "../issuance/retry-policy";

/** The error of a failed durable task (activity after its last retry, or a sub-orchestration), as a StepError. */
export function taskError(err: unknown): StepError {
  const message = err instanceof Error ? err.message : String(err);
  // On Azure (and the local host) a failed activity arrives as "Activity function 'x' failed: <message> \n <details>"
  // and a failed sub-orchestration as "Orchestrator function 'x' failed: <message>"; keep the useful part.
  const m = /^(?:\w+: )?(?:Activity|Orchestrator) function '[^']+' failed: ([\s\S]*)$/.exec(message);
  // A thrown failure of a call running several steps says its step in the message (stepNote).
  const noted = stepFromMessage(((m?.[1] ?? message).split("\n")[0] ?? message).trim());
  const text = noted.message;
  const out: StepError = { name: err instanceof Error ? err.name : "Error", message: text, retryable: true };
  if (noted.step !== undefined) out.step = noted.step;
  // A throttled service's Retry-After travels in the message: Azure hands a Node orchestrator nothing else.
  const retryAfterMs = retryAfterFromMessage(text);
  if (retryAfterMs !== undefined) out.retryAfterMs = retryAfterMs;
  return out;
}

/** Does a StepOutcome-shaped value come back from an activity? (Guards against JSON junk in history.) */
export function isOutcome(value: unknown): value is StepOutcome<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { ok?: unknown }).ok === "boolean";
}
