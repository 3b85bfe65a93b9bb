/**
 * Durable activity implementations: thin, idempotent, a named-object input and a JSON output, each calling one domain
 * step of src/ with the process runtime (getRuntime()). Registered by functions/activities.ts.
 *
 * Error contract (../orchestrations/outcome.ts): a permanent failure (ValidationError, ConfigurationError,
 * NotFoundError, ConflictError, an UpstreamError that is not retryable) is RETURNED as `{ ok: false, error }` so the
 * orchestrator fails fast; a transient one (retryable UpstreamError, network errors, anything unknown) is THROWN so
 * callActivityWithRetry retries it with durable backoff. Outputs are round-tripped through JSON (Dates become ISO
 * strings) exactly as the Durable Task runtime stores them, so a replay sees the same values the first run did.
 *
 * `notify` and `trackOutcome` never throw. `notify` delivers one event to every matching target with
 * notifyAll (per-target retries with backoff inside the activity, honouring Retry-After, 10 s per attempt, 5
 * attempts) and records each delivery in telemetry; results are returned, a failed delivery never fails the caller.
 * Domain modules are required lazily so loading the function app stays cheap (cold start).
 */
import type { InvocationContext } from "@azure/functions";
import type * as Issuance from "../issuance";
import type { IssueRequest, OrderPlan, ValidatedRequest, ChallengeRecord } from "../issuance/steps";
import type { OrderRef } from "../acme/order";
import type { RenewalCandidate } from "../renewal/scan";
import type { DeliveryResult, EventType, NotifyEvent } from "../notify";
import type { OutcomeTelemetry } from "../telemetry";
import { ACTIVITIES, type ActivityName } from "../orchestrations/activity-names";
import type { StepError, StepOutcome } from "../orchestrations/outcome";
import type { RevokeOutput } from "../orchestrations/revoke-certificate";
import { getRuntime } from "./runtime";

/* eslint-disable @typescript-eslint/no-require-imports */
const issuance = () => require("../issuance") as typeof Issuance;
const errors = () => require("../shared/errors") as typeof import("../shared/errors");
const renewal = () => require("../renewal/scan") as typeof import("../renewal/scan");
/* eslint-enable @typescript-eslint/no-require-imports */

function roundTrip<T>(value: T): T {
  return value === undefined ? (null as T) : (JSON.parse(JSON.stringify(value)) as T);
}

/** Describes an error as a StepError; `retryable` says whether a retry may help. */
export function toStepError(err: unknown): StepError {
  const { KvAcmeError, UpstreamError, ValidationError } = errors();
  if (err instanceof UpstreamError) {
    const details = err.details as { service?: string } | undefined;
    return {
      name: err.name,
      code: err.code,
      message: err.message,
      status: err.status,
      service: details?.service,
      retryable: err.retryable,
    };
  }
  if (err instanceof KvAcmeError) {
    const out: StepError = { name: err.name, code: err.code, message: err.message, status: err.status, retryable: false };
    if (err instanceof ValidationError) out.problems = err.problems;
    return out;
  }
  return { name: err instanceof Error ? err.name : "Error", message: err instanceof Error ? err.message : String(err), retryable: true };
}

/** Runs one step: value -> `{ ok: true }`, permanent error -> `{ ok: false }`, transient error -> thrown. */
export async function runStep<T>(fn: () => Promise<T>): Promise<StepOutcome<T>> {
  try {
    return { ok: true, value: roundTrip(await fn()) };
  } catch (err) {
    const error = toStepError(err);
    if (error.retryable) throw err;
    return { ok: false, error };
  }
}

function caHost(): string {
  try {
    return new URL(getRuntime().settings.acmeDirectoryUrl).host;
  } catch {
    return "unknown";
  }
}

/** Input of `notify`: the event's type and data (caHost and keyVault are filled in) and its time. */
export interface NotifyInput {
  type: EventType;
  data: Record<string, unknown>;
  /** RFC 3339; the orchestration's current time, so a retried activity builds the same event. */
  time: string;
  operationId?: string;
}

