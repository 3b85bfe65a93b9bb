/**
 * acme-client wiring: one session per ACME directory and account key, with the retries RFC 8555 asks clients to do.
 * - badNonce (§6.5): acme-client retries a signed request with the nonce from the error; we raise its attempt limit
 *   and also retry a whole step when a badNonce still escapes.
 * - Retry-After (§7.4, §8.2): polling of orders and authorizations honours it (capped), else backs off from 100 ms.
 * Protocol calls are granular (never acme-client's `auto`).
 */
import { createRequire } from "node:module";
import * as acme from "acme-client";
import { UpstreamError, errorMessage } from "../shared/errors";
import { sleep } from "../shared/time";
import { RATE_LIMITED } from "./problems";

/** The RFC 8555 §7.1.1 directory (plus RFC 9773 renewalInfo). */
export interface AcmeDirectory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  revokeCert: string;
  keyChange?: string;
  renewalInfo?: string;
  meta?: {
    termsOfService?: string;
    website?: string;
    externalAccountRequired?: boolean;
    /** draft-ietf-acme-profiles: profile name -> description. */
    profiles?: Record<string, string>;
    /** RFC 8555 §7.1.1: the CA's issuer domain names in CAA records (RFC 8659). */
    caaIdentities?: string[];
  };
}

/** The parts of acme-client we use that its type declarations leave out (raw signed requests with headers). */
interface AcmeInternals {
  http: {
    maxBadNonceRetries: number;
    getDirectory(): Promise<AcmeDirectory>;
    /** acme-client's cached directory and when it read it (Unix seconds); it reads the directory again after a day. */
    directoryCache: AcmeDirectory | null;
    directoryTimestamp: number;
  };
  api: {
    apiRequest(
      url: string,
      payload: unknown,
      validStatusCodes: number[],
    ): Promise<{ status: number; headers: Record<string, string | undefined>; data: unknown }>;
  };
}

/** An ACME client bound to an account (key + URL), with the directory it came from. */
export interface AcmeSession {
  directoryUrl: string;
  directory: AcmeDirectory;
  accountUrl: string;
  client: acme.Client;
}

/** How many times acme-client re-signs one request after badNonce (its default is 5; Pebble rejects 5–50 %). */
export const BAD_NONCE_RETRIES = 20;

/** The CA refused a request as rateLimited (RFC 8555 §6.6); `retryAfterMs` from its Retry-After header, when sent. */
export class AcmeRateLimitedError extends Error {
  constructor(
    readonly detail: string,
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`the CA rate-limited the request: ${detail}`);
    this.name = "AcmeRateLimitedError";
  }
}

type AxiosAdapter = (config: unknown) => Promise<unknown>;
let transportHooked = false;

