/**
 * One renewal run over the whole vault, written once for both drivers (the `renewCertificates` orchestration and the
 * CLI's `renew --all-due`), as a generator of FlowOps (../issuance/flow):
 *
 *   scanInventory (list pages only, once) -> decideRenewals (the rules of ./decide + ARI per certificate; a failed
 *   ARI lookup affects only that certificate; `certificate.days_to_expiry` per managed certificate)
 *   -> renew each due certificate (the issuance flow with reason "renew", at most maxConcurrentRenewals at a time),
 *      skipping those whose issuance or renewal is already running
 *   -> `certificate.expiring` for each due certificate not renewed (failed, skipped, backing off) that expires within
 *      expiryWarningDays or keeps failing (./expiring; notifyExpiring, in parallel)
 *   -> summary: `renewal.summary` webhook + telemetry outcome; the result is the summary (with `notifications`).
 *
 * One certificate's failure never stops the others. History stays small however large the vault: the scan returns
 * only what the decision needs per certificate, and the decision returns only the due certificates.
 */
import type { ChildOutcome, Flow, FlowClock, IssueFlowInput, NotificationSummary } from "../issuance/flow";
import { ISSUE_STEPS, attempt, notificationSummaries, step } from "../issuance/flow";
import { expiringNotices } from "./expiring";
import type { DecideResult, DueCertificate, ScanResult } from "./scan";

export interface RenewAllInput {
  dryRun?: boolean;
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
  /** Most renewals in flight at once (≤ maxConcurrentRenewals). */
  maxInFlight: number;
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

/** The renewal run (see the module comment). `runId` names the run in the summary. */
export function* renewAllFlow(input: RenewAllInput & { operationId: string; runId: string }, clock: FlowClock): Flow<RenewalSummary> {
  const dryRun = input.dryRun === true;
  const { operationId, runId } = input;
  const startedAt = clock.now().toISOString();
  const status = (s: object) => ({ kind: "status" as const, status: s });
  yield status({ step: "scan" });

  const scan = yield* step<ScanResult>("scan", "scanInventory", {});
  yield status({ step: "decide", checked: scan.items.length });
  const decided = yield* step<DecideResult>("decide", "decideRenewals", { items: scan.items, now: startedAt, operationId });

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
    const busy = (
      due.length > 0 ? yield { kind: "inProgress", certificateNames: due.map((d) => d.certificateName) } : new Set()
    ) as Set<string>;
    for (const name of busy) summary.skipped.push({ certificateName: name, reason: "already in progress" });
    const children = due
      .filter((d) => !busy.has(d.certificateName))
      .map((d): IssueFlowInput => ({ certificateName: d.certificateName, reason: "renew", operationId, renewalReason: d.decision.reason }));
    const limit = scan.maxConcurrentRenewals;
    const ran = (yield { kind: "renewEach", children, limit, due: due.length }) as { outcomes: ChildOutcome[]; maxInFlight: number };
    summary.maxInFlight = ran.maxInFlight;
    for (const o of ran.outcomes) {
      if (o.output) summary.renewed.push({ certificateName: o.certificateName, version: o.output.version, notAfter: o.output.notAfter });
      else if (isAlreadyRunning(o.failure ?? ""))
        summary.skipped.push({ certificateName: o.certificateName, reason: "already in progress" });
      else summary.failed.push({ certificateName: o.certificateName, ...splitFailure(o.failure ?? "") });
    }
  }

  const byName = (a: { certificateName: string }, b: { certificateName: string }) => a.certificateName.localeCompare(b.certificateName);
  summary.renewed.sort(byName);
  summary.failed.sort(byName);
  summary.skipped.sort(byName);
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
      skipped: summary.skipped,
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
