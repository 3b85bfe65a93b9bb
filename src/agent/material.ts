/**
 * Turns the value of a Key Vault certificate's secret (PKCS#12 with an empty password, or PEM = PKCS#8 key +
 * certificates) into verified certificate material: the private key matches the leaf, and the leaf's issuer
 * chain is present and signature-checked. Nothing is installed from a secret that fails these checks.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import forge from "node-forge";
import { KvAcmeError } from "../shared/errors";
import { pemBlocks } from "../shared/x509";

/** The secret could not be used: corrupt, truncated, key not matching, chain missing. Not retryable until a new version. */
export class CertificateMaterialError extends KvAcmeError {
  constructor(message: string) {
    super("CertificateMaterialInvalid", message, 422);
  }
}

export interface CertificateMaterial {
  /** Leaf certificate PEM. */
  leafPem: string;
  /** Issuer certificates in chain order (intermediates, then the root if the secret has it). */
  chainPems: string[];
  /** PKCS#8 private key PEM. */
  keyPem: string;
  /** SHA-1 thumbprint of the leaf, upper-case hex without separators (Windows style). */
  thumbprint: string;
  /** Serial number of the leaf, upper-case hex. */
  serialNumber: string;
  /** DNS names of the leaf (subjectAltName, lower-case); the subject CN when there is no SAN. */
  dnsNames: string[];
  notBefore: Date;
  notAfter: Date;
  /** Original PKCS#12 bytes when the secret was PKCS#12 (Windows import uses them unchanged). */
  pfx?: Buffer;
  /** Whether the chain ends in a self-signed certificate contained in the secret. */
  includesRoot: boolean;
}

export const PKCS12_CONTENT_TYPE = "application/x-pkcs12";
export const PEM_CONTENT_TYPE = "application/x-pem-file";

/** Parses and verifies a secret value. Throws CertificateMaterialError with a reason a person understands. */
export function parseSecretMaterial(value: string, contentType?: string): CertificateMaterial {
  if (!value || !value.trim()) throw new CertificateMaterialError("the secret is empty");
  const looksPem = value.trimStart().startsWith("-----BEGIN");
  const kind = contentType === PEM_CONTENT_TYPE || (contentType !== PKCS12_CONTENT_TYPE && looksPem) ? "pem" : "pkcs12";
  const { certs, key, pfx } = kind === "pem" ? readPem(value) : readPkcs12(value);
  if (certs.length === 0) throw new CertificateMaterialError(`the ${kind === "pem" ? "PEM" : "PKCS#12"} secret holds no certificate`);
  if (!key)
    throw new CertificateMaterialError(`the ${kind === "pem" ? "PEM" : "PKCS#12"} secret holds no private key (is the key exportable?)`);

  const leafIndex = certs.findIndex((c) => safeCheckKey(c, key));
  if (leafIndex < 0) throw new CertificateMaterialError("the private key does not match the certificate in the secret");
  const leaf = certs[leafIndex];
  const rest = certs.filter((_, i) => i !== leafIndex);
  const chain: X509Certificate[] = [];
  let current = leaf;
  while (current.issuer !== current.subject || !current.verify(current.publicKey)) {
    const cur = current;
    const next = rest.find((c) => !chain.includes(c) && cur.checkIssued(c) && cur.verify(c.publicKey));
    if (!next) break;
    chain.push(next);
    current = next;
  }
  const selfSignedLeaf = leaf.issuer === leaf.subject && leaf.verify(leaf.publicKey);
  if (!selfSignedLeaf && chain.length === 0) {
    throw new CertificateMaterialError(`the secret has no chain: the leaf's issuer (${oneLine(leaf.issuer)}) is not included`);
  }
  const last = chain.at(-1) ?? leaf;
  const includesRoot = last.issuer === last.subject && last.verify(last.publicKey);
  return {
    leafPem: leaf.toString(),
    chainPems: chain.map((c) => c.toString()),
    keyPem: key.export({ format: "pem", type: "pkcs8" }).toString(),
    thumbprint: leaf.fingerprint.replace(/:/g, "").toUpperCase(),
    serialNumber: leaf.serialNumber.toUpperCase(),
    dnsNames: dnsNamesOf(leaf),
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    pfx,
    includesRoot: includesRoot && chain.length > 0,
  };
}

