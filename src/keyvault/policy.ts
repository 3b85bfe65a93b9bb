/**
 * Key options and the Key Vault certificate policy for ACME certificates whose key is generated in the vault
 * (issuer "Unknown": create -> CSR -> ACME finalize -> merge), plus reading a pending operation's CSR to decide
 * whether it can be reused for a request.
 */
import type { CertificatePolicy } from "@azure/keyvault-certificates";
import { ValidationError, type FieldProblem } from "../shared/errors";
import { parseBoolean } from "../shared/bool";
import { pemToDer, x509 } from "../shared/x509";
import { normalizeDnsName, validateDnsNames } from "../acme/names";
import { CONTENT_TYPE_NAMES, KEY_TYPE_NAMES } from "./key-types";

export type RsaKeySize = 2048 | 3072 | 4096;
export type EcCurve = "P-256" | "P-384" | "P-521";
export type CertificateContentTypeName = (typeof CONTENT_TYPE_NAMES)[number];

/** Key and packaging options of one certificate. RSA carries keySize, EC carries curve. */
export interface KeyOptions {
  keyType: "RSA" | "EC";
  keySize?: RsaKeySize;
  curve?: EcCurve;
  reuseKey: boolean;
  exportable: boolean;
  contentType: CertificateContentTypeName;
  /** Also ask for the clientAuth EKU (private CAs only: public CAs no longer issue it; Let's Encrypt since 2026). */
  clientAuth?: true;
  /** The key is generated and kept in Key Vault's HSMs (kty RSA-HSM / EC-HSM; Premium vaults), never exportable. */
  hsm?: true;
}

/** Raw key options as they arrive from the HTTP API, the CLI or settings. */
export interface KeyOptionsInput {
  /**
   * "RSA-2048" | "RSA-3072" | "RSA-4096" | "EC-P256" | "EC-P384" | "EC-P521", each also with "-HSM" after the algorithm
   * ("RSA-HSM-2048", "EC-HSM-P256"); also "EC-P-256", "RSA" (2048), "EC" (P-256), "RSA-HSM", "EC-HSM"; any case.
   */
  keyType?: string;
  reuseKey?: boolean | string;
  exportable?: boolean | string;
  /** "pkcs12" (or "pfx") | "pem" | "application/x-pkcs12" | "application/x-pem-file". */
  contentType?: string;
  /** true: the CSR also asks for the TLS client authentication EKU (for private CAs; see CLIENT_AUTH_EKU). */
  clientAuth?: boolean | string;
}

/** What a CSR asks for: SAN dNSNames (lowercased, sorted) and its public key parameters. */
export interface CsrDescription {
  subject: string;
  names: string[];
  keyType: "RSA" | "EC" | "unknown";
  keySize?: number;
  curve?: string;
  /** Extended key usage OIDs the CSR asks for (sorted), when it carries the extension (Key Vault's do). */
  ekus?: string[];
  /** Key usage bits the CSR asks for (RFC 5280 names, sorted), when it carries the extension (Key Vault's do). */
  keyUsage?: string[];
}

/** The CA/B Forum serverAuth extended key usage (RFC 5280 §4.2.1.12, id-kp-serverAuth). */
export const SERVER_AUTH_EKU = "1.3.6.1.5.5.7.3.1";
/**
 * id-kp-clientAuth (RFC 5280 §4.2.1.12). Service Fabric cluster certificates authenticate both ways, but public CAs no
 * longer include it: Chrome's root program requires server-auth-only hierarchies, Let's Encrypt's classic profile
 * dropped it on 2026-02-11 and its tlsclient profile ended on 2026-07-08. Ask for it only from a private ACME CA.
 */
export const CLIENT_AUTH_EKU = "1.3.6.1.5.5.7.3.2";

export { KEY_TYPE_NAMES };

function boolOption(field: string, value: boolean | string | undefined, fallback: boolean, problems: FieldProblem[]): boolean {
  if (value === undefined) return fallback;
  const b = parseBoolean(value, "lenient");
  if (b !== undefined) return b;
  problems.push({ field, message: `"${value}" is not a boolean (use true or false)` });
  return fallback;
}

