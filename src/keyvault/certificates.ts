/**
 * The Key Vault side of issuance with an in-vault key (issuer "Unknown"): create -> pending operation with CSR ->
 * (ACME finalize elsewhere) -> merge the CA's chain. Every function takes the CertificateClient and plain values and
 * returns JSON-serializable results, so each can run as a durable activity; every function is idempotent.
 *
 * The stale-operation rule (fixing a known pain of the leading tool): an in-progress pending operation is reused only
 * when its CSR asks for exactly the requested names, key and usages; otherwise it is cancelled, deleted and created afresh.
 */
import { createHash } from "node:crypto";
import type { CertificateClient, CertificatePolicy, KeyVaultCertificate } from "@azure/keyvault-certificates";
import { ConflictError, NotFoundError, UpstreamError, ValidationError, errorMessage, retryAfterOf, statusOf } from "../shared/errors";
import { identityFailureOf } from "../shared/credential";
import { derToPem, pemBlocks, pemToDer, x509 } from "../shared/x509";
import { failedPending } from "./pending-failed";
import { buildCertificatePolicy, describeCsr, pendingOperationMatches, type KeyOptions } from "./policy";

/** A Key Vault pending certificate operation, JSON-serializable. */
export interface PendingOperation {
  certificateName: string;
  /** "inProgress" | "completed" | "cancelled" | "failed" */
  status: string;
  /** The CSR as standard base64 DER (empty when the vault does not report one). */
  csr: string;
  requestId?: string;
  cancellationRequested: boolean;
  statusDetails?: string;
  error?: { code?: string; message?: string };
  target?: string;
}

/** A merged certificate version. */
export interface CertificateVersionInfo {
  certificateName: string;
  version: string;
  /** SHA-1 of the DER certificate, upper-case hex (what the portal and Windows show). */
  thumbprint: string;
  notBefore: string;
  notAfter: string;
  dnsNames: string[];
  id: string;
  /**
   * Why the merged version's tags could not be written (a permanent failure: Key Vault refused the update). The
   * version is issued and current all the same; only its kv-acme tags beyond the ones set at create are missing.
   */
  tagsNotWritten?: string;
}

export type PendingAction = "created" | "reused" | "replaced";

export interface EnsurePendingResult {
  pending: PendingOperation;
  action: PendingAction;
  reason: string;
}

/** A Key Vault failure as an UpstreamError (retryable on 429, 5xx and network errors). */
export function vaultError(action: string, err: unknown): UpstreamError {
  // A token failure is the managed identity's, not Key Vault's.
  const identity = identityFailureOf(err);
  if (identity) return identity;
  const status = statusOf(err);
  return new UpstreamError("KeyVault", `Key Vault: ${action} failed: ${errorMessage(err)}`, {
    status: status ?? 502,
    retryable: status === undefined || status === 429 || status >= 500,
    cause: err,
    retryAfterMs: retryAfterOf(err),
  });
}

function toPending(
  certificateName: string,
  op: {
    status?: string;
    csr?: Uint8Array;
    requestId?: string;
    cancellationRequested?: boolean;
    statusDetails?: string;
    error?: { code?: string; message?: string };
    target?: string;
  },
): PendingOperation {
  const result: PendingOperation = {
    certificateName,
    status: op.status ?? "unknown",
    csr: op.csr ? Buffer.from(op.csr).toString("base64") : "",
    cancellationRequested: op.cancellationRequested ?? false,
  };
  if (op.requestId) result.requestId = op.requestId;
  if (op.statusDetails) result.statusDetails = op.statusDetails;
  if (op.error && (op.error.code || op.error.message)) result.error = { code: op.error.code, message: op.error.message };
  if (op.target) result.target = op.target;
  return result;
}

/**
 * The pending operation of a certificate, or undefined when there is none (404). The body of the last read of the
 * operation is kept (`onResponse`): when Key Vault ended it `failed` (a CA-integrated issuer refused it) the SDK's
 * poller throws a plain Error with the error's message only, and the operation (its error code, request id, status
 * details) is read from that body instead.
 */
