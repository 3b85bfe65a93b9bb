/**
 * The in-process driver of the flows (./flow, ../renewal/run), used by the CLI and library callers: each call is the
 * domain function of the same name run now with the given dependencies, the propagation wait is awaitPropagation
 * (polling the authoritative servers until propagationTimeoutSeconds), a renewal run's renewals run here at most
 * `limit` at a time, and warnings go to deps.progress. Only throttled failures are retried here, after at least the service's
 * Retry-After (the SDK clients surface throttling instead of sleeping through it); the steps retry what else they
 * retry themselves; a failed step is thrown into the flow as a StepFailedError carrying the original error.
 *
 * Webhooks and telemetry need the reporting part of the environment (settings and telemetry, as a Runtime has them):
 * without it (a library call with dependencies only) the flow's notify / notifyExpiring / trackOutcome calls are
 * answered "not sent" and nothing is reported.
 */
import { randomUUID } from "node:crypto";
import type { Settings } from "../config/settings";
import { decideRenewals, scanInventory } from "../renewal/scan";
import type { Telemetry } from "../telemetry";
import type { IssuanceDeps } from "./deps";
import { issuanceFlow, type ChildOutcome, type Flow, type FlowCall, type FlowClock, type FlowOp, type IssueFlowInput } from "./flow";
import {
  holdRenewals,
  notify,
  notifyExpiring,
  recordRenewalFailure,
  report,
  trackOutcome,
  type ReportInput,
  type ReportingEnv,
} from "./reporting";
import { repairMergeTags } from "./tag-repair";
import { stopsTheRun } from "../renewal/ca-hold";
import { newRetryTally, retryDecision } from "./retry-policy";
import { StepFailedError, toStepError } from "./step-error";
import { UpstreamError } from "../shared/errors";
import { sleep } from "../shared/time";
import { mergeIssuedChain } from "./merge-step";
import * as steps from "./steps";
import * as compound from "./compound-steps";

/** What the in-process driver runs with: the dependencies, and settings + telemetry to report. */
export interface DirectEnv {
  deps: IssuanceDeps;
  settings?: Settings;
  telemetry?: Telemetry;
  /** Told when each renewal of a run starts (n of total), for the CLI's progress line. */
  onRenewalStarted?: (n: number, total: number, certificateName: string) => void;
}

/** The in-process driver's clock: the flow's (time, ids) and the waits between a throttled step's attempts. */
export interface DirectClock extends FlowClock {
  sleep(ms: number): Promise<void>;
}

/** The wall clock, random ids, real sleeps. */
export const directClock: DirectClock = { now: () => new Date(), newId: () => randomUUID(), sleep: (ms) => sleep(ms) };

type Call = (input: never, env: DirectEnv) => Promise<unknown>;

function reporting(env: DirectEnv): ReportingEnv | undefined {
  return env.settings && env.telemetry ? { settings: env.settings, deps: env.deps, telemetry: env.telemetry } : undefined;
}

/** A renewal run reads its settings (concurrency, warning threshold) and reports: it needs the whole environment. */
function runEnv(env: DirectEnv): ReportingEnv {
  const r = reporting(env);
  if (!r) throw new Error("a renewal run needs the settings and telemetry of the environment");
  return r;
}

const NOT_SENT = { eventId: null, results: [], skipped: "no reporting configured" } as const;

