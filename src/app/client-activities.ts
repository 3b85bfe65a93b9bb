/**
 * Activities that read orchestration state through the durable client: registered with a durableClient input binding
 * (functions/activities.ts), so they receive the same DurableClient the HTTP starters use (the Durable Functions
 * extension's HTTP API in Azure, the local host's webhook routes locally). Thin, idempotent, JSON in and out, with
 * the error contract of ./activities (transient failures thrown so the durable driver retries them).
 */
import type { DurableClient } from "durable-functions";
import { CLIENT_ACTIVITIES, type ClientActivityName } from "../orchestrations/activity-names";
import { certificateInstanceId } from "../orchestrations/ids";
import type { InProgress, InProgressResult } from "../orchestrations/in-progress";
import type { StepOutcome } from "../orchestrations/outcome";
import { runStep } from "./activities";

/** Runtime states in which starting an instance with the same id is refused (overridableExistingInstanceStates: NonRunningStates). */
export const IN_PROGRESS_STATES: ReadonlySet<string> = new Set(["Pending", "Running", "ContinuedAsNew", "Suspended"]);

/** At most this many status reads at once. */
const STATUS_CONCURRENCY = 8;

/**
 * Reads the runtime status of each certificate's instance id and returns those pending or running. A 404 (the
 * instance never existed or was purged) means not in progress; any other error is thrown (transient: retried).
 */
export async function findRenewalsInProgress(
  client: Pick<DurableClient, "getStatus">,
  certificateNames: string[],
): Promise<InProgressResult> {
  const found: InProgress[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < certificateNames.length) {
      const certificateName = certificateNames[next++] as string;
      const instanceId = certificateInstanceId(certificateName);
      let runtimeStatus: string | undefined;
      try {
        runtimeStatus = String((await client.getStatus(instanceId, { showInput: false }))?.runtimeStatus ?? "");
      } catch (err) {
        if (/\b404\b/.test(err instanceof Error ? err.message : String(err))) continue;
        throw err;
      }
      if (IN_PROGRESS_STATES.has(runtimeStatus)) found.push({ certificateName, instanceId, runtimeStatus });
    }
  };
  await Promise.all(Array.from({ length: Math.min(STATUS_CONCURRENCY, certificateNames.length) }, worker));
  found.sort((a, b) => a.certificateName.localeCompare(b.certificateName));
  return { inProgress: found };
}

type ClientImpl = (input: never, client: DurableClient) => Promise<StepOutcome<unknown>>;

/** Every client activity by name; functions/activities.ts passes the bound client. */
export const clientActivities: Record<ClientActivityName, ClientImpl> = {
  [CLIENT_ACTIVITIES.findRenewalsInProgress]: (input: { certificateNames: string[] }, client: DurableClient) =>
    runStep(() => findRenewalsInProgress(client, Array.isArray(input?.certificateNames) ? input.certificateNames : [])),
};