export async function getPending(client: CertificateClient, certificateName: string): Promise<PendingOperation | undefined> {
  let body: unknown;
  const onResponse = (response: { request: { url: string; method: string }; parsedBody?: unknown }) => {
    if (response.request.method === "GET" && /\/pending(?:\?|$)/.test(response.request.url)) body = response.parsedBody;
  };
  try {
    const poller = await client.getCertificateOperation(certificateName, { onResponse });
    const op = poller.getOperationState().certificateOperation;
    return op ? toPending(certificateName, op) : undefined;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    if (err instanceof Error && err.constructor === Error && statusOf(err) === undefined && !("code" in err))
      return failedPending(certificateName, body, err.message);
    throw vaultError(`reading the pending operation of ${certificateName}`, err);
  }
}

/**
 * Creates a new certificate version with `policy` (issuer Unknown) and returns its pending operation with the CSR.
 * Throws ConflictError when a pending operation is already in progress (Key Vault answers 409).
 */
export async function createPending(
  client: CertificateClient,
  certificateName: string,
  policy: CertificatePolicy,
  options: { tags?: Record<string, string> } = {},
): Promise<PendingOperation> {
  try {
    await client.beginCreateCertificate(certificateName, policy, { tags: options.tags });
    // The create poller's public state omits the operation; read it (with its CSR) once.
    const op = await getPending(client, certificateName);
    if (!op?.csr)
      throw new UpstreamError("KeyVault", `Key Vault created ${certificateName} but returned no CSR; is the policy issuer "Unknown"?`);
    return op;
  } catch (err) {
    if (err instanceof UpstreamError) throw err;
    if (statusOf(err) === 409) {
      throw new ConflictError(`Certificate ${certificateName} already has a pending operation in progress`, { certificateName });
    }
    if (statusOf(err) === 400) throw new ValidationError(`Key Vault rejected the certificate policy: ${errorMessage(err)}`, "policy");
    throw vaultError(`creating ${certificateName}`, err);
  }
}

/** Requests cancellation of an in-progress pending operation. Idempotent: nothing pending or not in progress is fine. */
export async function cancelPending(client: CertificateClient, certificateName: string): Promise<PendingOperation | undefined> {
  try {
    const poller = await client.getCertificateOperation(certificateName);
    const op = poller.getOperationState().certificateOperation;
    if (op?.status !== "inProgress" || op.cancellationRequested) return op ? toPending(certificateName, op) : undefined;
    await poller.cancelOperation();
    const after = poller.getOperationState().certificateOperation;
    return after ? toPending(certificateName, after) : undefined;
  } catch (err) {
    const status = statusOf(err);
    if (status === 404 || status === 403 || status === 400) return getPending(client, certificateName);
    throw vaultError(`cancelling the pending operation of ${certificateName}`, err);
  }
}

/** Deletes the pending operation (the disabled version stays). Idempotent: returns false when there was none. */
export async function deletePending(client: CertificateClient, certificateName: string): Promise<boolean> {
  try {
    await client.deleteCertificateOperation(certificateName);
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw vaultError(`deleting the pending operation of ${certificateName}`, err);
  }
}

/**
 * Cancels and deletes the pending operation so the next attempt is not blocked. When `requestId` is given, only an
 * operation with that request id is touched (another attempt's operation is left alone). Idempotent.
 */
export async function discardPending(
  client: CertificateClient,
  certificateName: string,
  requestId?: string,
): Promise<{ discarded: boolean }> {
  const current = await getPending(client, certificateName);
  if (!current) return { discarded: false };
  if (requestId && current.requestId && current.requestId !== requestId) return { discarded: false };
  if (current.status !== "inProgress") {
    // A completed operation is the record of a merged version: leave it. Cancelled/failed ones only block nothing.
    if (current.status === "completed") return { discarded: false };
    return { discarded: await deletePending(client, certificateName) };
  }
  await cancelPending(client, certificateName);
  return { discarded: await deletePending(client, certificateName) };
}

/**
 * Makes sure an in-progress pending operation for exactly these names and key exists and returns it: creates one,
 * reuses a matching one, or cancels + deletes a stale one (different names or key) and creates afresh.
 */
