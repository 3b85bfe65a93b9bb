/**
 * The durable driver of the flows (../issuance/flow, ../renewal/run): runs a flow inside an orchestrator, each call
 * as the activity of the same name (transient failures retried after durable timers: a throttled service's Retry-After, else RETRY's backoff; permanent ones
 * failing the step at once), propagation waits as durable timers, progress as the custom status, and a renewal run's
 * renewals as `issueCertificate` sub-orchestrations in a sliding window, each not before the plan's moment (a durable
 * timer when nothing else can start). More renewals than a page (`batchSize`) run in the `renewCertificatesBatch`
 * orchestration (./renew-batch), one page per execution and continueAsNew between pages, so no history grows with
 * the number of certificates and the replay work grows linearly. Deterministic: time is
 * context.df.currentUtcDateTime, ids come from newGuid.
 *
 * Propagation is a durable-timer loop around a single bounded check (the flow's `presentAndValidate` without
 * presenting, at most PROPAGATION_CHECK_BUDGET_MS per call, going on to the CA's validation once visible) with
 * PROPAGATION_POLL_MS between checks, until the configured propagationTimeoutSeconds (reported by the check) has
 * passed: a long DNS delay costs timers, not a busy activity.
 */
import type * as df from "durable-functions";
import type { PropagationCheck } from "../issuance/compound-steps";
import type { ChildOutcome, Flow, FlowClock, FlowOp, IssueFlowInput, IssueFlowOutput } from "../issuance/flow";
import { ACTIVITIES } from "./activity-names";
import { callBestEffort, callStep } from "./calls";
import { ORCHESTRATIONS, certificateInstanceId } from "./ids";
import { renewalsInProgress } from "./in-progress";
import { StepFailedError, isOutcome, taskError } from "./outcome";
import { stopsTheRun } from "../renewal/ca-hold";

type Ctx = df.OrchestrationContext;

/** Longest single propagation check (one activity): the flow's. */
export { PROPAGATION_CHECK_BUDGET_MS } from "../issuance/flow";
/** Durable timer between two propagation checks. */
export const PROPAGATION_POLL_MS = 5_000;

/** The orchestration's clock and deterministic ids. */
export function durableClock(ctx: Ctx): FlowClock {
  return { now: () => ctx.df.currentUtcDateTime, newId: () => ctx.df.newGuid(ctx.df.instanceId) };
}

/** Runs `flow` in the orchestration `ctx`; returns its result or throws what it throws. */
export function* runDurable<T>(ctx: Ctx, flow: Flow<T>): Generator<df.Task, T, unknown> {
  let next = flow.next();
  while (!next.done) {
    let value: unknown;
    let failed = false;
    let error: unknown;
    try {
      value = yield* perform(ctx, next.value);
    } catch (err) {
      failed = true;
      error = err;
    }
    next = failed ? flow.throw(error) : flow.next(value);
  }
  return next.value;
}

function* perform(ctx: Ctx, op: FlowOp): Generator<df.Task, unknown, unknown> {
  switch (op.kind) {
    case "step":
      return yield* callStep(ctx, op.step, ACTIVITIES[op.call], op.input);
    case "try": {
      const raw = yield* callBestEffort(ctx, ACTIVITIES[op.call], op.input, op.retry);
      return isOutcome(raw) ? (raw.ok ? raw.value : undefined) : raw;
    }
    case "tryAll":
      try {
        return yield ctx.df.Task.all(op.inputs.map((input) => ctx.df.callActivity(ACTIVITIES[op.call], input)));
      } catch (err) {
        if (!ctx.df.isReplaying) ctx.warn(`${op.call} failed: ${taskError(err).message}`);
        return undefined;
      }
    case "propagation":
      return yield* awaitPropagation(ctx, op);
    case "status":
      ctx.df.setCustomStatus(op.status);
      return undefined;
    case "warn":
      if (!ctx.df.isReplaying) ctx.warn(op.message);
      return undefined;
    case "inProgress":
      return new Set((yield* renewalsInProgress(ctx, op.certificateNames)).keys());
    case "renewEach":
      if (op.batchSize !== undefined && op.children.length > op.batchSize) {
        const input: RenewPagesInput = {
          children: op.children,
          startAt: op.startAt,
          limit: op.limit,
          due: op.due,
          batchSize: op.batchSize,
          done: 0,
          maxInFlight: 0,
          outcomes: [],
        };
        return yield ctx.df.callSubOrchestrator(ORCHESTRATIONS.renewBatch, input, renewBatchInstanceId(ctx.df.instanceId));
      }
      return yield* renewEach(ctx, op.children, op.limit, op.due, op.startAt, 0);
  }
}

/**
 * The propagation wait: a durable timer, then the flow's check call again (one bounded check that goes on to the
 * CA's validation when the values are visible), until visible or the configured timeout has passed.
 */
