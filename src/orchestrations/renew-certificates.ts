/**
 * The `renewCertificates` orchestration: one renewal run over the whole vault.
 *
 *   scanInventory (list pages only, once) -> decideRenewals (pure rules + ARI per certificate; a failed ARI lookup
 *   affects only that certificate; `certificate.days_to_expiry` per managed certificate)
 *   -> fan out one `issueCertificate` sub-orchestration per due certificate, instance id certificateInstanceId(name),
 *      at most maxConcurrentRenewals in flight (a sliding window over Task.any, not batches)
 *   -> `certificate.expiring` for each due certificate not renewed (failed, skipped, backing off) that expires within
 *      expiryWarningDays or keeps failing (../renewal/expiring; notifyExpiring, in parallel)
 *   -> summary: `renewal.summary` webhook + telemetry outcome; the output is the summary (with `notifications`).
 *
 * One certificate's failure never stops the others: each sub-orchestration's failure is caught and reported. A
 * certificate whose instance is already pending or running (an HTTP-started issuance or renewal of the same
 * certificate) is skipped ("already in progress"): the run reads those statuses first (./in-progress), and a start
 * that races that check is refused by the durable runtime and counted as skipped too.
 * Input: `{ dryRun?: boolean }` (dry run: decide and report, renew nothing).
 *
 * History stays small however large the vault: the scan returns only what the decision needs per certificate
 * (name, validity, ARI id), and the decision returns only the due certificates.
 */
import * as df from "durable-functions";
import type { DecideResult, DueCertificate, ScanResult } from "../renewal/scan";
import { ACTIVITIES, ISSUE_STEPS } from "./activity-names";
import { ORCHESTRATIONS, certificateInstanceId } from "./ids";
import { renewalsInProgress } from "./in-progress";
import { callBestEffort, callStep, notificationSummaries, orchestrationOperationId, type NotificationSummary } from "./calls";
import type { IssueOrchestrationInput, IssueOrchestrationOutput } from "./issue-certificate";
import { taskError } from "./outcome";
import { expiringNotices } from "../renewal/expiring";

export interface RenewAllInput {
  dryRun?: boolean;
  /** Correlation id for telemetry (W3C trace id; the timer makes one per run, default one derived from the instance). */
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
  /** Most sub-orchestrations in flight at once (≤ maxConcurrentRenewals). */
  maxInFlight: number;
  /** Certificates reported as `certificate.expiring` by this run. */
  expiring?: { certificateName: string; reason: string; daysRemaining: number; failedAttempts: number }[];
  /** This run's webhook deliveries (expiring notices, the summary): origin, ok, attempts, status. */
  notifications?: NotificationSummary[];
  operationId?: string;
}

/** A sub-orchestration refused because the certificate's instance id is running (local host and Azure wording). */
export function isAlreadyRunning(message: string): boolean {
  return /already (pending or running|running|exists)/i.test(message);
}

const STEP_PREFIX = new RegExp(`(?:^|:\\s)(${ISSUE_STEPS.map((st) => st.replace(/-/g, "\\-")).join("|")}): ([\\s\\S]*)$`);

/**
 * Splits the failure of an issueCertificate instance ("<step>: <message>", wrapped by the runtime as e.g.
 * "SubOrchestrationFailed: validate: ...") into the step and the message; the step is absent for other failures.
 */
export function splitFailure(message: string): { failedStep?: string; error: string } {
  const m = STEP_PREFIX.exec(message.trim());
  return m ? { failedStep: m[1], error: (m[2] ?? "").trim() } : { error: message.trim() };
}

