/**
 * The `renewCertificates` orchestration: one renewal run over the whole vault, the renewal-run flow (../renewal/run:
 * scan once, decide, renew each due certificate, `certificate.expiring`, summary webhook and telemetry) run by the
 * durable driver (./durable-driver), where each renewal is an `issueCertificate` sub-orchestration under the
 * certificate's instance id, at most maxConcurrentRenewals in flight.
 *
 * A certificate whose instance is already pending or running (an HTTP-started issuance or renewal of the same
 * certificate) is skipped ("already in progress"): the run reads those statuses first (./in-progress), and a start
 * that races that check is refused by the durable runtime and counted as skipped too.
 * Input: `{ dryRun?: boolean, operationId?: string }` (dry run: decide and report, renew nothing).
 */
import type * as df from "durable-functions";
import { renewAllFlow, type RenewAllInput, type RenewalSummary } from "../renewal/run";
import { orchestrationOperationId } from "./calls";
import { durableClock, runDurable } from "./durable-driver";

export type { RenewAllInput, RenewalSummary } from "../renewal/run";

/** The orchestrator function registered as ORCHESTRATIONS.renewAll. */
export function* renewCertificatesOrchestrator(ctx: df.OrchestrationContext): Generator<df.Task, RenewalSummary, unknown> {
  const input = (ctx.df.getInput() ?? {}) as RenewAllInput;
  const operationId = orchestrationOperationId(ctx, input.operationId);
  const runId = `${ctx.df.instanceId}@${ctx.df.currentUtcDateTime.toISOString()}`;
  return yield* runDurable(ctx, renewAllFlow({ dryRun: input.dryRun === true, schedule: true, operationId, runId }, durableClock(ctx)));
}
