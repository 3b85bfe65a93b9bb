/**
 * One renewal run over the whole vault, written once for both drivers (the `renewCertificates` orchestration and the
 * CLI's `renew --all-due`), as a generator of FlowOps (../issuance/flow):
 *
 *   scanInventory (list pages only, once) -> decideRenewals (the rules of ./decide + ARI per certificate; a failed
 *   ARI lookup affects only that certificate; `certificate.days_to_expiry` per managed certificate; with a horizon,
 *   also the certificates whose planning window opens before it)
 *   -> plan (./plan: when each renewal starts, inside its window and the CA's and Azure's limits; due certificates
 *      the plan leaves to a later run are reported as skipped with the planned moment)
 *   -> renew each planned certificate (the issuance flow with reason "renew", at most maxConcurrentRenewals at a time,
 *      none before its planned moment; the durable driver pages large runs), skipping those whose issuance or renewal
 *      is already running
 *   -> `certificate.expiring` for each due certificate not renewed (failed, skipped, backing off) that expires within
 *      expiryWarningDays or keeps failing (./expiring; notifyExpiring, in parallel)
 *   -> summary: `renewal.summary` webhook + telemetry outcome; the result is the summary (with `notifications`).
 *
 * One certificate's failure never stops the others. History stays small however large the vault: the scan returns
 * only what the decision needs per certificate, and the decision returns only the due certificates.
 */
import type { ChildOutcome, Flow, FlowClock, FlowOp, IssueFlowInput, NotificationSummary } from "../issuance/flow";
import { ISSUE_STEPS, attempt, notificationSummaries, step } from "../issuance/flow";
import { splitAddress } from "../keyvault/address";
import { AZURE_BUDGETS, caLimitsFor } from "./ca-limits";
import { expiringNotices } from "./expiring";
import { planRenewals, type Plan, type PlanCertificate } from "./plan";
import { planCertificate, recentIssuances } from "./plan-input";
import type { DecideResult, DueCertificate, ScanResult } from "./scan";
import { caRefusalOf, holdsAfterRefusal, stopsTheRun, type RateLimitHold } from "./ca-hold";

export interface RenewAllInput {
  dryRun?: boolean;
  /**
   * The driver can wait for the plan's moments (the durable one, with timers): plan up to the settings' horizon,
   * including certificates whose window opens before it. Otherwise only what can start now is renewed.
   */
  schedule?: boolean;
  /** Correlation id for telemetry (W3C trace id). */
  operationId?: string;
}

export interface RenewalSummary {
  runId: string;
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  /** Managed certificates checked. */
  checked: number;
  /** Key Vault list pages read. */
  pages: number;
  /** Managed certificates not due yet. */
  notDue: number;
  due: { certificateName: string; reason: string; renewAt: string; ari: DueCertificate["ari"] }[];
  renewed: { certificateName: string; version: string; notAfter: string }[];
  failed: { certificateName: string; failedStep?: string; error: string }[];
  skipped: { certificateName: string; reason: string }[];
  /**
   * Due certificates the CA's rate limit holds (./ca-hold): the one it refused as rateLimited and those the refusal's
   * limit also concerns, not started; each waits for the CA's time (kv-acme-renew-not-before, `until` when known).
   * None of them counts as a failure. (Absent in summaries recorded before.)
   */
  held: { certificateName: string; reason: string; until?: string }[];
  /** Most renewals in flight at once (≤ maxConcurrentRenewals). */
  maxInFlight: number;
  /** The plan: renewals started after their window closed (a limit or the CA's Retry-After held them), and due ones left to a later run. */
  plan?: { planned: number; late: number; deferred: number };
  /** Certificates reported as `certificate.expiring` by this run. */
  expiring?: { certificateName: string; reason: string; daysRemaining: number; failedAttempts: number }[];
  /** This run's webhook deliveries (expiring notices, the summary): origin, ok, attempts, status. */
  notifications?: NotificationSummary[];
  operationId?: string;
}

/** A renewal refused because the certificate's instance id is running (local host and Azure wording). */
export function isAlreadyRunning(message: string): boolean {
  return /already (pending or running|running|exists)/i.test(message);
}