function* awaitPropagation(ctx: Ctx, op: Extract<FlowOp, { kind: "propagation" }>): Generator<df.Task, unknown, unknown> {
  const started = ctx.df.currentUtcDateTime.getTime();
  let last = op.last;
  for (let check = 1; ; check++) {
    const waited = ctx.df.currentUtcDateTime.getTime() - started;
    if (waited + PROPAGATION_POLL_MS > last.timeoutSeconds * 1000) {
      throw new StepFailedError(op.step, {
        name: "UpstreamError",
        code: "DnsError",
        service: "Dns",
        status: 504,
        retryable: true,
        message: `TXT records not visible on every authoritative server after ${check} checks: ${last.detail ?? "unknown"}`,
      });
    }
    ctx.df.setCustomStatus({ ...op.status, error: last.detail });
    yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + PROPAGATION_POLL_MS));
    const r = yield* callStep<{ visible: boolean } & Partial<PropagationCheck>>(ctx, op.step, ACTIVITIES[op.check.call], op.check.input);
    if (r.visible) return r;
    last = r as PropagationCheck;
  }
}

/** The pages of a large renewal run (the `renewCertificatesBatch` orchestration's input, carried by continueAsNew). */
export interface RenewPagesInput {
  children: IssueFlowInput[];
  startAt?: string[];
  limit: number;
  due: number;
  batchSize: number;
  /** Renewals finished in earlier pages. */
  done: number;
  maxInFlight: number;
  outcomes: ChildOutcome[];
}

/** The instance id of a renewal run's pages. */
export function renewBatchInstanceId(runInstanceId: string): string {
  return `${runInstanceId}-pages`;
}

/**
 * One `issueCertificate` sub-orchestration per child, instance id certificateInstanceId(name), at most `limit` in
 * flight (a sliding window over Task.any, not batches), none before its `startAt` (when nothing is in flight and the
 * next child's moment is ahead, a durable timer until it); each failure is caught and reported as the child's outcome
 * (only what the run reads of a success: version and notAfter).
 */
export function* renewEach(
  ctx: Ctx,
  children: IssueFlowInput[],
  limit: number,
  due: number,
  startAt: string[] | undefined,
  doneBefore: number,
): Generator<df.Task, RenewEachResult, unknown> {
  const queue = children.map((child, i) => ({ child, at: startAt?.[i] ? Date.parse(startAt[i]) : 0 }));
  const inFlight: { name: string; task: df.Task }[] = [];
  const outcomes: ChildOutcome[] = [];
  let maxInFlight = 0;
  let done = doneBefore;
  let stopped = false;
  while ((queue.length > 0 && !stopped) || inFlight.length > 0) {
    const now = ctx.df.currentUtcDateTime.getTime();
    while (!stopped && inFlight.length < limit && queue.length > 0 && (queue[0] as { at: number }).at <= now) {
      const { child } = queue.shift() as { child: IssueFlowInput };
      const name = child.certificateName ?? "";
      inFlight.push({ name, task: ctx.df.callSubOrchestrator(ORCHESTRATIONS.issue, child, certificateInstanceId(name)) });
    }
    maxInFlight = Math.max(maxInFlight, inFlight.length);
    if (inFlight.length === 0) {
      const next = (queue[0] as { at: number }).at;
      ctx.df.setCustomStatus({ step: "renew", due, done, inFlight: 0, nextAt: new Date(next).toISOString() });
      yield ctx.df.createTimer(new Date(next));
      continue;
    }
    ctx.df.setCustomStatus({ step: "renew", due, done, inFlight: inFlight.length });
    yield ctx.df.Task.any(inFlight.map((f) => f.task));
    for (let i = inFlight.length - 1; i >= 0; i--) {
      const f = inFlight[i] as { name: string; task: df.Task };
      if (!f.task.isCompleted && !f.task.isFaulted) continue;
      inFlight.splice(i, 1);
      done++;
      if (f.task.isFaulted) {
        const failure = taskError(f.task.result).message;
        outcomes.push({ certificateName: f.name, failure });
        // The CA refuses orders account-wide: start no more (the flow holds the rest until the CA's time).
        if (stopsTheRun(failure)) stopped = true;
      } else {
        const output = f.task.result as IssueFlowOutput;
        outcomes.push({ certificateName: f.name, output: { version: output.version, notAfter: output.notAfter } });
      }
    }
  }
  return stopped && queue.length > 0 ? { outcomes, maxInFlight, notStarted: queue.map((q) => q.child) } : { outcomes, maxInFlight };
}

/** What renewEach answers: each started renewal's outcome and, after an account-wide CA refusal, those not started. */
export interface RenewEachResult {
  outcomes: ChildOutcome[];
  maxInFlight: number;
  notStarted?: IssueFlowInput[];
}