/**
 * Parses key options with defaults RSA-2048, reuseKey false, exportable true, PKCS#12.
 * Throws a ValidationError listing every invalid field.
 */
export function parseKeyOptions(input: KeyOptionsInput = {}): KeyOptions {
  const problems: FieldProblem[] = [];
  let keyType: KeyOptions["keyType"] = "RSA";
  let keySize: RsaKeySize | undefined = 2048;
  let curve: EcCurve | undefined;
  let hsm = false;
  if (input.keyType !== undefined) {
    const raw = String(input.keyType).trim();
    const rsa = /^RSA(-HSM)?(?:-?(2048|3072|4096))?$/i.exec(raw);
    const ec = /^EC(-HSM)?(?:-?P-?(256|384|521))?$/i.exec(raw);
    if (rsa) {
      keySize = Number(rsa[2] ?? 2048) as RsaKeySize;
      hsm = rsa[1] !== undefined;
    } else if (ec) {
      keyType = "EC";
      keySize = undefined;
      curve = `P-${ec[2] ?? "256"}` as EcCurve;
      hsm = ec[1] !== undefined;
    } else {
      problems.push({ field: "keyType", message: `"${raw}" is not a supported key type; use one of ${KEY_TYPE_NAMES.join(", ")}` });
    }
  }
  const reuseKey = boolOption("reuseKey", input.reuseKey, false, problems);
  // HSM keys never leave the HSM: not exportable by default, and asking for it is refused.
  const exportable = boolOption("exportable", input.exportable, !hsm, problems);
  if (hsm && exportable)
    problems.push({
      field: "exportable",
      message: "an HSM key cannot be exportable: leave exportable unset or false with an -HSM key type",
    });
  let contentType: CertificateContentTypeName = "application/x-pkcs12";
  if (input.contentType !== undefined) {
    const ct = String(input.contentType).trim().toLowerCase();
    if (ct === "pkcs12" || ct === "pfx" || ct === "application/x-pkcs12") contentType = "application/x-pkcs12";
    else if (ct === "pem" || ct === "application/x-pem-file") contentType = "application/x-pem-file";
    else problems.push({ field: "contentType", message: `"${input.contentType}" is not a supported content type; use pkcs12 or pem` });
  }
  const clientAuth = boolOption("clientAuth", input.clientAuth, false, problems);
  if (problems.length > 0) throw new ValidationError(problems);
  const options: KeyOptions =
    keyType === "RSA" ? { keyType, keySize, reuseKey, exportable, contentType } : { keyType, curve, reuseKey, exportable, contentType };
  if (clientAuth) options.clientAuth = true;
  if (hsm) options.hsm = true;
  return options;
}

/** The key type name of key options as requests give it: "RSA-2048", "EC-HSM-P256". */
export function keyTypeName(options: Pick<KeyOptions, "keyType" | "keySize" | "curve" | "hsm">): string {
  const algorithm = formatKeyType(options);
  return options.hsm ? algorithm.replace(/^(RSA|EC)-/, "$1-HSM-") : algorithm;
}

/** The short display form of the key algorithm (what a CSR shows; no HSM): "RSA-2048", "EC-P256". */
export function formatKeyType(options: Pick<KeyOptions, "keyType" | "keySize" | "curve">): string {
  return options.keyType === "RSA" ? `RSA-${options.keySize ?? 2048}` : `EC-${(options.curve ?? "P-256").replace("-", "")}`;
}

/**
 * The Key Vault certificate policy for an ACME certificate: issuer "Unknown" (we merge the CA's chain ourselves),
 * subject CN = first name (a wildcard is used as is), every name as a SAN dNSName, serverAuth EKU (RFC 5280
 * §4.2.1.12), key usage per key type (RFC 5280 §4.2.1.3), and a lifetime action that only emails so Key Vault never
 * tries to auto-renew a certificate it cannot issue.
 */
