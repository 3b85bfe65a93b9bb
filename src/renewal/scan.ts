/**
 * The renewal run's reading side: the scan (list API pages once per run, plus a versions read for the rare
 * certificate whose latest version is unissued), the gatherer (what ./decide's rules read
 * about one certificate, including the CA's ARI window) and the decision pass over the whole scan. Shared by the
 * `scanInventory` / `decideRenewals` activities and the CLI's `renew --all-due`; the rules themselves are ./decide.
 */
import { pickRenewalTime } from "../acme/ari";
import { fetchRenewalInfo } from "../acme/renewal-info";
import type { Settings } from "../config/types";
import { resolveRenewalPolicy, type ResolvedRenewalSettings } from "../config/acmebot";
import { readAcmebotUnit, recordAcmebotUnit, type RecordedAcmebotUnit } from "../keyvault/acmebot-unit";
import type { IssuanceDeps } from "../issuance/deps";
import { mapLimit } from "../issuance/steps";
import { everyVault } from "../issuance/deps";
import { formatAddress } from "../keyvault/address";
import { listEveryVault, unlessAllDown, type InventoryItem, type InventoryOptions } from "../keyvault/inventory";
import { manualPendingHoldEnd } from "../keyvault/manual-pending";
import { errorMessage } from "../shared/errors";
import type { Telemetry } from "../telemetry";
import { decideRenewal, renewalTime, type RenewalPolicy, type RenewalRule, type RenewalState } from "./decide";
import { daysRemaining, shouldWatch, type WatchedCertificate } from "./expiring";
import { planWindow } from "./plan-window";
import type { CaLimits } from "./ca-limits";
import { configuredCaLimits } from "./ca-limits-settings";
import { mergeTagsMissing } from "../issuance/tag-repair";

/** One managed certificate as the scan reports it: what the renewal decision needs, nothing more (JSON, small). */
export interface RenewalCandidate {
  /** The certificate's address: `{name}` in the default vault, `{vault}/{name}` elsewhere (../keyvault/address.ts). */
  name: string;
  notBefore?: string;
  expiresOn?: string;
  /** RFC 9773 id of the current leaf (the kv-acme-ari-cert-id tag). */
  ariCertId?: string;
  /** Consecutive failed renewals of the current version (the kv-acme-renewal-failures tag). */
  failures?: { attempts: number; at: string };
  /**
   * No renewal before this ISO time: the CA refused the last renewal as rateLimited and gave this time in its
   * Retry-After (the kv-acme-renew-not-before tag). The renewal decision holds the certificate until then.
   */
  renewNotBefore?: string;
  /** The names of the current version (the managed tags), for the planner's per-domain and exact-set limits. */
  dnsNames?: string[];
  /** Tagged by the leading C# tool, v4 or v5 (how Acmebot__RenewBeforeExpiry is read when no setting says). */
  acmebot?: 4 | 5;
  /**
   * ISO creation time of a pending operation created by hand (a CSR for another CA) that is in progress on this
   * certificate (../keyvault/manual-pending.ts): the decision leaves it alone until it is stale.
   */
  manualPendingAt?: string;
  /** Its newest issued version lacks the tags its merge writes (the tag update was refused): the run repairs them. */
  tagsMissing?: true;
}

/** What the renewal planner needs from the settings, recorded in history with the scan so replays plan alike. */
export interface RenewalPlanning {
  acmeDirectoryUrl: string;
  /** The CA's limits at that directory (configured or built in; absent in histories recorded before they were). */
  caLimits?: CaLimits;
  horizonHours: number;
  batchSize: number;
}

/** What the scan returns. */
export interface ScanResult {
  items: RenewalCandidate[];
  pages: number;
  /** Certificates whose versions were read: their latest version is unissued (absent in histories recorded before). */
  versionReads?: number;
  /** Vaults that could not be listed (`{vault}/*`, the reason): their certificates wait for the next run. */
  skipped?: { certificateName: string; reason: string }[];
  /** settings.maxConcurrentRenewals, recorded in history so replays see the same window. */
  maxConcurrentRenewals: number;
  /** The planner's settings (absent in histories recorded before the planner: renew what is due, at once). */
  planning?: RenewalPlanning;
}

/** The decision for one certificate, as a renewal run records and reports it. */
export interface DueCertificate {
  certificateName: string;
  decision: { due: boolean; reason: string; message: string; renewAt: string };
  ari: "used" | "unsupported" | "failed" | "skipped";
  /** The rule that sets the renewal moment (before any backoff). */
  rule: RenewalRule;
  /** The CA's suggested window (RFC 9773), when it gave one. */
  ariWindow?: { start: string; end: string };
  /** Consecutive failed renewals and the last one's time (they hold the next attempt back). */
  lastFailure?: { at: string; attempts: number };
  /** The CA's rateLimited Retry-After: no renewal before this time (RenewalCandidate.renewNotBefore). */
  renewNotBefore?: string;
  /** A pending operation created by hand is in progress: when, and until when renewals leave it alone. */
  manualPending?: { createdAt: string; holdUntil: string };
  /** The validity of the current version (the planner's window). */
  notBefore?: string;
  notAfter?: string;
}

