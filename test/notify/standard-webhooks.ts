/**
 * Verification with the Standard Webhooks reference library (`standardwebhooks` on npm), the way receivers do it,
 * never with kv-acme's own code.
 */
import type { IncomingHttpHeaders } from "node:http";
import { Webhook } from "standardwebhooks";

/** Node's incoming headers as the flat record the library takes. */
export function flatHeaders(headers: IncomingHttpHeaders | Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(" ") : String(v)]));
}

/** The library's verdict on a delivery: "ok" or the library's error message. */
export function libraryVerdict(secret: string, headers: IncomingHttpHeaders | Record<string, string>, rawBody: Buffer | string): string {
  try {
    new Webhook(secret).verify(Buffer.isBuffer(rawBody) ? rawBody.toString("utf8") : rawBody, flatHeaders(headers));
    return "ok";
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** A fresh `whsec_` secret of `bytes` random bytes. */
export { generateSigningSecret } from "../../src/notify/signing";
