/**
 * Real cryptography for the Key Vault stand-in: key pairs generated inside the "vault", CSRs signed by them,
 * self-signed certificates, and the secret formats Key Vault serves (PKCS#12 with an empty password, PEM).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, randomBytes, randomUUID, webcrypto, KeyObject } from "node:crypto";
import { promisify } from "node:util";
import forge from "node-forge";
import { x509, derToPem, pemBlocks, pemToDer } from "../../shared/x509";

const generateKeyPairAsync = promisify(generateKeyPair);

export type KeyType = "RSA" | "EC";
export type Curve = "P-256" | "P-384" | "P-521";
export interface KeySpec {
  kty: KeyType;
  keySize?: number;
  crv?: Curve;
}

/** Thrown for input that is well-formed JSON but not acceptable to the vault (mapped to 400 BadParameter). */
export class BadParameter extends Error {}

export const CURVE_BITS: Record<Curve, number> = { "P-256": 256, "P-384": 384, "P-521": 521 };
const CURVE_HASH: Record<Curve, string> = { "P-256": "SHA-256", "P-384": "SHA-384", "P-521": "SHA-512" };

/** Generates a key pair (RSA 2048/3072/4096 or EC P-256/384/521) off the event loop; returns PKCS#8 PEM. */
export async function generateKey(spec: KeySpec): Promise<string> {
  if (spec.kty === "RSA") {
    const { privateKey } = await generateKeyPairAsync("rsa", { modulusLength: spec.keySize ?? 2048, publicExponent: 0x10001 });
    return privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  }
  const { privateKey } = await generateKeyPairAsync("ec", { namedCurve: spec.crv ?? "P-256" });
  return privateKey.export({ type: "pkcs8", format: "pem" }) as string;
}

/** Describes a PKCS#8 key: type, size and curve as Key Vault reports them. */
export function describeKey(keyPem: string): KeySpec {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType === "rsa") {
    return { kty: "RSA", keySize: key.asymmetricKeyDetails?.modulusLength ?? 2048 };
  }
  if (key.asymmetricKeyType === "ec") {
    const named = key.asymmetricKeyDetails?.namedCurve;
    const crv: Curve = named === "secp384r1" ? "P-384" : named === "secp521r1" ? "P-521" : "P-256";
    return { kty: "EC", crv, keySize: CURVE_BITS[crv] };
  }
  throw new BadParameter(`Unsupported key type: ${String(key.asymmetricKeyType)}`);
}

async function webKeys(keyPem: string): Promise<{
  keys: { privateKey: webcrypto.CryptoKey; publicKey: webcrypto.CryptoKey };
  signingAlgorithm: webcrypto.AlgorithmIdentifier | webcrypto.EcdsaParams;
}> {
  const spec = describeKey(keyPem);
  const priv = createPrivateKey(keyPem);
  const pkcs8 = priv.export({ type: "pkcs8", format: "der" });
  const spki = createPublicKey(priv).export({ type: "spki", format: "der" });
  const alg = spec.kty === "RSA" ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } : { name: "ECDSA", namedCurve: spec.crv ?? "P-256" };
  const privateKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, alg, false, ["sign"]);
  const publicKey = await webcrypto.subtle.importKey("spki", spki, alg, true, ["verify"]);
  const signingAlgorithm = spec.kty === "RSA" ? alg : { name: "ECDSA", hash: CURVE_HASH[spec.crv ?? "P-256"] };
  return { keys: { privateKey, publicKey }, signingAlgorithm };
}

export interface SubjectAlternativeNames {
  dns_names?: string[];
  emails?: string[];
  upns?: string[];
  ipAddresses?: string[];
  uris?: string[];
}

export interface CertificateProfile {
  subject: string;
  sans?: SubjectAlternativeNames;
  ekus: string[];
  keyUsage: string[];
}

/** Normalises an X.500 subject ("cn=x, o=y") so @peculiar/x509 parses it; throws BadParameter if it cannot. */
export function parseSubject(subject: string): x509.Name {
  const normalised = subject.replace(
    /(^|,|\+)\s*([A-Za-z][A-Za-z0-9.]*)\s*=/g,
    (_m, sep: string, type: string) => `${sep}${/^[0-9.]+$/.test(type) ? type : type.toUpperCase()}=`,
  );
  try {
    const name = new x509.Name(normalised);
    if (name.toJSON().length === 0) throw new Error("empty");
    return name;
  } catch {
    throw new BadParameter(`Property subject has invalid value: ${subject}`);
  }
}

