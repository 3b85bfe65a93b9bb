/**
 * Editing a managed certificate's DNS names: a new version under the same Key Vault name with the new names and
 * everything else the certificate has (key type, size or curve, HSM, exportable, content type, client auth, DNS
 * alias; its preferred chain, profile, custom tags and issuer pins, which validateRequest keeps when a request leaves
 * them out). The request goes through validateRequest like any issue (names rules, ownership: only a certificate
 * kv-acme manages, never one tagged kv-acme-ignore; the overlap guard, which leaves the certificate itself out; CAA
 * pre-flight), and then through the one issuance flow (./flow): the API starts it as an issue orchestration, the CLI
 * runs it in process.
 */
import { validateCertificateName } from "../acme/names";
import { getCurrentCertificate } from "../keyvault/certificates";
import { readManagedTags } from "../keyvault/tags";
import { assertOwned } from "../keyvault/ownership";
import type { IssuanceDeps } from "./deps";
import { issueCertificate, type Reporting } from "./issue";
import { keyOptionsFromPolicy } from "./renew";
import type { IssueRequest, IssueResult } from "./steps";

/**
 * The issue request that gives `certificateName` (in `deps`' vault) the names `dnsNames`, its other settings read from
 * the certificate: NotFoundError when the vault has no such certificate (an edit never creates one), OwnershipError
 * (409) for one kv-acme does not manage or one tagged kv-acme-ignore. The names themselves are validated by
 * validateRequest, which the caller runs next.
 */
export async function editNamesRequest(certificateName: string, dnsNames: string[] | string, deps: IssuanceDeps): Promise<IssueRequest> {
  const name = validateCertificateName(certificateName);
  const current = await getCurrentCertificate(deps.certificates, name);
  const tags = current.properties.tags ?? {};
  // Refused before the names are looked at: the same rule as renew (adopt is an issue-time decision).
  assertOwned(name, { tags, issuerName: current.policy?.issuerName });
  const request: IssueRequest = { dnsNames, certificateName: name, vault: deps.vault, keyOptions: keyOptionsFromPolicy(current.policy) };
  const alias = readManagedTags(tags).dnsAlias;
  if (alias) request.dnsAlias = alias;
  return request;
}

/** Edits the names of `certificateName` in this process (the CLI's `kv-acme names`): validated, then issued. */
export async function editCertificateNames(
  certificateName: string,
  dnsNames: string[] | string,
  deps: IssuanceDeps,
  reporting: Reporting = {},
): Promise<IssueResult> {
  return issueCertificate(await editNamesRequest(certificateName, dnsNames, deps), deps, reporting);
}
