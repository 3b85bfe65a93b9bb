/**
 * Webhook delivery: one attempt (deliverOnce, for durable activities that retry with durable timers), a retrying
 * delivery (deliverWebhook) and a fan-out to every matching target (notifyAll). Nothing here throws for a failed
 * delivery: results say what happened, and reports name only the target's origin, never its full URL.
 */
import { type NotifyEvent, matchesFilter } from "./events";
import { renderPayload } from "./formats";
import { KeyMaterialError } from "./guard";
import { retryDecision, type AttemptOutcome } from "./retry";
import { ID_HEADER, signatureHeaders, signingKey, type SigningSecrets } from "./signing";
import type { DeliveryResult, WebhookTargetSettings } from "./types";
import { sleep } from "../shared/time";
import { urlOrigin } from "../shared/url";

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_USER_AGENT = "kv-acme-webhook/1";

export interface DeliveryOptions {
  /** Per-attempt timeout (default 10 000 ms). */
  timeoutMs?: number;
  /** Attempts in all, including the first (default 5). */
  maxAttempts?: number;
  /** Waits between attempts (default: setTimeout). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  /** Reads a Key Vault secret by name, for targets with `secretName`. */
  resolveSecret?: (name: string) => Promise<string>;
  userAgent?: string;
}

/** The outcome of one attempt, with everything retryDecision needs. */
export interface AttemptResult extends AttemptOutcome {
  target: string;
  format: WebhookTargetSettings["format"];
  ok: boolean;
  error?: string;
  durationMs: number;
}

/** Scheme, host and port of a URL, never its path or query (they carry tokens). */
export function targetOrigin(url: string): string {
  return urlOrigin(url) ?? "invalid-url";
}

function scrub(message: string, url: string): string {
  const origin = targetOrigin(url);
  return message.split(url).join(origin);
}

function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: string }).code;
    return `${err.message}: ${code ? `${code} ` : ""}${cause.message}`.trim();
  }
  return err.message;
}

/** The value of a secret given inline or by Key Vault name; undefined when neither is set. */
async function resolve(value: string | undefined, name: string | undefined, options: DeliveryOptions): Promise<string | undefined> {
  if (value) return value;
  if (!name) return undefined;
  if (!options.resolveSecret) throw new Error(`target has secret name "${name}" but no secret resolver was given`);
  return options.resolveSecret(name);
}

/**
 * The secrets that sign a target's deliveries, whatever its format (undefined: unsigned). Throws when a `whsec_`
 * secret is malformed, without repeating it.
 */
async function signingFor(target: WebhookTargetSettings, options: DeliveryOptions): Promise<SigningSecrets | undefined> {
  const primary = await resolve(target.secret, target.secretName, options);
  const secondary = await resolve(target.secondarySecret, target.secondarySecretName, options);
  const legacySecret = await resolve(target.legacySecret, target.legacySecretName, options);
  const secrets = [primary, secondary].filter((s): s is string => s !== undefined);
  for (const s of secrets) signingKey(s);
  if (secrets.length === 0 && legacySecret === undefined) return undefined;
  return legacySecret === undefined ? { secrets } : { secrets, legacySecret };
}

interface Prepared {
  body: string;
  contentType: string;
  signing?: SigningSecrets;
}

async function prepare(target: WebhookTargetSettings, event: NotifyEvent, options: DeliveryOptions): Promise<Prepared> {
  const { body, contentType } = renderPayload(target.format, event);
  return { body, contentType, signing: await signingFor(target, options) };
}

async function attempt(
  target: WebhookTargetSettings,
  event: NotifyEvent,
  prepared: Prepared,
  options: DeliveryOptions,
): Promise<AttemptResult> {
  const now = options.now ?? (() => new Date());
  const started = performance.now();
  const base = { target: targetOrigin(target.url), format: target.format };
  const headers: Record<string, string> = {
    "content-type": prepared.contentType,
    "user-agent": options.userAgent ?? DEFAULT_USER_AGENT,
    [ID_HEADER]: event.id,
  };
  if (prepared.signing) Object.assign(headers, signatureHeaders(prepared.signing, event.id, prepared.body, now()));
  try {
    const response = await fetch(target.url, {
      method: "POST",
      headers,
      body: prepared.body,
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    const text = await response.text().catch(() => "");
    const ok = response.status >= 200 && response.status < 300;
    return {
      ...base,
      ok,
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      error: ok ? undefined : scrub(`HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`, target.url),
      durationMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return {
      ...base,
      ok: false,
      timedOut,
      networkError: !timedOut,
      error: timedOut ? `timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : scrub(describeFetchError(err), target.url),
      durationMs: Math.round(performance.now() - started),
    };
  }
}

function refused(target: WebhookTargetSettings, err: unknown): AttemptResult {
  const message =
    err instanceof KeyMaterialError ? err.message : `not sent: ${err instanceof Error ? scrub(err.message, target.url) : String(err)}`;
  return { target: targetOrigin(target.url), format: target.format, ok: false, error: message, durationMs: 0 };
}

/**
 * One delivery attempt, for callers that schedule retries themselves (durable timers): feed the result to
 * retryDecision. A payload refused by the key-material guard or a missing secret comes back not ok and not retryable.
 */
export async function deliverOnce(
  target: WebhookTargetSettings,
  event: NotifyEvent,
  options: DeliveryOptions = {},
): Promise<AttemptResult> {
  let prepared: Prepared;
  try {
    prepared = await prepare(target, event, options);
  } catch (err) {
    return refused(target, err);
  }
  return attempt(target, event, prepared, options);
}

/** Delivers one event to one target, retrying 5xx/429/network errors/timeouts with backoff (retryDecision). Never throws. */
export async function deliverWebhook(
  target: WebhookTargetSettings,
  event: NotifyEvent,
  options: DeliveryOptions = {},
): Promise<DeliveryResult> {
  const started = performance.now();
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  const wait = options.sleep ?? sleep;
  const now = options.now ?? (() => new Date());
  const result = (r: AttemptResult, attempts: number): DeliveryResult => ({
    target: r.target,
    format: r.format,
    eventId: event.id,
    eventType: event.type,
    ok: r.ok,
    attempts,
    status: r.status,
    error: r.error,
    durationMs: Math.round(performance.now() - started),
  });
  let prepared: Prepared;
  try {
    prepared = await prepare(target, event, options);
  } catch (err) {
    return result(refused(target, err), 0);
  }
  for (let n = 1; ; n++) {
    const r = await attempt(target, event, prepared, options);
    if (r.ok) return result(r, n);
    const decision = retryDecision(n, r, maxAttempts, now());
    if (!decision.retry) return result(r, n);
    await wait(decision.delayMs);
  }
}

/** Delivers an event to every target whose filter matches it, in parallel. Never throws; one result per matching target. */
export async function notifyAll(
  targets: readonly WebhookTargetSettings[],
  event: NotifyEvent,
  options: DeliveryOptions = {},
): Promise<DeliveryResult[]> {
  const matching = targets.filter((t) => matchesFilter(event.type, t.events));
  return Promise.all(
    matching.map((t) =>
      deliverWebhook(t, event, options).catch((err: unknown): DeliveryResult => ({
        target: targetOrigin(t.url),
        format: t.format,
        eventId: event.id,
        eventType: event.type,
        ok: false,
        attempts: 0,
        error: err instanceof Error ? scrub(err.message, t.url) : String(err),
        durationMs: 0,
      })),
    ),
  );
}
