/**
 * Pending-operation operations for the CLI and the HTTP API: show, cancel, delete, merge a chain from a file, and
 * create with a policy returning the CSR (for a manual or external CA flow).
 */
import { validateCertificateName, validateDnsNames } from "../acme/names";
import {
  cancelPending,
  createPending,
  deletePending,
  getPending,
  mergeChain,
  tagVersion,
  type CertificateVersionInfo,
  type PendingOperation,
} from "../keyvault/certificates";
import { getCertificateVersion } from "../keyvault/versions";
import { assertMayManage } from "../keyvault/ownership";
import { buildCertificatePolicy, parseKeyOptions, type KeyOptionsInput } from "../keyvault/policy";
import { manualPendingTags, mergedByHandTags } from "../keyvault/tags";
import { ConflictError, NotFoundError } from "../shared/errors";
import { derToPem } from "../shared/x509";
import type { IssuanceDeps } from "./deps";
import { guardMerge } from "./merge-step";

/** The pending operation of a certificate, or NotFoundError. */
export async function showPending(certificateName: string, deps: IssuanceDeps): Promise<PendingOperation & { csrPem?: string }> {
  const op = await getPending(deps.certificates, validateCertificateName(certificateName));
  if (!op) throw new NotFoundError(`Certificate ${certificateName} has no pending operation`, { certificateName });
  return op.csr ? { ...op, csrPem: derToPem(Buffer.from(op.csr, "base64"), "CERTIFICATE REQUEST") } : op;
}

/** Requests cancellation. NotFoundError when there is no pending operation. */
export async function cancelPendingOperation(certificateName: string, deps: IssuanceDeps): Promise<PendingOperation> {
  await assertMayManage(deps.certificates, validateCertificateName(certificateName), { ignoreOnly: true });
  const op = await cancelPending(deps.certificates, certificateName);
  if (!op) throw new NotFoundError(`Certificate ${certificateName} has no pending operation`, { certificateName });
  return op;
}

/** Deletes the pending operation. NotFoundError when there is none. */
export async function deletePendingOperation(
  certificateName: string,
  deps: IssuanceDeps,
): Promise<{ certificateName: string; deleted: true }> {
  await assertMayManage(deps.certificates, validateCertificateName(certificateName), { ignoreOnly: true });
  if (!(await deletePending(deps.certificates, certificateName))) {
    throw new NotFoundError(`Certificate ${certificateName} has no pending operation`, { certificateName });
  }
  return { certificateName, deleted: true };
}

/**
 * Merges a PEM chain (leaf first) into the pending operation, behind the same guard as the flow's merge: a chain from
 * an issuer outside the certificate's pins is refused (409 IssuerNotPinned; nothing merged, the pending operation
 * stays). The pins carry on to the new version.
 */
export async function mergePendingOperation(
  certificateName: string,
  chainPem: string,
  deps: IssuanceDeps,
): Promise<CertificateVersionInfo> {
  await assertMayManage(deps.certificates, validateCertificateName(certificateName), { ignoreOnly: true });
  const { decision, issuer } = await guardMerge(certificateName, chainPem, deps);
  if (decision.refused) throw new ConflictError(decision.refused, { certificateName, issuerPins: decision.issuerPins }, "IssuerNotPinned");
  const info = await mergeChain(deps.certificates, certificateName, chainPem);
  // The merged version keeps its pending version's tags (a manual create's: ./tags manualPendingTags); see mergedByHandTags.
  const tags = (await getCertificateVersion(deps.certificates, certificateName, info.version)).properties.tags ?? {};
  const next = mergedByHandTags(tags, issuer, decision.issuerPins);
  if (next) await tagVersion(deps.certificates, certificateName, info.version, next);
  return info;
}

/**
 * Creates a pending operation for the names and key options and returns its CSR (PEM), for another CA to sign. Its
 * version carries kv-acme's tags (manualPendingTags), so the version merged into it is managed (an existing
 * certificate of another owner needs `adopt`, as for issue), and renewals leave the operation alone until it is
 * stale (../keyvault/manual-pending.ts).
 */
export async function createPendingWithPolicy(
  input: { certificateName: string; dnsNames: string[] | string; keyOptions?: KeyOptionsInput; adopt?: boolean },
  deps: IssuanceDeps,
): Promise<PendingOperation & { csrPem: string }> {
  const name = validateCertificateName(input.certificateName);
  const names = validateDnsNames(input.dnsNames);
  const policy = buildCertificatePolicy(names, parseKeyOptions(input.keyOptions ?? {}));
  await assertMayManage(deps.certificates, name, { adopt: input.adopt });
  const op = await createPending(deps.certificates, name, policy, { tags: manualPendingTags({ dnsNames: names, createdAt: new Date() }) });
  return { ...op, csrPem: derToPem(Buffer.from(op.csr, "base64"), "CERTIFICATE REQUEST") };
}