const KEY_USAGE_FLAGS: Record<string, number> = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  nonRepudiation: x509.KeyUsageFlags.nonRepudiation,
  keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
  dataEncipherment: x509.KeyUsageFlags.dataEncipherment,
  keyAgreement: x509.KeyUsageFlags.keyAgreement,
  keyCertSign: x509.KeyUsageFlags.keyCertSign,
  cRLSign: x509.KeyUsageFlags.cRLSign,
  encipherOnly: x509.KeyUsageFlags.encipherOnly,
  decipherOnly: x509.KeyUsageFlags.decipherOnly,
};

/** Key usage names Key Vault accepts. */
export const KEY_USAGES = Object.keys(KEY_USAGE_FLAGS);

function extensions(profile: CertificateProfile): x509.Extension[] {
  const flags = profile.keyUsage.reduce((acc, u) => acc | (KEY_USAGE_FLAGS[u] ?? 0), 0);
  const list: x509.Extension[] = [];
  if (flags) list.push(new x509.KeyUsagesExtension(flags, true));
  if (profile.ekus.length) list.push(new x509.ExtendedKeyUsageExtension(profile.ekus));
  list.push(new x509.BasicConstraintsExtension(false, undefined, false));
  const names: x509.JsonGeneralName[] = [
    ...(profile.sans?.dns_names ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(profile.sans?.emails ?? []).map((value) => ({ type: "email" as const, value })),
    ...(profile.sans?.upns ?? []).map((value) => ({ type: "upn" as const, value })),
    ...(profile.sans?.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
    ...(profile.sans?.uris ?? []).map((value) => ({ type: "url" as const, value })),
  ];
  if (names.length) list.push(new x509.SubjectAlternativeNameExtension(names));
  return list;
}

/** A PKCS#10 CSR signed by the vault key, carrying subject, SANs, KU, EKUs and basicConstraints CA:false. Base64 DER. */
export async function createCsr(keyPem: string, profile: CertificateProfile): Promise<string> {
  const { keys, signingAlgorithm } = await webKeys(keyPem);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: parseSubject(profile.subject),
    keys,
    signingAlgorithm,
    extensions: extensions(profile),
  });
  return Buffer.from(csr.rawData).toString("base64");
}

/** A self-signed certificate for issuer "Self": valid from ten minutes ago for `validityMonths`. Base64 DER. */
export async function createSelfSigned(
  keyPem: string,
  profile: CertificateProfile,
  validityMonths: number,
  now = Date.now(),
): Promise<string> {
  const { keys, signingAlgorithm } = await webKeys(keyPem);
  const name = parseSubject(profile.subject);
  const notBefore = new Date(Math.floor(now / 1000) * 1000 - 600_000);
  const notAfter = new Date(Math.floor(now / 1000) * 1000);
  notAfter.setUTCMonth(notAfter.getUTCMonth() + validityMonths);
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  serial[0] |= 0x40;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString("hex"),
    subject: name,
    issuer: name,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm,
    extensions: [
      ...extensions(profile),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return Buffer.from(cert.rawData).toString("base64");
}

/** x5t as Key Vault reports it: base64url SHA-1 of the DER, no padding. */
export function thumbprint(derB64: string): string {
  return createHash("sha1").update(Buffer.from(derB64, "base64")).digest("base64url");
}

/** Validity of a certificate in Unix seconds. */
export function validity(derB64: string): { nbf: number; exp: number; subject: string } {
  const cert = new x509.X509Certificate(Buffer.from(derB64, "base64"));
  return { nbf: Math.floor(cert.notBefore.getTime() / 1000), exp: Math.floor(cert.notAfter.getTime() / 1000), subject: cert.subject };
}

function publicJwk(key: KeyObject): string {
  const jwk = key.export({ format: "jwk" });
  return JSON.stringify([jwk.kty, jwk.crv, jwk.n, jwk.e, jwk.x, jwk.y]);
}

/** True when the certificate's public key is the public half of `keyPem`. */
export function certificateMatchesKey(derB64: string, keyPem: string): boolean {
  const cert = new x509.X509Certificate(Buffer.from(derB64, "base64"));
  const certKey = createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: "der", type: "spki" });
  return publicJwk(certKey) === publicJwk(createPublicKey(createPrivateKey(keyPem)));
}

