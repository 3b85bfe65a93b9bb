/**
 * What the issuance flow (./flow) reports at its end, each outcome in one `report` call (./reporting: the webhook
 * events in order, then the telemetry outcome; one activity of the durable driver): on success `certificate.issued` /
 * `certificate.renewed` and any trust change (./flow-trust); on a failed renewal the failure counted on the
 * certificate first (recordRenewalFailure, whose count the `certificate.renewal_failed` event carries). Generator
 * helpers of ./flow, no I/O.
 */
import type { Flow, FlowClock, IssueFlowInput, IssueFlowOutput, IssueStatus } from "./flow";
import { attempt, notificationSummaries } from "./flow";
import { trustChangeEvents } from "./flow-trust";
import type { ReportInput } from "./reporting";
import { caRetryNotBefore, reportedError, type StepFailedError } from "./step-error";
import type { MergedVersion } from "./merge-step";
import { OWNERSHIP_REFUSALS } from "../shared/errors";

/** The notify outputs of a `report` call (none when it failed). */
function sentOf(reported: unknown): unknown[] {
  const sent = (reported as { sent?: unknown } | undefined)?.sent;
  return Array.isArray(sent) ? sent : [];
}

/** Success: `certificate.issued` / `certificate.renewed` and trust changes, the telemetry outcome, status done. */
export function* reportIssued(
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
  const time = clock.now().toISOString();
  const issued = {
    type: reason === "renew" ? "certificate.renewed" : "certificate.issued",
    data: reason === "renew" ? { ...data, reason: input.renewalReason || "manual" } : data,
  };
  const reportInput = {
    ...(result.vault === undefined ? {} : { vault: result.vault }),
    events: [issued, ...trustChangeEvents(merged)].map((e) => ({ ...e, time, operationId })),
    outcome: {
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
    },
  } as ReportInput;
  const reported = yield* attempt("report", reportInput);
  result.notifications = sentOf(reported).flatMap((sent) => notificationSummaries(sent));
  result.operationId = operationId;
  yield* done({ notifications: result.notifications });
  return result;
}

/**
 * Failure: for renewals the failure counted on the certificate and `certificate.renewal_failed`; the telemetry outcome.
 * A renewal refused because kv-acme does not manage the certificate or is told to ignore it (OwnershipError) was never
 * attempted: nothing is counted on the certificate and no webhook names it.
 */
export function* reportFailed(
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
  const time = clock.now().toISOString();
  const events: ReportInput["events"] = [];
  let notBefore: string | undefined;
  const refused = (OWNERSHIP_REFUSALS as readonly string[]).includes(failure.error.code ?? "");
  if (reason === "renew" && !refused) {
    // Count the failure on the certificate (the next scan's backoff and `certificate.expiring` read it); a CA
    // rateLimited refusal also records the CA's time, before which the renewal decision holds it back.
    notBefore = caRetryNotBefore(failure.error, clock.now());
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
    events.push({ type: "certificate.renewal_failed", data: { ...data, operationId }, time, operationId });
  }
  const reported = yield* attempt("report", {
    ...inVault,
    events,
    outcome: {
      name: reason === "renew" ? "renewCertificate" : "issueCertificate",
      success: false,
      certificateName: name,
      namesCount: dnsNames.length,
      durationMs: clock.now().getTime() - startedAt,
      failedStep,
      error: failure.error.message,
      operationId,
    },
  } as ReportInput);
  if (reason === "renew")
    yield* failed({
      failedStep,
      error: failure.error.message,
      notifications: sentOf(reported).flatMap((sent) => notificationSummaries(sent)),
      ...(notBefore ? { renewNotBefore: notBefore } : {}),
    });
}
