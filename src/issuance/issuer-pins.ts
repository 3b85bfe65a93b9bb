/**
 * A certificate's issuer pins (docs/security.md, operator guards): set or clear the list on its newest issued version
 * (the kv-acme-issuer-pins tag, which every later merge carries on), and read it back with the recorded issuer.
 */
import { validateCertificateName } from "../acme/names";
import { tagVersion } from "../keyvault/certificates";
import { latestIssuedVersion } from "../keyvault/versions";
import { assertMayManage } from "../keyvault/ownership";
import { TAG_ISSUER_PINS, formatIssuerPins, readManagedTags } from "../keyvault/tags";
import { NotFoundError } from "../shared/errors";
import { parseIssuerPins, type IssuerInfo } from "../shared/issuer";
import type { IssuanceDeps } from "./deps";

export interface IssuerPinsView {
  certificateName: string;
  /** The vault of the certificate (settings.vaults' name). */
  vault: string;
  /** The version whose tags hold the pins (the newest issued one). */
  version: string;
  issuerPins: string[];
  /** The issuer recorded on that version, when it was merged by a kv-acme that records it. */
  issuer?: IssuerInfo;
}

async function newestIssued(certificateName: string, deps: IssuanceDeps) {
  const latest = await latestIssuedVersion(deps.certificates, certificateName);
  if (!latest) throw new NotFoundError(`Certificate ${certificateName} has no issued version to pin`, { certificateName });
  return latest;
}

function view(certificateName: string, vault: string, version: string, tags: Record<string, string>): IssuerPinsView {
  const info = readManagedTags(tags);
  const out: IssuerPinsView = { certificateName, vault, version, issuerPins: info.issuerPins ?? [] };
  if (info.issuer) out.issuer = info.issuer;
  return out;
}

/** The pins and recorded issuer of a certificate. */
export async function getIssuerPins(certificateName: string, deps: IssuanceDeps): Promise<IssuerPinsView> {
  const name = validateCertificateName(certificateName);
  const latest = await newestIssued(name, deps);
  return view(name, deps.vault, latest.version, latest.tags);
}

/**
 * Replaces the pins (an empty list clears them). Validated first (ValidationError, nothing written); only a certificate
 * kv-acme manages (OwnershipError otherwise).
 */
export async function setIssuerPins(certificateName: string, pins: unknown, deps: IssuanceDeps): Promise<IssuerPinsView> {
  const name = validateCertificateName(certificateName);
  const issuerPins = parseIssuerPins(pins);
  await assertMayManage(deps.certificates, name);
  const latest = await newestIssued(name, deps);
  const tags = Object.fromEntries(Object.entries(latest.tags).filter(([k]) => k.toLowerCase() !== TAG_ISSUER_PINS));
  if (issuerPins.length > 0) tags[TAG_ISSUER_PINS] = formatIssuerPins(issuerPins);
  await tagVersion(deps.certificates, name, latest.version, tags);
  deps.progress("keyvault", `issuer pins of ${name}: ${issuerPins.length > 0 ? issuerPins.join(", ") : "none"}`);
  return view(name, deps.vault, latest.version, tags);
}
