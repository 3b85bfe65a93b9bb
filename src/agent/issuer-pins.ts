/**
 * Issuer pinning on the host, the Service Fabric model (subject common name + pinned issuers): a version whose issuing
 * certificate is not in the certificate's `kvAcme.issuerPins` list is not installed, and the refusal is reported. A pin
 * is the issuer's SHA-1 thumbprint (40 hex digits, as Windows shows it) or its subject common name (e.g. `R10`).
 * Pure: decides over the parsed material.
 */
import { X509Certificate } from "node:crypto";
import type { CertificateMaterial } from "./material";

export interface IssuerIdentity {
  /** SHA-1 of the issuing certificate, upper-case hex (when the secret carries it). */
  thumbprint?: string;
  /** Common name of the issuer (from the issuing certificate, else from the leaf's issuer name). */
  commonName?: string;
}

/** Who issued the leaf: the first chain certificate whose subject is the leaf's issuer. */
export function issuerOf(material: Pick<CertificateMaterial, "leafPem" | "chainPems">): IssuerIdentity {
  const leaf = new X509Certificate(material.leafPem);
  const cn = (dn: string) => /(?:^|\n)CN=([^\n]+)/.exec(dn)?.[1]?.trim();
  const issuing = material.chainPems.map((p) => new X509Certificate(p)).find((c) => c.subject === leaf.issuer);
  if (issuing) return { thumbprint: issuing.fingerprint.replace(/:/g, "").toUpperCase(), commonName: cn(issuing.subject) };
  return { commonName: cn(leaf.issuer) };
}

/** The refusal message when `pins` do not allow the issuer, else undefined (no pins: everything is allowed). */
export function issuerPinRefusal(pins: readonly string[] | undefined, issuer: IssuerIdentity): string | undefined {
  if (!pins || pins.length === 0) return undefined;
  const ok = pins.some((p) => (/^[0-9A-Fa-f]{40}$/.test(p) ? issuer.thumbprint === p.toUpperCase() : issuer.commonName === p));
  if (ok) return undefined;
  const who = [issuer.commonName && `CN=${issuer.commonName}`, issuer.thumbprint && `thumbprint ${issuer.thumbprint}`]
    .filter(Boolean)
    .join(", ");
  return `issuer not pinned: this version was issued by ${who || "an unknown issuer"}, which is not in kvAcme.issuerPins (${pins.join(", ")}); not installed`;
}
