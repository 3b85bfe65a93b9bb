/**
 * One HTTPS call of a REST DNS provider (Cloudflare, Route 53, Google Cloud DNS, Custom DNS, acme-dns) through the
 * platform's fetch: a per-call timeout, a bounded response body, and failures mapped to UpstreamError with the
 * provider and the zone in the message. 401/403 and other 4xx answers are permanent (retrying cannot fix a wrong
 * key or a missing permission); 408, 429, 5xx and network errors are retryable. A 429 or 503 with Retry-After
 * carries it (`retryAfterMs`, and "(Retry-After: N s)" in the message): the drivers wait at least that long before the
 * next attempt, the durable one in a durable timer (src/issuance/retry-policy.ts), as for a throttled Key Vault;
 * providers never retry such an answer in-process (throttledFor).
 */
import { UpstreamError, errorMessage } from "../shared/errors";
import { retryAfterHeaderMs } from "../shared/retry-after";

/** Default time limit of one provider call. */
export const PROVIDER_CALL_TIMEOUT_MS = 30_000;
/** Largest provider response we read (zone lists are paged well below this). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface RestRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface RestResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** Who is calling and about what, for error messages: `Cloudflare: adding TXT values in zone example.com failed ...`. */
export interface CallContext {
  /** Provider display name, e.g. "Cloudflare". */
  provider: string;
  /** What the call does, e.g. "adding TXT values". */
  action: string;
  /** Zone the call is about, when there is one. */
  zone?: string;
  timeoutMs?: number;
}

function where(ctx: CallContext): string {
  return ctx.zone ? `${ctx.action} in zone ${ctx.zone}` : ctx.action;
}

/** Sends one request; returns any HTTP answer (the caller decides what a status means) or throws on network failure. */
export async function send(req: RestRequest, ctx: CallContext): Promise<RestResponse> {
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      redirect: "error",
      signal: AbortSignal.timeout(ctx.timeoutMs ?? PROVIDER_CALL_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? `${errorMessage(err)} (${cause.message})` : errorMessage(err);
    throw new UpstreamError(serviceCode(ctx.provider), `${ctx.provider}: ${where(ctx)} failed: ${detail}`, {
      status: 503,
      retryable: true,
      cause: err,
    });
  }
  const buf = Buffer.from(await res.arrayBuffer());
  if (buf.length > MAX_RESPONSE_BYTES) {
    throw new UpstreamError(
      serviceCode(ctx.provider),
      `${ctx.provider}: ${where(ctx)}: the response is larger than ${MAX_RESPONSE_BYTES} bytes`,
    );
  }
  return { status: res.status, headers: res.headers, text: buf.toString("utf8") };
}

/** How long a throttled answer (429 or 503 with Retry-After) asks to wait; undefined for any other answer. */
export function throttledFor(status: number, headers: Headers | undefined): number | undefined {
  if (status !== 429 && status !== 503) return undefined;
  return retryAfterHeaderMs(headers?.get("retry-after"), Date.now());
}

/**
 * The error for a non-success answer; `detail` is the provider's own message (never a credential). With the answer's
 * `headers`, a throttled one carries its Retry-After.
 */
export function httpFailure(ctx: CallContext, status: number, detail: string, headers?: Headers): UpstreamError {
  const retryable = status === 408 || status === 429 || status >= 500;
  const retryAfterMs = throttledFor(status, headers);
  // One line: an orchestrator reads a failed activity's first line only, where the Retry-After note must be.
  const text = detail.replace(/\s+/g, " ").trim();
  const hint =
    status === 401
      ? " (the credentials were rejected: check the provider's key or token)"
      : status === 403
        ? " (the credentials lack a permission this needs)"
        : "";
  return new UpstreamError(serviceCode(ctx.provider), `${ctx.provider}: ${where(ctx)} failed with HTTP ${status}${hint}: ${text}`, {
    status: status === 401 || status === 403 ? status : 502,
    retryable,
    details: { provider: ctx.provider, ...(ctx.zone ? { zone: ctx.zone } : {}), httpStatus: status },
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** Parses a JSON body, or fails naming the provider (a proxy's HTML error page, a truncated answer). */
export function parseJson<T>(res: RestResponse, ctx: CallContext): T {
  try {
    return JSON.parse(res.text) as T;
  } catch {
    throw new UpstreamError(serviceCode(ctx.provider), `${ctx.provider}: ${where(ctx)}: the answer (HTTP ${res.status}) is not JSON`, {
      retryable: res.status >= 500,
    });
  }
}

/** "Route 53" -> "Route53", the UpstreamError service code. */
function serviceCode(provider: string): string {
  return provider.replace(/[^A-Za-z0-9]/g, "");
}

/** Per-key serialization inside one process: concurrent read-modify-writes of one record set queue up instead of racing. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
