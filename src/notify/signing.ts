/**
 * Signatures for `generic` webhooks, the Standard Webhooks scheme (https://www.standardwebhooks.com, reference
 * library `standardwebhooks` on npm): headers `webhook-id` (the event id), `webhook-timestamp` (unix seconds of this
 * attempt) and `webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<raw body>")>`,
 * where the key is the base64-decoded part of a `whsec_<base64>` secret. The header holds one space-separated
 * signature per secret, so a target with a primary and a secondary secret can be rotated without a gap.
 *
 * Transition for receivers of kv-acme's first scheme: a target with a legacy secret also gets
 * `v1=<hex HMAC-SHA256(utf-8 bytes of the legacy secret, "<timestamp>.<raw body>")>` in the same header. Standard
 * Webhooks verifiers skip that entry (its version is not `v1`), old receivers skip the `v1,` entries.
 * Receivers verify with the library (recipes in docs/webhooks.md); kv-acme itself only signs.
 */
import { createHmac, randomBytes } from "node:crypto";

export const SIGNATURE_HEADER = "webhook-signature";
export const TIMESTAMP_HEADER = "webhook-timestamp";
export const ID_HEADER = "webhook-id";
export const SECRET_PREFIX = "whsec_";
/** Key sizes the Standard Webhooks specification recommends (24 to 64 bytes). */
export const SECRET_BYTES = { min: 24, max: 64, generated: 32 } as const;

/** The secrets that sign one target's deliveries. */
export interface SigningSecrets {
  /** `whsec_<base64>` secrets, each giving one `v1,` signature (primary first). */
  secrets: readonly string[];
  /** A secret of the first scheme (any string), for receivers not yet moved to Standard Webhooks. */
  legacySecret?: string;
}

/**
 * Why `secret` is not a usable `whsec_` secret, or null when it is. The message never repeats the secret.
 */
export function signingSecretProblem(secret: string): string | null {
  if (!secret.startsWith(SECRET_PREFIX))
    return `must start with "${SECRET_PREFIX}" (Standard Webhooks); a secret of the old form belongs in LegacySecret`;
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64) || b64.length === 0)
    return `must be "${SECRET_PREFIX}" followed by standard base64 (padded)`;
  const bytes = Buffer.from(b64, "base64").length;
  if (bytes < SECRET_BYTES.min || bytes > SECRET_BYTES.max)
    return `must decode to ${SECRET_BYTES.min}-${SECRET_BYTES.max} bytes (got ${bytes})`;
  return null;
}

/** The HMAC key of a `whsec_` secret: its base64-decoded part. Throws (without the secret) when it is malformed. */
export function signingKey(secret: string): Buffer {
  const problem = signingSecretProblem(secret);
  if (problem) throw new Error(`webhook signing secret ${problem}`);
  return Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
}

/** A new random secret: `whsec_` + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES.generated).toString("base64")}`;
}

/** `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, one Standard Webhooks signature. */
export function standardSignature(secret: string, id: string, timestamp: number, rawBody: string): string {
  return `v1,${createHmac("sha256", signingKey(secret)).update(`${id}.${timestamp}.`).update(rawBody).digest("base64")}`;
}

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the first scheme, kept for the transition only. */
export function legacySignature(legacySecret: string, timestamp: number, rawBody: string): string {
  return `v1=${createHmac("sha256", legacySecret).update(`${timestamp}.`).update(rawBody).digest("hex")}`;
}

/** The three headers of a signed delivery. */
export function signatureHeaders(signing: SigningSecrets, id: string, rawBody: string, now: Date): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  const signatures = signing.secrets.map((s) => standardSignature(s, id, timestamp, rawBody));
  if (signing.legacySecret !== undefined) signatures.push(legacySignature(signing.legacySecret, timestamp, rawBody));
  return { [ID_HEADER]: id, [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signatures.join(" ") };
}
