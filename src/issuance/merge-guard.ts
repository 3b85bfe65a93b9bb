/**
 * What merging a new version means for the operators who consume it (pure; the merge step gathers the inputs):
 * - the issuer pins (Service Fabric clusters that declare certificates by common name pin their issuers): a version
 *   from an issuer not in the certificate's pin list is refused, so it is never merged and the old version stays;
 * - an issuer change (a renewal signed by another intermediate than the version it replaces), reported as
 *   `certificate.issuer_changed`;
 * - a shorter lifetime (the new version expires before the one it replaces; older Service Fabric runtimes pick the
 *   latest NotAfter and would ignore it), reported as `certificate.lifetime_shortened` and tagged on the version.
 */
import { describeIssuer, issuerPinned, sameIssuer, type IssuerInfo } from "../shared/issuer";
import type { LifetimeShortened } from "../keyvault/tags";

/** The issued version a merge replaces, as the merge step read it. */
export interface PreviousVersion {
  version: string;
  thumbprint: string;
  notAfter: string;
  /** Its issuer: the kv-acme-issuer tag, else what its leaf says (no thumbprint). */
  issuer?: IssuerInfo;
  /** Its kv-acme-issuer-pins. */
  issuerPins?: string[];
}

export interface MergeDecision {
  /** Why the version must not be merged (the issuer is not pinned); undefined: merge. */
  refused?: string;
  /** The pins the new version carries: the request's when it gave some (an empty list clears them), else the previous version's. */
  issuerPins: string[];
  /** The previous version had another issuer. */
  issuerChanged: boolean;
  /** Set when the new version expires before the previous one. */
  lifetimeShortened?: LifetimeShortened;
}

export function decideMerge(input: {
  certificateName: string;
  issuer: IssuerInfo;
  notAfter: string;
  requestedPins?: string[];
  previous?: PreviousVersion;
}): MergeDecision {
  const { issuer, previous } = input;
  const issuerPins = input.requestedPins ?? previous?.issuerPins ?? [];
  const decision: MergeDecision = {
    issuerPins,
    issuerChanged: previous?.issuer !== undefined && !sameIssuer(previous.issuer, issuer),
  };
  if (!issuerPinned(issuer, issuerPins)) {
    const unknown = issuer.thumbprint ? "" : " (the CA's chain did not include the issuer certificate, so its thumbprint is unknown)";
    decision.refused =
      `the new version of ${input.certificateName} was issued by ${describeIssuer(issuer)}${unknown}, which is not in its issuer pins ` +
      `(${issuerPins.join(", ")}); it was not merged and the current version stays in use. Add the issuer's thumbprint to the pins ` +
      `(PUT /api/certificates/${input.certificateName}/issuer-pins, kv-acme issuer-pins) once the clusters that use it trust that issuer`;
  }
  if (previous && Date.parse(input.notAfter) < Date.parse(previous.notAfter))
    decision.lifetimeShortened = { previousVersion: previous.version, previousNotAfter: new Date(previous.notAfter).toISOString() };
  return decision;
}
