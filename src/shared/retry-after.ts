/**
 * A Retry-After header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as milliseconds from `now`, for every client
 * that honours one: the Azure SDK pipelines (./azure-throttling), the hosted REST DNS providers (../dns/rest), ARI.
 * Plain and deterministic.
 */

/** Milliseconds to wait, never negative (a date in the past is 0); undefined when absent or unusable. */
export function retryAfterHeaderMs(header: string | null | undefined, now: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const v = header.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