export async function ensurePending(
  client: CertificateClient,
  certificateName: string,
  names: string[],
  keyOptions: KeyOptions,
  options: { tags?: Record<string, string> } = {},
): Promise<EnsurePendingResult> {
  const policy = buildCertificatePolicy(names, keyOptions);
  for (let attempt = 1; attempt <= 3; attempt++) {
    const existing = await getPending(client, certificateName);
    if (existing?.status === "inProgress" && !existing.cancellationRequested && existing.csr) {
      const match = pendingOperationMatches(describeCsr(existing.csr), names, keyOptions);
      if (match.reuse) return { pending: existing, action: "reused", reason: match.reason };
      await discardPending(client, certificateName);
      try {
        return { pending: await createPending(client, certificateName, policy, options), action: "replaced", reason: match.reason };
      } catch (err) {
        if (err instanceof ConflictError) continue; // someone else created one meanwhile: look again
        throw err;
      }
    }
    if (existing?.status === "inProgress") await discardPending(client, certificateName); // cancellation requested or no CSR
    try {
      const pending = await createPending(client, certificateName, policy, options);
      return { pending, action: existing?.status === "inProgress" ? "replaced" : "created", reason: "no usable pending operation" };
    } catch (err) {
      if (err instanceof ConflictError) continue;
      throw err;
    }
  }
  throw new ConflictError(`Certificate ${certificateName}: another client keeps creating pending operations; try again later`, {
    certificateName,
  });
}