/** Input of `notifyExpiring` (the renewal run's ExpiringNotice plus the time and operation id). */
export interface NotifyExpiringInput {
  certificateName: string;
  notAfter: string;
  daysRemaining: number;
  reason: "renewal-attempts-exhausted" | "within-warning-threshold";
  failedAttempts: number;
  time: string;
  operationId?: string;
}

/** Output of `notify` and `notifyExpiring`: the event id and one result per matching target. */
export interface NotifyOutput {
  eventId: string | null;
  type?: EventType;
  results: DeliveryResult[];
  error?: string;
  skipped?: string;
}

/** Delivers a built event to every matching target and records each delivery in telemetry. Never throws. */
async function deliverEvent(event: NotifyEvent, operationId: string | undefined, context?: InvocationContext): Promise<NotifyOutput> {
  const runtime = getRuntime();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { notifyAll } = require("../notify") as typeof import("../notify");
  const results: DeliveryResult[] = await notifyAll(runtime.settings.webhooks, event, {
    resolveSecret: async (name) => (await runtime.deps.secrets.getSecret(name)).value ?? "",
  }).catch((err: unknown) => {
    context?.warn(`notify: ${err instanceof Error ? err.message : String(err)}`);
    return [];
  });
  for (const r of results) {
    runtime.telemetry.trackWebhook(r, operationId);
    if (!r.ok) context?.warn(`webhook ${r.eventType} to ${r.target} failed after ${r.attempts} attempt(s): ${r.error ?? ""}`);
  }
  await runtime.telemetry.flush().catch(() => undefined);
  return { eventId: event.id, type: event.type, results };
}

/** Builds the event of a NotifyInput with the notify module's constructors (stable idempotency keys). */
export function buildEvent(input: NotifyInput): NotifyEvent {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const n = require("../notify") as typeof import("../notify");
  const { settings } = getRuntime();
  const options = {
    time: new Date(input.time),
    source: settings.functionAppName ? n.eventSource(["function-app", settings.functionAppName]) : n.eventSource(),
  };
  const withCa = { caHost: caHost(), ...input.data };
  switch (input.type) {
    case "certificate.issued":
      return n.certificateIssued({ keyVault: settings.vaultUrl, ...withCa } as never, options);
    case "certificate.renewed":
      return n.certificateRenewed({ keyVault: settings.vaultUrl, ...withCa } as never, options);
    case "certificate.renewal_failed":
      return n.certificateRenewalFailed(withCa as never, options);
    case "certificate.revoked":
      return n.certificateRevoked(withCa as never, options);
    case "certificate.expiring":
      return n.certificateExpiring(input.data as never, options);
    case "renewal.summary":
      return n.renewalSummary(input.data as never, options);
    default:
      throw new Error(`event type ${String(input.type)} is not sent by the orchestrations`);
  }
}

type Impl = (input: never, context?: InvocationContext) => Promise<unknown>;