const STEP_PREFIX = new RegExp(`(?:^|:\\s)(${ISSUE_STEPS.map((st) => st.replace(/-/g, "\\-")).join("|")}): ([\\s\\S]*)$`);

/**
 * Splits the failure of an issuance ("<step>: <message>", wrapped by the runtime as e.g.
 * "SubOrchestrationFailed: validate: ...") into the step and the message; the step is absent for other failures.
 */
export function splitFailure(message: string): { failedStep?: string; error: string } {
  const m = STEP_PREFIX.exec(message.trim());
  return m ? { failedStep: m[1], error: (m[2] ?? "").trim() } : { error: message.trim() };
}

const HOUR_MS = 3_600_000;
/** The longest a durable run waits for the limits to make room (the CA's longest window) before leaving it to a later run. */
export const PLAN_MAX_WAIT_MS = 7 * 24 * HOUR_MS;

/** Versions whose tags one run repairs at most (each is a few Key Vault requests; the next run does the rest). */
export const TAG_REPAIRS_PER_RUN = 50;

/** The renewal run (see the module comment). `runId` names the run in the summary. */
export function* renewAllFlow(input: RenewAllInput & { operationId: string; runId: string }, clock: FlowClock): Flow<RenewalSummary> {
  const dryRun = input.dryRun === true;
  const { operationId, runId } = input;
  const startedAt = clock.now().toISOString();
  const status = (s: object) => ({ kind: "status" as const, status: s });
  yield status({ step: "scan" });

  const scan = yield* step<ScanResult>("scan", "scanInventory", {});
  // Versions whose merge could not tag them (a refused tag update): their tags, and the pins they carry, repaired.
  const untagged = scan.items
    .filter((i) => i.tagsMissing === true)
    .map((i) => i.name)
    .slice(0, TAG_REPAIRS_PER_RUN);
  if (!dryRun && untagged.length > 0)
    yield { kind: "tryAll", call: "repairTags", inputs: untagged.map((certificateName) => ({ certificateName })) };
  yield status({ step: "decide", checked: scan.items.length });
  const planning = scan.planning;
  // Look-ahead (durable runs): certificates whose planning window opens before the next run are planned in this one.
  const horizonEnd =
    planning && input.schedule === true && planning.horizonHours > 0
      ? new Date(Date.parse(startedAt) + planning.horizonHours * HOUR_MS).toISOString()
      : undefined;
  const decided = yield* step<DecideResult>("decide", "decideRenewals", {
    items: scan.items,
    now: startedAt,
    operationId,
    ...(horizonEnd ? { horizonEnd } : {}),
    ...(dryRun ? { dryRun: true } : {}),
  });

  const summary: RenewalSummary = {
    runId,
    startedAt,
    finishedAt: startedAt,
    dryRun,
    checked: scan.items.length,
    pages: scan.pages,
    notDue: decided.notDue,
    due: [],
    renewed: [],
    failed: [],
    held: [],
    skipped: [
      ...(scan.skipped ?? []),
      ...decided.errors.map((e) => ({ certificateName: e.certificateName, reason: `could not decide: ${e.error}` })),
    ],
    maxInFlight: 0,
  };
  const due = decided.due.filter((d) => d.decision.due);
  summary.due = due.map((d) => ({
    certificateName: d.certificateName,
    reason: d.decision.reason,
    renewAt: d.decision.renewAt,
    ari: d.ari,
  }));

  if (dryRun) {
    for (const d of due) summary.skipped.push({ certificateName: d.certificateName, reason: "dry run" });
  } else {
    // A certificate whose issuance or renewal is already pending or running (e.g. started over HTTP) is skipped.
    const upcoming = decided.upcoming ?? [];
    const candidates = [...due, ...upcoming];
    const busy = (
      candidates.length > 0 ? yield { kind: "inProgress", certificateNames: candidates.map((d) => d.certificateName) } : new Set()
    ) as Set<string>;
    for (const name of busy)
      if (due.some((d) => d.certificateName === name)) summary.skipped.push({ certificateName: name, reason: "already in progress" });
    const free = candidates.filter((d) => !busy.has(d.certificateName));
    const child = (d: DueCertificate): IssueFlowInput => ({
      certificateName: d.certificateName,
      reason: "renew",
      operationId,
      // The run's certificates share their CAA answers: keyed by the run's own id, not the (client-set) operation id.
      validationRun: runId,
      renewalReason: plannedReason(d),
    });
    let children = free.filter((d) => d.decision.due).map(child);
    let startAt: string[] | undefined;
    if (planning) {
      const plan = planFor(free, scan, startedAt, horizonEnd, input.schedule === true);
      const byName = new Map(free.map((d) => [d.certificateName, d]));
      children = plan.now.map((p) => child(byName.get(p.name) as DueCertificate));
      startAt = plan.now.map((p) => p.at.toISOString());
      for (const p of plan.now) {
        const d = byName.get(p.name) as DueCertificate;
        if (!d.decision.due)
          summary.due.push({ certificateName: d.certificateName, reason: plannedReason(d), renewAt: p.at.toISOString(), ari: d.ari });
      }
      const deferred = plan.later.filter((p) => byName.get(p.name)?.decision.due === true);
      for (const p of deferred)
        summary.skipped.push({
          certificateName: p.name,
          reason: `planned for ${p.at.toISOString()}${p.heldBy ? ` (held by ${p.heldBy})` : ""}`,
        });
      summary.plan = { planned: plan.now.length, late: plan.now.filter((p) => p.late).length, deferred: deferred.length };
    }
    const names = new Map(scan.items.map((i) => [i.name, i.dnsNames ?? []]));
    const ran = yield* renewProbingFirst(children, startAt, {
      limit: scan.maxConcurrentRenewals,
      ...(planning ? { batchSize: planning.batchSize } : {}),
      names: (certificateName) => names.get(certificateName) ?? [],
      clock,
    });
    summary.maxInFlight = ran.maxInFlight;
    for (const o of ran.outcomes) {
      const refusal = o.output ? undefined : caRefusalOf(o.failure);
      if (o.output) summary.renewed.push({ certificateName: o.certificateName, version: o.output.version, notAfter: o.output.notAfter });
      else if (isAlreadyRunning(o.failure ?? ""))
        summary.skipped.push({ certificateName: o.certificateName, reason: "already in progress" });
      else if (refusal)
        // Refused by the CA's rate limit: held until its time (recorded by the renewal itself), not a failure.
        summary.held.push({ certificateName: o.certificateName, reason: `the CA rate-limited its renewal: ${refusal.detail}` });
      else summary.failed.push({ certificateName: o.certificateName, ...splitFailure(o.failure ?? "") });
    }
    summary.held.push(...ran.held.map((h) => ({ certificateName: h.certificateName, until: h.until, reason: h.reason })));
  }

  const byName = (a: { certificateName: string }, b: { certificateName: string }) => a.certificateName.localeCompare(b.certificateName);
  summary.renewed.sort(byName);
  summary.failed.sort(byName);
  summary.skipped.sort(byName);
  summary.held.sort(byName);
  summary.finishedAt = clock.now().toISOString();
  summary.operationId = operationId;

  // `certificate.expiring`: one per due certificate this run did not renew that is close to expiry or keeps failing.
  // (A decision pass always returns the watch list with the threshold it used; both absent: nothing watched.)
  const notices =
    decided.watch && decided.expiryWarningDays !== undefined
      ? expiringNotices(
          decided.watch,
          { renewed: summary.renewed.map((r) => r.certificateName), failed: summary.failed.map((f) => f.certificateName) },
          decided.expiryWarningDays,
        )
      : [];
  summary.expiring = notices.map((n) => ({
    certificateName: n.certificateName,
    reason: n.reason,
    daysRemaining: n.daysRemaining,
    failedAttempts: n.failedAttempts,
  }));
  const notifications: NotificationSummary[] = [];
  if (notices.length > 0) {
    yield status({ step: "expiring", expiring: notices.length });
    const sent = yield {
      kind: "tryAll",
      call: "notifyExpiring",
      inputs: notices.map((n) => ({ ...n, time: summary.finishedAt, operationId })),
    };
    for (const out of (sent as unknown[] | undefined) ?? []) notifications.push(...notificationSummaries(out));
  }
  const counts = { renewed: summary.renewed.length, failed: summary.failed.length, skipped: summary.skipped.length };
  yield status({ step: "summary", ...counts });
  const summaryNotified = yield* attempt("notify", {
    type: "renewal.summary",
    data: {
      runId,
      startedAt,
      finishedAt: summary.finishedAt,
      renewed: summary.renewed.map((r) => r.certificateName),
      failed: summary.failed,
      // The held ones as skipped, with their reason (the event's schema has no list of its own for them).
      skipped: [...summary.skipped, ...summary.held.map((h) => ({ certificateName: h.certificateName, reason: `held: ${h.reason}` }))],
    },
    time: summary.finishedAt,
    operationId,
  });
  notifications.push(...notificationSummaries(summaryNotified));
  summary.notifications = notifications;
  yield* attempt("trackOutcome", {
    name: "renewCertificates",
    success: summary.failed.length === 0,
    certificateName: "*",
    namesCount: summary.renewed.length,
    durationMs: Date.parse(summary.finishedAt) - Date.parse(startedAt),
    ...(summary.failed.length > 0
      ? {
          failedStep: "renew",
          error: summary.failed
            .map((f) => `${f.certificateName}: ${f.error}`)
            .join("; ")
            .slice(0, 900),
        }
      : {}),
    operationId,
  });
  yield status({ step: "done", ...counts, operationId, notifications });
  return summary;
}