/** Parses one certificate DER, throwing BadParameter if it is not X.509. */
function checkCertificate(der: Buffer): string {
  try {
    new x509.X509Certificate(der);
  } catch {
    throw new BadParameter("Property x5c has invalid value. The certificate could not be parsed.");
  }
  return der.toString("base64");
}

/**
 * Decodes merge `x5c` entries: each base64 DER, or base64 of PEM text (what the SDK sample sends), or PEM text.
 * Returns base64 DER certificates, leaf first.
 */
export function parseX5c(x5c: unknown): string[] {
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.some((e) => typeof e !== "string" || e.length === 0)) {
    throw new BadParameter("Property x5c has invalid value. It must be a non-empty array of base64 encoded certificates.");
  }
  const out: string[] = [];
  for (const entry of x5c as string[]) {
    let text = entry;
    if (!entry.includes("-----BEGIN")) {
      if (!/^[A-Za-z0-9+/=\s_-]+$/.test(entry)) throw new BadParameter("Property x5c has invalid value. Entries must be base64.");
      const bytes = Buffer.from(entry, "base64");
      const asText = bytes.toString("latin1");
      if (!asText.includes("-----BEGIN CERTIFICATE-----")) {
        // Base64 of the PEM body text (the base64 lines without the armour), which the service also accepts.
        const body = asText.replace(/\s+/g, "");
        const der = /^[A-Za-z0-9+/]+={0,2}$/.test(body) && body.length % 4 === 0 ? Buffer.from(body, "base64") : bytes;
        out.push(checkCertificate(der));
        continue;
      }
      text = asText;
    }
    const blocks = pemBlocks(text);
    if (blocks.length === 0) throw new BadParameter("Property x5c has invalid value. No certificate found.");
    for (const block of blocks) out.push(checkCertificate(pemToDer(block)));
  }
  return out;
}

/** Key and certificates read from an import body: PFX (base64, optional password) or PEM text. */
export function parseImport(value: string, contentType: string, password?: string): { keyPem: string; certs: string[] } {
  if (contentType === "application/x-pem-file" || value.includes("-----BEGIN")) {
    const certs = pemBlocks(value).map((b) => checkCertificate(pemToDer(b)));
    const keyBlock = pemBlocks(value, "PRIVATE KEY")[0] ?? pemBlocks(value, "RSA PRIVATE KEY")[0] ?? pemBlocks(value, "EC PRIVATE KEY")[0];
    if (!keyBlock || certs.length === 0)
      throw new BadParameter(
        "The specified PEM X.509 certificate content is in an unexpected format. Please check if certificate is in valid PEM format.",
      );
    let keyPem: string;
    try {
      keyPem = createPrivateKey(keyBlock).export({ type: "pkcs8", format: "pem" }) as string;
    } catch {
      throw new BadParameter("The specified PEM private key could not be read.");
    }
    return { keyPem, certs: orderLeafFirst(certs, keyPem) };
  }
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const der = forge.util.decode64(value);
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), password ?? "");
  } catch {
    throw new BadParameter(
      "The specified PKCS#12 X.509 certificate content can not be read. Please check if certificate is in valid PKCS#12 format.",
    );
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
  ];
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
  const bagAsn1 = (bag: forge.pkcs12.Bag): forge.asn1.Asn1 | undefined => (bag as unknown as { asn1?: forge.asn1.Asn1 }).asn1;
  const keyBag = keyBags[0];
  if (!keyBag || certBags.length === 0)
    throw new BadParameter("The specified PKCS#12 X.509 certificate content does not contain a private key and a certificate.");
  const keyAsn1 = keyBag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keyBag.key)) : bagAsn1(keyBag);
  if (!keyAsn1) throw new BadParameter("The specified PKCS#12 private key could not be read.");
  const keyDer = Buffer.from(forge.asn1.toDer(keyAsn1).getBytes(), "binary");
  const keyPem = createPrivateKey({ key: keyDer, format: "der", type: "pkcs8" }).export({ type: "pkcs8", format: "pem" }) as string;
  const certs = certBags.map((bag) => {
    const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bagAsn1(bag);
    if (!asn1) throw new BadParameter("The specified PKCS#12 certificate could not be read.");
    return checkCertificate(Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary"));
  });
  return { keyPem, certs: orderLeafFirst(certs, keyPem) };
}

