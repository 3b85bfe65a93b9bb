/** Test helpers: a root CA, an intermediate, and leaves generated at run time (never committed). */
import { derToPem } from "../../src/shared/x509";
import { randomBytes, webcrypto } from "node:crypto";
import forge from "node-forge";
import { x509 } from "../../src/shared/x509";

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const EC_SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const RSA = { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" } as const;

export interface Issuer {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
}

export interface TestChain {
  root: Issuer;
  intermediate: Issuer;
  /** Signature algorithm of the issuers. */
  sign: typeof EC_SIGN | { name: "RSASSA-PKCS1-v1_5" };
}

export interface TestLeaf {
  leafPem: string;
  keyPem: string;
  serialHex: string;
  keys: CryptoKeyPair;
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return derToPem(der, "PRIVATE KEY");
}

/** A root and an intermediate; RSA issuers when the chain must go into a node-forge PKCS#12. */
export async function makeChain(keyType: "ec" | "rsa" = "ec"): Promise<TestChain> {
  const alg = keyType === "rsa" ? RSA : EC;
  const EC_SIGN_ = keyType === "rsa" ? ({ name: "RSASSA-PKCS1-v1_5" } as const) : EC_SIGN;
  const rootKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01" + randomBytes(8).toString("hex"),
    name: `CN=Test Root ${randomBytes(3).toString("hex")}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 30 * 86400_000),
    keys: rootKeys,
    signingAlgorithm: EC_SIGN_,
    extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const intKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const intCert = await x509.X509CertificateGenerator.create({
    serialNumber: "02" + randomBytes(8).toString("hex"),
    subject: `CN=Test Intermediate ${randomBytes(3).toString("hex")}`,
    issuer: rootCert.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 30 * 86400_000),
    publicKey: intKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: EC_SIGN_,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  return {
    root: { cert: rootCert, keys: rootKeys, pem: rootCert.toString("pem") + "\n" },
    intermediate: { cert: intCert, keys: intKeys, pem: intCert.toString("pem") + "\n" },
    sign: EC_SIGN_,
  };
}

/** Signs a leaf for `names` with the intermediate; RSA or EC key, or a given public key (for a CSR from the vault). */
export async function makeLeaf(
  chain: TestChain,
  names: string[],
  opts: { keyType?: "rsa" | "ec"; publicKey?: CryptoKey | x509.PublicKey; validityMs?: number } = {},
): Promise<TestLeaf> {
  const keys = opts.publicKey
    ? ({ publicKey: opts.publicKey } as unknown as CryptoKeyPair)
    : ((await webcrypto.subtle.generateKey(opts.keyType === "rsa" ? RSA : EC, true, ["sign", "verify"])) as CryptoKeyPair);
  const serialHex = "4" + randomBytes(9).toString("hex").slice(1);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex,
    subject: `CN=${names[0]}`,
    issuer: chain.intermediate.cert.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + (opts.validityMs ?? 7 * 86400_000)),
    publicKey: keys.publicKey,
    signingKey: chain.intermediate.keys.privateKey,
    signingAlgorithm: chain.sign,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: "dns" as const, value: n }))),
    ],
  });
  return {
    leafPem: cert.toString("pem") + "\n",
    keyPem: keys.privateKey ? await pkcs8Pem(keys.privateKey) : "",
    serialHex: serialHex.toUpperCase(),
    keys,
  };
}

/** Key Vault's PEM secret layout: PKCS#8 key first, then the certificates. */
export function pemSecret(leaf: TestLeaf, chain: TestChain, withRoot = false): string {
  return leaf.keyPem + leaf.leafPem + chain.intermediate.pem + (withRoot ? chain.root.pem : "");
}

/** Key Vault's PKCS#12 secret: base64 PFX with an empty password, 3DES (RSA keys only: node-forge). */
export function pkcs12Secret(leaf: TestLeaf, chain: TestChain): string {
  const key = forge.pki.privateKeyFromPem(leaf.keyPem);
  const certs = [leaf.leafPem, chain.intermediate.pem].map((p) => forge.pki.certificateFromPem(p));
  const p12 = forge.pkcs12.toPkcs12Asn1(key, certs, "", { algorithm: "3des", friendlyName: "test" });
  return Buffer.from(forge.asn1.toDer(p12).getBytes(), "binary").toString("base64");
}
