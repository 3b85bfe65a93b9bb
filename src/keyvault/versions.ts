/**
 * A certificate's versions: the newest issued one (from the version list, with its tags) and single version reads.
 * Pending versions (no certificate yet) are never "issued".
 */
import type { CertificateClient, KeyVaultCertificate } from "@azure/keyvault-certificates";
import { statusOf } from "../shared/errors";
import { vaultError } from "./certificates";

/** An issued version as the version list reports it (with its tags). */
export interface IssuedVersion {
  version: string;
  /** SHA-1 thumbprint, upper-case hex. */
  thumbprint: string;
  notBefore?: string;
  notAfter: string;
  createdOn: string;
  updatedOn?: string;
  enabled: boolean;
  tags: Record<string, string>;
}

/**
 * The issued versions (those with a certificate; pending versions have none), newest first, except the one whose leaf
 * has `exceptThumbprint` (a merge retried after it happened). Key Vault's created time has one-second resolution:
 * then the later NotBefore, then the later listed, is newer. Empty when there is none (or no such certificate).
 */
export async function issuedVersions(
  client: CertificateClient,
  certificateName: string,
  exceptThumbprint?: string,
): Promise<IssuedVersion[]> {
  const found: { v: IssuedVersion; order: string; index: number }[] = [];
  try {
    for await (const v of client.listPropertiesOfCertificateVersions(certificateName)) {
      const thumbprint = v.x509Thumbprint && v.x509Thumbprint.length > 0 ? Buffer.from(v.x509Thumbprint).toString("hex").toUpperCase() : "";
      if (!thumbprint || thumbprint === exceptThumbprint || !v.version || !v.expiresOn) continue;
      const createdOn = (v.createdOn ?? v.notBefore ?? new Date(0)).toISOString();
      const issued: IssuedVersion = {
        version: v.version,
        thumbprint,
        notAfter: v.expiresOn.toISOString(),
        createdOn,
        enabled: v.enabled ?? false,
        tags: v.tags ?? {},
      };
      if (v.notBefore) issued.notBefore = v.notBefore.toISOString();
      if (v.updatedOn) issued.updatedOn = v.updatedOn.toISOString();
      found.push({ v: issued, order: `${createdOn}|${(v.notBefore ?? new Date(0)).toISOString()}`, index: found.length });
    }
  } catch (err) {
    if (statusOf(err) === 404) return [];
    throw vaultError(`listing the versions of ${certificateName}`, err);
  }
  found.sort((a, b) => (a.order === b.order ? b.index - a.index : a.order < b.order ? 1 : -1));
  return found.map((f) => f.v);
}

/** The newest issued version other than the one whose leaf has `exceptThumbprint` (issuedVersions); undefined when none. */
export async function latestIssuedVersion(
  client: CertificateClient,
  certificateName: string,
  exceptThumbprint?: string,
): Promise<IssuedVersion | undefined> {
  return (await issuedVersions(client, certificateName, exceptThumbprint))[0];
}

/** One version of a certificate (no policy: that belongs to the certificate). */
export async function getCertificateVersion(
  client: CertificateClient,
  certificateName: string,
  version: string,
): Promise<KeyVaultCertificate> {
  try {
    return await client.getCertificateVersion(certificateName, version);
  } catch (err) {
    throw vaultError(`reading ${certificateName}/${version}`, err);
  }
}

/** The leaf (DER) of one version. */
export async function versionLeaf(client: CertificateClient, certificateName: string, version: string): Promise<Uint8Array | undefined> {
  const cert = await getCertificateVersion(client, certificateName, version);
  return cert.cer && cert.cer.length > 0 ? cert.cer : undefined;
}
