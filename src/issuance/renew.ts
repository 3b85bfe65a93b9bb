/**
 * Renewal: re-issue a certificate with the names and key options of its current version, sending `replaces` with the
 * RFC 9773 id of the current leaf; and the vault-wide pass that renews every managed certificate that is due.
 */
import type { CertificatePolicy } from "@azure/keyvault-certificates";
import { ariCertificateIdOrUndefined } from "../acme/ari";
import { describeVersion, getCurrentCertificate } from "../keyvault/certificates";
import { getCertificateVersion, latestIssuedVersion } from "../keyvault/versions";
import { assertNoManualPending } from "../keyvault/manual-pending";
import { recordAcmebotUnitBeforeRenewal } from "../keyvault/acmebot-unit";
import { CLIENT_AUTH_EKU, type KeyOptionsInput } from "../keyvault/policy";
import { readManagedTags } from "../keyvault/tags";
import { assertOwned } from "../keyvault/ownership";
import { renewAllFlow, type RenewalSummary } from "../renewal/run";
import { newOperationId } from "../telemetry/correlation";
import { directClock, runDirect, type DirectEnv } from "./direct";
import type { IssuanceDeps } from "./deps";
import type { IssueRequest } from "./steps";

/** Key options of an existing policy, as the request form parseKeyOptions reads. */
export function keyOptionsFromPolicy(policy: CertificatePolicy | undefined): KeyOptionsInput {
  const input: KeyOptionsInput = {};
  if (!policy) return input;
  // An HSM key stays an HSM key across renewals (RSA-HSM-2048, EC-HSM-P256).
  const kty = policy.keyType ?? "RSA";
  const hsm = kty.endsWith("-HSM") ? "-HSM" : "";
  if (kty.replace(/-HSM$/, "") === "EC") input.keyType = `EC${hsm}-${(policy.keyCurveName ?? "P-256").replace("-", "")}`;
  else input.keyType = `RSA${hsm}-${policy.keySize ?? 2048}`;
  if (policy.reuseKey !== undefined) input.reuseKey = policy.reuseKey;
  if (policy.exportable !== undefined) input.exportable = policy.exportable;
  if (policy.contentType) input.contentType = policy.contentType;
  if (policy.enhancedKeyUsage?.includes(CLIENT_AUTH_EKU)) input.clientAuth = true;
  return input;
}

/** The request that renews `certificateName`: same names (from the issued leaf's SANs), same key options, `replaces`. */
export async function renewalRequest(certificateName: string, deps: IssuanceDeps): Promise<IssueRequest> {
  let current = await getCurrentCertificate(deps.certificates, certificateName);
  if (!current.cer || current.cer.length === 0) {
    // A pending operation a person created by hand and has not finished is not taken over (409 ManualPendingOperation).
    await assertNoManualPending(
      deps.certificates,
      certificateName,
      current.properties.tags ?? {},
      deps.settings.manualPendingHoldHours,
      new Date(),
    );
    // The latest version is one an abandoned issuance left (e.g. refused by the issuer pins): renew the newest issued one.
    const issued = await latestIssuedVersion(deps.certificates, certificateName);
    if (issued) current = { ...(await getCertificateVersion(deps.certificates, certificateName, issued.version)), policy: current.policy };
  }
  // The same rule as issue (adopt is an issue-time decision: renew only what kv-acme already manages).
  assertOwned(certificateName, { tags: current.properties.tags ?? {}, issuerName: current.policy?.issuerName });
  // kv-acme's tags replace Acmebot's on the new version: the Acmebot__RenewBeforeExpiry unit they tell is recorded first.
  await recordAcmebotUnitBeforeRenewal(deps, current.properties.tags, new Date());
  const info = describeVersion(current);
  const policyNames = current.policy?.subjectAlternativeNames?.dnsNames ?? [];
  const dnsNames = info.dnsNames.length > 0 ? info.dnsNames : policyNames;
  // A renewal keeps the names it has: overlaps are decided when a certificate is first issued.
  const request: IssueRequest = {
    dnsNames,
    certificateName,
    vault: deps.vault,
    keyOptions: keyOptionsFromPolicy(current.policy),
    allowNameOverlap: true,
  };
  const alias = readManagedTags(current.properties.tags).dnsAlias;
  if (alias) request.dnsAlias = alias;
  // A leaf without AKI has no ARI id: renew without `replaces`.
  const replaces = ariCertificateIdOrUndefined(new Uint8Array(current.cer ?? []));
  if (replaces) request.replacesAriCertId = replaces;
  return request;
}

/**
 * One renewal run in this process (the CLI's `renew --all-due`): the same flow as the timer's `renewCertificates`
 * run (../renewal/run) with the in-process driver, so it sends the same webhooks (renewed, renewal_failed, expiring,
 * summary), telemetry and failure tags, and returns the same summary.
 */
export async function renewAllDue(
  env: Required<Omit<DirectEnv, "onRenewalStarted">> & Pick<DirectEnv, "onRenewalStarted">,
  options: { dryRun?: boolean } = {},
): Promise<RenewalSummary> {
  const runId = `kv-acme-cli@${directClock.now().toISOString()}`;
  return runDirect(renewAllFlow({ dryRun: options.dryRun === true, operationId: newOperationId(), runId }, directClock), env);
}
