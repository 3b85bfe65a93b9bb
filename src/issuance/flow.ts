/**
 * The issuance flow, written once (in the spirit of node-acme-client's auto.js, over the granular steps): one
 * issuance or renewal of one certificate as a generator that yields what it needs done (FlowOp) to a driver:
 *
 *   [renewal-request +] validate -> order -> dns-present + propagation check [+ validate-challenges + TXT cleanup
 *   + pending-operation] (one call, ./compound-steps; while the values are not visible: propagation waits, each
 *   check going on to the CA's validation) -> finalize + download -> merge (+ managed tags) -> notify + outcome
 *   always (finally): cleanupChallenges;   on failure: abandonIssuance (pending operation + pending authorizations),
 *   then (renewals) the failure counted on the certificate (recordRenewalFailure) and a `certificate.renewal_failed`
 *   webhook carrying that count as `attempt`, and a telemetry outcome with `failedStep`.
 *
 * Steps are joined into one call where they are idempotent together (./compound-steps, docs/scale.md): each call is
 * one activity, and so one orchestrator episode, of the durable driver. A failure still names the step it happened in.
 *
 * Drivers: the durable one (src/orchestrations/durable-driver.ts: each call an activity, transient failures retried
 * by the runtime, propagation waits as durable timers) and the in-process one (./direct: the CLI, each call the
 * domain function). The flow itself does no I/O and reads time only from the driver's clock, so it is deterministic
 * under replay. A step that fails for good is thrown into the flow as a StepFailedError; best-effort calls
 * (webhooks, telemetry, cleanup) answer undefined when they fail and never fail the flow.
 */
import type { DownloadedChain, OrderRef } from "../acme/order";
import type { EnsurePendingResult } from "../keyvault/certificates";
import { splitAddress } from "../keyvault/address";
import type { IssuerInfo } from "../shared/issuer";
import { urlOrigin } from "../shared/url";
import type { PresentAndValidateInput, PropagationCheck, ValidatedOrder } from "./compound-steps";
import { reportFailed, reportIssued } from "./flow-report";
import { rejectUnpinned } from "./flow-trust";
import { issueResult } from "./result";
import { asStepError } from "./step-error";
import type { MergedVersion, RefusedMerge } from "./merge-step";
import type { ChallengeRecord, IssueRequest, IssueResult, OrderPlan, ValidatedRequest } from "./steps";

import { type IssueStep } from "./issue-steps";

export { ISSUE_STEPS, type IssueStep } from "./issue-steps";

/** The calls a flow makes; the durable driver runs each as the activity of the same name. */
export type FlowCall =
  | "validateRenewal"
  | "validateRequest"
  | "placeOrder"
  | "presentAndValidate"
  | "cleanupChallenges"
  | "finalizeAndDownload"
  | "mergeIssuedChain"
  | "abandonIssuance"
  | "recordRenewalFailure"
  | "holdRenewals"
  | "repairTags"
  | "notify"
  | "notifyExpiring"
  | "trackOutcome"
  | "report"
  | "scanInventory"
  | "decideRenewals";

/** The longest propagation check of one call (the first one adds the TXT values too); the driver waits between checks. */
export const PROPAGATION_CHECK_BUDGET_MS = 10_000;

/** A renewal of one certificate started by a renewal run, and how it ended. */
export interface ChildOutcome {
  certificateName: string;
  /** What the renewal run reads of the child's output, when it succeeded. */
  output?: Pick<IssueFlowOutput, "version" | "notAfter">;
  /** The child's failure ("<step>: <message>", possibly wrapped by the runtime), when it failed. */
  failure?: string;
}

/** What a flow asks its driver to do. */
export type FlowOp =
  /** A step that must succeed: its value, or a StepFailedError thrown into the flow. */
  | { kind: "step"; step: string; call: FlowCall; input: unknown }
  /** A best-effort call: its value, or undefined when it failed (`retry`: transient failures retried first). */
  | { kind: "try"; call: FlowCall; input: unknown; retry: boolean }
  /** Several best-effort calls at once (no retry): their values in order, or undefined when any failed. */
  | { kind: "tryAll"; call: FlowCall; inputs: unknown[] }
  /**
   * Wait until every TXT value is visible on every authoritative server, then answer what `check` (a call that checks
   * once and goes on when visible) answers when visible; fails as `step` after the timeout. `last`: the check that
   * found them not visible yet.
   */
  | {
      kind: "propagation";
      step: string;
      challenges: ChallengeRecord[];
      status: IssueStatus;
      last: PropagationCheck;
      check: { call: FlowCall; input: unknown };
    }
  /** Where the flow is (the durable driver's custom status). */
  | { kind: "status"; status: object }
  /** A warning for the log. */
  | { kind: "warn"; step: string; message: string }
  /** Which of these certificates already have an issuance or renewal running (a Set of names). */
  | { kind: "inProgress"; certificateNames: string[] }
  /**
   * Renew these certificates, at most `limit` at a time, each not before its `startAt` (the plan's moments, ISO, in
   * the children's order; the durable driver waits with timers), the durable driver in pages of `batchSize` per
   * orchestration execution; answers { outcomes: ChildOutcome[], maxInFlight, notStarted? }. Once a renewal is
   * refused for an account-wide CA rate limit (../renewal/ca-hold stopsTheRun), no further one starts: those are
   * answered in `notStarted`.
   */
  | { kind: "renewEach"; children: IssueFlowInput[]; limit: number; due: number; startAt?: string[]; batchSize?: number };