function problemOf(data: unknown): { type?: string; detail?: string } | undefined {
  try {
    const parsed: unknown = typeof data === "string" ? JSON.parse(data) : Buffer.isBuffer(data) ? JSON.parse(data.toString("utf8")) : data;
    return typeof parsed === "object" && parsed !== null ? (parsed as { type?: string; detail?: string }) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * acme-client's HTTP layer retries every 429 in-process, sleeping for the Retry-After (up to 5 times). For a CA rate
 * limit that is hours asleep inside one activity and a burst of refused requests. Instead a rateLimited answer (429,
 * or the rateLimited problem type) surfaces at once as AcmeRateLimitedError with its Retry-After, and the caller
 * reschedules (a renewal: at the CA's time, src/renewal/decide.ts).
 *
 * A request that got no answer (refused, reset, a TLS failure) is retried by acme-client, but after its last attempt
 * (and at once for an aborted request) its interceptor reads the missing response and throws "Cannot read properties
 * of undefined (reading 'config')", 75 s later: the cause is lost and the error is not seen as retryable. The last
 * attempt's failure is therefore thrown as a plain error with the cause's message and code, which the interceptor
 * passes on untouched (as it does an error without a request config).
 *
 * acme-client's axios instance is process-wide and its retry runs in a response interceptor, so the hook is a wrapper
 * around its adapter, installed once.
 */
function hookAcmeTransport(): void {
  if (transportHooked) return;
  transportHooked = true;
  const instance = acme.axios as unknown as { defaults: { adapter: unknown; acmeSettings: { retryMaxAttempts: number } } };
  // acme-client's own copy of axios (whose getAdapter resolves the "http" adapter it configured).
  const axios = createRequire(require.resolve("acme-client"))("axios") as { getAdapter(a: unknown): AxiosAdapter };
  const base = axios.getAdapter(instance.defaults.adapter);
  instance.defaults.adapter = async (config: unknown) => {
    try {
      return await base(config);
    } catch (err) {
      const response = (err as { response?: { status?: number; headers?: Record<string, string | undefined>; data?: unknown } }).response;
      const problem = problemOf(response?.data);
      if (response && (response.status === 429 || problem?.type === RATE_LIMITED)) {
        const seconds = parseRetryAfter(response.headers?.["retry-after"]);
        throw new AcmeRateLimitedError(
          problem?.detail ?? `HTTP ${response.status}`,
          response.status ?? 429,
          seconds === undefined ? undefined : seconds * 1000,
        );
      }
      const code = (err as { code?: unknown }).code;
      const attempt = (config as { retryAttempt?: number }).retryAttempt ?? 0;
      if (!response && (code === "ECONNABORTED" || attempt >= instance.defaults.acmeSettings.retryMaxAttempts)) {
        throw Object.assign(new Error(errorMessage(err)), { code, cause: err });
      }
      throw err;
    }
  };
}

/**
 * Creates an acme-client Client with our retry settings. With `directory` (just read from `directoryUrl`), the client
 * starts from it instead of fetching the directory again on its first request.
 */
export function newAcmeClient(directoryUrl: string, accountKeyPem: string, accountUrl?: string, directory?: AcmeDirectory): acme.Client {
  hookAcmeTransport();
  const client = new acme.Client({ directoryUrl, accountKey: accountKeyPem, ...(accountUrl ? { accountUrl } : {}) });
  const http = internals(client).http;
  http.maxBadNonceRetries = BAD_NONCE_RETRIES;
  if (directory) {
    http.directoryCache = directory;
    http.directoryTimestamp = Math.floor(Date.now() / 1000);
  }
  return client;
}

export function internals(client: acme.Client): AcmeInternals {
  return client as unknown as AcmeInternals;
}

/** Reads the directory (unauthenticated GET, RFC 8555 §7.1.1). */
export async function fetchDirectory(directoryUrl: string): Promise<AcmeDirectory> {
  hookAcmeTransport();
  try {
    const resp = await acme.axios.get<AcmeDirectory>(directoryUrl, { responseType: "json" });
    if (resp.status !== 200 || typeof resp.data !== "object" || !resp.data?.newOrder) {
      throw new Error(`HTTP ${resp.status}, not an ACME directory`);
    }
    return resp.data;
  } catch (err) {
    throw new UpstreamError("Acme", `Cannot read the ACME directory ${directoryUrl}: ${errorMessage(err)}`, {
      retryable: true,
      cause: err,
    });
  }
}

/** Whether an error is (or wraps) an RFC 8555 §6.5 badNonce that survived acme-client's own retries. */
export function isBadNonce(err: unknown): boolean {
  const message = errorMessage(err);
  return /badNonce|anti-replay nonce|invalid nonce/i.test(message);
}

/** Runs one protocol step, retrying it from scratch when a badNonce escapes (RFC 8555 §6.5). */
export async function withNonceRetry<T>(step: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await step();
    } catch (err) {
      if (i >= attempts || !isBadNonce(err)) throw err;
    }
  }
}

/** Wraps an acme-client failure into an UpstreamError with the CA's problem detail. */
export function acmeError(action: string, err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (err instanceof AcmeRateLimitedError) {
    // Not retried in this run: a renewal is rescheduled at the CA's time, an issuance fails saying when to retry.
    return new UpstreamError("Acme", `ACME: ${action} failed: ${err.message}`, {
      status: err.status,
      retryable: false,
      cause: err,
      retryAfterMs: err.retryAfterMs,
      details: { problemType: RATE_LIMITED },
    });
  }
  const message = errorMessage(err);
  const status = (err as { response?: { status?: number } }).response?.status;
  return new UpstreamError("Acme", `ACME: ${action} failed: ${message}`, {
    status: status ?? 502,
    retryable: isBadNonce(err) || /serverInternal|ECONNRESET|ECONNREFUSED|timeout/i.test(message),
    cause: err,
  });
}

/** Seconds from a Retry-After header (RFC 9110 §10.2.3: delay-seconds or HTTP-date), or undefined. */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

export interface PollOptions {
  timeoutMs?: number;
  /** First interval, default 100 ms, ×1.5 up to 2 s. */
  intervalMs?: number;
  maxIntervalMs?: number;
  /** Upper bound on one Retry-After wait, default 10 s. */
  maxRetryAfterMs?: number;
}

/**
 * POST-as-GET polling of an ACME resource (RFC 8555 §6.3, §7.5.1) until `done` says so. Honours Retry-After.
 * `done` returns true when finished, false to keep polling, and throws to stop with an error.
 */
export async function pollResource<T extends { status?: string }>(
  session: AcmeSession,
  url: string,
  done: (resource: T) => boolean,
  options: PollOptions = {},
): Promise<T> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  let interval = options.intervalMs ?? 100;
  for (;;) {
    const resp = await withNonceRetry(() => internals(session.client).api.apiRequest(url, null, [200]));
    const resource = resp.data as T;
    if (done(resource)) return resource;
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      throw new UpstreamError("Acme", `ACME: ${url} still "${resource.status}" after ${Math.round(timeoutMs / 1000)} s`, {
        status: 504,
        retryable: true,
      });
    }
    const retryAfter = parseRetryAfter(resp.headers["retry-after"]);
    const wait = retryAfter !== undefined ? Math.min(retryAfter * 1000, options.maxRetryAfterMs ?? 10_000) : interval;
    await sleep(Math.max(50, Math.min(wait, timeoutMs - elapsed)));
    interval = Math.min(options.maxIntervalMs ?? 2_000, Math.ceil(interval * 1.5));
  }
}
