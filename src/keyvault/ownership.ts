/**
 * The ownership guard every writing route runs before it touches a certificate: reads the latest version's tags and
 * policy issuer (one GET) and applies `decideOwnership` (./tags). Refusals are OwnershipError (409, nothing written).
 */
import type { CertificateClient } from "@azure/keyvault-certificates";
import { OwnershipError, statusOf } from "../shared/errors";
import { vaultError } from "./certificates";
import { decideOwnership } from "./tags";

/** The tags and policy issuer of a certificate's latest version; undefined when the vault has no such certificate. */
export async function readOwnership(
  client: CertificateClient,
  certificateName: string,
): Promise<{ tags: Record<string, string>; issuerName?: string; issued: boolean } | undefined> {
  try {
    const cert = await client.getCertificate(certificateName);
    const out: { tags: Record<string, string>; issuerName?: string; issued: boolean } = {
      tags: cert.properties.tags ?? {},
      issued: (cert.cer?.length ?? 0) > 0,
    };
    if (cert.policy?.issuerName) out.issuerName = cert.policy.issuerName;
    return out;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw vaultError(`reading ${certificateName}`, err);
  }
}

/**
 * Throws OwnershipError unless kv-acme may write to `certificateName` (see decideOwnership). Returns whether the
 * request adopts a certificate kv-acme did not manage, and what it read of the latest version (absent: no such
 * certificate; its tags are `existing.tags`).
 */
export async function assertMayManage(
  client: CertificateClient,
  certificateName: string,
  options: { adopt?: boolean; ignoreOnly?: boolean } = {},
): Promise<{ adopting: boolean; existing?: Awaited<ReturnType<typeof readOwnership>> }> {
  const existing = await readOwnership(client, certificateName);
  const { adopting } = assertOwned(certificateName, existing, options);
  return existing ? { adopting, existing } : { adopting };
}

/**
 * decideOwnership over what the caller already read of the certificate (its tags and policy issuer; undefined: no
 * such certificate), as a guard: throws OwnershipError (409, nothing written) when kv-acme may not write to it.
 */
export function assertOwned(
  certificateName: string,
  existing: Parameters<typeof decideOwnership>[1],
  options: Parameters<typeof decideOwnership>[2] = {},
): { adopting: boolean } {
  const decision = decideOwnership(certificateName, existing, options);
  if (!decision.ok) throw new OwnershipError(decision.code, decision.message, { certificateName, ownerTags: decision.ownerTags });
  return { adopting: decision.adopting };
}
