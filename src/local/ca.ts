/**
 * The local stack's certificate authority. Generated on first use under $KVACME_HOME/ca, reused afterwards,
 * and used to issue the TLS certificate of every HTTPS endpoint of the stack (Key Vault and ARM stand-ins,
 * Pebble). Processes that talk to the stack trust it through NODE_EXTRA_CA_CERTS (Node), REQUESTS_CA_BUNDLE
 * (certbot) or LEGO_CA_CERTIFICATES (lego); TLS verification stays on everywhere.
 */
import { createPrivateKey, randomBytes, webcrypto } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { x509 } from "../shared/x509";
import { writeFileAtomic } from "../shared/fs";
import { kvAcmeHome } from "./paths";

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

export interface LocalCa {
  /** Path of the CA certificate (PEM), the file to trust. */
  caFile: string;
  caCertPem: string;
  /** Issue a TLS server certificate for DNS names and IP addresses; the key is PKCS#8 PEM. */
  issueServerCertificate(names: string[]): Promise<{ certPem: string; keyPem: string }>;
}

/**
 * Loads the CA from `dir` (by default `$KVACME_HOME/ca`, the one NODE_EXTRA_CA_CERTS trusts: scripts/lib/ensure.sh),
 * creating it the first time. Concurrent first starts converge on one CA.
 */
export async function ensureLocalCa(dir: string = path.join(kvAcmeHome(), "ca")): Promise<LocalCa> {
  const caFile = path.join(dir, "ca.pem");
  const keyFile = path.join(dir, "ca-key.pem");
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([fs.readFile(caFile, "utf8"), fs.readFile(keyFile, "utf8")]);
  } catch {
    ({ certPem, keyPem } = await createCa());
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    // Key first, certificate last: a reader that sees ca.pem also sees the key.
    await writeFileAtomic(keyFile, keyPem, 0o600);
    await writeFileAtomic(caFile, certPem, 0o644);
    [certPem, keyPem] = await Promise.all([fs.readFile(caFile, "utf8"), fs.readFile(keyFile, "utf8")]);
  }
  const caCert = new x509.X509Certificate(certPem);
  const caKey = await importPkcs8(keyPem);
  return {
    caFile,
    caCertPem: certPem,
    async issueServerCertificate(names) {
      const keys = (await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
      const now = Date.now();
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: randomBytes(12).toString("hex"),
        subject: `CN=${names[0]}`,
        issuer: caCert.subject,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 825 * 86_400_000),
        publicKey: keys.publicKey,
        signingKey: caKey,
        signingAlgorithm: SIGN,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension(
            names.map((n) => (/^[\d.]+$|:/.test(n) ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n })),
          ),
          await x509.AuthorityKeyIdentifierExtension.create(caCert),
        ],
      });
      const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
      return { certPem: cert.toString("pem") + "\n", keyPem: toPem(pkcs8, "PRIVATE KEY") };
    },
  };
}

async function createCa(): Promise<{ certPem: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(12).toString("hex"),
    name: `CN=kv-acme local stack CA ${randomBytes(3).toString("hex")}, O=kv-acme (local only)`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 10 * 365 * 86_400_000),
    keys,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certPem: cert.toString("pem") + "\n", keyPem: toPem(pkcs8, "PRIVATE KEY") };
}

async function importPkcs8(pem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ format: "der", type: "pkcs8" });
  return webcrypto.subtle.importKey("pkcs8", der, EC, false, ["sign"]) as Promise<webcrypto.CryptoKey>;
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}
