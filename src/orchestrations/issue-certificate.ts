/**
 * The `issueCertificate` orchestration: one issuance or renewal of one certificate, the durable form of
 * src/issuance/issue.ts with the same steps in the same order and the same cleanup guarantees:
 *
 *   [renewal-request] -> validate -> order -> dns-present -> propagation -> validate-challenges -> (TXT cleanup)
 *   -> pending-operation -> finalize (with the vault's CSR) -> download -> merge (+ managed tags) -> notify
 *   always (finally): cleanupChallenges;   on failure: abandonIssuance (pending operation + pending authorizations),
 *   then a `certificate.renewal_failed` webhook (renewals) and a telemetry outcome with `failedStep`.
 *
 * Deterministic: time is context.df.currentUtcDateTime, waits are durable timers, every side effect is an activity.
 * Transient failures are retried by the durable runtime (callActivityWithRetry with RETRY); permanent ones come back
 * as `{ ok: false }` values (./outcome) and fail the orchestration at once. Webhooks and telemetry never fail it.
 *
 * Propagation is a durable-timer loop around a single bounded check (`checkPropagation`, at most
 * PROPAGATION_CHECK_BUDGET_MS per call) with PROPAGATION_POLL_MS between checks, until the configured
 * propagationTimeoutSeconds (reported by the check) has passed: a long DNS delay costs timers, not a busy activity.
 *
 * Input: an IssueRequest (dnsNames, certificateName, keyOptions) plus `reason` ("issue" default, or "renew") and an
 * optional `operationId` (W3C trace id correlating telemetry and webhooks; default one derived from the instance).
 * A renewal may give only `certificateName`: names and key options then come from the current version (renewalRequest, with ARI `replaces`).
 * Output: the IssueResult (plus `warnings` when only the post-validation TXT cleanup failed, the webhook deliveries as
 * `notifications` and the `operationId`). A failed renewal is counted on the certificate (recordRenewalFailure: the
 * kv-acme-renewal-failures tag) and its `certificate.renewal_failed` carries that count as `attempt`.
 */
import { issueResult } from "../issuance/result";
import * as df from "durable-functions";
import type { IssueRequest, IssueResult, OrderPlan, ValidatedRequest } from "../issuance/steps";
import type { EnsurePendingResult } from "../keyvault/certificates";
import type { OrderRef } from "../acme/order";
import { ACTIVITIES, type IssueStep } from "./activity-names";
import { StepFailedError } from "./outcome";
import {
  asStepError,
  callBestEffort,
  callStep,
  notificationSummaries,
  orchestrationOperationId,
  reportedError,
  type NotificationSummary,
} from "./calls";

export { notificationSummaries, type NotificationSummary } from "./calls";

export interface IssueOrchestrationInput extends Partial<IssueRequest> {
  /** "issue" (default) or "renew": renewals report `certificate.renewed` / `certificate.renewal_failed`. */
  reason?: "issue" | "renew";
  /** Correlation id (W3C trace id) for telemetry; default one derived from the instance (orchestrationOperationId). */
  operationId?: string;
  /** Why a renewal runs (the renewal decision's reason), reported in `certificate.renewed`. */
  renewalReason?: string;
}

export interface IssueOrchestrationOutput extends IssueResult {
  reason: "issue" | "renew";
  warnings?: string[];
  /** The webhook deliveries of this operation (origin only, never a URL's path or query). */
  notifications?: NotificationSummary[];
  /** The correlation id of the operation (W3C trace id: Application Insights' operation_Id). */
  operationId?: string;
}

/** Custom status while running: the current step. */
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
}

type Ctx = df.OrchestrationContext;

/** Longest single propagation check (one activity). */
export const PROPAGATION_CHECK_BUDGET_MS = 10_000;
/** Durable timer between two propagation checks. */
export const PROPAGATION_POLL_MS = 5_000;

interface CheckPropagationResult {
  visible: boolean;
  detail?: string;
  /** The configured overall limit (settings.propagationTimeoutSeconds). */
  timeoutSeconds: number;
}

