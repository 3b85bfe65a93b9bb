/**
 * Which due certificates already have an issuance or renewal running? The renewal run asks before it fans out, so a
 * certificate whose instance (certificateInstanceId) is pending or running — e.g. started through the HTTP API — is
 * skipped ("already in progress") instead of depending on what a sub-orchestration start does for a running id (which
 * differs between durable backends). The runtime's own refusal stays the second line of defence for a start that
 * races this check: the local host, like Azure with overridableExistingInstanceStates=NonRunningStates, fails that
 * sub-orchestration task with an "already pending or running" error, which the run also counts as skipped.
 */
import type * as df from "durable-functions";
import { CLIENT_ACTIVITIES } from "./activity-names";
import { callStep } from "./calls";

/** A certificate whose issuance/renewal instance is pending or running. */
export interface InProgress {
  certificateName: string;
  instanceId: string;
  runtimeStatus: string;
}

/** Output of the `findRenewalsInProgress` activity. */
export interface InProgressResult {
  inProgress: InProgress[];
}

/**
 * Names among `certificateNames` whose instance is pending or running (one `findRenewalsInProgress` activity). When
 * the statuses cannot be read even after retries, returns none and logs: the runtime's refusal then decides.
 */
export function* renewalsInProgress(
  ctx: df.OrchestrationContext,
  certificateNames: string[],
): Generator<df.Task, Map<string, InProgress>, unknown> {
  if (certificateNames.length === 0) return new Map();
  try {
    const r = yield* callStep<InProgressResult>(ctx, "in-progress", CLIENT_ACTIVITIES.findRenewalsInProgress, { certificateNames });
    return new Map(r.inProgress.map((i) => [i.certificateName, i]));
  } catch (err) {
    if (!ctx.df.isReplaying)
      ctx.warn(
        `could not read which renewals are in progress (a running instance id is still refused at start): ${err instanceof Error ? err.message : String(err)}`,
      );
    return new Map();
  }
}
