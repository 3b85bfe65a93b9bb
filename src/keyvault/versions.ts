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
 * The newest issued version (one with a certificate; pending versions have none) other than the one whose leaf has
 * `exceptThumbprint` (a merge retried after it happened). Undefined when there is none.
 */
export async function latestIssuedVersion(
  client: CertificateClient,
  certificateName: string,
  exceptThumbprint?: string,
): Promise<IssuedVersion | undefined> {
  let latest: IssuedVersion | undefined;
  let latestOrder = "";
  try {
    for await (const v of client.listPropertiesOfCertificateVersions(certificateName)) {
      const thumbprint = v.x509Thumbprint && v.x509Thumbprint.length > 0 ? Buffer.from(v.x509Thumbprint).toString("hex").toUpperCase() : "";
      if (!thumbprint || thumbprint === exceptThumbprint || !v.version || !v.expiresOn) continue;
      // Key Vault's created time has one-second resolution: then the later NotBefore, then the later listed, wins.
      const createdOn = (v.createdOn ?? v.notBefore ?? new Date(0)).toISOString();
      const order = `${createdOn}|${(v.notBefore ?? new Date(0)).toISOString()}`;
      if (latest && order < latestOrder) continue;
      latestOrder = order;
      latest = {
        version: v.version,
        thumbprint,
        notAfter: v.expiresOn.toISOString(),
        createdOn,
        enabled: v.enabled ?? false,
        tags: v.tags ?? {},
      };
      if (v.notBefore) latest.notBefore = v.notBefore.toISOString();
      if (v.updatedOn) latest.updatedOn = v.updatedOn.toISOString();
    }
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw vaultError(`listing the versions of ${certificateName}`, err);
  }
  return latest;
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
