/**
 * The issuing CA of a certificate (the intermediate that signed the leaf) and issuer pins, in one place for the app
 * (recorded on every version, compared between versions, pins checked before a merge) and the VM agent.
 *
 * A pin is what Service Fabric clusters declare for common-name certificates: the SHA-1 thumbprint of an issuer
 * certificate (40 hex digits; colons and spaces are ignored, case is not significant). An issuer matches a pin list
 * when its thumbprint is in it; an issuer whose certificate was not in the chain (thumbprint unknown) matches none.
 */
import { createHash } from "node:crypto";
import { ValidationError } from "./errors";
import { x509 } from "./x509";

/** The issuing intermediate of a leaf. */
export interface IssuerInfo {
  /** The issuer's distinguished name, as the leaf names it. */
  subject: string;
  /** The issuer's key identifier (the leaf's authority key id, the issuer's subject key id), lower-case hex. */
  keyId?: string;
  /** SHA-1 of the issuer certificate's DER, upper-case hex; absent when the chain did not include it. */
  thumbprint?: string;
}

/** At most this many pins (their tag, comma-joined, fits Key Vault's 256-character tag value). */
export const MAX_ISSUER_PINS = 6;

function toArrayBuffer(der: Uint8Array): ArrayBuffer {
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
}

function hex(buf: ArrayBuffer | string | undefined): string | undefined {
  if (buf === undefined) return undefined;
  return typeof buf === "string" ? buf.toLowerCase() : Buffer.from(buf).toString("hex");
}

/**
 * The issuer of `chain[0]` (DER, leaf first as the CA returned it): the chain certificate whose subject is the leaf's
 * issuer (and whose key id matches, when both carry one); else what the leaf itself says (no thumbprint).
 */
export function issuerOfChain(chain: readonly Uint8Array[]): IssuerInfo {
  const [leafDer, ...rest] = chain;
  if (!leafDer) throw new ValidationError("no certificate in the chain", "chain");
  const leaf = new x509.X509Certificate(toArrayBuffer(leafDer));
  const aki = hex(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId);
  for (const der of rest) {
    const c = new x509.X509Certificate(toArrayBuffer(der));
    const ski = hex(c.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    if (c.subject !== leaf.issuer || (aki && ski && aki !== ski)) continue;
    const info: IssuerInfo = { subject: c.subject, thumbprint: createHash("sha1").update(der).digest("hex").toUpperCase() };
    const keyId = ski ?? aki;
    if (keyId) info.keyId = keyId;
    return info;
  }
  return aki ? { subject: leaf.issuer, keyId: aki } : { subject: leaf.issuer };
}

/** Are two issuers the same CA certificate? By thumbprint when both are known, else by key id and subject. */
export function sameIssuer(a: IssuerInfo, b: IssuerInfo): boolean {
  if (a.thumbprint && b.thumbprint) return a.thumbprint === b.thumbprint;
  return a.subject === b.subject && (a.keyId ?? "") === (b.keyId ?? "");
}

/** A pin in its one form (upper-case hex, no separators), or undefined when it is not a SHA-1 thumbprint. */
export function normalizeIssuerPin(pin: string): string | undefined {
  const p = pin.replace(/[\s:]/g, "").toUpperCase();
  return /^[0-9A-F]{40}$/.test(p) ? p : undefined;
}

/** Parses a pin list given by a person (API body, CLI, tag): at most MAX_ISSUER_PINS thumbprints. Throws ValidationError. */
export function parseIssuerPins(value: unknown, field = "issuerPins"): string[] {
  const items = typeof value === "string" ? value.split(",").filter((s) => s.trim() !== "") : value;
  if (!Array.isArray(items) || items.some((p) => typeof p !== "string"))
    throw new ValidationError("must be a list of issuer certificate thumbprints (SHA-1, 40 hex digits)", field);
  const pins: string[] = [];
  const problems = items.flatMap((p: string, i) => {
    const n = normalizeIssuerPin(p);
    if (!n)
      return [
        {
          field: `${field}[${i}]`,
          message: `must be an issuer certificate's SHA-1 thumbprint (40 hex digits), got ${JSON.stringify(p.slice(0, 80))}`,
        },
      ];
    if (!pins.includes(n)) pins.push(n);
    return [];
  });
  if (pins.length > MAX_ISSUER_PINS) problems.push({ field, message: `at most ${MAX_ISSUER_PINS} pins (got ${pins.length})` });
  if (problems.length > 0) throw new ValidationError(problems);
  return pins;
}

/** Does the issuer match the pin list? An empty list pins nothing (every issuer matches). */
export function issuerPinned(issuer: IssuerInfo, pins: readonly string[]): boolean {
  if (pins.length === 0) return true;
  return issuer.thumbprint !== undefined && pins.includes(issuer.thumbprint);
}

/** One line for people: `CN=R11,O=Let's Encrypt,C=US (thumbprint 8D02..., key id c5cf...)`. */
export function describeIssuer(issuer: IssuerInfo): string {
  const parts = [issuer.thumbprint && `thumbprint ${issuer.thumbprint}`, issuer.keyId && `key id ${issuer.keyId}`].filter(Boolean);
  return parts.length > 0 ? `${issuer.subject} (${parts.join(", ")})` : issuer.subject;
}