function leafInfo(certificateName: string, version: string, id: string, der: Uint8Array): CertificateVersionInfo {
  const cert = new x509.X509Certificate(der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const dnsNames = san ? san.names.items.filter((n) => n.type === "dns").map((n) => n.value.toLowerCase()) : [];
  return {
    certificateName,
    version,
    id,
    thumbprint: createHash("sha1").update(der).digest("hex").toUpperCase(),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    dnsNames,
  };
}

/** Describes a Key Vault certificate version from its DER `cer`. */
export function describeVersion(cert: KeyVaultCertificate): CertificateVersionInfo {
  if (!cert.cer || cert.cer.length === 0) throw new NotFoundError(`Certificate ${cert.name} has no issued version yet (it is pending)`);
  return leafInfo(cert.name, cert.properties.version ?? "", cert.id ?? "", cert.cer);
}

/** Splits a PEM chain into DER certificates (leaf first, as the CA returned it; RFC 8555 §7.4.2). */
export function chainToDer(chainPems: string[] | string): Buffer[] {
  const blocks = (Array.isArray(chainPems) ? chainPems : [chainPems]).flatMap((p) => pemBlocks(p));
  if (blocks.length === 0) throw new ValidationError("no PEM certificate found in the chain", "chain");
  return blocks.map(pemToDer);
}

/**
 * Merges the CA's chain (leaf + intermediates) into the pending operation and tags the new version. Idempotent: when
 * the merge already happened (a retried activity), the existing version with the same leaf is returned. A transient
 * failure to tag is thrown (the retried call finds the merged version and tags it, never merging a second one); a
 * permanent one is returned in `tagsNotWritten`, since the version is issued and current whatever its tags.
 */
export async function mergeChain(
  client: CertificateClient,
  certificateName: string,
  chainPems: string[] | string,
  options: { tags?: Record<string, string>; requestId?: string } = {},
): Promise<CertificateVersionInfo> {
  const ders = chainToDer(chainPems);
  const leaf = ders[0] as Buffer;
  let merged: KeyVaultCertificate;
  try {
    merged = await client.mergeCertificate(certificateName, ders);
  } catch (err) {
    // A retried merge (the first one was acknowledged, but its activity's completion was never recorded: the host
    // died) is refused, the operation being no longer in progress; the current version then has this leaf. When that
    // read fails too, the merge may well have happened: a transient failure (retried), never a refusal of the merge.
    let existing: KeyVaultCertificate | undefined;
    try {
      existing = await client.getCertificate(certificateName);
    } catch (readErr) {
      if (statusOf(readErr) !== 404) throw vaultError(`reading ${certificateName} after its merge failed (${errorMessage(err)})`, readErr);
    }
    if (!(existing?.cer && Buffer.from(existing.cer).equals(leaf))) {
      await explainEndedPending(client, certificateName, options.requestId);
      const status = statusOf(err);
      if (status === 404) throw new NotFoundError(`Certificate ${certificateName} has no pending operation to merge into`);
      if (status === 400 || status === 403) throw new ValidationError(`Key Vault refused the merge: ${errorMessage(err)}`, "chain");
      throw vaultError(`merging the chain into ${certificateName}`, err);
    }
    merged = existing;
  }
  const version = merged.properties.version ?? "";
  const info = leafInfo(certificateName, version, merged.id ?? "", leaf);
  if (options.tags && Object.keys(options.tags).length > 0) {
    try {
      await tagVersion(client, certificateName, version, options.tags);
    } catch (err) {
      if (!(err instanceof UpstreamError) || err.retryable) throw err;
      info.tagsNotWritten = err.message;
    }
  }
  return info;
}

/**
 * Throws a clear error when a merge failed because the pending operation is no longer this issuance's: Key Vault
 * ended it `failed` (a CA-integrated issuer refused it: its error object is quoted), or it was `overwritten` (a
 * later create replaced it: another request id, or none). Returns when neither applies.
 */
async function explainEndedPending(client: CertificateClient, certificateName: string, requestId: string | undefined): Promise<void> {
  // Read failures propagate (a transient one is retried): an unreadable operation is not an overwritten one.
  const current = await getPending(client, certificateName);
  // A failed operation whose body was not readable has no request id: it is taken as this issuance's.
  const ours =
    requestId === undefined || current?.requestId === requestId || (current?.status === "failed" && current.requestId === undefined);
  if (current?.status === "failed" && ours) {
    const why = current.error
      ? `${current.error.code ?? "error"}: ${current.error.message ?? ""}`
      : (current.statusDetails ?? "no detail given");
    throw new UpstreamError(
      "KeyVault",
      `Key Vault: the pending operation of ${certificateName} ended failed (${why}); nothing was merged`,
      {
        status: 409,
        retryable: false,
        details: {
          pendingStatus: "failed",
          pendingError: current.error,
          ...(current.error?.code ? { upstreamCode: current.error.code } : {}),
        },
      },
    );
  }
  if (requestId !== undefined && !ours) {
    throw new ConflictError(
      `Key Vault: the pending operation of ${certificateName} was overwritten by another request (now ${current ? `${current.requestId ?? "no request id"}, ${current.status}` : "none"}; this issuance's was ${requestId}); nothing was merged`,
      { certificateName, pendingStatus: "overwritten" },
      "PendingOperationOverwritten",
    );
  }
}

/** Sets the tags of one version (the given set replaces the version's tags, as Key Vault's PATCH does). */
export async function tagVersion(
  client: CertificateClient,
  certificateName: string,
  version: string,
  tags: Record<string, string>,
): Promise<void> {
  try {
    await client.updateCertificateProperties(certificateName, version, { tags });
  } catch (err) {
    throw vaultError(`tagging ${certificateName}/${version}`, err);
  }
}

/** The current version with policy, or NotFoundError. */
export async function getCurrentCertificate(client: CertificateClient, certificateName: string) {
  try {
    return await client.getCertificate(certificateName);
  } catch (err) {
    if (statusOf(err) === 404) throw new NotFoundError(`Certificate ${certificateName} was not found in the vault`, { certificateName });
    throw vaultError(`reading ${certificateName}`, err);
  }
}

/** Leaf certificate of a version as PEM. */
export function certificatePem(cert: KeyVaultCertificate): string {
  if (!cert.cer) throw new NotFoundError(`Certificate ${cert.name} has no issued version`);
  return derToPem(cert.cer);
}

/** Disables one version (or the current one when `version` is empty). */
export async function disableVersion(client: CertificateClient, certificateName: string, version: string): Promise<void> {
  try {
    await client.updateCertificateProperties(certificateName, version, { enabled: false });
  } catch (err) {
    throw vaultError(`disabling ${certificateName}/${version}`, err);
  }
}
