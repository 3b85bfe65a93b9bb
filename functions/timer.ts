/**
 * History purge timer: daily, deletes the durable history of finished instances older than
 * KvAcme:HistoryRetentionDays (default 30).
 *
 * Renewal timer: on the schedule of the KvAcme:RenewalSchedule app setting (default daily 03:00 UTC), starts the
 * singleton renewCertificates run; a run still in progress means this tick is skipped.
 */
import { app, type InvocationContext, type Timer } from "@azure/functions";
import * as df from "durable-functions";
import { getRuntime } from "../src/app/runtime";
import { HISTORY_PURGE_SCHEDULE, purgeOldHistory } from "../src/orchestrations/history-purge";
import { renewalScheduleBinding, startRenewalRun } from "../src/orchestrations/renewal-timer";

app.timer("renewalTimer", {
  schedule: renewalScheduleBinding(process.env),
  extraInputs: [df.input.durableClient()],
  handler: async (timer: Timer, context: InvocationContext) => {
    const outcome = await startRenewalRun(df.getClient(context));
    if (outcome.started) context.log(`renewal run ${outcome.instanceId} started${timer.isPastDue ? " (past due)" : ""}`);
    else context.log(`renewal run skipped: ${outcome.reason}`);
  },
});

app.timer("historyPurgeTimer", {
  schedule: HISTORY_PURGE_SCHEDULE,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer: Timer, context: InvocationContext) => {
    const days = getRuntime().settings.historyRetentionDays;
    const r = await purgeOldHistory(df.getClient(context), new Date(), days);
    context.log(`history purge: ${r.instancesDeleted} finished instance(s) created before ${r.createdBefore} deleted`);
  },
});