/** What the decision pass returns: the due certificates' decisions, how many are not due, errors per certificate. */
export interface DecideResult {
  due: DueCertificate[];
  notDue: number;
  errors: { certificateName: string; error: string }[];
  /** Due (or backing-off) certificates close to expiry or failing repeatedly: candidates for `certificate.expiring`. */
  watch?: WatchedCertificate[];
  /** settings.expiryWarningDays, recorded in history so replays see the same threshold. */
  expiryWarningDays?: number;
  /** Not due yet, but their planning window opens before the horizon (only when the pass was given one). */
  upcoming?: DueCertificate[];
  /** How Acmebot__RenewBeforeExpiry was read, when no setting gave its unit and the scan's tags decided. */
  acmebotRenewBeforeExpiry?: { unit: "days" | "percent"; reason: string };
}

/** The candidate of one listed certificate (`defaultVault`: items of that vault are addressed by name alone). */
export function candidateOf(item: InventoryItem, defaultVault?: string): RenewalCandidate {
  const c: RenewalCandidate = { name: defaultVault === undefined ? item.name : formatAddress(item.vault, item.name, defaultVault) };
  if (item.notBefore) c.notBefore = item.notBefore;
  if (item.expiresOn) c.expiresOn = item.expiresOn;
  if (item.managed.ariCertId) c.ariCertId = item.managed.ariCertId;
  if (item.managed.renewalFailures) c.failures = { attempts: item.managed.renewalFailures.attempts, at: item.managed.renewalFailures.at };
  if (item.managed.renewNotBefore) c.renewNotBefore = item.managed.renewNotBefore;
  if (item.managed.dnsNames && item.managed.dnsNames.length > 0) c.dnsNames = item.managed.dnsNames;
  if (item.managed.acmebotVersion) c.acmebot = item.managed.acmebotVersion;
  if (item.latestUnissued?.manualPending) c.manualPendingAt = item.latestUnissued.manualPending.createdAt;
  if (mergeTagsMissing(item.managed)) c.tagsMissing = true;
  return c;
}

/**
 * The renewal rules' settings for a scan: the settings' own, or Acmebot__RenewBeforeExpiry read in the unit the
 * scanned certificates' Acmebot tags point to (src/config/acmebot.ts; throws ConfigurationError when they point nowhere).
 */
export function renewalPolicyFor(
  settings: IssuanceDeps["settings"],
  items: readonly Pick<RenewalCandidate, "acmebot">[],
  recorded?: RecordedAcmebotUnit,
): ResolvedRenewalSettings {
  const evidence = { v4: items.filter((i) => i.acmebot === 4).length, v5: items.filter((i) => i.acmebot === 5).length };
  return resolveRenewalPolicy(settings, evidence, recorded);
}

/** The recorded Acmebot__RenewBeforeExpiry unit, read only while no setting decides it (../keyvault/acmebot-unit.ts). */
export async function recordedAcmebotUnit(deps: Pick<IssuanceDeps, "settings" | "secrets">): Promise<RecordedAcmebotUnit | undefined> {
  return deps.settings.acmebotRenewBeforeExpiry === undefined ? undefined : readAcmebotUnit(deps.secrets);
}

/**
 * What the renewal listings read (the scan, GET /renewals, `renew --dry-run`): managed certificates, each decided on
 * its newest issued version, also when an abandoned issuance left an unissued latest version (one versions read for
 * such a certificate; an issued one costs nothing beyond its list page). Certificates never issued are left out.
 */
export const RENEWAL_LISTING: InventoryOptions = { managedOnly: true, newestIssued: true };

/**
 * The managed certificates of every vault through the list API (one request per page of 25; RENEWAL_LISTING),
 * compacted, with the planner's settings. A vault that cannot be listed is skipped (the others are renewed); when
 * none can be, the scan fails (and is retried).
 */
