/**
 * A certificate's issuer pins (docs/security.md, operator guards): set or clear the list on its newest issued version
 * (the kv-acme-issuer-pins tag, which every later merge carries on), and read it back with the recorded issuer. The
 * pins read are those the merge guard uses (./tag-repair.ts pinsInForce: a version whose merge could not tag it is
 * held to the last tagged version's); setting them on such a version repairs its tags first, so that what is set
 * (an empty list too) is what the guard and the renewal run's repair then see.
 */
import { validateCertificateName } from "../acme/names";
import { tagVersion } from "../keyvault/certificates";
import { issuedVersions, type IssuedVersion } from "../keyvault/versions";
import { assertMayManage } from "../keyvault/ownership";
import { TAG_ISSUER_PINS, formatIssuerPins, readManagedTags } from "../keyvault/tags";
import { NotFoundError } from "../shared/errors";
import { parseIssuerPins, type IssuerInfo } from "../shared/issuer";
import type { IssuanceDeps } from "./deps";
import { newestRepair, pinsInForce } from "./tag-repair";

export interface IssuerPinsView {
  certificateName: string;
  /** The vault of the certificate (settings.vaults' name). */
  vault: string;
  /** The newest issued version (whose tags hold the pins, or the last tagged version's when its merge could not tag it). */
  version: string;
  /** The pins the merge guard holds the next version to (empty: none). */
  issuerPins: string[];
  /** The issuer recorded on that version, when it was merged by a kv-acme that records it. */
  issuer?: IssuerInfo;
}

/** The issued versions, newest first (NotFoundError when there is none). */
async function issued(certificateName: string, deps: IssuanceDeps): Promise<[IssuedVersion, ...IssuedVersion[]]> {
  const versions = await issuedVersions(deps.certificates, certificateName);
  const [newest, ...older] = versions;
  if (!newest) throw new NotFoundError(`Certificate ${certificateName} has no issued version to pin`, { certificateName });
  return [newest, ...older];
}

function view(certificateName: string, vault: string, versions: readonly IssuedVersion[]): IssuerPinsView {
  const newest = versions[0] as IssuedVersion;
  const info = readManagedTags(newest.tags);
  const out: IssuerPinsView = { certificateName, vault, version: newest.version, issuerPins: pinsInForce(versions) ?? [] };
  if (info.issuer) out.issuer = info.issuer;
  return out;
}

/** The pins in force and the recorded issuer of a certificate. */
export async function getIssuerPins(certificateName: string, deps: IssuanceDeps): Promise<IssuerPinsView> {
  const name = validateCertificateName(certificateName);
  return view(name, deps.vault, await issued(name, deps));
}

/**
 * Replaces the pins (an empty list clears them). Validated first (ValidationError, nothing written); only a certificate
 * kv-acme manages (OwnershipError otherwise). A newest version whose merge could not tag it gets its repaired tags
 * with the new pins in the same update.
 */
export async function setIssuerPins(certificateName: string, pins: unknown, deps: IssuanceDeps): Promise<IssuerPinsView> {
  const name = validateCertificateName(certificateName);
  const issuerPins = parseIssuerPins(pins);
  await assertMayManage(deps.certificates, name);
  const [newest, ...older] = await issued(name, deps);
  const base = (await newestRepair(deps.certificates, name, [newest, ...older]))?.tags ?? newest.tags;
  const tags = Object.fromEntries(Object.entries(base).filter(([k]) => k.toLowerCase() !== TAG_ISSUER_PINS));
  if (issuerPins.length > 0) tags[TAG_ISSUER_PINS] = formatIssuerPins(issuerPins);
  await tagVersion(deps.certificates, name, newest.version, tags);
  deps.progress("keyvault", `issuer pins of ${name}: ${issuerPins.length > 0 ? issuerPins.join(", ") : "none"}`);
  return view(name, deps.vault, [{ ...newest, tags }, ...older]);
}