/** The orchestrator function registered as ORCHESTRATIONS.renewAll. */
export function* renewCertificatesOrchestrator(ctx: df.OrchestrationContext): Generator<df.Task, RenewalSummary, unknown> {
  const input = (ctx.df.getInput() ?? {}) as RenewAllInput;
  const dryRun = input.dryRun === true;
  const operationId = orchestrationOperationId(ctx, input.operationId);
  const startedAt = ctx.df.currentUtcDateTime.toISOString();
  const runId = `${ctx.df.instanceId}@${startedAt}`;
  ctx.df.setCustomStatus({ step: "scan" });

  const scan = yield* callStep<ScanResult>(ctx, "scan", ACTIVITIES.scanInventory, {});
  ctx.df.setCustomStatus({ step: "decide", checked: scan.items.length });
  const decided = yield* callStep<DecideResult>(ctx, "decide", ACTIVITIES.decideRenewals, {
    items: scan.items,
    now: startedAt,
    operationId,
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
    skipped: decided.errors.map((e) => ({ certificateName: e.certificateName, reason: `could not decide: ${e.error}` })),
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
    // A certificate whose instance is already pending or running (an HTTP-started issuance or renewal) is skipped.
    const busy = yield* renewalsInProgress(
      ctx,
      due.map((d) => d.certificateName),
    );
    for (const name of busy.keys()) summary.skipped.push({ certificateName: name, reason: "already in progress" });
    const limit = scan.maxConcurrentRenewals;
    const queue = due.filter((d) => !busy.has(d.certificateName));
    const inFlight: { name: string; task: df.Task }[] = [];
    let done = 0;
    while (queue.length > 0 || inFlight.length > 0) {
      while (inFlight.length < limit && queue.length > 0) {
        const d = queue.shift() as DueCertificate;
        const childInput: IssueOrchestrationInput = {
          certificateName: d.certificateName,
          reason: "renew",
          operationId,
          renewalReason: d.decision.reason,
        };
        inFlight.push({
          name: d.certificateName,
          task: ctx.df.callSubOrchestrator(ORCHESTRATIONS.issue, childInput, certificateInstanceId(d.certificateName)),
        });
      }
      summary.maxInFlight = Math.max(summary.maxInFlight, inFlight.length);
      ctx.df.setCustomStatus({ step: "renew", due: due.length, done, inFlight: inFlight.length });
      yield ctx.df.Task.any(inFlight.map((f) => f.task));
      for (let i = inFlight.length - 1; i >= 0; i--) {
        const f = inFlight[i] as { name: string; task: df.Task };
        if (!f.task.isCompleted && !f.task.isFaulted) continue;
        inFlight.splice(i, 1);
        done++;
        if (f.task.isFaulted) {
          const message = taskError(f.task.result).message;
          if (isAlreadyRunning(message)) summary.skipped.push({ certificateName: f.name, reason: "already in progress" });
          else summary.failed.push({ certificateName: f.name, ...splitFailure(message) });
        } else {
          const out = f.task.result as IssueOrchestrationOutput;
          summary.renewed.push({ certificateName: f.name, version: out.version, notAfter: out.notAfter });
        }
      }
    }
  }

  const byName = (a: { certificateName: string }, b: { certificateName: string }) => a.certificateName.localeCompare(b.certificateName);
  summary.renewed.sort(byName);
  summary.failed.sort(byName);
  summary.skipped.sort(byName);
  summary.finishedAt = ctx.df.currentUtcDateTime.toISOString();
  summary.operationId = operationId;

  // `certificate.expiring`: one per due certificate this run did not renew that is close to expiry or keeps failing.
  const notices = expiringNotices(
    decided.watch ?? [],
    { renewed: summary.renewed.map((r) => r.certificateName), failed: summary.failed.map((f) => f.certificateName) },
    decided.expiryWarningDays ?? 7,
  );
  summary.expiring = notices.map((n) => ({
    certificateName: n.certificateName,
    reason: n.reason,
    daysRemaining: n.daysRemaining,
    failedAttempts: n.failedAttempts,
  }));
  const notifications: NotificationSummary[] = [];
  if (notices.length > 0) {
    ctx.df.setCustomStatus({ step: "expiring", expiring: notices.length });
    try {
      const sent = yield ctx.df.Task.all(
        notices.map((n) => ctx.df.callActivity(ACTIVITIES.notifyExpiring, { ...n, time: summary.finishedAt, operationId })),
      );
      for (const out of sent as unknown[]) notifications.push(...notificationSummaries(out));
    } catch (err) {
      if (!ctx.df.isReplaying) ctx.warn(`notifyExpiring failed: ${taskError(err).message}`);
    }
  }
  ctx.df.setCustomStatus({
    step: "summary",
    renewed: summary.renewed.length,
    failed: summary.failed.length,
    skipped: summary.skipped.length,
  });
  const summaryNotified = yield* callBestEffort(ctx, ACTIVITIES.notify, {
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
  yield* callBestEffort(ctx, ACTIVITIES.trackOutcome, {
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
  ctx.df.setCustomStatus({
    step: "done",
    renewed: summary.renewed.length,
    failed: summary.failed.length,
    skipped: summary.skipped.length,
    operationId,
    notifications,
  });
  return summary;
}