function orderLeafFirst(certs: string[], keyPem: string): string[] {
  const leaf = certs.findIndex((c) => certificateMatchesKey(c, keyPem));
  if (leaf < 0) throw new BadParameter("Public key from x509 certificate and key of this instance doesn't match");
  return [certs[leaf], ...certs.filter((_, i) => i !== leaf)];
}

const { asn1 } = forge;
const seq = (items: forge.asn1.Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
const oid = (o: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(o).getBytes());
const octets = (bytes: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
const explicit0 = (item: forge.asn1.Asn1) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [item]);
const dataContentInfo = (inner: forge.asn1.Asn1) => seq([oid(forge.pki.oids.data), explicit0(octets(asn1.toDer(inner).getBytes()))]);

/**
 * Builds a PFX the way Key Vault serves certificate secrets: EMPTY password, key in a pkcs8ShroudedKeyBag
 * (pbeWithSHAAnd3-KeyTripleDES-CBC), a localKeyID and a GUID friendlyName, SHA-1 HMAC. Works for RSA and EC keys
 * (node-forge's own builder only handles RSA). `keyPem` undefined = certificates only (non-exportable key).
 */
export function buildPfx(keyPem: string | undefined, certs: string[]): string {
  const password = "";
  const leafDer = Buffer.from(certs[0], "base64");
  const localKeyId = createHash("sha1").update(leafDer).digest().toString("binary");
  const attrs = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [
    seq([oid(forge.pki.oids.localKeyId), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [octets(localKeyId)])]),
    seq([
      oid(forge.pki.oids.friendlyName),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BMPSTRING, false, randomUUID())]),
    ]),
  ]);
  const certBags = certs.map((c, i) => {
    const bag = [
      oid(forge.pki.oids.certBag),
      explicit0(seq([oid(forge.pki.oids.x509Certificate), explicit0(octets(Buffer.from(c, "base64").toString("binary")))])),
    ];
    if (i === 0) bag.push(attrs);
    return seq(bag);
  });
  const contents = [dataContentInfo(seq(certBags))];
  if (keyPem) {
    const pkcs8 = createPrivateKey(keyPem).export({ type: "pkcs8", format: "der" });
    const keyInfo = asn1.fromDer(pkcs8.toString("binary"));
    const encrypted = forge.pki.encryptPrivateKeyInfo(keyInfo, password, { algorithm: "3des", count: 2048, saltSize: 8 });
    contents.push(dataContentInfo(seq([seq([oid(forge.pki.oids.pkcs8ShroudedKeyBag), explicit0(encrypted), attrs])])));
  }
  const safe = seq(contents);
  const macSalt = new forge.util.ByteStringBuffer(forge.random.getBytesSync(8));
  const count = 2048;
  const macKey = forge.pkcs12.generateKey(password, macSalt, 3, count, 20);
  const hmac = forge.hmac.create();
  hmac.start("sha1", macKey.getBytes());
  hmac.update(asn1.toDer(safe).getBytes());
  const macData = seq([
    seq([seq([oid(forge.pki.oids.sha1), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, "")]), octets(hmac.digest().getBytes())]),
    octets(macSalt.getBytes()),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(count).getBytes()),
  ]);
  const pfx = seq([
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(3).getBytes()),
    dataContentInfo(safe),
    macData,
  ]);
  return Buffer.from(asn1.toDer(pfx).getBytes(), "binary").toString("base64");
}

/** The PEM secret value: PKCS#8 key (when exportable) then the certificates, `\n` line endings, trailing newline. */
export function buildPem(keyPem: string | undefined, certs: string[]): string {
  const key = keyPem ? (createPrivateKey(keyPem).export({ type: "pkcs8", format: "pem" }) as string) : "";
  return key + certs.map((c) => derToPem(Buffer.from(c, "base64"))).join("");
}
