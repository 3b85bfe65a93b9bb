/**
 * The issuance flow, written once (in the spirit of node-acme-client's auto.js, over the granular steps): one
 * issuance or renewal of one certificate as a generator that yields what it needs done (FlowOp) to a driver:
 *
 *   [renewal-request] -> validate -> order -> dns-present -> propagation -> validate-challenges -> (TXT cleanup)
 *   -> pending-operation -> finalize (with the vault's CSR) -> download -> merge (+ managed tags) -> notify
 *   always (finally): cleanupChallenges;   on failure: abandonIssuance (pending operation + pending authorizations),
 *   then (renewals) the failure counted on the certificate (recordRenewalFailure) and a `certificate.renewal_failed`
 *   webhook carrying that count as `attempt`, and a telemetry outcome with `failedStep`.
 *
 * Drivers: the durable one (src/orchestrations/durable-driver.ts: each call an activity, transient failures retried
 * by the runtime, propagation waits as durable timers) and the in-process one (./direct: the CLI, each call the
 * domain function). The flow itself does no I/O and reads time only from the driver's clock, so it is deterministic
 * under replay. A step that fails for good is thrown into the flow as a StepFailedError; best-effort calls
 * (webhooks, telemetry, cleanup) answer undefined when they fail and never fail the flow.
 */
import type { OrderRef } from "../acme/order";
import type { EnsurePendingResult } from "../keyvault/certificates";
import { splitAddress } from "../keyvault/address";
import type { IssuerInfo } from "../shared/issuer";
import { urlOrigin } from "../shared/url";
import { rejectUnpinned, reportTrustChanges } from "./flow-trust";
import { issueResult } from "./result";
import { StepFailedError, asStepError, caRetryNotBefore, reportedError } from "./step-error";
import type { ChallengeRecord, IssueRequest, IssueResult, MergedVersion, OrderPlan, RefusedMerge, ValidatedRequest } from "./steps";

import { type IssueStep } from "./issue-steps";

export { ISSUE_STEPS, type IssueStep } from "./issue-steps";

/** The calls a flow makes; the durable driver runs each as the activity of the same name. */
export type FlowCall =
  | "renewalRequest"
  | "validateRequest"
  | "placeOrder"
  | "presentChallenges"
  | "validateChallenges"
  | "cleanupChallenges"
  | "preparePendingOperation"
  | "finalizeWithVaultCsr"
  | "downloadCertificateChain"
  | "mergeIssuedChain"
  | "abandonIssuance"
  | "recordRenewalFailure"
  | "notify"
  | "notifyExpiring"
  | "trackOutcome"
  | "scanInventory"
  | "decideRenewals";

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
  /** Wait until every TXT value is visible on every authoritative server (fails as `step` after the timeout). */
  | { kind: "propagation"; step: string; challenges: ChallengeRecord[]; status: IssueStatus }
  /** Where the flow is (the durable driver's custom status). */
  | { kind: "status"; status: object }
  /** A warning for the log. */
  | { kind: "warn"; step: string; message: string }
  /** Which of these certificates already have an issuance or renewal running (a Set of names). */
  | { kind: "inProgress"; certificateNames: string[] }
  /**
   * Renew these certificates, at most `limit` at a time, each not before its `startAt` (the plan's moments, ISO, in
   * the children's order; the durable driver waits with timers), the durable driver in pages of `batchSize` per
   * orchestration execution; answers { outcomes: ChildOutcome[], maxInFlight }.
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
  let pendingReached = false;
  let pending: EnsurePendingResult | undefined;
  let challengesCleaned = false;
  const warnings: string[] = [];

  try {
    let request: IssueRequest;
    if (reason === "renew" && (input.dnsNames === undefined || (Array.isArray(input.dnsNames) && input.dnsNames.length === 0))) {
      yield* status("renewal-request");
      request = yield* step<IssueRequest>(current, "renewalRequest", { certificateName, ...inVault() });
    } else {
      request = {
        ...inVault(),
        dnsNames: input.dnsNames ?? [],
        certificateName,
        keyOptions: input.keyOptions,
        replacesAriCertId: input.replacesAriCertId,
        adopt: input.adopt,
        dnsAlias: input.dnsAlias,
        allowNameOverlap: input.allowNameOverlap,
        issuerPins: input.issuerPins,
      };
    }

    yield* status("validate");
    validated = yield* step<ValidatedRequest>(current, "validateRequest", request);
    certificateName = validated.certificateName;
    vault = validated.vault;

    yield* status("order");
    plan = yield* step<OrderPlan>(current, "placeOrder", validated);

    yield* status("dns-present");
    yield* step(current, "presentChallenges", { challenges: plan.challenges });

    yield* status("propagation");
    yield { kind: "propagation", step: current, challenges: plan.challenges, status: statusAt("propagation") };

    yield* status("validate-challenges");
    const ready = yield* step<OrderRef>(current, "validateChallenges", plan);

    // The CA has seen the records: remove them now (the finally block retries if this fails).
    yield* status("cleanup");
    try {
      yield* step(current, "cleanupChallenges", { challenges: plan.challenges });
      challengesCleaned = true;
    } catch (err) {
      yield {
        kind: "warn",
        step: current,
        message: `TXT cleanup after validation failed, retried at the end: ${asStepError(current, err).message}`,
      };
    }

    yield* status("pending-operation");
    pendingReached = true;
    pending = yield* step<EnsurePendingResult>(current, "preparePendingOperation", validated);

    yield* status("finalize");
    const issued = yield* step<OrderRef>(current, "finalizeWithVaultCsr", { order: ready, csr: pending.pending.csr });

    yield* status("download");
    const chain = yield* step<string[]>(current, "downloadCertificateChain", { order: issued });

    yield* status("merge");
    const merged = yield* step<MergedVersion | RefusedMerge>(current, "mergeIssuedChain", {
      certificateName: validated.certificateName,
      vault: validated.vault,
      dnsNames: validated.dnsNames,
      targets: validated.targets,
      dnsAlias: validated.dnsAlias,
      issuerPins: validated.issuerPins,
      chain,
      requestId: pending.pending.requestId,
    });
    if (merged.refused) return yield* rejectUnpinned(merged.refused, validated, current, clock, operationId);

    const result: IssueFlowOutput = {
      ...issueResult(merged, validated, pending.action, clock.now().getTime() - startedAt, issued.replaces),
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

/** Success: `certificate.issued` / `certificate.renewed`, the telemetry outcome, status done. */
function* reportIssued(
  result: IssueFlowOutput,
  merged: MergedVersion,
  input: IssueFlowInput,
  clock: FlowClock,
  done: (extra: Partial<IssueStatus>) => Flow<void>,
): Flow<IssueFlowOutput> {
  const { reason, operationId } = { reason: result.reason, operationId: input.operationId };
  const data = {
    certificateName: result.certificateName,
    dnsNames: result.dnsNames,
    version: result.version,
    thumbprint: result.thumbprint,
    notBefore: result.notBefore,
    notAfter: result.notAfter,
    ...(result.warnings ? { warnings: result.warnings } : {}),
  };
  const notified = yield* attempt("notify", {
    ...(result.vault === undefined ? {} : { vault: result.vault }),
    type: reason === "renew" ? "certificate.renewed" : "certificate.issued",
    data: reason === "renew" ? { ...data, reason: input.renewalReason || "manual" } : data,
    time: clock.now().toISOString(),
    operationId,
  });
  result.notifications = notificationSummaries(notified);
  for (const sent of yield* reportTrustChanges(merged, clock, operationId)) result.notifications.push(...notificationSummaries(sent));
  result.operationId = operationId;
  yield* attempt("trackOutcome", {
    name: reason === "renew" ? "renewCertificate" : "issueCertificate",
    success: true,
    certificateName: result.certificateName,
    namesCount: result.dnsNames.length,
    durationMs: result.durationMs,
    operationId,
    issuer: merged.issuer?.thumbprint, // absent in histories recorded before issuers were recorded
    issuerChanged: merged.issuerChanged,
    lifetimeShortened: merged.lifetimeShortened,
    ...(result.warnings ? { warnings: result.warnings } : {}),
  });
  yield* done({ notifications: result.notifications });
  return result;
}

