/**
 * What an issuance or renewal run reports besides its result, the same whichever driver runs the flow: webhook events
 * (built with the notify module's constructors, delivered to every matching target, each delivery recorded in
 * telemetry), `certificate.expiring` notices, orchestration outcomes in telemetry, and the renewal-failure count on the
 * certificate (the kv-acme-renewal-failures tag). The durable activities (src/app/activities.ts) and the in-process
 * driver (./direct) call these with their runtime. `notify`, `notifyExpiring` and `trackOutcome` never throw: a failed
 * delivery never fails the caller.
 */
import type { Settings } from "../config/settings";
import { splitAddress } from "../keyvault/address";
import { describeVersion, getCurrentCertificate, tagVersion } from "../keyvault/certificates";
import { latestIssuedVersion } from "../keyvault/versions";
import {
  TAG_RENEWAL_FAILURES,
  decideOwnership,
  TAG_RENEW_NOT_BEFORE,
  formatRenewalFailures,
  nextRenewalFailures,
  parseRenewNotBefore,
  readManagedTags,
} from "../keyvault/tags";
import {
  certificateExpiring,
  certificateIssued,
  certificateIssuerChanged,
  certificateIssuerRejected,
  certificateLifetimeShortened,
  certificateRenewalFailed,
  certificateRenewed,
  certificateRevoked,
  eventSource,
  notifyAll,
  renewalSummary,
  type DeliveryResult,
  type EventType,
  type NotifyEvent,
} from "../notify";
import { NotFoundError, errorMessage } from "../shared/errors";
import type { OutcomeTelemetry, Telemetry } from "../telemetry";
import type { IssuanceDeps } from "./deps";
import { mapLimit } from "./steps";

/** What reporting reads: the settings (webhook targets, names), the clients and telemetry (a Runtime has them). */
export interface ReportingEnv {
  settings: Settings;
  deps: IssuanceDeps;
  telemetry: Telemetry;
}

/** Where warnings go (an activity's context.warn, the CLI's progress). */
export type Warn = (message: string) => void;

/** Input of `notify`: the event's type and data (caHost and keyVault are filled in) and its time. */
export interface NotifyInput {
  type: EventType;
  data: Record<string, unknown>;
  /** RFC 3339; the orchestration's current time, so a retried activity builds the same event. */
  time: string;
  operationId?: string;
  /** The vault of the certificate (the driver gives reporting that vault's deps). */
  vault?: string;
}

