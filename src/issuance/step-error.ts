/**
 * How a failed step is described, recorded (durable history, custom status) and reported (webhooks, telemetry), the
 * same way whichever driver runs the flow (./flow). Plain JSON and deterministic, so orchestrators may import it.
 */
import { RATE_LIMITED } from "../acme/problems";
import { KvAcmeError, UpstreamError, ValidationError, retryAfterOf } from "../shared/errors";

/** An error as recorded in history and reported to people (no stack, no secrets). */
export interface StepError {
  /** Class name, e.g. ValidationError, UpstreamError, TaskFailed. */
  name: string;
  /** Stable code, e.g. ValidationFailed, AcmeError, KeyVaultError. */
  code?: string;
  message: string;
  status?: number;
  /** Upstream service (Acme, KeyVault, Dns) when known. */
  service?: string;
  retryable: boolean;
  /** Field problems of a ValidationError. */
  problems?: { field: string; message: string }[];
  /** How long the service asked to wait before trying again (its Retry-After), when it said. */
  retryAfterMs?: number;
  /** The upstream problem type, e.g. urn:ietf:params:acme:error:rateLimited. */
  problemType?: string;
  /** The upstream service's own error code, e.g. the `error.code` of a pending operation Key Vault ended failed. */
  upstreamCode?: string;
  /** The step it failed at, when one call runs several steps (./compound-steps): overrides the caller's step. */
  step?: string;
}

const STEP_OF = Symbol.for("kv-acme.step");

/**
 * Runs one step of a call that runs several (./compound-steps): an error it throws is marked with `step` (the
 * innermost mark wins), so the flow reports the step that failed, not the call's first.
 */
export async function atStep<T>(step: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (typeof err === "object" && err !== null && !(STEP_OF in err))
      Object.defineProperty(err, STEP_OF, { value: step, enumerable: false });
    throw err;
  }
}

/** The step atStep marked on an error, if any. */
export function stepOf(err: unknown): string | undefined {
  const step = typeof err === "object" && err !== null ? (err as { [STEP_OF]?: unknown })[STEP_OF] : undefined;
  return typeof step === "string" ? step : undefined;
}

/** What a thrown activity failure's message carries of its step (the message is all of it an orchestrator receives on Azure). */
export function stepNote(step: string): string {
  return `[step: ${step}]`;
}

const STEP_NOTE = / ?\[step: ([a-z-]{1,40})\]/;

/** The step a message carries (stepNote) and the message without it. */
export function stepFromMessage(message: string): { step?: string; message: string } {
  const m = STEP_NOTE.exec(message);
  return m ? { step: m[1], message: message.replace(STEP_NOTE, "") } : { message };
}

/** Thrown into a flow when a step failed for good; carries the step, the structured error and (in-process) the original. */
export class StepFailedError extends Error {
  constructor(
    readonly step: string,
    readonly error: StepError,
    options?: { cause?: unknown },
  ) {
    super(`${step}: ${error.message}`, options);
    this.name = "StepFailedError";
  }
}

/** Describes an error as a StepError; `retryable` says whether a retry may help; `step` when atStep marked one. */
export function toStepError(err: unknown): StepError {
  const out = describeError(err);
  const step = stepOf(err);
  if (step !== undefined) out.step = step;
  return out;
}

function describeError(err: unknown): StepError {
  if (err instanceof UpstreamError) {
    const details = err.details as { service?: string; problemType?: unknown; upstreamCode?: unknown } | undefined;
    const out: StepError = {
      name: err.name,
      code: err.code,
      message: err.message,
      status: err.status,
      service: details?.service,
      retryable: err.retryable,
    };
    if (err.retryAfterMs !== undefined) out.retryAfterMs = err.retryAfterMs;
    if (typeof details?.problemType === "string") out.problemType = details.problemType;
    if (typeof details?.upstreamCode === "string") out.upstreamCode = details.upstreamCode;
    return out;
  }
  if (err instanceof KvAcmeError) {
    const out: StepError = { name: err.name, code: err.code, message: err.message, status: err.status, retryable: false };
    if (err instanceof ValidationError) out.problems = err.problems;
    return out;
  }
  const out: StepError = {
    name: err instanceof Error ? err.name : "Error",
    message: err instanceof Error ? err.message : String(err),
    retryable: true,
  };
  const retryAfterMs = retryAfterOf(err);
  if (retryAfterMs !== undefined) out.retryAfterMs = retryAfterMs;
  return out;
}

/** The StepFailedError of anything thrown at `step` (a StepFailedError stays as it is). */
export function asStepError(step: string, err: unknown): StepFailedError {
  if (err instanceof StepFailedError) return err;
  return new StepFailedError(step, {
    name: err instanceof Error ? err.name : "Error",
    message: err instanceof Error ? err.message : String(err),
    retryable: false,
  });
}

/**
 * When a renewal the CA refused as rateLimited may be tried again: `now` + the CA's Retry-After (RFC 8555 §6.6), as
 * ISO time; undefined for any other failure (those back off by the failure count, src/renewal/decide.ts).
 */
export function caRetryNotBefore(error: StepError, now: Date): string | undefined {
  if (error.service !== "Acme" || error.problemType !== RATE_LIMITED || error.retryAfterMs === undefined) return undefined;
  return new Date(now.getTime() + error.retryAfterMs).toISOString();
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
  // The most specific code: the CA's problem type, the service's own code, else kv-acme's.
  const code = error.problemType ?? error.upstreamCode ?? error.code;
  if (code) out.code = code;
  if (error.status !== undefined) out.status = error.status;
  return out;
}
