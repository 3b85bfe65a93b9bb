/**
 * The issuance flow's part of the issuer guards (./merge-guard decides, the merge step gathers): what a merge refused
 * for its issuer or merged with another issuer or a shorter lifetime reports. Generator helpers of ./flow, no I/O.
 */
import type { Flow, FlowClock } from "./flow";
import { StepFailedError } from "./step-error";
import type { MergedVersion, RefusedMerge } from "./merge-step";
import type { ValidatedRequest } from "./steps";

/** A version refused for its issuer: `certificate.issuer_rejected`, then the step fails (the flow abandons the pending operation). */
export function* rejectUnpinned(
  refused: RefusedMerge["refused"],
  validated: Pick<ValidatedRequest, "certificateName" | "dnsNames">,
  step: string,
  clock: FlowClock,
  operationId: string | undefined,
): Flow<never> {
  const data = {
    certificateName: validated.certificateName,
    dnsNames: validated.dnsNames,
    issuer: refused.issuer,
    issuerPins: refused.issuerPins,
    ...(refused.previous ? { currentVersion: refused.previous.version } : {}),
    message: refused.message,
    ...(operationId ? { operationId } : {}),
  };
  const input = { type: "certificate.issuer_rejected", data, time: clock.now().toISOString(), operationId };
  yield { kind: "try", call: "notify", input, retry: false };
  throw new StepFailedError(step, { name: "ConflictError", code: refused.code, message: refused.message, status: 409, retryable: false });
}

/** `certificate.issuer_changed` and `certificate.lifetime_shortened` for a merged version that has them (type and data). */
export function trustChangeEvents(merged: MergedVersion): Array<{ type: string; data: Record<string, unknown> }> {
  const { previous } = merged;
  if (!previous) return [];
  const base = { certificateName: merged.certificateName, dnsNames: merged.dnsNames, version: merged.version };
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  if (merged.issuerChanged && previous.issuer)
    events.push({
      type: "certificate.issuer_changed",
      data: {
        ...base,
        thumbprint: merged.thumbprint,
        issuer: merged.issuer,
        previousVersion: previous.version,
        previousIssuer: previous.issuer,
        issuerPins: merged.issuerPins,
      },
    });
  if (merged.lifetimeShortened)
    events.push({
      type: "certificate.lifetime_shortened",
      data: { ...base, notAfter: merged.notAfter, previousVersion: previous.version, previousNotAfter: previous.notAfter },
    });
  return events;
}