export async function scanInventory(
  deps: IssuanceDeps,
  settings: Pick<Settings, "maxConcurrentRenewals" | "acmeDirectoryUrl" | "renewalPlanHorizonHours" | "renewalBatchSize" | "caLimits">,
): Promise<ScanResult> {
  const listings = unlessAllDown(
    await listEveryVault(
      everyVault(deps).map((d) => ({ vault: d.vault, certificates: d.certificates })),
      RENEWAL_LISTING,
    ),
  );
  const result: ScanResult = {
    items: listings.flatMap((l) => l.items.map((i) => candidateOf(i, deps.settings.defaultVault))),
    pages: listings.reduce((n, l) => n + l.pages, 0),
    versionReads: listings.reduce((n, l) => n + l.versionReads, 0),
    maxConcurrentRenewals: settings.maxConcurrentRenewals,
    planning: {
      acmeDirectoryUrl: settings.acmeDirectoryUrl,
      caLimits: configuredCaLimits(settings.acmeDirectoryUrl, settings.caLimits),
      horizonHours: settings.renewalPlanHorizonHours,
      batchSize: settings.renewalBatchSize,
    },
  };
  const down = listings.filter((l) => l.error);
  if (down.length > 0)
    result.skipped = down.map((l) => ({ certificateName: `${l.vault}/*`, reason: `vault not listed: ${l.error?.message ?? ""}` }));
  return result;
}

/**
 * Gathers what the rules read about one certificate, once: validity, recorded failures and, when the certificate
 * has an ARI id and the CA offers renewalInfo, the CA's window with a moment picked in it. Undefined without validity.
 */
export async function gatherRenewalState(
  candidate: RenewalCandidate,
  deps: IssuanceDeps,
  now: Date,
  random: () => number = Math.random,
): Promise<{ state: RenewalState; ari: DueCertificate["ari"] } | undefined> {
  if (!candidate.notBefore || !candidate.expiresOn) return undefined;
  const state: RenewalState = { notBefore: new Date(candidate.notBefore), notAfter: new Date(candidate.expiresOn) };
  // Consecutive failed renewals (the kv-acme-renewal-failures tag) hold the next attempt back (nextAttemptAt).
  if (candidate.failures) state.lastFailure = { at: new Date(candidate.failures.at), attempts: candidate.failures.attempts };
  // The CA's rateLimited Retry-After (the kv-acme-renew-not-before tag) holds the renewal until the CA's time.
  if (candidate.renewNotBefore) state.renewNotBefore = new Date(candidate.renewNotBefore);
  // A pending operation created by hand is left alone until it is stale (ManualPendingHoldHours after its creation).
  if (candidate.manualPendingAt)
    state.manualPending = {
      createdAt: new Date(candidate.manualPendingAt),
      holdUntil: manualPendingHoldEnd({ createdAt: candidate.manualPendingAt }, deps.settings.manualPendingHoldHours),
    };
  if (!candidate.ariCertId) return { state, ari: "skipped" };
  const session = await deps.acme();
  const info = await fetchRenewalInfo(session.directory, candidate.ariCertId, () => now);
  if (!info.supported) return { state, ari: "unsupported" };
  if (!info.ok) {
    state.ari = { error: info.error };
    return { state, ari: "failed" };
  }
  const window = { start: new Date(info.windowStart), end: new Date(info.windowEnd) };
  state.ari = { window, renewAt: pickRenewalTime(window, random) };
  return { state, ari: "used" };
}

/**
 * Decides for one certificate whether it is due (the rules of ./decide over the gathered state; a failed ARI lookup
 * falls back to the fixed rules for this certificate only).
 */
export async function decideForItem(
  candidate: RenewalCandidate,
  deps: IssuanceDeps,
  now: Date,
  random: () => number = Math.random,
  resolved: ResolvedRenewalSettings = renewalPolicyFor(deps.settings, [candidate]),
): Promise<DueCertificate | undefined> {
  const gathered = await gatherRenewalState(candidate, deps, now, random);
  if (!gathered) return undefined;
  const policy: RenewalPolicy = {
    renewBeforeExpiryDays: resolved.renewBeforeExpiryDays,
    renewAtPercentOfLifetime: resolved.renewAtPercentOfLifetime,
  };
  const { state } = gathered;
  const decision = decideRenewal(state, policy, now);
  const out: DueCertificate = {
    certificateName: candidate.name,
    decision: { due: decision.due, reason: decision.reason, message: decision.message, renewAt: decision.renewAt.toISOString() },
    ari: gathered.ari,
    rule: renewalTime(state, policy).rule,
    notBefore: state.notBefore.toISOString(),
    notAfter: state.notAfter.toISOString(),
  };
  if (state.ari && "window" in state.ari)
    out.ariWindow = { start: state.ari.window.start.toISOString(), end: state.ari.window.end.toISOString() };
  if (state.lastFailure) out.lastFailure = { at: state.lastFailure.at.toISOString(), attempts: state.lastFailure.attempts };
  if (state.renewNotBefore) out.renewNotBefore = state.renewNotBefore.toISOString();
  if (state.manualPending)
    out.manualPending = { createdAt: state.manualPending.createdAt.toISOString(), holdUntil: state.manualPending.holdUntil.toISOString() };
  return out;
}

