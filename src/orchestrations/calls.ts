/**
 * Helpers shared by the orchestrations: calling a step as an activity (permanent failures fail fast, transient ones
 * retried by the durable runtime), calling a best-effort activity, the operation id of a run; and how a step error
 * is reported in a webhook (reportedError, from ../issuance/step-error). Deterministic; imported by orchestrator code only.
 */
import * as df from "durable-functions";
import { StepFailedError, isOutcome, retryOptions, taskError } from "./outcome";

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
 * Calls one step as an activity and unwraps its outcome: returns the value, or throws StepFailedError for a
 * permanent failure (returned) or a transient one that used up its retries (thrown by the durable runtime).
 */
export function* callStep<T>(ctx: Ctx, step: string, activity: string, input: unknown, retry = true): Generator<df.Task, T, unknown> {
  let raw: unknown;
  try {
    raw = yield retry ? ctx.df.callActivityWithRetry(activity, retryOptions(df), input) : ctx.df.callActivity(activity, input);
  } catch (err) {
    throw new StepFailedError(step, taskError(err));
  }
  if (!isOutcome(raw))
    throw new StepFailedError(step, { name: "Error", message: `activity ${activity} returned no outcome`, retryable: false });
  if (!raw.ok) throw new StepFailedError(step, raw.error);
  return raw.value as T;
}

/** Calls a best-effort activity (notify, telemetry, cleanup reporting): never throws, returns undefined on failure. */
export function* callBestEffort(ctx: Ctx, activity: string, input: unknown, retry = false): Generator<df.Task, unknown, unknown> {
  try {
    return yield retry ? ctx.df.callActivityWithRetry(activity, retryOptions(df), input) : ctx.df.callActivity(activity, input);
  } catch (err) {
    if (!ctx.df.isReplaying) ctx.warn(`${activity} failed: ${taskError(err).message}`);
    return undefined;
  }
}
