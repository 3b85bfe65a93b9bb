/**
 * Renewal timer: on the schedule of the KvAcme:RenewalSchedule app setting (default daily 03:00 UTC), starts the
 * singleton renewCertificates run; a run still in progress means this tick is skipped.
 */
import { app, type InvocationContext, type Timer } from "@azure/functions";
import * as df from "durable-functions";
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
