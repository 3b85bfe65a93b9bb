/**
 * Revocation of a vault certificate at the CA (RFC 8555 §7.6, signed with the account key), optionally disabling the
 * vault version so consumers stop picking it up.
 */
import { revokeAtCa, type RevocationReason } from "../acme/revoke";
import { certificatePem, describeVersion, disableVersion, getCurrentCertificate } from "../keyvault/certificates";
import { assertMayManage } from "../keyvault/ownership";
import type { IssuanceDeps } from "./deps";

export interface RevokeResult {
  certificateName: string;
  vault: string;
  version: string;
  thumbprint: string;
  reason?: RevocationReason;
  alreadyRevoked: boolean;
  disabled: boolean;
}

/**
 * Revokes the current version of `certificateName`. Idempotent (an already revoked certificate is fine). One tagged
 * kv-acme-ignore=true is refused (409 CertificateIgnored) before anything else, whichever way this is called (the CLI,
 * the revoke orchestration's activity).
 */
export async function revokeCertificate(
  certificateName: string,
  options: { reason?: RevocationReason; disable?: boolean },
  deps: IssuanceDeps,
): Promise<RevokeResult> {
  await assertMayManage(deps.certificates, certificateName, { ignoreOnly: true });
  const current = await getCurrentCertificate(deps.certificates, certificateName);
  const info = describeVersion(current);
  const { alreadyRevoked } = await revokeAtCa(await deps.acme(), certificatePem(current), options.reason);
  if (options.disable) await disableVersion(deps.certificates, certificateName, info.version);
  deps.progress("acme", `${certificateName} version ${info.version} ${alreadyRevoked ? "was already revoked" : "revoked"}`);
  const result: RevokeResult = {
    certificateName,
    vault: deps.vault,
    version: info.version,
    thumbprint: info.thumbprint,
    alreadyRevoked,
    disabled: options.disable ?? false,
  };
  if (options.reason) result.reason = options.reason;
  return result;
}
