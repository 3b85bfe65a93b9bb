/**
 * ACME Renewal Information (RFC 9773): the certificate identifier, parsing the CA's RenewalInfo response and
 * picking the moment to renew. Pure; the clock and randomness are injected.
 */
import { retryAfterHeaderMs } from "../shared/retry-after";
import { UpstreamError, ValidationError } from "../shared/errors";
import { pemBlocks, pemToDer, x509 } from "../shared/x509";

/** A suggested renewal window (RFC 9773 §4.2). */
export interface RenewalWindow {
  start: Date;
  end: Date;
}

export interface RenewalInfo {
  window: RenewalWindow;
  explanationUrl?: string;
  /** When to ask the CA again (RFC 9773 §4.3), from Retry-After, clamped. */
  retryAfter: Date;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Poll interval when the CA sends no (usable) Retry-After. */
export const DEFAULT_ARI_RETRY_AFTER_MS = 6 * HOUR_MS;
export const MIN_ARI_RETRY_AFTER_MS = MINUTE_MS;
export const MAX_ARI_RETRY_AFTER_MS = 24 * HOUR_MS;

function certificateDer(leaf: string | Uint8Array): Uint8Array {
  if (typeof leaf !== "string") return leaf;
  const first = pemBlocks(leaf)[0];
  if (first !== undefined) return pemToDer(first);
  return Buffer.from(leaf.trim(), "base64");
}

/** Reads one DER tag-length header at `offset`; returns where the value starts and how long it is (exported for tests). */
export function derHeader(der: Uint8Array, offset: number): { tag: number; start: number; length: number } {
  const tag = der[offset];
  const first = der[offset + 1];
  if (tag === undefined || first === undefined) throw new Error("truncated DER");
  if (first < 0x80) return { tag, start: offset + 2, length: first };
  const count = first & 0x7f;
  if (count === 0 || count > 4) throw new Error("unsupported DER length");
  let length = 0;
  for (let i = 0; i < count; i++) {
    const b = der[offset + 2 + i];
    if (b === undefined) throw new Error("truncated DER");
    length = length * 256 + b;
  }
  return { tag, start: offset + 2 + count, length };
}

/**
 * The serialNumber INTEGER's content octets exactly as encoded (RFC 5280 §4.1.2.2), leading 0x00 included (exported
 * for tests: ariCertificateId parses the certificate first, so a malformed one never reaches this reader).
 */
export function serialBytes(der: Uint8Array): Uint8Array {
  const cert = derHeader(der, 0);
  const tbs = derHeader(der, cert.start);
  if (cert.tag !== 0x30 || tbs.tag !== 0x30) throw new Error("not an X.509 certificate");
  let field = derHeader(der, tbs.start);
  if (field.tag === 0xa0) field = derHeader(der, field.start + field.length); // explicit [0] version
  if (field.tag !== 0x02) throw new Error("serialNumber not found");
  return der.subarray(field.start, field.start + field.length);
}

/**
 * The RFC 9773 §4.1 certificate identifier: base64url(AKI keyIdentifier) "." base64url(serial number content
 * octets as encoded in DER, including a leading 0x00). Accepts PEM (first certificate), base64 DER or DER bytes.
 */
export function ariCertificateId(leafCertPemOrDer: string | Uint8Array): string {
  const der = certificateDer(leafCertPemOrDer);
  let cert: x509.X509Certificate;
  let serial: Uint8Array;
  try {
    cert = new x509.X509Certificate(der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer);
    serial = serialBytes(der);
  } catch (err) {
    throw new ValidationError(`not an X.509 certificate (${err instanceof Error ? err.message : String(err)})`, "certificate");
  }
  const ext = cert.extensions.find((e) => e.type === "2.5.29.35");
  const aki =
    ext === undefined
      ? undefined
      : ext instanceof x509.AuthorityKeyIdentifierExtension
        ? ext
        : new x509.AuthorityKeyIdentifierExtension(ext.rawData);
  if (!aki?.keyId) {
    throw new ValidationError(
      "the certificate has no Authority Key Identifier keyIdentifier, so it has no ARI identifier (RFC 9773 §4.1)",
      "certificate",
    );
  }
  return `${Buffer.from(aki.keyId, "hex").toString("base64url")}.${Buffer.from(serial).toString("base64url")}`;
}

/** ariCertificateId, or undefined for a leaf it cannot read (the ARI id is a tag: its absence only skips ARI). */
export function ariCertificateIdOrUndefined(leafCertPemOrDer: string | Uint8Array): string | undefined {
  try {
    return ariCertificateId(leafCertPemOrDer);
  } catch {
    return undefined;
  }
}

/** The renewalInfo URL of a certificate: the directory's renewalInfo resource + "/" + the certificate id (RFC 9773 §4.1). */
export function renewalInfoUrl(renewalInfoResource: string, certId: string): string {
  return `${renewalInfoResource.replace(/\/+$/, "")}/${certId}`;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function timestamp(value: unknown, field: string): Date {
  if (typeof value !== "string" || !RFC3339.test(value)) {
    throw new UpstreamError("Acme", `renewalInfo ${field} is not an RFC 3339 timestamp: ${JSON.stringify(value)}`, { retryable: true });
  }
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new UpstreamError("Acme", `renewalInfo ${field} is not a valid date: ${value}`, { retryable: true });
  return d;
}

/**
 * Parses a RenewalInfo response (RFC 9773 §4.2): the suggested window (start must be before end, otherwise the
 * response is invalid and an UpstreamError is thrown), the optional explanationURL, and when to poll again from
 * Retry-After (§4.3): 6 h when absent or unusable, clamped to [1 min, 24 h].
 */
export function parseRenewalInfo(json: unknown, retryAfterHeader: string | null, now: Date): RenewalInfo {
  let body = json;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      throw new UpstreamError("Acme", "renewalInfo response is not JSON", { retryable: true });
    }
  }
  if (typeof body !== "object" || body === null)
    throw new UpstreamError("Acme", "renewalInfo response is not a JSON object", { retryable: true });
  const { suggestedWindow, explanationURL } = body as { suggestedWindow?: unknown; explanationURL?: unknown };
  if (typeof suggestedWindow !== "object" || suggestedWindow === null) {
    throw new UpstreamError("Acme", "renewalInfo response has no suggestedWindow", { retryable: true });
  }
  const sw = suggestedWindow as { start?: unknown; end?: unknown };
  const start = timestamp(sw.start, "suggestedWindow.start");
  const end = timestamp(sw.end, "suggestedWindow.end");
  if (start.getTime() >= end.getTime()) {
    throw new UpstreamError("Acme", `renewalInfo window is invalid: start ${start.toISOString()} is not before end ${end.toISOString()}`, {
      retryable: true,
    });
  }
  const raw = retryAfterHeaderMs(retryAfterHeader, now.getTime()) ?? DEFAULT_ARI_RETRY_AFTER_MS;
  const delay = Math.min(MAX_ARI_RETRY_AFTER_MS, Math.max(MIN_ARI_RETRY_AFTER_MS, raw));
  const info: RenewalInfo = { window: { start, end }, retryAfter: new Date(now.getTime() + delay) };
  if (typeof explanationURL === "string" && URL.canParse(explanationURL)) info.explanationUrl = explanationURL;
  return info;
}

/**
 * A uniformly random moment inside the window (RFC 9773 §4.2), from an injected `random` in [0, 1).
 * Values outside [0, 1) are clamped so the result always lies in [start, end).
 */
export function pickRenewalTime(window: RenewalWindow, random: () => number): Date {
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  const span = window.end.getTime() - window.start.getTime();
  return new Date(window.start.getTime() + Math.floor(r * span));
}
