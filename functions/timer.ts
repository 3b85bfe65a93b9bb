/**
 * History purge timer: daily, deletes the durable history of finished instances older than
 * KvAcme:HistoryRetentionDays (default 30).
 *
 * Fleet timer: every 15 minutes, when KvAcme__Fleet__TableEndpoint is set, finds stale hosts among the agents' reports
 * and sends certificate.host_stale once per host and version (src/fleet/detect.ts).
 *
 * Renewal timer: on the schedule of the KvAcme:RenewalSchedule app setting (default daily 03:00 UTC), starts the
 * singleton renewCertificates run; a run still in progress means this tick is skipped.
 */
import { app, type InvocationContext, type Timer } from "@azure/functions";
import * as df from "durable-functions";
import { getRuntime } from "../src/app/runtime";
import { HISTORY_PURGE_SCHEDULE, purgeOldHistory } from "../src/orchestrations/history-purge";
import { renewalScheduleBinding, startRenewalRun } from "../src/orchestrations/renewal-timer";
import { FLEET_SCHEDULE } from "../src/fleet/schedule";
import { lazyModule } from "../src/shared/lazy";

const fleetDetect = lazyModule<typeof import("../src/fleet/detect")>(() => require("../src/fleet/detect"));

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

app.timer("fleetTimer", {
  schedule: FLEET_SCHEDULE,
  handler: async (_timer: Timer, context: InvocationContext) => {
    const runtime = getRuntime();
    if (runtime.settings.fleet.tableEndpoint === undefined) return;
    const r = await fleetDetect().detectStaleHosts(runtime, new Date(), (m) => context.warn(m));
    context.log(`fleet: ${r.hosts} host(s), ${r.staleHosts} stale, ${r.notified.length} notice(s) sent`);
  },
});