export function buildCertificatePolicy(names: string[], keyOptions: KeyOptions): CertificatePolicy {
  const [first, ...rest] = validateDnsNames(names);
  const dnsNames: [string, ...string[]] = [first as string, ...rest];
  const key =
    keyOptions.keyType === "RSA"
      ? { keyType: keyOptions.hsm ? ("RSA-HSM" as const) : ("RSA" as const), keySize: keyOptions.keySize ?? 2048 }
      : { keyType: keyOptions.hsm ? ("EC-HSM" as const) : ("EC" as const), keyCurveName: keyOptions.curve ?? ("P-256" as const) };
  return {
    issuerName: "Unknown",
    subject: `CN=${first}`,
    subjectAlternativeNames: { dnsNames },
    ...key,
    keyUsage: [...policyKeyUsage(keyOptions)],
    reuseKey: keyOptions.reuseKey,
    exportable: keyOptions.exportable,
    contentType: keyOptions.contentType,
    enhancedKeyUsage: policyEkus(keyOptions),
    lifetimeActions: [{ action: "EmailContacts", lifetimePercentage: 80 }],
  };
}

/** The key usage of kv-acme's policy per key type (RFC 5280 §4.2.1.3): RSA also enciphers keys, EC only signs. */
function policyKeyUsage(keyOptions: Pick<KeyOptions, "keyType">): readonly ("digitalSignature" | "keyEncipherment")[] {
  return keyOptions.keyType === "RSA" ? ["digitalSignature", "keyEncipherment"] : ["digitalSignature"];
}

/** The extended key usage of kv-acme's policy: serverAuth, and clientAuth when asked for. */
function policyEkus(keyOptions: Pick<KeyOptions, "clientAuth">): string[] {
  return keyOptions.clientAuth ? [SERVER_AUTH_EKU, CLIENT_AUTH_EKU] : [SERVER_AUTH_EKU];
}

/** RFC 5280 key usage names by flag (x509.KeyUsageFlags). */
const KEY_USAGE_NAMES: [string, number][] = [
  ["digitalSignature", x509.KeyUsageFlags.digitalSignature],
  ["nonRepudiation", x509.KeyUsageFlags.nonRepudiation],
  ["keyEncipherment", x509.KeyUsageFlags.keyEncipherment],
  ["dataEncipherment", x509.KeyUsageFlags.dataEncipherment],
  ["keyAgreement", x509.KeyUsageFlags.keyAgreement],
  ["keyCertSign", x509.KeyUsageFlags.keyCertSign],
  ["cRLSign", x509.KeyUsageFlags.cRLSign],
  ["encipherOnly", x509.KeyUsageFlags.encipherOnly],
  ["decipherOnly", x509.KeyUsageFlags.decipherOnly],
];

const CURVES_BY_OID: Record<string, string> = {
  "1.2.840.10045.3.1.7": "P-256",
  "1.3.132.0.34": "P-384",
  "1.3.132.0.35": "P-521",
};

function csrBytes(csr: string | Uint8Array): Uint8Array {
  if (typeof csr !== "string") return csr;
  const text = csr.trim();
  if (text.startsWith("-----BEGIN")) return pemToDer(text);
  // Key Vault returns the CSR as base64 (sometimes base64url) DER.
  return Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, ""), "base64");
}

/**
 * Describes a PKCS#10 CSR (RFC 2986) such as the one of a Key Vault pending operation: SAN dNSNames (RFC 5280
 * §4.2.1.6, lowercased, sorted) and the key type with RSA modulus size or EC curve. Accepts base64 DER, PEM or DER
 * bytes; throws ValidationError when the input is not a CSR.
 */
