/**
 * The merge step of the issuance (after ./steps.ts downloadCertificateChain): the merge guard's decision (./merge-guard,
 * pure) with what it reads from the vault (the version replaced, its issuer and the pins in force), then the merge of
 * the chain into the pending operation and the new version's tags. The manual `pending merge` (./pending) asks the
 * same guard.
 */
import { createHash } from "node:crypto";
import { ariCertificateIdOrUndefined } from "../acme/ari";
import { chainToDer, mergeChain, type CertificateVersionInfo } from "../keyvault/certificates";
import { issuedVersions, versionLeaf } from "../keyvault/versions";
import { managedTags, readManagedTags } from "../keyvault/tags";
import { issuerOfChain, type IssuerInfo } from "../shared/issuer";
import { x509 } from "../shared/x509";
import type { IssuanceDeps } from "./deps";
import { decideMerge, type MergeDecision, type PreviousVersion } from "./merge-guard";
import { writingProviders, type ValidatedRequest } from "./steps";
import { pinsInForce } from "./tag-repair";

/** A merged version with its issuer and what changed against the version it replaced. */
export interface MergedVersion extends CertificateVersionInfo {
  issuer: IssuerInfo;
  issuerPins: string[];
  /** The issued version this one replaced, if any. */
  previous?: PreviousVersion;
  issuerChanged: boolean;
  lifetimeShortened: boolean;
  refused?: undefined;
}

/** A version refused before its merge (its issuer is not pinned): nothing was merged. */
export interface RefusedMerge {
  refused: { code: "IssuerNotPinned"; message: string; issuer: IssuerInfo; issuerPins: string[]; previous?: PreviousVersion };
}

/**
 * Merges the chain into the pending operation and tags the new version as managed (with its RFC 9773 id, its issuer,
 * the pins it carries on, and a shorter lifetime than the version it replaces). First the guard (./merge-guard): a
 * version from an issuer outside the certificate's pins is not merged and the refusal is returned (the flow then
 * abandons the pending operation, so the old version stays current).
 */
export async function mergeIssuedChain(
  input: Pick<
    ValidatedRequest,
    "certificateName" | "dnsNames" | "targets" | "dnsAlias" | "issuerPins" | "preferredChain" | "profile" | "tags"
  > & {
    chain: string[];
    vault?: string;
    /** The pending operation this issuance created (its request id): an overwritten one is told apart. */
    requestId?: string;
  },
  deps: IssuanceDeps,
): Promise<MergedVersion | RefusedMerge> {
  const { decision, issuer, previous } = await guardMerge(input.certificateName, input.chain, deps, input.issuerPins);
  if (decision.refused) {
    deps.progress("keyvault", `not merging ${input.certificateName}: ${decision.refused}`);
    return {
      refused: {
        code: "IssuerNotPinned",
        message: decision.refused,
        issuer,
        issuerPins: decision.issuerPins,
        ...(previous ? { previous } : {}),
      },
    };
  }
  const tags = managedTags({
    acmeDirectoryUrl: deps.settings.acmeDirectoryUrl,
    dnsNames: input.dnsNames,
    dnsProvider: writingProviders(input.targets),
    dnsAlias: input.dnsAlias,
    ariCertId: ariCertificateIdOrUndefined(input.chain[0] ?? ""),
    issuer,
    issuerPins: decision.issuerPins,
    lifetimeShortened: decision.lifetimeShortened,
    preferredChain: input.preferredChain,
    profile: input.profile,
    customTags: input.tags,
  });
  const info = await mergeChain(deps.certificates, input.certificateName, input.chain, { tags, requestId: input.requestId });
  deps.progress("keyvault", `merged ${input.certificateName} version ${info.version}`);
  if (info.tagsNotWritten)
    deps.progress("keyvault", `tagging ${input.certificateName} version ${info.version} failed: ${info.tagsNotWritten}`);
  const merged: MergedVersion = {
    ...info,
    issuer,
    issuerPins: decision.issuerPins,
    issuerChanged: decision.issuerChanged,
    lifetimeShortened: decision.lifetimeShortened !== undefined,
  };
  if (previous) merged.previous = previous;
  return merged;
}

/**
 * The merge guard's decision (./merge-guard) for a chain about to be merged into `certificateName`, with the issuer
 * and the previous version it read: the flow's merge and the manual `pending merge` (./pending) both ask it.
 */
export async function guardMerge(
  certificateName: string,
  chain: string[] | string,
  deps: IssuanceDeps,
  requestedPins?: string[],
): Promise<{ decision: MergeDecision; issuer: IssuerInfo; previous?: PreviousVersion }> {
  const ders = chainToDer(chain);
  const leafDer = ders[0] as Buffer;
  const issuer = issuerOfChain(ders);
  const leaf = new x509.X509Certificate(leafDer);
  const previous = await previousVersion(deps, certificateName, createHash("sha1").update(leafDer).digest("hex").toUpperCase());
  const decision = decideMerge({ certificateName, issuer, notAfter: leaf.notAfter.toISOString(), requestedPins, previous });
  return previous ? { decision, issuer, previous } : { decision, issuer };
}

/** The issued version a merge replaces, with its issuer (its tag, else read from its leaf) and pins. */
async function previousVersion(deps: IssuanceDeps, certificateName: string, newThumbprint: string): Promise<PreviousVersion | undefined> {
  const versions = await issuedVersions(deps.certificates, certificateName, newThumbprint);
  const latest = versions[0];
  if (!latest) return undefined;
  const tags = readManagedTags(latest.tags);
  const previous: PreviousVersion = { version: latest.version, thumbprint: latest.thumbprint, notAfter: latest.notAfter };
  let issuer = tags.issuer;
  if (!issuer) {
    const cer = await versionLeaf(deps.certificates, certificateName, latest.version);
    if (cer) issuer = issuerOfChain([cer]);
  }
  if (issuer) previous.issuer = issuer;
  const pins = pinsInForce(versions);
  if (pins) previous.issuerPins = pins;
  return previous;
}