export type Flow<T> = Generator<FlowOp, T, unknown>;

/** Time and ids, from the driver (the orchestration clock and newGuid when durable). */
export interface FlowClock {
  now(): Date;
  newId(): string;
}

export interface IssueFlowInput extends Partial<IssueRequest> {
  /** "issue" (default) or "renew": renewals report `certificate.renewed` / `certificate.renewal_failed`. */
  reason?: "issue" | "renew";
  /** Correlation id (W3C trace id) for telemetry and webhooks. */
  operationId?: string;
  /** Why a renewal runs (the renewal decision's reason), reported in `certificate.renewed`. */
  renewalReason?: string;
}

export interface IssueFlowOutput extends IssueResult {
  reason: "issue" | "renew";
  /** The vault of the certificate. */
  vault?: string;
  /** The issuing intermediate of the merged version. */
  issuer?: IssuerInfo;
  warnings?: string[];
  /** The webhook deliveries of this operation (origin only, never a URL's path or query). */
  notifications?: NotificationSummary[];
  /** The correlation id of the operation (W3C trace id: Application Insights' operation_Id). */
  operationId?: string;
}

/** Where an issuance is: the current step (the durable custom status). */
export interface IssueStatus {
  step: IssueStep;
  certificateName?: string;
  reason: "issue" | "renew";
  /** When set, the step that failed. */
  failedStep?: string;
  error?: string;
  /** Webhook deliveries so far (after the notify step): origin, ok, attempts, status. */
  notifications?: NotificationSummary[];
  operationId?: string;
  /** A renewal the CA refused as rateLimited: not tried again before this time (the CA's Retry-After). */
  renewNotBefore?: string;
}

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

