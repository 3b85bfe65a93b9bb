/**
 * The `renewCertificatesBatch` orchestration: the renewals of a large renewal run, one page of `batchSize` per
 * execution (the durable driver's sliding window and plan moments, ./durable-driver), then continueAsNew with the
 * rest and the outcomes so far. Each execution's history holds one page, whatever the number of certificates, and
 * each page is replayed only while it runs, so the replay work grows linearly with the certificates (docs/scale.md).
 * Started by the renewal run (`renewCertificates`) as a sub-orchestration under `<run id>-pages`; its output is the
 * run's { outcomes, maxInFlight }.
 */
import type * as df from "durable-functions";
import { renewEach, type RenewEachResult, type RenewPagesInput } from "./durable-driver";

/** The orchestrator function registered as ORCHESTRATIONS.renewBatch. */
export function* renewBatchOrchestrator(ctx: df.OrchestrationContext): Generator<df.Task, RenewEachResult | undefined, unknown> {
  const input = ctx.df.getInput() as RenewPagesInput;
  const size = input.batchSize;
  const ran = yield* renewEach(ctx, input.children.slice(0, size), input.limit, input.due, input.startAt?.slice(0, size), input.done);
  const outcomes = [...input.outcomes, ...ran.outcomes];
  const maxInFlight = Math.max(input.maxInFlight, ran.maxInFlight);
  // An account-wide CA refusal: this page's and the later pages' renewals are not started.
  if (ran.notStarted) return { outcomes, maxInFlight, notStarted: [...ran.notStarted, ...input.children.slice(size)] };
  if (input.children.length <= size) return { outcomes, maxInFlight };
  const next: RenewPagesInput = {
    ...input,
    children: input.children.slice(size),
    done: input.done + ran.outcomes.length,
    maxInFlight,
    outcomes,
  };
  if (input.startAt) next.startAt = input.startAt.slice(size);
  ctx.df.continueAsNew(next);
  return undefined;
}