/**
 * The run's renewals, the first one alone: at most one new order reaches the CA before the run knows whether the CA
 * is refusing them. When the CA refused that one as rateLimited, the renewals its limit concerns (./ca-hold: all of
 * them for an account-wide limit) are not started but held until the CA's time (`holdRenewals`: their
 * kv-acme-renew-not-before, no failure counted); the others run, at most `limit` in flight. When a later renewal is
 * refused for an account-wide limit (the CA's limit reached during the run), the drivers start no more, and those
 * not started are held the same way; only the renewals already in flight meet the refusal too. (The renewals of one
 * run all go to the app's CA, settings.acmeDirectoryUrl.)
 */
function* renewProbingFirst(
  children: IssueFlowInput[],
  startAt: string[] | undefined,
  opts: { limit: number; batchSize?: number; names: (certificateName: string) => readonly string[]; clock: FlowClock },
): Flow<{ outcomes: ChildOutcome[]; maxInFlight: number; held: RateLimitHold[] }> {
  const renew = (cs: IssueFlowInput[], at: string[] | undefined) =>
    ({
      kind: "renewEach" as const,
      children: cs,
      limit: opts.limit,
      due: children.length,
      ...(at ? { startAt: at } : {}),
      ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
    }) satisfies FlowOp;
  type Ran = { outcomes: ChildOutcome[]; maxInFlight: number; notStarted?: IssueFlowInput[] };
  const candidate = (c: IssueFlowInput) => ({ certificateName: c.certificateName ?? "", dnsNames: opts.names(c.certificateName ?? "") });
  // Holds `waiting` as far as the refusal in `outcomes` (the first one `refusedBy` picks) concerns them; answers the
  // holds and those left to renew.
  function* holdAfter(
    outcomes: ChildOutcome[],
    waiting: IssueFlowInput[],
    refusedBy: (failure: string | undefined) => boolean = (f) => caRefusalOf(f) !== undefined,
  ): Flow<{ held: RateLimitHold[]; rest: IssueFlowInput[] }> {
    const refused = outcomes.find((o) => refusedBy(o.failure));
    const refusal = caRefusalOf(refused?.failure);
    if (!refused || !refusal) return { held: [], rest: waiting };
    const refusedChild = { certificateName: refused.certificateName, dnsNames: opts.names(refused.certificateName) };
    let held = holdsAfterRefusal(refusedChild, refusal, waiting.map(candidate), opts.clock.now());
    const heldNames = new Set(held.map((h) => h.certificateName));
    if (held.length > 0) {
      const input = { certificates: [...heldNames], until: (held[0] as RateLimitHold).until, refused: refused.certificateName };
      const recorded = (yield* attempt("holdRenewals", input, true)) as { until?: string } | undefined;
      if (recorded?.until) held = held.map((h) => ({ ...h, until: recorded.until as string }));
    }
    return { held, rest: waiting.filter((c) => !heldNames.has(c.certificateName ?? "")) };
  }
  if (children.length <= 1) return { ...((yield renew(children, startAt)) as Ran), held: [] };
  const first = children[0] as IssueFlowInput;
  const probe = (yield renew([first], startAt?.slice(0, 1))) as Ran;
  const atOf = new Map(children.map((c, i) => [c, startAt?.[i]]));
  const after = yield* holdAfter(probe.outcomes, children.slice(1));
  if (after.rest.length === 0) return { outcomes: probe.outcomes, maxInFlight: probe.maxInFlight, held: after.held };
  const others = (yield renew(after.rest, startAt ? after.rest.map((c) => atOf.get(c) as string) : undefined)) as Ran;
  // Refused for an account-wide limit in the middle of the run: the drivers started no more; those are held by that
  // refusal (not by an earlier, narrower one of the same run, which would leave them neither renewed nor held).
  const late = others.notStarted?.length ? yield* holdAfter(others.outcomes, others.notStarted, stopsTheRun) : { held: [], rest: [] };
  return {
    outcomes: [...probe.outcomes, ...others.outcomes],
    maxInFlight: Math.max(probe.maxInFlight, others.maxInFlight),
    held: [...after.held, ...late.held],
  };
}