/** The orchestrator function registered as ORCHESTRATIONS.issue. */
export function* issueCertificateOrchestrator(ctx: Ctx): Generator<df.Task, IssueOrchestrationOutput, unknown> {
  const input = (ctx.df.getInput() ?? {}) as IssueOrchestrationInput;
  const reason = input.reason === "renew" ? "renew" : "issue";
  const operationId = orchestrationOperationId(ctx, input.operationId);
  const startedAt = ctx.df.currentUtcDateTime.getTime();
  let step: IssueStep = "validate";
  let certificateName = input.certificateName;
  const status = (s: IssueStep, extra: Partial<IssueStatus> = {}) => {
    step = s;
    ctx.df.setCustomStatus({ step: s, certificateName, reason, ...extra, operationId } satisfies IssueStatus);
  };

  let validated: ValidatedRequest | undefined;
  let plan: OrderPlan | undefined;
  let pendingReached = false;
  let pending: EnsurePendingResult | undefined;
  let challengesCleaned = false;
  const warnings: string[] = [];
  let failure: StepFailedError | undefined;

  try {
    let request: IssueRequest;
    if (reason === "renew" && (input.dnsNames === undefined || (Array.isArray(input.dnsNames) && input.dnsNames.length === 0))) {
      status("renewal-request");
      request = yield* callStep<IssueRequest>(ctx, step, ACTIVITIES.renewalRequest, { certificateName: input.certificateName });
    } else {
      request = {
        dnsNames: input.dnsNames ?? [],
        certificateName: input.certificateName,
        keyOptions: input.keyOptions,
        replacesAriCertId: input.replacesAriCertId,
        adopt: input.adopt,
      };
    }

    status("validate");
    validated = yield* callStep<ValidatedRequest>(ctx, step, ACTIVITIES.validateRequest, request);
    certificateName = validated.certificateName;

    status("order");
    plan = yield* callStep<OrderPlan>(ctx, step, ACTIVITIES.placeOrder, validated);

    status("dns-present");
    yield* callStep(ctx, step, ACTIVITIES.presentChallenges, { challenges: plan.challenges });

    status("propagation");
    const propagationStarted = ctx.df.currentUtcDateTime.getTime();
    for (let check = 1; ; check++) {
      const r = yield* callStep<CheckPropagationResult>(ctx, step, ACTIVITIES.checkPropagation, {
        challenges: plan.challenges,
        budgetMs: PROPAGATION_CHECK_BUDGET_MS,
      });
      if (r.visible) break;
      const waited = ctx.df.currentUtcDateTime.getTime() - propagationStarted;
      if (waited + PROPAGATION_POLL_MS > r.timeoutSeconds * 1000) {
        throw new StepFailedError(step, {
          name: "UpstreamError",
          code: "DnsError",
          service: "Dns",
          status: 504,
          retryable: true,
          message: `TXT records not visible on every authoritative server after ${check} checks: ${r.detail ?? "unknown"}`,
        });
      }
      status("propagation", { error: r.detail });
      yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + PROPAGATION_POLL_MS));
    }

    status("validate-challenges");
    const ready = yield* callStep<OrderRef>(ctx, step, ACTIVITIES.validateChallenges, plan);

    // The CA has seen the records: remove them now (the finally block retries if this fails).
    status("cleanup");
    try {
      yield* callStep(ctx, step, ACTIVITIES.cleanupChallenges, { challenges: plan.challenges });
      challengesCleaned = true;
    } catch (err) {
      if (!ctx.df.isReplaying) ctx.warn(`TXT cleanup after validation failed, retried at the end: ${asStepError(step, err).message}`);
    }

    status("pending-operation");
    pendingReached = true;
    pending = yield* callStep<EnsurePendingResult>(ctx, step, ACTIVITIES.preparePendingOperation, validated);

    status("finalize");
    const issued = yield* callStep<OrderRef>(ctx, step, ACTIVITIES.finalizeWithVaultCsr, { order: ready, csr: pending.pending.csr });

    status("download");
    const chain = yield* callStep<string[]>(ctx, step, ACTIVITIES.downloadCertificateChain, { order: issued });

    status("merge");
    const merged = yield* callStep<{ certificateName: string; version: string; thumbprint: string; notBefore: string; notAfter: string }>(
      ctx,
      step,
      ACTIVITIES.mergeIssuedChain,
      {
        certificateName: validated.certificateName,
        dnsNames: validated.dnsNames,
        chain,
      },
    );

    const result: IssueOrchestrationOutput = {
      ...issueResult(merged, validated, pending.action, ctx.df.currentUtcDateTime.getTime() - startedAt, issued.replaces),
      reason,
    };

    if (!challengesCleaned) {
      status("cleanup");
      try {
        yield* callStep(ctx, step, ACTIVITIES.cleanupChallenges, { challenges: plan.challenges });
      } catch (err) {
        warnings.push(`Certificate issued, but removing the challenge TXT values failed: ${asStepError("cleanup", err).error.message}`);
      }
      challengesCleaned = true;
    }
    if (warnings.length > 0) result.warnings = warnings;

    status("notify");
    const time = ctx.df.currentUtcDateTime.toISOString();
    const data = {
      certificateName: result.certificateName,
      dnsNames: result.dnsNames,
      version: result.version,
      thumbprint: result.thumbprint,
      notBefore: result.notBefore,
      notAfter: result.notAfter,
    };
    const notified = yield* callBestEffort(ctx, ACTIVITIES.notify, {
      type: reason === "renew" ? "certificate.renewed" : "certificate.issued",
      data: reason === "renew" ? { ...data, ...(input.renewalReason ? { reason: input.renewalReason } : { reason: "manual" }) } : data,
      time,
      operationId,
    });
    result.notifications = notificationSummaries(notified);
    result.operationId = operationId;
    yield* callBestEffort(ctx, ACTIVITIES.trackOutcome, {
      name: reason === "renew" ? "renewCertificate" : "issueCertificate",
      success: true,
      certificateName: result.certificateName,
      namesCount: result.dnsNames.length,
      durationMs: result.durationMs,
      operationId,
    });
    status("done", { notifications: result.notifications });
    return result;
  } catch (err) {
    failure = asStepError(step, err);
    const failedStep = failure.step;
    status("failed", { failedStep, error: failure.error.message });
    // The pending operation: only when this attempt got as far as creating (or reusing) one; matched by request id
    // when known so another attempt's operation is never touched. Pending authorizations are deactivated.
    yield* callBestEffort(
      ctx,
      ACTIVITIES.abandonIssuance,
      {
        certificateName: pendingReached ? validated?.certificateName : undefined,
        requestId: pending?.pending.requestId,
        authorizationUrls: plan?.order.authorizations,
      },
      true,
    );
    const time = ctx.df.currentUtcDateTime.toISOString();
    const name = certificateName ?? "";
    const dnsNames = validated?.dnsNames ?? (Array.isArray(input.dnsNames) ? input.dnsNames : input.dnsNames ? [input.dnsNames] : []);
    if (reason === "renew") {
      // Count the failure on the certificate (the next scan's backoff and `certificate.expiring` read it).
      let attempt = 1;
      if (name) {
        const recorded = yield* callBestEffort(
          ctx,
          ACTIVITIES.recordRenewalFailure,
          { certificateName: name, failureId: ctx.df.newGuid(ctx.df.instanceId), at: time },
          true,
        );
        const value = (recorded as { ok?: boolean; value?: { attempts?: unknown } } | undefined)?.value;
        if (typeof value?.attempts === "number" && value.attempts >= 1) attempt = value.attempts;
      }
      const notified = yield* callBestEffort(ctx, ACTIVITIES.notify, {
        type: "certificate.renewal_failed",
        data: { certificateName: name, dnsNames, failedStep, error: reportedError(failure.error), attempt, operationId },
        time,
        operationId,
      });
      status("failed", { failedStep, error: failure.error.message, notifications: notificationSummaries(notified) });
    }
    yield* callBestEffort(ctx, ACTIVITIES.trackOutcome, {
      name: reason === "renew" ? "renewCertificate" : "issueCertificate",
      success: false,
      certificateName: name,
      namesCount: dnsNames.length,
      durationMs: ctx.df.currentUtcDateTime.getTime() - startedAt,
      failedStep,
      error: failure.error.message,
      operationId,
    });
    throw new Error(`${failedStep}: ${failure.error.message}`);
  } finally {
    // TXT values go in every outcome (idempotent: removes only our values).
    if (plan && !challengesCleaned) {
      yield* callBestEffort(ctx, ACTIVITIES.cleanupChallenges, { challenges: plan.challenges }, true);
    }
  }
}
