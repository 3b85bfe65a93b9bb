/**
 * Helpers shared by the orchestrations: calling a step as an activity (permanent failures fail fast, transient ones
 * retried after durable timers, as long as a throttled service's Retry-After), calling a best-effort activity, the operation id of a run; and how a step error
 * is reported in a webhook (reportedError, from ../issuance/step-error). Deterministic; imported by orchestrator code only.
 */
import type * as df from "durable-functions";
import { StepFailedError, isOutcome, newRetryTally, retryDecision, taskError, type StepOutcome } from "./outcome";

export { reportedError } from "../issuance/step-error";

type Ctx = df.OrchestrationContext;

/**
 * The operation id of an orchestration: the one in its input when it is a W3C trace id, else one derived
 * deterministically from the instance (ctx.df.newGuid), so every run has an id Application Insights can correlate.
 */
export function orchestrationOperationId(ctx: Ctx, given: unknown): string {
  if (typeof given === "string" && /^[0-9a-f]{32}$/.test(given) && !/^0+$/.test(given)) return given;
  return ctx.df.newGuid(ctx.df.instanceId).replace(/-/g, "").toLowerCase();
}

/**
 * Calls an activity; with `retry`, a thrown (transient) failure is tried again after a durable timer: RETRY's backoff,
 * or, when the failure carries the service's Retry-After (a throttled Key Vault or ARM; the "(Retry-After: N s)" of
 * the message, which is all of an activity's failure that reaches a Node orchestrator on Azure), at least that long,
 * counted against the throttling time budget instead of the attempts (retryDecision). Never a busy retry: the wait
 * costs a timer, not a running activity. A failure that is not retried, or the last one, comes back as
 * `{ ok: false }` saying when it gave up.
 */
function* callActivity(ctx: Ctx, activity: string, input: unknown, retry: boolean): Generator<df.Task, StepOutcome<unknown>, unknown> {
  const tally = newRetryTally();
  for (;;) {
    try {
      return { ok: true, value: yield ctx.df.callActivity(activity, input) };
    } catch (err) {
      const error = taskError(err);
      if (!retry) return { ok: false, error };
      const next = retryDecision(tally, error.retryAfterMs);
      if (!next.retry) return { ok: false, error: { ...error, message: `${error.message}; ${next.why}` } };
      if (!ctx.df.isReplaying) ctx.warn(`${activity}: attempt ${tally.attempts} failed, next in ${next.delayMs} ms: ${error.message}`);
      yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + next.delayMs));
    }
  }
}

/**
 * Calls one step as an activity and unwraps its outcome: returns the value, or throws StepFailedError for a
 * permanent failure (returned) or a transient one that used up its retries.
 */
export function* callStep<T>(ctx: Ctx, step: string, activity: string, input: unknown, retry = true): Generator<df.Task, T, unknown> {
  const called = yield* callActivity(ctx, activity, input, retry);
  // A call running several steps (../issuance/compound-steps) names the one that failed.
  if (!called.ok) throw new StepFailedError(called.error.step ?? step, called.error);
  const raw = called.value;
  if (!isOutcome(raw))
    throw new StepFailedError(step, { name: "Error", message: `activity ${activity} returned no outcome`, retryable: false });
  if (!raw.ok) throw new StepFailedError(raw.error.step ?? step, raw.error);
  return raw.value as T;
}

/** Calls a best-effort activity (notify, telemetry, cleanup reporting): never throws, returns undefined on failure. */
export function* callBestEffort(ctx: Ctx, activity: string, input: unknown, retry = false): Generator<df.Task, unknown, unknown> {
  const called = yield* callActivity(ctx, activity, input, retry);
  if (called.ok) return called.value;
  if (!ctx.df.isReplaying) ctx.warn(`${activity} failed: ${called.error.message}`);
  return undefined;
}