/** The deliveries reported by a `notify` / `notifyExpiring` call, reduced to what an operation status may show. */
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
  return urlOrigin(target) ?? target.split(/[/?#]/)[0] ?? "";
}

/** Runs a step that must succeed. */
export function* step<T>(name: string, call: FlowCall, input: unknown): Flow<T> {
  return (yield { kind: "step", step: name, call, input }) as T;
}

/** Runs a best-effort call: undefined when it failed. */
export function* attempt(call: FlowCall, input: unknown, retry = false): Flow<unknown> {
  return yield { kind: "try", call, input, retry };
}

/** The issuance flow (see the module comment). Throws the StepFailedError of the step that failed, after cleanup. */
export function* issuanceFlow(input: IssueFlowInput, clock: FlowClock): Flow<IssueFlowOutput> {
  const reason = input.reason === "renew" ? "renew" : "issue";
  const operationId = input.operationId;
  // The validation run (a server-made id) whose CAA answers this validation may share; never the operation id.
  const validationRun = input.validationRun === undefined ? {} : { validationRun: input.validationRun };
  const startedAt = clock.now().getTime();
  let current: IssueStep = "validate";
  // A renewal run names its children by address (`{vault}/{name}` outside the default vault, ../keyvault/address.ts).
  const address = splitAddress(input.certificateName ?? "");
  let certificateName = input.certificateName === undefined ? undefined : address.name;
  let vault = input.vault ?? address.vault;
  const inVault = () => (vault === undefined ? {} : { vault });
  const statusAt = (s: IssueStep, extra: Partial<IssueStatus> = {}): IssueStatus => ({
    step: s,
    certificateName,
    reason,
    ...extra,
    operationId,
  });
  function* status(s: IssueStep, extra: Partial<IssueStatus> = {}): Flow<void> {
    current = s;
    yield { kind: "status", status: statusAt(s, extra) };
  }

  let validated: ValidatedRequest | undefined;
  let plan: OrderPlan | undefined;
  let pending: EnsurePendingResult | undefined;
  let challengesCleaned = false;
  const warnings: string[] = [];

  try {
    if (reason === "renew" && (input.dnsNames === undefined || (Array.isArray(input.dnsNames) && input.dnsNames.length === 0))) {
      // The request from the current version, validated, in one call.
      yield* status("renewal-request");
      validated = yield* step<ValidatedRequest>(current, "validateRenewal", { certificateName, ...inVault(), ...validationRun });
    } else {
      const request: IssueRequest = {
        ...inVault(),
        dnsNames: input.dnsNames ?? [],
        certificateName,
        keyOptions: input.keyOptions,
        replacesAriCertId: input.replacesAriCertId,
        adopt: input.adopt,
        dnsAlias: input.dnsAlias,
        allowNameOverlap: input.allowNameOverlap,
        overlapCheckedAt: input.overlapCheckedAt,
        ...validationRun,
        issuerPins: input.issuerPins,
        preferredChain: input.preferredChain,
        profile: input.profile,
        tags: input.tags,
      };
      yield* status("validate");
      validated = yield* step<ValidatedRequest>(current, "validateRequest", request);
    }
    certificateName = validated.certificateName;
    vault = validated.vault;

    yield* status("order");
    plan = yield* step<OrderPlan>(current, "placeOrder", validated);

    // TXT values, one propagation check and, once visible, the CA's validation, the TXT cleanup and the vault's
    // pending operation (./compound-steps).
    yield* status("dns-present");
    const check: Omit<PresentAndValidateInput, "present"> = {
      plan,
      request: validated,
      budgetMs: PROPAGATION_CHECK_BUDGET_MS,
    };
    let ready = yield* step<ValidatedOrder | PropagationCheck>(current, "presentAndValidate", { ...check, present: true });
    if (!ready.visible) {
      yield* status("propagation");
      const wait: FlowOp = {
        kind: "propagation",
        step: current,
        challenges: plan.challenges,
        status: statusAt("propagation"),
        last: ready,
        check: { call: "presentAndValidate", input: { ...check, present: false } },
      };
      ready = (yield wait) as ValidatedOrder;
    }
    pending = ready.pending;
    challengesCleaned = ready.cleaned;
    if (!ready.cleaned)
      yield {
        kind: "warn",
        step: "cleanup",
        message: `TXT cleanup after validation failed, retried at the end: ${ready.cleanupError ?? ""}`,
      };

    yield* status("finalize");
    const issued = yield* step<{ order: OrderRef; chain: string[]; choice?: DownloadedChain["choice"] }>(current, "finalizeAndDownload", {
      order: ready.order,
      csr: pending.pending.csr,
      ...(validated.preferredChain !== undefined ? { preferredChain: validated.preferredChain } : {}),
    });
    if (issued.choice && !issued.choice.matched)
      warnings.push(
        `No chain issued by "${issued.choice.preferredChain}" was offered (${issued.choice.offered.join(", ")}): the CA's default chain was installed`,
      );

    yield* status("merge");
    const merged = yield* step<MergedVersion | RefusedMerge>(current, "mergeIssuedChain", {
      certificateName: validated.certificateName,
      vault: validated.vault,
      dnsNames: validated.dnsNames,
      targets: validated.targets,
      dnsAlias: validated.dnsAlias,
      issuerPins: validated.issuerPins,
      preferredChain: validated.preferredChain,
      profile: validated.profile,
      tags: validated.tags,
      chain: issued.chain,
      requestId: pending.pending.requestId,
    });
    if (merged.refused) return yield* rejectUnpinned(merged.refused, validated, current, clock, operationId);

    const result: IssueFlowOutput = {
      ...issueResult(merged, validated, pending.action, clock.now().getTime() - startedAt, issued.order.replaces),
      reason,
      vault: validated.vault,
      issuer: merged.issuer,
    };

    if (!challengesCleaned) {
      yield* status("cleanup");
      try {
        yield* step(current, "cleanupChallenges", { challenges: plan.challenges });
      } catch (err) {
        warnings.push(`Certificate issued, but removing the challenge TXT values failed: ${asStepError("cleanup", err).error.message}`);
      }
      challengesCleaned = true;
    }
    // Issued and current, whatever its tags: a completed issuance that says so (a retry would issue a second version).
    if (merged.tagsNotWritten)
      warnings.push(`Certificate issued as version ${merged.version}, but tagging it failed: ${merged.tagsNotWritten}`);
    if (merged.lifetimeShortened && merged.previous)
      warnings.push(
        `Version ${merged.version} expires ${merged.notAfter}, before the previous version ${merged.previous.version} (${merged.previous.notAfter})`,
      );
    if (warnings.length > 0) result.warnings = warnings;
    yield* status("notify");
    return yield* reportIssued(result, merged, input, clock, (extra) => status("done", extra));
  } catch (err) {
    const failure = asStepError(current, err);
    yield* status("failed", { failedStep: failure.step, error: failure.error.message });
    // The pending operation: only when this attempt got as far as creating (or reusing) one; matched by request id
    // when known so another attempt's operation is never touched. Pending authorizations are deactivated.
    const pendingReached = pending !== undefined || failure.step === "pending-operation";
    yield* attempt(
      "abandonIssuance",
      {
        ...inVault(),
        certificateName: pendingReached ? validated?.certificateName : undefined,
        requestId: pending?.pending.requestId,
        authorizationUrls: plan?.order.authorizations,
      },
      true,
    );
    const dnsNames = validated?.dnsNames ?? (Array.isArray(input.dnsNames) ? input.dnsNames : input.dnsNames ? [input.dnsNames] : []);
    yield* reportFailed(failure, { ...input, ...inVault(), certificateName: certificateName ?? "", dnsNames }, clock, startedAt, (extra) =>
      status("failed", extra),
    );
    throw failure;
  } finally {
    // TXT values go in every outcome (idempotent: removes only our values).
    if (plan && !challengesCleaned) yield* attempt("cleanupChallenges", { challenges: plan.challenges }, true);
  }
}