/**
 * The last moment a run with look-ahead to `lookAheadEnd` starts a renewal: a tenth of the look-ahead (at most an
 * hour) before it, so the run's last renewals finish before the next run (the timer skips a run while one runs).
 */
export function planEnd(now: number, lookAheadEnd: number): number {
  return lookAheadEnd - Math.min(HOUR_MS, (lookAheadEnd - now) / 10);
}

/** The plan for the run's candidates (due now, and with a horizon those whose window opens before it). */
function planFor(
  candidates: readonly DueCertificate[],
  scan: ScanResult,
  startedAt: string,
  horizonEnd: string | undefined,
  schedule: boolean,
): Plan {
  const planning = scan.planning as NonNullable<ScanResult["planning"]>;
  const now = new Date(startedAt);
  const items = new Map(scan.items.map((i) => [i.name, i]));
  const certificates = candidates
    // Key Vault's budget counts per vault: `{vault}/{name}` outside the default vault (../keyvault/address).
    .map((d) => planCertificate(d, items.get(d.certificateName), splitAddress(d.certificateName).vault ?? "(default)"))
    .filter((c): c is PlanCertificate => c !== undefined);
  return planRenewals({
    now,
    // A durable run starts renewals up to shortly before the next run (which must find this one finished), or as
    // long as the limits need without look-ahead; otherwise only what can start now.
    horizonEnd: horizonEnd
      ? new Date(planEnd(now.getTime(), Date.parse(horizonEnd)))
      : new Date(now.getTime() + (schedule ? PLAN_MAX_WAIT_MS : 1)),
    // The next run (the end of the look-ahead): a renewal whose window closes before it is started by this one.
    ...(horizonEnd ? { nextRun: new Date(horizonEnd) } : {}),
    certificates,
    recent: recentIssuances(scan.items, now),
    // Read with the scan (recorded in history); a history recorded before they were: the built-in ones.
    ca: planning.caLimits ?? caLimitsFor(planning.acmeDirectoryUrl),
    azure: AZURE_BUDGETS,
  });
}

/** Why a planned renewal runs: the rule's reason when due, else its planning window. */
function plannedReason(d: DueCertificate): string {
  return d.decision.due ? d.decision.reason : "PlannedInWindow";
}
