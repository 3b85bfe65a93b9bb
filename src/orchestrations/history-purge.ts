/**
 * The history purge timer's logic: delete the durable history of instances that finished (Completed, Failed,
 * Terminated) and were created more than `historyRetentionDays` ago, so the task hub's history does not grow
 * forever. Running and pending instances are never purged, however old. Runs on Azure (Durable extension's purge
 * API) and on the local host alike, through the durable client.
 */
import * as df from "durable-functions";

/** Daily at 04:30 UTC, away from the renewal run (03:00). */
export const HISTORY_PURGE_SCHEDULE = "0 30 4 * * *";

const DAY_MS = 24 * 3600 * 1000;

/** Instances created before this moment are old enough to purge. */
export function purgeCutoff(now: Date, retentionDays: number): Date {
  return new Date(now.getTime() - retentionDays * DAY_MS);
}

export interface PurgeResult {
  instancesDeleted: number;
  createdBefore: string;
}

/** Purges finished instances created before the cutoff (one purge-by-filter call). */
export async function purgeOldHistory(
  client: Pick<df.DurableClient, "purgeInstanceHistoryBy">,
  now: Date,
  retentionDays: number,
): Promise<PurgeResult> {
  const createdTimeTo = purgeCutoff(now, retentionDays);
  const result = await client.purgeInstanceHistoryBy({
    createdTimeFrom: new Date(0),
    createdTimeTo,
    runtimeStatus: [
      df.OrchestrationRuntimeStatus.Completed,
      df.OrchestrationRuntimeStatus.Failed,
      df.OrchestrationRuntimeStatus.Terminated,
    ],
  });
  return { instancesDeleted: result.instancesDeleted, createdBefore: createdTimeTo.toISOString() };
}
