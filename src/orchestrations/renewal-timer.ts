/**
 * The renewal timer's logic: start the singleton `renewCertificates` run unless one is pending or running.
 *
 * Schedule: the timer binds `%KvAcme:RenewalSchedule%` when that app setting exists (Azure resolves it from
 * `KvAcme__RenewalSchedule` on Linux, `KvAcme:RenewalSchedule` on Windows; the local host resolves either), else
 * the default NCRONTAB below. Azure refuses to index a timer whose %setting% is missing, so the binding
 * expression is used only when the setting is present; the infra template always sets it.
 */
import type * as df from "durable-functions";
import { ORCHESTRATIONS, RENEW_ALL_INSTANCE_ID } from "./ids";
import { newOperationId } from "../telemetry/correlation";

/** Daily at 03:00 UTC (the settings module's default for renewalSchedule). */
export const DEFAULT_RENEWAL_SCHEDULE = "0 0 3 * * *";
export const RENEWAL_SCHEDULE_SETTING = "KvAcme:RenewalSchedule";

/** The timer's schedule binding for an app-settings record (read once at registration, never in a handler). */
export function renewalScheduleBinding(appSettings: Record<string, string | undefined>): string {
  const names = [RENEWAL_SCHEDULE_SETTING, RENEWAL_SCHEDULE_SETTING.replace(":", "__")];
  return names.some((n) => (appSettings[n] ?? "").trim() !== "") ? `%${RENEWAL_SCHEDULE_SETTING}%` : DEFAULT_RENEWAL_SCHEDULE;
}

export type RenewalStart = { started: true; instanceId: string } | { started: false; reason: string };

const ACTIVE = new Set(["Running", "Pending", "ContinuedAsNew"]);

/**
 * Starts renewCertificates with RENEW_ALL_INSTANCE_ID unless that instance is pending or running. The durable
 * runtime also refuses a second start of a running id, so two timers racing cannot overlap either.
 */
export async function startRenewalRun(
  client: Pick<df.DurableClient, "getStatus" | "startNew">,
  input: { dryRun?: boolean; operationId?: string } = {},
): Promise<RenewalStart> {
  try {
    const status = await client.getStatus(RENEW_ALL_INSTANCE_ID);
    if (status && ACTIVE.has(String(status.runtimeStatus)))
      return { started: false, reason: `renewal run ${RENEW_ALL_INSTANCE_ID} is ${String(status.runtimeStatus)}` };
  } catch (err) {
    // 404: never ran (the client throws for it). Anything else: let startNew decide.
    if (!/404/.test(err instanceof Error ? err.message : String(err))) throw err;
  }
  try {
    // Each run gets its own operation id (W3C trace id) unless the caller gives one: telemetry and webhooks of the run share it.
    const instanceId = await client.startNew(ORCHESTRATIONS.renewAll, {
      instanceId: RENEW_ALL_INSTANCE_ID,
      input: { ...input, operationId: input.operationId ?? newOperationId() },
    });
    return { started: true, instanceId };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/already|409|conflict/i.test(message)) return { started: false, reason: `renewal run already in progress: ${message}` };
    throw err;
  }
}
