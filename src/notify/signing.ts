/**
 * Signatures for `generic` webhooks: `webhook-signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`
 * with `webhook-timestamp` (unix seconds) and `webhook-id` (the idempotency key). Receivers verify with
 * verifyWebhookSignature (the recipe in docs/webhooks.md) and drop timestamps older than the tolerance.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "webhook-signature";
export const TIMESTAMP_HEADER = "webhook-timestamp";
export const ID_HEADER = "webhook-id";

/** hex HMAC-SHA256 over `<timestamp>.<rawBody>`. */
export function computeSignature(secret: string, timestamp: number | string, rawBody: string | Buffer): string {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(rawBody).digest("hex");
}

/** The three headers of a signed delivery. */
export function signatureHeaders(secret: string, id: string, rawBody: string, now: Date): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    [ID_HEADER]: id,
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: `v1=${computeSignature(secret, timestamp, rawBody)}`,
  };
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : bag[key];
  return Array.isArray(v) ? v.join(" ") : v;
}

export interface VerifyResult {
  ok: boolean;
  reason?: "missing-headers" | "stale-timestamp" | "bad-signature";
}

/**
 * Verifies a signed delivery: the timestamp is within `toleranceSeconds` (default 300) of `now`, and one of the
 * space- or comma-separated `v1=` signatures equals the HMAC of `<timestamp>.<rawBody>` (constant-time compare).
 * Use the raw body bytes as received, before any JSON parsing.
 */
export function verifyWebhookSignature(
  secret: string,
  headers: HeaderBag,
  rawBody: string | Buffer,
  options: { toleranceSeconds?: number; now?: Date } = {},
): VerifyResult {
  const timestamp = header(headers, TIMESTAMP_HEADER);
  const signatures = header(headers, SIGNATURE_HEADER);
  if (!timestamp || !signatures || !/^\d+$/.test(timestamp)) return { ok: false, reason: "missing-headers" };
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return { ok: false, reason: "stale-timestamp" };
  const expected = Buffer.from(computeSignature(secret, timestamp, rawBody), "hex");
  for (const part of signatures.split(/[\s,]+/)) {
    if (!part.startsWith("v1=")) continue;
    const given = Buffer.from(part.slice(3), "hex");
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true };
  }
  return { ok: false, reason: "bad-signature" };
}
