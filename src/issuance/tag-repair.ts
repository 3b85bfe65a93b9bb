/**
 * kv-acme's own tags on a version its merge could not tag (a permanent refusal of the tag update after Key Vault
 * acknowledged the merge, docs/reliability.md): such a version carries only the tags set at create (kv-acme-managed,
 * the names, the directory, the DNS provider, ...), not the merge's (kv-acme-issuer, the ARI id, and the certificate's
 * issuer pins, which live on its newest version). Until it is repaired, the pins in force are those of the newest
 * version its merge did tag; the merge guard of the next renewal reads them so (`pinsInForce`), and the renewal run
 * repairs such versions (`repairMergeTags`, after its scan): the certificate-wide tags copied from that version, the
 * issuer and the ARI id read from the version's own leaf. Pure decisions apart from `repairMergeTags`.
 */
import type { CertificateClient } from "@azure/keyvault-certificates";
import { ariCertificateIdOrUndefined } from "../acme/ari";
import { splitAddress } from "../keyvault/address";
import { tagVersion } from "../keyvault/certificates";
import {
  TAG_ACME_DIRECTORY,
  TAG_ARI_CERT_ID,
  TAG_DNS_ALIAS,
  TAG_DNS_PROVIDER,
  TAG_ISSUER,
  TAG_ISSUER_PINS,
  TAG_PREFERRED_CHAIN,
  TAG_PROFILE,
  formatIssuerTag,
  readManagedTags,
  type ManagedTagInfo,
} from "../keyvault/tags";
import { issuedVersions, versionLeaf, type IssuedVersion } from "../keyvault/versions";
import { errorMessage } from "../shared/errors";
import { issuerOfChain, type IssuerInfo } from "../shared/issuer";
import type { IssuanceDeps } from "./deps";

/** The certificate-wide tags a merge writes, carried from the last tagged version (per-version ones are not). */
const CARRIED = [TAG_ACME_DIRECTORY, TAG_DNS_PROVIDER, TAG_DNS_ALIAS, TAG_PREFERRED_CHAIN, TAG_PROFILE, TAG_ISSUER_PINS] as const;

/**
 * Whether a version kv-acme issued lacks its merge's tags: it has only those set at create (every kv-acme merge
 * records the issuer; an adopted Acmebot certificate, tagged by the migration without one, keeps Acmebot's tags).
 */
export function mergeTagsMissing(info: ManagedTagInfo): boolean {
  return info.managed && info.source === "kv-acme" && info.issuer === undefined && info.acmebotVersion === undefined;
}

/** The newest version (of `versions`, newest first) whose merge tagged it, if any. */
export function lastTagged(versions: readonly IssuedVersion[]): IssuedVersion | undefined {
  return versions.find((v) => !mergeTagsMissing(readManagedTags(v.tags)));
}

/**
 * The issuer pins in force (`versions` newest first): the newest version's own (its tag, also when set by hand on an
 * untagged version), else, when its merge could not tag it, those of the newest version its merge did tag.
 */
export function pinsInForce(versions: readonly IssuedVersion[]): string[] | undefined {
  const newest = versions[0];
  if (!newest) return undefined;
  const info = readManagedTags(newest.tags);
  if (info.issuerPins || !mergeTagsMissing(info)) return info.issuerPins;
  const tagged = lastTagged(versions);
  return tagged ? readManagedTags(tagged.tags).issuerPins : undefined;
}

/**
 * The tags to write on a version whose merge could not tag it: its own, plus the certificate-wide ones it lacks from
 * `source` (the last tagged version), the issuer and the ARI id of its own leaf. Undefined when it needs no repair.
 */
export function repairedTags(
  tags: Record<string, string>,
  source: Record<string, string> | undefined,
  leaf: { issuer: IssuerInfo; ariCertId?: string },
): Record<string, string> | undefined {
  if (!mergeTagsMissing(readManagedTags(tags))) return undefined;
  const next = { ...tags };
  for (const key of CARRIED) {
    const value = source?.[key];
    if (value !== undefined && next[key] === undefined) next[key] = value;
  }
  next[TAG_ISSUER] = formatIssuerTag(leaf.issuer);
  if (leaf.ariCertId !== undefined && next[TAG_ARI_CERT_ID] === undefined) next[TAG_ARI_CERT_ID] = leaf.ariCertId;
  return next;
}

/** What `repairMergeTags` did. */
export interface TagRepair {
  certificateName: string;
  repaired: boolean;
  /** The repaired version and the version its certificate-wide tags came from. */
  version?: string;
  from?: string;
  issuerPins?: string[];
  /** Why it could not (Key Vault still refuses the update, …); the next run tries again. */
  error?: string;
}

/**
 * The repaired tags of the newest of `versions` (newest first) of `certificateName` when its merge could not tag it:
 * the certificate-wide tags from the last tagged version, the issuer and ARI id from its own leaf (one read);
 * undefined when it needs no repair (or has no leaf). The renewal run's repair and a change of its pins both write them.
 */
export async function newestRepair(
  client: CertificateClient,
  certificateName: string,
  versions: readonly IssuedVersion[],
): Promise<{ tags: Record<string, string>; from?: string } | undefined> {
  const newest = versions[0];
  if (!newest || !mergeTagsMissing(readManagedTags(newest.tags))) return undefined;
  const leaf = await versionLeaf(client, certificateName, newest.version);
  if (!leaf) return undefined;
  const source = lastTagged(versions);
  const tags = repairedTags(newest.tags, source?.tags, { issuer: issuerOfChain([leaf]), ariCertId: ariCertificateIdOrUndefined(leaf) });
  if (!tags) return undefined;
  return source ? { tags, from: source.version } : { tags };
}

/**
 * Repairs the newest issued version of `certificateName` (an address) when its merge could not tag it (see the module
 * comment); nothing when it needs none. Never throws: a failure is reported in `error`.
 */
export async function repairMergeTags(input: { certificateName: string }, deps: IssuanceDeps): Promise<TagRepair> {
  const out: TagRepair = { certificateName: input.certificateName, repaired: false };
  try {
    const address = splitAddress(input.certificateName);
    const client = deps.forVault(address.vault).certificates;
    const versions = await issuedVersions(client, address.name);
    const repair = await newestRepair(client, address.name, versions);
    const newest = versions[0];
    if (!repair || !newest) return out;
    await tagVersion(client, address.name, newest.version, repair.tags);
    out.repaired = true;
    out.version = newest.version;
    if (repair.from) out.from = repair.from;
    const pins = readManagedTags(repair.tags).issuerPins;
    if (pins) out.issuerPins = pins;
    deps.progress(
      "keyvault",
      `repaired the tags of ${input.certificateName}/${newest.version}${repair.from ? ` from ${repair.from}` : ""}`,
    );
  } catch (err) {
    out.error = errorMessage(err);
  }
  return out;
}
