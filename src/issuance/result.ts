/**
 * The result of one issuance, built the same way by the in-process flow (./issue) and the durable orchestration.
 * Pure and free of SDK imports, so the orchestration module stays light at cold start.
 */
import type { CertificateVersionInfo, EnsurePendingResult } from "../keyvault/certificates";
import type { IssueResult } from "./steps";

export function issueResult(
  merged: Omit<CertificateVersionInfo, "id" | "dnsNames">,
  requested: { dnsNames: string[] },
  pendingAction: EnsurePendingResult["action"],
  durationMs: number,
  replaces?: string,
): IssueResult {
  const result: IssueResult = {
    certificateName: merged.certificateName,
    version: merged.version,
    thumbprint: merged.thumbprint,
    notBefore: merged.notBefore,
    notAfter: merged.notAfter,
    dnsNames: requested.dnsNames,
    durationMs,
    pendingAction,
  };
  if (replaces) result.replaces = replaces;
  return result;
}
