/**
 * The `issueCertificate` orchestration: one issuance or renewal of one certificate, the issuance flow
 * (../issuance/flow: the steps, their order, cleanup in every outcome, success and failure reporting) run by the
 * durable driver (./durable-driver: activities, retries of transient failures, durable timers for propagation).
 *
 * Input: an IssueRequest (dnsNames, certificateName, keyOptions) plus `reason` ("issue" default, or "renew") and an
 * optional `operationId` (W3C trace id correlating telemetry and webhooks; default one derived from the instance).
 * A renewal may give only `certificateName`: names and key options then come from the current version
 * (renewalRequest, with ARI `replaces`). Output: the IssueResult plus `reason`, `warnings` (when only the TXT cleanup
 * failed), the webhook deliveries as `notifications` and the `operationId`. Fails with "<step>: <message>".
 */
import type * as df from "durable-functions";
import { issuanceFlow, type IssueFlowInput, type IssueFlowOutput } from "../issuance/flow";
import { StepFailedError } from "../issuance/step-error";
import { orchestrationOperationId } from "./calls";
import { durableClock, runDurable } from "./durable-driver";

export { notificationSummaries, type NotificationSummary } from "../issuance/flow";
export type IssueOrchestrationInput = IssueFlowInput;
export type IssueOrchestrationOutput = IssueFlowOutput;

/** The orchestrator function registered as ORCHESTRATIONS.issue. */
export function* issueCertificateOrchestrator(ctx: df.OrchestrationContext): Generator<df.Task, IssueOrchestrationOutput, unknown> {
  const input = (ctx.df.getInput() ?? {}) as IssueOrchestrationInput;
  const operationId = orchestrationOperationId(ctx, input.operationId);
  try {
    return yield* runDurable(ctx, issuanceFlow({ ...input, operationId }, durableClock(ctx)));
  } catch (err) {
    throw err instanceof StepFailedError ? new Error(err.message) : err;
  }
}
