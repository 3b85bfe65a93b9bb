/**
 * Renewal: re-issue a certificate with the names and key options of its current version, sending `replaces` with the
 * RFC 9773 id of the current leaf; and the vault-wide pass that renews every managed certificate that is due.
 */
import type { CertificatePolicy } from "@azure/keyvault-certificates";
import { ariCertificateId } from "../acme/ari";
import { describeVersion, getCurrentCertificate } from "../keyvault/certificates";
import { listInventory } from "../keyvault/inventory";
import type { KeyOptionsInput } from "../keyvault/policy";
import { decideOwnership } from "../keyvault/tags";
import { candidateOf, decideForItem, type DueCertificate } from "../renewal/scan";
import { OwnershipError, errorMessage } from "../shared/errors";
import type { IssuanceDeps } from "./deps";
import { issueCertificate } from "./issue";
import { mapLimit, type IssueRequest, type IssueResult } from "./steps";

/** Key options of an existing policy, as the request form parseKeyOptions reads. */
export function keyOptionsFromPolicy(policy: CertificatePolicy | undefined): KeyOptionsInput {
  const input: KeyOptionsInput = {};
  if (!policy) return input;
  const type = (policy.keyType ?? "RSA").replace(/-HSM$/, "");
  if (type === "EC") input.keyType = `EC-${(policy.keyCurveName ?? "P-256").replace("-", "")}`;
  else input.keyType = `RSA-${policy.keySize ?? 2048}`;
  if (policy.reuseKey !== undefined) input.reuseKey = policy.reuseKey;
  if (policy.exportable !== undefined) input.exportable = policy.exportable;
  if (policy.contentType) input.contentType = policy.contentType;
  return input;
}

/** The request that renews `certificateName`: same names (from the issued leaf's SANs), same key options, `replaces`. */
export async function renewalRequest(certificateName: string, deps: IssuanceDeps): Promise<IssueRequest> {
  const current = await getCurrentCertificate(deps.certificates, certificateName);
  // The same rule as issue (adopt is an issue-time decision: renew only what kv-acme already manages).
  const ownership = decideOwnership(certificateName, { tags: current.properties.tags ?? {}, issuerName: current.policy?.issuerName });
  if (!ownership.ok) throw new OwnershipError(ownership.code, ownership.message, { certificateName, ownerTags: ownership.ownerTags });
  const info = describeVersion(current);
  const policyNames = current.policy?.subjectAlternativeNames?.dnsNames ?? [];
  const dnsNames = info.dnsNames.length > 0 ? info.dnsNames : policyNames;
  const request: IssueRequest = { dnsNames, certificateName, keyOptions: keyOptionsFromPolicy(current.policy) };
  try {
    request.replacesAriCertId = ariCertificateId(new Uint8Array(current.cer ?? []));
  } catch {
    // A leaf without AKI has no ARI id: renew without `replaces`.
  }
  return request;
}

/** Renews one certificate now (a new version under the same name). */
export async function renewCertificate(certificateName: string, deps: IssuanceDeps): Promise<IssueResult> {
  return issueCertificate(await renewalRequest(certificateName, deps), deps);
}

export interface RenewAllResult {
  checked: number;
  due: DueCertificate[];
  renewed: IssueResult[];
  failed: { certificateName: string; error: string }[];
  dryRun: boolean;
}

/** Scans the vault (list API only) and renews every managed certificate that is due, a few at a time. */
export async function renewAllDue(deps: IssuanceDeps, options: { dryRun?: boolean; now?: Date } = {}): Promise<RenewAllResult> {
  const now = options.now ?? new Date();
  const { items } = await listInventory(deps.certificates, { managedOnly: true });
  const decisions: DueCertificate[] = [];
  for (const item of items) {
    const d = await decideForItem(candidateOf(item), deps, now);
    if (d) decisions.push(d);
  }
  const due = decisions.filter((d) => d.decision.due);
  const result: RenewAllResult = { checked: items.length, due, renewed: [], failed: [], dryRun: options.dryRun ?? false };
  if (options.dryRun) return result;
  await mapLimit(due, deps.settings.maxConcurrentRenewals, async (d) => {
    try {
      result.renewed.push(await renewCertificate(d.certificateName, deps));
    } catch (err) {
      result.failed.push({ certificateName: d.certificateName, error: errorMessage(err) });
    }
  });
  return result;
}