/** Failure: for renewals the failure counted on the certificate and `certificate.renewal_failed`; the telemetry outcome. */
function* reportFailed(
  failure: StepFailedError,
  input: IssueFlowInput & { certificateName: string; dnsNames: string[] },
  clock: FlowClock,
  startedAt: number,
  failed: (extra: Partial<IssueStatus>) => Flow<void>,
): Flow<void> {
  const { operationId, certificateName: name, dnsNames } = input;
  const inVault = input.vault === undefined ? {} : { vault: input.vault };
  const failedStep = failure.step;
  const reason = input.reason === "renew" ? "renew" : "issue";
  if (reason === "renew") {
    const time = clock.now().toISOString();
    // Count the failure on the certificate (the next scan's backoff and `certificate.expiring` read it); a CA
    // rateLimited refusal also records the CA's time, before which the renewal decision holds it back.
    const notBefore = caRetryNotBefore(failure.error, clock.now());
    let attempts = 1;
    if (name) {
      const record = { ...inVault, certificateName: name, failureId: clock.newId(), at: time, ...(notBefore ? { notBefore } : {}) };
      const recorded = yield* attempt("recordRenewalFailure", record, true);
      const counted = (recorded as { attempts?: unknown } | undefined)?.attempts;
      if (typeof counted === "number" && counted >= 1) attempts = counted;
    }
    const data: Record<string, unknown> = {
      certificateName: name,
      dnsNames,
      failedStep,
      error: reportedError(failure.error),
      attempt: attempts,
    };
    if (notBefore) data.retryNotBefore = notBefore;
    const notified = yield* attempt("notify", {
      ...inVault,
      type: "certificate.renewal_failed",
      data: { ...data, operationId },
      time,
      operationId,
    });
    yield* failed({
      failedStep,
      error: failure.error.message,
      notifications: notificationSummaries(notified),
      ...(notBefore ? { renewNotBefore: notBefore } : {}),
    });
  }
  yield* attempt("trackOutcome", {
    name: reason === "renew" ? "renewCertificate" : "issueCertificate",
    success: false,
    certificateName: name,
    namesCount: dnsNames.length,
    durationMs: clock.now().getTime() - startedAt,
    failedStep,
    error: failure.error.message,
    operationId,
  });
}