export function describeCsr(csrBase64OrDer: string | Uint8Array): CsrDescription {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    const bytes = csrBytes(csrBase64OrDer);
    csr = new x509.Pkcs10CertificateRequest(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  } catch (err) {
    throw new ValidationError(`not a PKCS#10 certificate signing request (${err instanceof Error ? err.message : String(err)})`, "csr");
  }
  const names: string[] = [];
  const ext = csr.extensions.find((e) => e.type === "2.5.29.17");
  if (ext) {
    const san = ext instanceof x509.SubjectAlternativeNameExtension ? ext : new x509.SubjectAlternativeNameExtension(ext.rawData);
    for (const item of san.names.items) if (item.type === "dns") names.push(normalizeDnsName(item.value));
  }
  names.sort();
  const algorithm = csr.publicKey.algorithm as { name: string; modulusLength?: number; namedCurve?: string };
  const description: CsrDescription = { subject: csr.subject, names, keyType: "unknown" };
  const eku = csr.extensions.find((e) => e.type === "2.5.29.37");
  if (eku) {
    const usages = (eku instanceof x509.ExtendedKeyUsageExtension ? eku : new x509.ExtendedKeyUsageExtension(eku.rawData)).usages;
    description.ekus = Array.from(usages, String).sort();
  }
  const ku = csr.extensions.find((e) => e.type === "2.5.29.15");
  if (ku) {
    const flags = (ku instanceof x509.KeyUsagesExtension ? ku : new x509.KeyUsagesExtension(ku.rawData)).usages;
    description.keyUsage = KEY_USAGE_NAMES.filter(([, bit]) => (flags & bit) !== 0)
      .map(([name]) => name)
      .sort();
  }
  if (algorithm.name === "RSASSA-PKCS1-v1_5" || algorithm.name === "RSA-PSS" || algorithm.name === "RSA-OAEP") {
    description.keyType = "RSA";
    if (algorithm.modulusLength !== undefined) description.keySize = algorithm.modulusLength;
  } else if (algorithm.name === "ECDSA" || algorithm.name === "ECDH") {
    description.keyType = "EC";
    const curve = algorithm.namedCurve;
    if (curve !== undefined) description.curve = CURVES_BY_OID[curve] ?? curve;
  }
  return description;
}

/**
 * Whether an in-progress Key Vault pending operation can be reused for a request: only when the CSR's SAN set equals
 * the requested names, its key parameters equal the requested ones and the usages it states (EKU, key usage) are the
 * ones kv-acme's policy asks for (a stale operation made with clientAuth, or without it, is not reused for the
 * other). Otherwise the caller cancels and deletes it
 * (an ACME finalize with a CSR for different names fails, RFC 8555 §7.4).
 */
export function pendingOperationMatches(
  csr: CsrDescription,
  names: string[],
  keyOptions: Pick<KeyOptions, "keyType" | "keySize" | "curve" | "clientAuth">,
): { reuse: boolean; reason: string } {
  const wanted = [...new Set(names.map(normalizeDnsName))].sort();
  const have = new Set(csr.names);
  const missing = wanted.filter((n) => !have.has(n));
  const extra = csr.names.filter((n) => !wanted.includes(n));
  const reasons: string[] = [];
  if (missing.length > 0) reasons.push(`the pending CSR lacks ${missing.join(", ")}`);
  if (extra.length > 0) reasons.push(`the pending CSR has extra names ${extra.join(", ")}`);
  const wantKey = formatKeyType(keyOptions);
  const haveKey =
    csr.keyType === "RSA"
      ? `RSA-${csr.keySize ?? "?"}`
      : csr.keyType === "EC"
        ? `EC-${(csr.curve ?? "?").replace("-", "")}`
        : "an unknown key type";
  if (haveKey !== wantKey) reasons.push(`the pending CSR has key ${haveKey}, the request wants ${wantKey}`);
  // What the CSR states of its usages must be what kv-acme's policy asks for (a CSR that states none is judged without).
  const wantEkus = [...policyEkus(keyOptions)].sort();
  if (csr.ekus && csr.ekus.join(",") !== wantEkus.join(","))
    reasons.push(`the pending CSR asks for extended key usage ${csr.ekus.join(", ") || "none"}, the request wants ${wantEkus.join(", ")}`);
  const wantUsage = [...policyKeyUsage(keyOptions)].sort();
  if (csr.keyUsage && csr.keyUsage.join(",") !== wantUsage.join(","))
    reasons.push(`the pending CSR asks for key usage ${csr.keyUsage.join(", ") || "none"}, the request wants ${wantUsage.join(", ")}`);
  if (reasons.length > 0) return { reuse: false, reason: reasons.join("; ") };
  return { reuse: true, reason: `the pending CSR has the same ${wanted.length} names and key ${wantKey}` };
}