/** One PEM file in the Key Vault VM extension's order: leaf, intermediates (root if present), private key last. */
export function toPemBundle(m: CertificateMaterial): string {
  return [m.leafPem, ...m.chainPems, m.keyPem].map((b) => (b.endsWith("\n") ? b : b + "\n")).join("");
}

/** Leaf + chain without the key (for a cert-only file). */
export function toChainPem(m: CertificateMaterial): string {
  return [m.leafPem, ...m.chainPems].map((b) => (b.endsWith("\n") ? b : b + "\n")).join("");
}

/** DNS names of a certificate: subjectAltName DNS entries, else the subject CN. */
export function dnsNamesOf(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san) {
    return san
      .split(/,\s*/)
      .filter((e) => e.startsWith("DNS:"))
      .map((e) => e.slice(4).toLowerCase());
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject);
  return cn ? [cn[1].toLowerCase()] : [];
}

function safeCheckKey(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

function oneLine(dn: string): string {
  return dn.split("\n").join(", ");
}

function readPem(text: string): { certs: X509Certificate[]; key?: KeyObject; pfx?: undefined } {
  const certs = pemBlocks(text).map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new CertificateMaterialError(`certificate #${i + 1} in the PEM secret is corrupt: ${(err as Error).message}`);
    }
  });
  const keyBlocks = [...pemBlocks(text, "PRIVATE KEY"), ...pemBlocks(text, "RSA PRIVATE KEY"), ...pemBlocks(text, "EC PRIVATE KEY")];
  if (keyBlocks.length > 1) throw new CertificateMaterialError("the PEM secret holds more than one private key");
  let key: KeyObject | undefined;
  if (keyBlocks.length === 1) {
    try {
      key = createPrivateKey(keyBlocks[0]);
    } catch (err) {
      throw new CertificateMaterialError(`the private key in the PEM secret is corrupt: ${(err as Error).message}`);
    }
  }
  return { certs, key };
}

function readPkcs12(value: string): { certs: X509Certificate[]; key?: KeyObject; pfx: Buffer } {
  const compact = value.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new CertificateMaterialError("the PKCS#12 secret is not base64");
  const pfx = Buffer.from(compact, "base64");
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(pfx.toString("binary")), true);
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, true, "");
  } catch (err) {
    throw new CertificateMaterialError(
      `the PKCS#12 secret is corrupt or truncated, or not protected by an empty password: ${(err as Error).message}`,
    );
  }
  const certs: X509Certificate[] = [];
  let key: KeyObject | undefined;
  for (const safe of p12.safeContents) {
    for (const bag of safe.safeBags) {
      if (bag.type === forge.pki.oids.certBag) {
        const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : (bag as unknown as { asn1: forge.asn1.Asn1 }).asn1;
        const der = Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary");
        try {
          certs.push(new X509Certificate(der));
        } catch (err) {
          throw new CertificateMaterialError(`a certificate in the PKCS#12 secret is corrupt: ${(err as Error).message}`);
        }
      } else if (bag.type === forge.pki.oids.pkcs8ShroudedKeyBag || bag.type === forge.pki.oids.keyBag) {
        if (key) throw new CertificateMaterialError("the PKCS#12 secret holds more than one private key");
        const asn1 = bag.key
          ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key))
          : (bag as unknown as { asn1: forge.asn1.Asn1 }).asn1;
        const der = Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary");
        try {
          key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
        } catch (err) {
          throw new CertificateMaterialError(`the private key in the PKCS#12 secret is corrupt: ${(err as Error).message}`);
        }
      }
    }
  }
  return { certs, key, pfx };
}
