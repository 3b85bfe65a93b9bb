/**
 * Helpers shared by the orchestrations: calling a step as an activity (permanent failures fail fast, transient ones
 * retried by the durable runtime), calling a best-effort activity, the operation id of a run, and how webhook
 * deliveries and step errors are reported. Deterministic; imported by orchestrator code only.
 */
import * as df from "durable-functions";
import { StepFailedError, isOutcome, retryOptions, taskError, type StepError } from "./outcome";

type Ctx = df.OrchestrationContext;

/** One webhook delivery as shown in an operation's output and custom status. */
export interface NotificationSummary {
  event: string;
  /** Scheme, host and port of the target only: webhook URLs carry tokens in their path and query. */
  target: string;
  ok: boolean;
  attempts: number;
  /** HTTP status of the last attempt, when there was a response. */
  status?: number;
}

/** The deliveries reported by a `notify` / `notifyExpiring` activity, reduced to what an operation status may show. */
export function notificationSummaries(output: unknown): NotificationSummary[] {
  const results = (output as { results?: unknown } | undefined)?.results;
  if (!Array.isArray(results)) return [];
  return results.map((r: { eventType?: unknown; target?: unknown; ok?: unknown; attempts?: unknown; status?: unknown }) => {
    const s: NotificationSummary = {
      event: String(r.eventType ?? ""),
      target: originOnly(String(r.target ?? "")),
      ok: r.ok === true,
      attempts: Number(r.attempts ?? 0),
    };
    if (typeof r.status === "number") s.status = r.status;
    return s;
  });
}

function originOnly(target: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  return m ? m[0] : (target.split(/[/?#]/)[0] ?? "");
}

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

export function asStepError(step: string, err: unknown): StepFailedError {
  if (err instanceof StepFailedError) return err;
  return new StepFailedError(step, {
    name: err instanceof Error ? err.name : "Error",
    message: err instanceof Error ? err.message : String(err),
    retryable: false,
  });
}

const SOURCES: Record<string, "acme" | "keyvault" | "dns" | "azure"> = { Acme: "acme", KeyVault: "keyvault", Dns: "dns", Azure: "azure" };

/** The ReportedError of a webhook from a StepError. */
export function reportedError(error: StepError): {
  source: "acme" | "keyvault" | "dns" | "azure" | "internal";
  code?: string;
  message: string;
  status?: number;
} {
  const out: { source: "acme" | "keyvault" | "dns" | "azure" | "internal"; code?: string; message: string; status?: number } = {
    source: (error.service && SOURCES[error.service]) || "internal",
    message: error.message,
  };
  if (error.code) out.code = error.code;
  if (error.status !== undefined) out.status = error.status;
  return out;
}