/** Every activity by name. */
export const activities: Record<ActivityName, Impl> = {
  [ACTIVITIES.validateRequest]: (input: IssueRequest) => runStep(() => issuance().validateRequest(input, getRuntime().deps)),

  [ACTIVITIES.renewalRequest]: (input: { certificateName: string }) =>
    runStep(() => issuance().renewalRequest(input.certificateName, getRuntime().deps)),

  [ACTIVITIES.placeOrder]: (input: ValidatedRequest) => runStep(() => issuance().placeOrder(input, getRuntime().deps)),

  [ACTIVITIES.presentChallenges]: (input: { challenges: ChallengeRecord[] }) =>
    runStep(() => issuance().presentChallenges(input.challenges, getRuntime().deps)),

  /** One bounded propagation check: `visible: false` (not an error) when the values are not visible yet. */
  [ACTIVITIES.checkPropagation]: (input: { challenges: ChallengeRecord[]; budgetMs: number }) =>
    runStep(async () => {
      const deps = getRuntime().deps;
      const timeoutSeconds = deps.settings.propagationTimeoutSeconds;
      const budgetSeconds = Math.max(1, Math.min(timeoutSeconds, Math.round((input.budgetMs ?? 10_000) / 1000)));
      try {
        const r = await issuance().awaitPropagation(input.challenges, {
          ...deps,
          settings: { ...deps.settings, propagationTimeoutSeconds: budgetSeconds },
        });
        return { visible: true, elapsedMs: r.elapsedMs, timeoutSeconds };
      } catch (err) {
        const { UpstreamError } = errors();
        if (err instanceof UpstreamError && err.status === 504) return { visible: false, detail: err.message, timeoutSeconds };
        throw err;
      }
    }),

  [ACTIVITIES.validateChallenges]: (input: OrderPlan) => runStep(() => issuance().validateChallenges(input, getRuntime().deps)),

  [ACTIVITIES.preparePendingOperation]: (input: ValidatedRequest) =>
    runStep(() => issuance().preparePendingOperation(input, getRuntime().deps)),

  [ACTIVITIES.finalizeWithVaultCsr]: (input: { order: OrderRef; csr: string }) =>
    runStep(() => issuance().finalizeWithVaultCsr(input, getRuntime().deps)),

  [ACTIVITIES.downloadCertificateChain]: (input: { order: OrderRef }) =>
    runStep(() => issuance().downloadCertificateChain(input.order, getRuntime().deps)),

  [ACTIVITIES.mergeIssuedChain]: (input: { certificateName: string; dnsNames: string[]; chain: string[] }) =>
    runStep(() => issuance().mergeIssuedChain(input, getRuntime().deps)),

  [ACTIVITIES.cleanupChallenges]: (input: { challenges: ChallengeRecord[] }) =>
    runStep(() => issuance().cleanupChallenges(input.challenges, getRuntime().deps)),

  [ACTIVITIES.abandonIssuance]: (input: { certificateName?: string; requestId?: string; authorizationUrls?: string[] }) =>
    runStep(() => issuance().abandonIssuance(input, getRuntime().deps)),

  /** The inventory of managed certificates through the list API only (one request per page of 25), compacted. */
  [ACTIVITIES.scanInventory]: () => runStep(() => renewal().scanInventory(getRuntime().deps, getRuntime().settings.maxConcurrentRenewals)),

  /** Renewal decisions at `now` (the orchestration's time) for the scanned certificates (../renewal/scan). */
  [ACTIVITIES.decideRenewals]: (input: { items: RenewalCandidate[]; now: string; operationId?: string }) =>
    runStep(() => {
      const { deps, telemetry, settings } = getRuntime();
      return renewal().decideRenewals(
        input.items,
        new Date(input.now),
        { deps, telemetry, expiryWarningDays: settings.expiryWarningDays },
        input.operationId,
      );
    }),

  [ACTIVITIES.revokeAtCa]: (input: { certificateName: string; reason?: string | number; disable?: boolean }) =>
    runStep(async (): Promise<RevokeOutput> => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { parseRevocationReason, REVOCATION_REASONS } = require("../acme/revoke") as typeof import("../acme/revoke");
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { validateCertificateName } = require("../acme/names") as typeof import("../acme/names");
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { describeVersion, getCurrentCertificate } = require("../keyvault/certificates") as typeof import("../keyvault/certificates");
      const deps = getRuntime().deps;
      const name = validateCertificateName(input.certificateName);
      const reason = parseRevocationReason(input.reason);
      const names = describeVersion(await getCurrentCertificate(deps.certificates, name)).dnsNames;
      const result = await issuance().revokeCertificate(name, { reason, disable: input.disable === true }, deps);
      return { ...result, dnsNames: names, ...(reason ? { reasonCode: REVOCATION_REASONS[reason] } : {}) };
    }),

  /** Delivers one event to every matching webhook target. Never throws; one result per target. */
  [ACTIVITIES.notify]: async (input: NotifyInput, context?: InvocationContext): Promise<NotifyOutput> => {
    let event: NotifyEvent;
    try {
      event = buildEvent(input);
    } catch (err) {
      context?.warn(`notify: event not built: ${err instanceof Error ? err.message : String(err)}`);
      return { eventId: null, results: [], error: err instanceof Error ? err.message : String(err) };
    }
    return deliverEvent(event, input.operationId, context);
  },

  /**
   * `certificate.expiring` for one certificate the renewal run did not renew: reads its current version (names,
   * version, expiry) and sends nothing when that version is no longer the one the scan saw (renewed meanwhile).
   * Never throws.
   */
  [ACTIVITIES.notifyExpiring]: async (input: NotifyExpiringInput, context?: InvocationContext): Promise<NotifyOutput> => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { describeVersion, getCurrentCertificate } = require("../keyvault/certificates") as typeof import("../keyvault/certificates");
      const current = describeVersion(await getCurrentCertificate(getRuntime().deps.certificates, input.certificateName));
      if (Date.parse(current.notAfter) !== Date.parse(input.notAfter))
        return { eventId: null, results: [], skipped: `renewed meanwhile (expires ${current.notAfter})` };
      const data: Record<string, unknown> = {
        certificateName: current.certificateName,
        dnsNames: current.dnsNames,
        version: current.version,
        notAfter: current.notAfter,
        daysRemaining: input.daysRemaining,
        reason: input.reason,
      };
      if (input.failedAttempts > 0) data.failedAttempts = input.failedAttempts;
      return await deliverEvent(
        buildEvent({ type: "certificate.expiring", data, time: input.time, operationId: input.operationId }),
        input.operationId,
        context,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      context?.warn(`notifyExpiring ${input.certificateName}: ${message}`);
      return { eventId: null, results: [], error: message };
    }
  },

  /**
   * Counts one failed renewal on the certificate's current version (the kv-acme-renewal-failures tag, which the
   * list API returns, so the next scan's backoff sees it) and returns the consecutive failures. Idempotent per
   * `failureId`. A certificate that is gone or has no issued version has nothing to count: attempts 1.
   */
  [ACTIVITIES.recordRenewalFailure]: (input: { certificateName: string; failureId: string; at: string }) =>
    runStep(async (): Promise<{ attempts: number }> => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { getCurrentCertificate, tagVersion } = require("../keyvault/certificates") as typeof import("../keyvault/certificates");
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const tags = require("../keyvault/tags") as typeof import("../keyvault/tags");
      const { NotFoundError } = errors();
      const client = getRuntime().deps.certificates;
      let current;
      try {
        current = await getCurrentCertificate(client, input.certificateName);
      } catch (err) {
        if (err instanceof NotFoundError) return { attempts: 1 };
        throw err;
      }
      const version = current.properties.version;
      if (!version || !current.cer || current.cer.length === 0) return { attempts: 1 };
      const existing = current.properties.tags ?? {};
      const before = tags.readManagedTags(existing).renewalFailures;
      const next = tags.nextRenewalFailures(before, input.failureId, new Date(input.at));
      if (next !== before)
        await tagVersion(client, input.certificateName, version, {
          ...existing,
          [tags.TAG_RENEWAL_FAILURES]: tags.formatRenewalFailures(next),
        });
      return { attempts: next.attempts };
    }),

  /** One orchestration outcome in telemetry (caHost filled in). Never throws. */
  [ACTIVITIES.trackOutcome]: async (input: Omit<OutcomeTelemetry, "caHost"> & { caHost?: string }) => {
    const { telemetry } = getRuntime();
    try {
      telemetry.trackOutcome({ ...input, caHost: input.caHost ?? caHost() });
      await telemetry.flush();
    } catch {
      return { tracked: false };
    }
    return { tracked: telemetry.enabled };
  },
};