/** Every FlowCall as the domain function it names. */
const CALLS: Record<FlowCall, Call> = {
  validateRenewal: (input: Parameters<typeof compound.validateRenewal>[0], env) => compound.validateRenewal(input, env.deps),
  validateRequest: (input: steps.IssueRequest, env) => steps.validateRequest(input, env.deps),
  placeOrder: (input: steps.ValidatedRequest, env) => steps.placeOrder(input, env.deps),
  presentAndValidate: (input: compound.PresentAndValidateInput, env) => compound.presentAndValidate(input, env.deps),
  cleanupChallenges: (input: { challenges: steps.ChallengeRecord[] }, env) => steps.cleanupChallenges(input.challenges, env.deps),
  finalizeAndDownload: (input: Parameters<typeof compound.finalizeAndDownload>[0], env) => compound.finalizeAndDownload(input, env.deps),
  mergeIssuedChain: (input: Parameters<typeof mergeIssuedChain>[0], env) => mergeIssuedChain(input, env.deps),
  abandonIssuance: (input: Parameters<typeof steps.abandonIssuance>[0], env) => steps.abandonIssuance(input, env.deps),
  recordRenewalFailure: (input: Parameters<typeof recordRenewalFailure>[0], env) => recordRenewalFailure(input, env.deps),
  holdRenewals: (input: Parameters<typeof holdRenewals>[0], env) => holdRenewals(input, env.deps),
  repairTags: (input: { certificateName: string }, env) => repairMergeTags(input, env.deps),
  notify: async (input: Parameters<typeof notify>[0], env) => {
    const r = reporting(env);
    return r ? notify(input, r, (m) => env.deps.progress("notify", m)) : NOT_SENT;
  },
  notifyExpiring: async (input: Parameters<typeof notifyExpiring>[0], env) => {
    const r = reporting(env);
    return r ? notifyExpiring(input, r, (m) => env.deps.progress("notify", m)) : NOT_SENT;
  },
  trackOutcome: async (input: Parameters<typeof trackOutcome>[0], env) => {
    const r = reporting(env);
    return r ? trackOutcome(input, r) : { tracked: false };
  },
  report: async (input: ReportInput, env) => {
    const r = reporting(env);
    return r ? report(input, r, (m) => env.deps.progress("notify", m)) : { sent: [], tracked: false };
  },
  scanInventory: (_input: never, env) => scanInventory(env.deps, runEnv(env).settings),
  decideRenewals: (
    input: { items: Parameters<typeof decideRenewals>[0]; now: string; operationId?: string; horizonEnd?: string; dryRun?: boolean },
    env,
  ) => {
    const r = runEnv(env);
    const horizon = input.horizonEnd ? { horizonEnd: new Date(input.horizonEnd) } : {};
    return decideRenewals(
      input.items,
      new Date(input.now),
      { ...r, expiryWarningDays: r.settings.expiryWarningDays, ...horizon, ...(input.dryRun ? { dryRun: true } : {}) },
      input.operationId,
    );
  },
};

/** Runs `flow` in this process; returns its result or throws what it throws. */
export async function runDirect<T>(flow: Flow<T>, env: DirectEnv, clock: DirectClock = directClock): Promise<T> {
  let next = flow.next();
  while (!next.done) {
    let value: unknown;
    let failed = false;
    let error: unknown;
    try {
      value = await perform(next.value, env, clock);
    } catch (err) {
      failed = true;
      error = err;
    }
    next = failed ? flow.throw(error) : flow.next(value);
  }
  return next.value;
}

/**
 * Runs a step that must succeed. A throttled service's failure (one carrying its Retry-After) is tried again after
 * at least that wait, by the policy the durable driver uses (retryDecision: against the throttling time budget, not
 * the attempts); other failures are the steps' own to retry.
 */
async function must(step: string, run: () => Promise<unknown>, env: DirectEnv, clock: DirectClock): Promise<unknown> {
  const tally = newRetryTally();
  for (;;) {
    try {
      return await run();
    } catch (err) {
      const error = toStepError(err);
      const next = error.retryable && error.retryAfterMs !== undefined ? retryDecision(tally, error.retryAfterMs) : undefined;
      if (!next?.retry) {
        const failed = next ? { ...error, message: `${error.message}; ${next.why}` } : error;
        throw new StepFailedError(error.step ?? step, failed, { cause: err });
      }
      env.deps.progress(step, `attempt ${tally.attempts} throttled, next in ${next.delayMs} ms: ${error.message}`);
      await clock.sleep(next.delayMs);
    }
  }
}

