/**
 * The issuance flow in this process (RFC 8555 §7.4 with DNS-01, key generated in Key Vault): ./flow run by the
 * in-process driver (./direct), with the TXT values removed in every outcome and, on failure, the pending operation
 * and pending authorizations cleaned up; the same steps, order and reporting as the durable orchestration.
 */
import { newOperationId } from "../telemetry/correlation";
import type { IssuanceDeps } from "./deps";
import { directClock, runDirect, type DirectEnv } from "./direct";
import { issuanceFlow, type IssueFlowInput, type IssueFlowOutput } from "./flow";
import { StepFailedError } from "./step-error";
import type { IssueRequest, IssueResult } from "./steps";

/** Settings and telemetry, to send the flow's webhooks and telemetry (the CLI passes them; a Runtime has them). */
export type Reporting = Omit<DirectEnv, "deps">;

/** Runs the issuance flow in this process; a failed step throws its original error (ValidationError, UpstreamError ...). */
export async function runIssuance(input: IssueFlowInput, deps: IssuanceDeps, reporting: Reporting = {}): Promise<IssueFlowOutput> {
  try {
    return await runDirect(issuanceFlow({ operationId: newOperationId(), ...input }, directClock), { deps, ...reporting });
  } catch (err) {
    throw err instanceof StepFailedError && err.cause !== undefined ? err.cause : err;
  }
}

function asIssueResult(out: IssueFlowOutput): IssueResult & { warnings?: string[] } {
  const { reason: _reason, notifications: _notifications, operationId: _operationId, ...result } = out;
  return result;
}

/**
 * Issues (or re-issues) a certificate into Key Vault. Nothing is written before validation passes. Returns the new
 * version's facts (and `warnings` when only the final TXT cleanup failed); throws ValidationError (bad input),
 * ConfigurationError (e.g. EAB missing) or UpstreamError. With `reporting`, sends `certificate.issued` and telemetry.
 */
export async function issueCertificate(request: IssueRequest, deps: IssuanceDeps, reporting: Reporting = {}): Promise<IssueResult> {
  return asIssueResult(await runIssuance({ ...request, reason: "issue" }, deps, reporting));
}

/**
 * Renews one certificate now (a new version under the same name, same names and key options, ARI `replaces`). With
 * `reporting`, sends `certificate.renewed` / `certificate.renewal_failed`; a failure is counted on the certificate.
 */
export async function renewCertificate(certificateName: string, deps: IssuanceDeps, reporting: Reporting = {}): Promise<IssueResult> {
  return asIssueResult(await runIssuance({ certificateName, reason: "renew" }, deps, reporting));
}
