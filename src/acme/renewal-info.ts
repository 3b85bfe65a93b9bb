/**
 * Fetching ACME Renewal Information (RFC 9773 §4.2): an unauthenticated GET of <renewalInfo>/<certId>. When the
 * directory has no renewalInfo resource (e.g. Pebble 2.4) the result is `{ supported: false }` and callers fall back
 * to the expiry and lifetime rules; a failed lookup is reported per certificate, never fatal for a run.
 */
import * as acme from "acme-client";
import { errorMessage } from "../shared/errors";
import { parseRenewalInfo, renewalInfoUrl } from "./ari";
import type { AcmeDirectory } from "./client";

/** JSON-serializable outcome of one renewalInfo lookup. */
export type RenewalInfoResult =
  | { supported: false }
  | { supported: true; ok: true; windowStart: string; windowEnd: string; explanationUrl?: string; retryAfter: string }
  | { supported: true; ok: false; error: string };

/** Looks up the CA's suggested renewal window of a certificate (by its RFC 9773 §4.1 identifier). */
export async function fetchRenewalInfo(
  directory: AcmeDirectory,
  certId: string,
  now: () => Date = () => new Date(),
): Promise<RenewalInfoResult> {
  if (!directory.renewalInfo) return { supported: false };
  try {
    const resp = await acme.axios.get(renewalInfoUrl(directory.renewalInfo, certId), { responseType: "json" });
    if (resp.status !== 200) return { supported: true, ok: false, error: `renewalInfo answered HTTP ${resp.status}` };
    const header = resp.headers["retry-after"];
    const info = parseRenewalInfo(resp.data, typeof header === "string" ? header : null, now());
    return {
      supported: true,
      ok: true,
      windowStart: info.window.start.toISOString(),
      windowEnd: info.window.end.toISOString(),
      ...(info.explanationUrl ? { explanationUrl: info.explanationUrl } : {}),
      retryAfter: info.retryAfter.toISOString(),
    };
  } catch (err) {
    return { supported: true, ok: false, error: errorMessage(err) };
  }
}
