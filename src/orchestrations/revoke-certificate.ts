/**
 * The `revokeCertificate` orchestration: revoke the current version of a vault certificate at the CA (RFC 8555 §7.6,
 * signed with the account key), optionally disable that version in the vault, then a `certificate.revoked` webhook
 * and a telemetry outcome. Input: `{ certificateName, reason?, disable?, operationId? }` (reason: an RFC 5280
 * CRLReason name or code, e.g. "keyCompromise" or 1). Output: the RevokeResult.
 */
import type * as df from "durable-functions";
import type { RevokeResult } from "../issuance/revoke";
import { ACTIVITIES } from "./activity-names";
import { callBestEffort, callStep, orchestrationOperationId, reportedError } from "./calls";
import { StepFailedError } from "./outcome";

/** The revokeAtCa activity's result: the RevokeResult plus the names and the CRLReason code for the webhook. */
export interface RevokeOutput extends RevokeResult {
  dnsNames: string[];
  reasonCode?: number;
}

export interface RevokeOrchestrationInput {
  certificateName: string;
  /** The certificate's vault (default: the default vault). */
  vault?: string;
  reason?: string | number;
  disable?: boolean;
  operationId?: string;
}

/** The orchestrator function registered as ORCHESTRATIONS.revoke. */
export function* revokeCertificateOrchestrator(ctx: df.OrchestrationContext): Generator<df.Task, RevokeOutput, unknown> {
  const input = (ctx.df.getInput() ?? {}) as RevokeOrchestrationInput;
  const operationId = orchestrationOperationId(ctx, input.operationId);
  const inVault = input.vault === undefined ? {} : { vault: input.vault };
  const started = ctx.df.currentUtcDateTime.getTime();
  ctx.df.setCustomStatus({ step: "revoke", certificateName: input.certificateName });
  let result: RevokeOutput;
  try {
    result = yield* callStep<RevokeOutput>(ctx, "revoke", ACTIVITIES.revokeAtCa, {
      ...inVault,
      certificateName: input.certificateName,
      reason: input.reason,
      disable: input.disable === true,
    });
  } catch (err) {
    const failure =
      err instanceof StepFailedError ? err : new StepFailedError("revoke", { name: "Error", message: String(err), retryable: false });
    ctx.df.setCustomStatus({ step: "failed", certificateName: input.certificateName, failedStep: "revoke", error: failure.error.message });
    yield* callBestEffort(ctx, ACTIVITIES.trackOutcome, {
      name: "revokeCertificate",
      success: false,
      certificateName: input.certificateName ?? "",
      namesCount: 0,
      durationMs: ctx.df.currentUtcDateTime.getTime() - started,
      failedStep: "revoke",
      error: `${reportedError(failure.error).source}: ${failure.error.message}`,
      operationId,
    });
    throw new Error(`revoke: ${failure.error.message}`);
  }
  ctx.df.setCustomStatus({ step: "notify", certificateName: result.certificateName });
  yield* callBestEffort(ctx, ACTIVITIES.notify, {
    ...inVault,
    type: "certificate.revoked",
    data: {
      certificateName: result.certificateName,
      dnsNames: result.dnsNames,
      version: result.version,
      thumbprint: result.thumbprint,
      ...(result.reasonCode !== undefined ? { reasonCode: result.reasonCode } : {}),
    },
    time: ctx.df.currentUtcDateTime.toISOString(),
    operationId,
  });
  yield* callBestEffort(ctx, ACTIVITIES.trackOutcome, {
    name: "revokeCertificate",
    success: true,
    certificateName: result.certificateName,
    namesCount: result.dnsNames.length,
    durationMs: ctx.df.currentUtcDateTime.getTime() - started,
    operationId,
  });
  ctx.df.setCustomStatus({ step: "done", certificateName: result.certificateName });
  return result;
}