/**
 * Runs one call with the dependencies of the vault its input names (`vault`; the default one when none). With a TXT
 * journal in the dependencies (the CLI's, ./pending-txt.ts) the values are journaled before they are presented and
 * the entry dropped once a cleanup removed them, so a later start can finish a cleanup this process could not
 * (killed, or the DNS provider down for longer than the issuance).
 */
async function call(name: FlowCall, input: unknown, env: DirectEnv): Promise<unknown> {
  const vault = (input as { vault?: string } | undefined)?.vault;
  const journal = env.deps.pendingTxt;
  const given = input as { challenges?: steps.ChallengeRecord[]; plan?: steps.OrderPlan; present?: boolean } | undefined;
  const challenges = given?.challenges ?? given?.plan?.challenges;
  if (journal && challenges && name === "presentAndValidate" && given?.present === true) await journal.record(challenges);
  const result = await CALLS[name](input as never, vault === undefined ? env : { ...env, deps: env.deps.forVault(vault) });
  const cleaned = name === "cleanupChallenges" || (name === "presentAndValidate" && (result as { cleaned?: unknown }).cleaned === true);
  if (journal && challenges && cleaned) await journal.done(challenges);
  return result;
}

async function perform(op: FlowOp, env: DirectEnv, clock: DirectClock): Promise<unknown> {
  switch (op.kind) {
    case "step":
      return must(op.step, () => call(op.call, op.input, env), env, clock);
    case "try":
      return call(op.call, op.input, env).catch((err: unknown) => {
        env.deps.progress(op.call, `${op.call} failed: ${toStepError(err).message}`);
        return undefined;
      });
    case "tryAll":
      return Promise.all(op.inputs.map((input) => call(op.call, input, env))).catch((err: unknown) => {
        env.deps.progress(op.call, `${op.call} failed: ${toStepError(err).message}`);
        return undefined;
      });
    case "propagation":
      // Wait here until the values are visible (up to propagationTimeoutSeconds), then the check goes on.
      return must(
        op.step,
        async () => {
          await steps.awaitPropagation(op.challenges, env.deps);
          const checked = await call(op.check.call, op.check.input, env);
          if ((checked as { visible?: unknown }).visible !== true)
            throw new UpstreamError("Dns", `TXT records not visible on every authoritative server: ${op.last.detail ?? "unknown"}`, {
              status: 504,
              retryable: true,
            });
          return checked;
        },
        env,
        clock,
      );
    case "status":
      return undefined;
    case "warn":
      env.deps.progress(op.step, op.message);
      return undefined;
    case "inProgress":
      // In-process runs keep no instance registry: nothing is known to be running.
      return new Set<string>();
    case "renewEach":
      return renewEach(op.children, op.limit, env, clock);
  }
}

async function renewEach(
  children: IssueFlowInput[],
  limit: number,
  env: DirectEnv,
  clock: DirectClock,
): Promise<{ outcomes: ChildOutcome[]; maxInFlight: number; notStarted?: IssueFlowInput[] }> {
  const outcomes: ChildOutcome[] = [];
  const notStarted: IssueFlowInput[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let started = 0;
  let stopped = false;
  await steps.mapLimit(children, limit, async (child) => {
    const certificateName = child.certificateName ?? "";
    // The CA refused one for an account-wide limit: start no more (the flow holds them until the CA's time).
    if (stopped) {
      notStarted.push(child);
      return;
    }
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    env.onRenewalStarted?.(++started, children.length, certificateName);
    try {
      outcomes.push({ certificateName, output: await runDirect(issuanceFlow(child, clock), env, clock) });
    } catch (err) {
      const failure = err instanceof Error ? err.message : String(err);
      outcomes.push({ certificateName, failure });
      if (stopsTheRun(failure)) stopped = true;
    } finally {
      inFlight--;
    }
  });
  return notStarted.length > 0 ? { outcomes, maxInFlight, notStarted } : { outcomes, maxInFlight };
}