/** What the decision pass needs besides the candidates. */
export interface DecideEnv {
  deps: IssuanceDeps;
  telemetry: Pick<Telemetry, "trackDaysToExpiry" | "flush">;
  expiryWarningDays: number;
  /** The planner's horizon: certificates whose planning window opens before it are returned as `upcoming`. */
  horizonEnd?: Date;
  /** A dry run records nothing (the Acmebot unit the tags told). */
  dryRun?: boolean;
}

/** Holds under which a due certificate is still watched for `certificate.expiring` (it is not renewed meanwhile). */
const WATCHED_HOLDS: ReadonlySet<string> = new Set(["BackingOff", "ManualPendingOperation", "RateLimitedByCa"]);

/** ARI lookups in flight at once during a decision pass. */
const DECIDE_CONCURRENCY = 8;

/**
 * Renewal decisions at `now` for the scanned certificates, and the `certificate.days_to_expiry` metric of each. An
 * error (e.g. the ACME directory unreachable for the ARI lookup) affects one certificate only. Due certificates, and
 * due ones held back by the backoff, close to expiry or failing repeatedly are watched for `certificate.expiring`.
 */
export async function decideRenewals(
  items: readonly RenewalCandidate[],
  now: Date,
  env: DecideEnv,
  operationId?: string,
): Promise<DecideResult> {
  const result: DecideResult = { due: [], notDue: 0, errors: [], watch: [], expiryWarningDays: env.expiryWarningDays };
  // Once for the whole scan: how Acmebot__RenewBeforeExpiry reads, when no setting said (a ConfigurationError stops the run):
  // the recorded unit, else the tags' (recorded now, unless a dry run: kv-acme's renewals replace those tags).
  const recorded = await recordedAcmebotUnit(env.deps);
  const policy = renewalPolicyFor(env.deps.settings, items, recorded);
  if (policy.acmebotUnit) {
    result.acmebotRenewBeforeExpiry = policy.acmebotUnit;
    if (!recorded && env.dryRun !== true) await recordAcmebotUnit(env.deps.secrets, policy.acmebotUnit, now);
  }
  if (env.horizonEnd) result.upcoming = [];
  const metricProperties: Record<string, string> = operationId ? { operationId } : {};
  await mapLimit(items, DECIDE_CONCURRENCY, async (scanned) => {
    if (scanned.expiresOn)
      env.telemetry.trackDaysToExpiry(
        scanned.name,
        Math.round(((Date.parse(scanned.expiresOn) - now.getTime()) / 86_400_000) * 100) / 100,
        metricProperties,
      );
    try {
      const d = await decideForItem(scanned, env.deps, now, Math.random, policy);
      if (d?.decision.due) result.due.push(d);
      else if (d) {
        result.notDue++;
        if (env.horizonEnd && result.upcoming && isUpcoming(d, env.horizonEnd)) result.upcoming.push(d);
      }
      if (d && scanned.expiresOn && (d.decision.due || WATCHED_HOLDS.has(d.decision.reason))) {
        const days = daysRemaining(scanned.expiresOn, now);
        const failedAttempts = scanned.failures?.attempts ?? 0;
        if (shouldWatch(days, failedAttempts, env.expiryWarningDays))
          result.watch?.push({ certificateName: scanned.name, notAfter: scanned.expiresOn, daysRemaining: days, failedAttempts });
      }
    } catch (err) {
      result.errors.push({ certificateName: scanned.name, error: errorMessage(err) });
    }
  });
  result.due.sort((a, b) => a.certificateName.localeCompare(b.certificateName));
  result.watch?.sort((a, b) => a.certificateName.localeCompare(b.certificateName));
  result.upcoming?.sort((a, b) => a.certificateName.localeCompare(b.certificateName));
  await env.telemetry.flush().catch(() => undefined);
  return result;
}

/**
 * Whether a not-due certificate is planned in a run that looks ahead to `horizonEnd`: its planning window
 * (./plan-window) opens before it. Held ones (failure backoff, the CA's rateLimited time) are not looked ahead: a
 * later run renews them once the hold has passed.
 */
function isUpcoming(d: DueCertificate, horizonEnd: Date): boolean {
  if (!d.notBefore || !d.notAfter || d.decision.reason !== "NotDue") return false;
  const window = planWindow({
    name: d.certificateName,
    notBefore: new Date(d.notBefore),
    notAfter: new Date(d.notAfter),
    dueAt: new Date(d.decision.renewAt),
    ariWindow: d.ariWindow ? { start: new Date(d.ariWindow.start), end: new Date(d.ariWindow.end) } : undefined,
  });
  return window.open.getTime() < horizonEnd.getTime();
}