/** Input of `notifyExpiring` (the renewal run's ExpiringNotice plus the time and operation id). */
export interface NotifyExpiringInput {
  /** `{name}` or `{vault}/{name}` (../keyvault/address.ts): the renewal run's address. */
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

/** Input of `trackOutcome` (caHost filled in when absent). */
export type OutcomeInput = Omit<OutcomeTelemetry, "caHost"> & { caHost?: string };

function caHost(settings: Settings): string {
  try {
    return new URL(settings.acmeDirectoryUrl).host;
  } catch {
    return "unknown";
  }
}

/** The CloudEvents source of the Function App's events. */
export function appEventSource(settings: Settings): string {
  return settings.functionAppName ? eventSource(["function-app", settings.functionAppName]) : eventSource();
}

/**
 * Builds the event of a NotifyInput with the notify module's constructors (stable idempotency keys). `deps` are those
 * of the certificate's vault: certificate events carry the vault's name (`vault`), issued and renewed also its URL.
 */
export function buildEvent(input: NotifyInput, settings: Settings, deps: Pick<IssuanceDeps, "vault" | "settings">): NotifyEvent {
  const options = { time: new Date(input.time), source: appEventSource(settings) };
  const inVault = { vault: deps.vault, ...input.data };
  const withCa = { caHost: caHost(settings), ...inVault };
  switch (input.type) {
    case "certificate.issued":
      return certificateIssued({ keyVault: deps.settings.vaultUrl, ...withCa } as never, options);
    case "certificate.renewed":
      return certificateRenewed({ keyVault: deps.settings.vaultUrl, ...withCa } as never, options);
    case "certificate.renewal_failed":
      return certificateRenewalFailed(withCa as never, options);
    case "certificate.revoked":
      return certificateRevoked(withCa as never, options);
    case "certificate.expiring":
      return certificateExpiring(inVault as never, options);
    case "certificate.issuer_changed":
      return certificateIssuerChanged({ keyVault: deps.settings.vaultUrl, ...withCa } as never, options);
    case "certificate.issuer_rejected":
      return certificateIssuerRejected({ keyVault: deps.settings.vaultUrl, ...withCa } as never, options);
    case "certificate.lifetime_shortened":
      return certificateLifetimeShortened({ keyVault: deps.settings.vaultUrl, ...withCa } as never, options);
    case "renewal.summary":
      return renewalSummary(input.data as never, options);
    default:
      throw new Error(`event type ${String(input.type)} is not sent by the orchestrations`);
  }
}

/** Delivers a built event to every matching target and records each delivery in telemetry. Never throws. */
export async function deliverEvent(
  event: NotifyEvent,
  operationId: string | undefined,
  env: ReportingEnv,
  warn?: Warn,
): Promise<NotifyOutput> {
  const results: DeliveryResult[] = await notifyAll(env.settings.webhooks, event, {
    resolveSecret: async (name) => (await env.deps.secrets.getSecret(name)).value ?? "",
  }).catch((err: unknown) => {
    warn?.(`notify: ${errorMessage(err)}`);
    return [];
  });
  for (const r of results) {
    env.telemetry.trackWebhook(r, operationId);
    if (!r.ok) warn?.(`webhook ${r.eventType} to ${r.target} failed after ${r.attempts} attempt(s): ${r.error ?? ""}`);
  }
  await env.telemetry.flush().catch(() => undefined);
  return { eventId: event.id, type: event.type, results };
}

/** Delivers one event to every matching webhook target. Never throws; one result per target. */
export async function notify(input: NotifyInput, env: ReportingEnv, warn?: Warn): Promise<NotifyOutput> {
  let event: NotifyEvent;
  try {
    event = buildEvent(input, env.settings, env.deps);
  } catch (err) {
    warn?.(`notify: event not built: ${errorMessage(err)}`);
    return { eventId: null, results: [], error: errorMessage(err) };
  }
  return deliverEvent(event, input.operationId, env, warn);
}

/**
 * `certificate.expiring` for one certificate the renewal run did not renew: reads its current version (names,
 * version, expiry) and sends nothing when that version is no longer the one the scan saw (renewed meanwhile).
 * Never throws.
 */
export async function notifyExpiring(input: NotifyExpiringInput, env: ReportingEnv, warn?: Warn): Promise<NotifyOutput> {
  try {
    const address = splitAddress(input.certificateName);
    const deps = env.deps.forVault(address.vault);
    const current = describeVersion(await getCurrentCertificate(deps.certificates, address.name));
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
    const event = buildEvent({ type: "certificate.expiring", data, time: input.time, operationId: input.operationId }, env.settings, deps);
    return await deliverEvent(event, input.operationId, env, warn);
  } catch (err) {
    warn?.(`notifyExpiring ${input.certificateName}: ${errorMessage(err)}`);
    return { eventId: null, results: [], error: errorMessage(err) };
  }
}

/** The version a renewal's bookkeeping is written on: the current one, or the newest issued one when the current is unissued. */
async function bookkeepingVersion(
  client: IssuanceDeps["certificates"],
  certificateName: string,
): Promise<{ version: string; tags: Record<string, string> } | undefined> {
  let current;
  try {
    current = await getCurrentCertificate(client, certificateName);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  if (current.cer && current.cer.length > 0 && current.properties.version)
    return { version: current.properties.version, tags: current.properties.tags ?? {} };
  // The latest version is the one a failed attempt abandoned: the newest issued version is what is in use.
  const issued = await latestIssuedVersion(client, certificateName);
  return issued?.version ? { version: issued.version, tags: issued.tags ?? {} } : undefined;
}

/**
 * Records one failed renewal on the certificate's current version and returns the consecutive failures. A failure
 * is counted (the kv-acme-renewal-failures tag, which the list API returns, so the next scan's backoff sees it),
 * idempotent per `failureId`, unless the CA refused the renewal as rateLimited: then `notBefore` (its Retry-After)
 * is recorded as kv-acme-renew-not-before instead, which the renewal decision honours, and no failure is counted
 * (the CA's time, not a backoff, says when to try again). A certificate that is gone or has no issued version has
 * nothing to count: attempts 1; nor has one kv-acme may not write to (tagged kv-acme-ignore=true, or another owner's,
 * whose renewal the ownership check refused): nothing is written to it.
 */
export async function recordRenewalFailure(
  input: { certificateName: string; failureId: string; at: string; notBefore?: string },
  deps: IssuanceDeps,
): Promise<{ attempts: number }> {
  const client = deps.certificates;
  const target = await bookkeepingVersion(client, input.certificateName);
  if (!target || !decideOwnership(input.certificateName, { tags: target.tags }).ok) return { attempts: 1 };
  const info = readManagedTags(target.tags);
  const before = info.renewalFailures;
  const notBefore = input.notBefore === undefined ? undefined : parseRenewNotBefore(input.notBefore);
  if (notBefore !== undefined) {
    if (notBefore !== info.renewNotBefore)
      await tagVersion(client, input.certificateName, target.version, { ...target.tags, [TAG_RENEW_NOT_BEFORE]: notBefore });
    return { attempts: Math.max(1, before?.attempts ?? 0) };
  }
  const next = nextRenewalFailures(before, input.failureId, new Date(input.at));
  if (next !== before)
    await tagVersion(client, input.certificateName, target.version, {
      ...target.tags,
      [TAG_RENEWAL_FAILURES]: formatRenewalFailures(next),
    });
  return { attempts: next.attempts };
}

/** Input of `holdRenewals`: the certificates (addresses) a CA rateLimited refusal of `refused` holds, until when. */
export interface HoldRenewalsInput {
  certificates: string[];
  /** ISO time: the run's time when it learnt of the refusal + the CA's Retry-After. */
  until: string;
  /** The refused certificate (address): the time its own renewal recorded is used when it has one (the CA's time). */
  refused?: string;
}

/** Certificates held at once. */
const HOLD_CONCURRENCY = 8;

/**
 * Holds certificates until the CA's time after it rate-limited another renewal of the run (src/renewal/ca-hold.ts):
 * kv-acme-renew-not-before on each one's newest issued version (never moved earlier), no failure counted, so the
 * renewal decision reports them as RateLimitedByCa until then. The time is the refused certificate's own
 * kv-acme-renew-not-before when it has one, else `until`. One certificate's error does not stop the others.
 */
export async function holdRenewals(
  input: HoldRenewalsInput,
  deps: IssuanceDeps,
): Promise<{ until: string; held: string[]; errors: { certificateName: string; error: string }[] }> {
  const on = (address: string) => {
    const a = splitAddress(address);
    return { client: deps.forVault(a.vault).certificates, name: a.name };
  };
  let until = parseRenewNotBefore(input.until) ?? input.until;
  if (input.refused !== undefined) {
    const r = on(input.refused);
    const recorded = await bookkeepingVersion(r.client, r.name).catch(() => undefined);
    const at = recorded ? readManagedTags(recorded.tags).renewNotBefore : undefined;
    if (at) until = at;
  }
  const held: string[] = [];
  const errors: { certificateName: string; error: string }[] = [];
  await mapLimit(input.certificates, HOLD_CONCURRENCY, async (address) => {
    try {
      const c = on(address);
      const target = await bookkeepingVersion(c.client, c.name);
      if (!target) return;
      const recorded = readManagedTags(target.tags).renewNotBefore;
      if (recorded === undefined || Date.parse(recorded) < Date.parse(until))
        await tagVersion(c.client, c.name, target.version, { ...target.tags, [TAG_RENEW_NOT_BEFORE]: until });
      held.push(address);
    } catch (err) {
      errors.push({ certificateName: address, error: errorMessage(err) });
    }
  });
  held.sort();
  return { until, held, errors };
}

/** One orchestration outcome in telemetry (caHost filled in). Never throws. */
export async function trackOutcome(input: OutcomeInput, env: Pick<ReportingEnv, "settings" | "telemetry">): Promise<{ tracked: boolean }> {
  try {
    env.telemetry.trackOutcome({ ...input, caHost: input.caHost ?? caHost(env.settings) });
    await env.telemetry.flush();
  } catch {
    return { tracked: false };
  }
  return { tracked: env.telemetry.enabled };
}

/** Input of `report`: an issuance's webhook events (in order) and its telemetry outcome, reported by one call. */
export interface ReportInput {
  /** The vault of the certificate (the driver gives reporting that vault's deps). */
  vault?: string;
  events: Omit<NotifyInput, "vault">[];
  outcome: OutcomeInput;
}

/**
 * Everything an issuance reports at its end in one call (one activity, not one per event plus one for telemetry):
 * each event delivered (`notify`), then the outcome tracked. Never throws; one notify output per event.
 */
export async function report(input: ReportInput, env: ReportingEnv, warn?: Warn): Promise<{ sent: NotifyOutput[]; tracked: boolean }> {
  const sent: NotifyOutput[] = [];
  for (const event of input.events)
    sent.push(await notify(input.vault === undefined ? event : { ...event, vault: input.vault }, env, warn));
  const { tracked } = await trackOutcome(input.outcome, env);
  return { sent, tracked };
}
