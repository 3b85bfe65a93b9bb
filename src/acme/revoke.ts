/**
 * Certificate revocation at the CA, signed with the account key (RFC 8555 §7.6), with the RFC 5280 §5.3.1 reason.
 */
import { ValidationError } from "../shared/errors";
import { acmeError, withNonceRetry, type AcmeSession } from "./client";

import { REVOCATION_REASONS, type RevocationReason } from "./revocation-reasons";

export { REVOCATION_REASONS, type RevocationReason };

/** Parses a reason name (case-insensitive) or code; throws ValidationError naming the accepted ones. */
export function parseRevocationReason(input: string | number | undefined): RevocationReason | undefined {
  if (input === undefined || input === "") return undefined;
  const entries = Object.entries(REVOCATION_REASONS) as [RevocationReason, number][];
  const found = entries.find(
    ([name, code]) => name.toLowerCase() === String(input).trim().toLowerCase() || String(code) === String(input).trim(),
  );
  if (!found) {
    throw new ValidationError([
      { field: "reason", message: `"${input}" is not a revocation reason; use one of ${entries.map(([n]) => n).join(", ")}` },
    ]);
  }
  return found[0];
}

/**
 * Revokes a certificate (PEM, leaf first) at the CA. Idempotent: a certificate the CA reports as already revoked
 * counts as revoked (`alreadyRevoked: true`).
 */
export async function revokeAtCa(
  session: AcmeSession,
  certificatePem: string,
  reason?: RevocationReason,
): Promise<{ alreadyRevoked: boolean }> {
  try {
    await withNonceRetry(() =>
      session.client.revokeCertificate(certificatePem, reason === undefined ? {} : { reason: REVOCATION_REASONS[reason] }),
    );
    return { alreadyRevoked: false };
  } catch (err) {
    if (/alreadyRevoked|already (been )?revoked/i.test(String((err as Error).message))) return { alreadyRevoked: true };
    throw acmeError("revoking the certificate", err);
  }
}
