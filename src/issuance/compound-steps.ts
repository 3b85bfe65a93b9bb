/**
 * Calls that run several issuance steps (./steps) in one go, so the durable orchestration runs them as one activity
 * (one orchestrator episode and one activity execution instead of several; docs/scale.md). Only steps that are
 * idempotent together are joined: a call retried after a crash or a transient failure runs all of its steps again
 * and gets the same result (TXT values added again are the same values, a validated order is only polled, an
 * identical pending operation is reused, a valid order is only read). The order itself is never joined with what
 * follows it: it must be recorded before any TXT value is written, so that every value written can be removed.
 *
 * Each part runs under atStep: a failure is reported as the step it happened in (`failedStep`), whatever the call.
 *
 *   validateRenewal:     renewal-request -> validate
 *   presentAndValidate:  [dns-present] -> one bounded propagation check -> (visible) validate-challenges -> TXT
 *                        cleanup (its failure is reported, retried at the end) -> pending-operation
 *   finalizeAndDownload: finalize -> download
 */
import type { DownloadedChain, OrderRef } from "../acme/order";
import type { EnsurePendingResult } from "../keyvault/certificates";
import { UpstreamError, errorMessage } from "../shared/errors";
import type { IssuanceDeps } from "./deps";
import { renewalRequest } from "./renew";
import { atStep } from "./step-error";
import {
  awaitPropagation,
  cleanupChallenges,
  downloadCertificateChain,
  finalizeWithVaultCsr,
  preparePendingOperation,
  presentChallenges,
  validateChallenges,
  validateRequest,
  type ChallengeRecord,
  type OrderPlan,
  type ValidatedRequest,
} from "./steps";

/** A renewal's request from the certificate's current version (renewal-request), validated (validate). */
export async function validateRenewal(
  input: { certificateName: string; vault?: string; validationRun?: string },
  deps: IssuanceDeps,
): Promise<ValidatedRequest> {
  const request = await atStep("renewal-request", () => renewalRequest(input.certificateName, deps.forVault(input.vault)));
  return atStep("validate", () =>
    validateRequest(input.validationRun === undefined ? request : { ...request, validationRun: input.validationRun }, deps),
  );
}

/** One bounded propagation check: not visible (no error) when the values are not visible on every server yet. */
export type PropagationCheck = { visible: false; detail?: string; timeoutSeconds: number };

/** One propagation check of at most `budgetMs` (never longer than the configured timeout). */
export async function checkPropagation(
  challenges: readonly ChallengeRecord[],
  budgetMs: number,
  deps: IssuanceDeps,
): Promise<PropagationCheck | { visible: true; elapsedMs: number; timeoutSeconds: number }> {
  const timeoutSeconds = deps.settings.propagationTimeoutSeconds;
  const budgetSeconds = Math.max(1, Math.min(timeoutSeconds, Math.round(budgetMs / 1000)));
  try {
    const r = await awaitPropagation(challenges, { ...deps, settings: { ...deps.settings, propagationTimeoutSeconds: budgetSeconds } });
    return { visible: true, elapsedMs: r.elapsedMs, timeoutSeconds };
  } catch (err) {
    if (err instanceof UpstreamError && err.status === 504) return { visible: false, detail: err.message, timeoutSeconds };
    throw err;
  }
}

/** What presentAndValidate answers once the values were visible: the ready order and the pending operation. */
export interface ValidatedOrder {
  visible: true;
  order: OrderRef;
  pending: EnsurePendingResult;
  /** Whether the TXT values were removed after validation (if not, `cleanupError`; the flow removes them at the end). */
  cleaned: boolean;
  cleanupError?: string;
}

export interface PresentAndValidateInput {
  plan: OrderPlan;
  request: ValidatedRequest;
  /** Add the TXT values first (the first call; the propagation loop's calls only check). */
  present: boolean;
  /** The longest propagation check of this call. */
  budgetMs: number;
}

/**
 * Adds the TXT values (when `present`), checks once that they are visible on every authoritative server, and when
 * they are: answers the challenges and waits for the CA, removes the values, and prepares the vault's pending
 * operation (its CSR). Not visible yet: answers so (the driver waits and calls again without `present`).
 */
export async function presentAndValidate(input: PresentAndValidateInput, deps: IssuanceDeps): Promise<ValidatedOrder | PropagationCheck> {
  const { plan, request } = input;
  if (input.present) await atStep("dns-present", () => presentChallenges(plan.challenges, deps));
  const check = await atStep("propagation", () => checkPropagation(plan.challenges, input.budgetMs, deps));
  if (!check.visible) return check;
  const order = await atStep("validate-challenges", () => validateChallenges(plan, deps));
  // The CA has seen the records: remove them now (a failure is retried at the end of the issuance).
  let cleanupError: string | undefined;
  try {
    await cleanupChallenges(plan.challenges, deps);
  } catch (err) {
    cleanupError = errorMessage(err);
  }
  // DNS and the CA are the deps' own; the pending operation is in the request's vault.
  const pending = await atStep("pending-operation", () => preparePendingOperation(request, deps.forVault(request.vault)));
  return { visible: true, order, pending, cleaned: cleanupError === undefined, ...(cleanupError === undefined ? {} : { cleanupError }) };
}

/**
 * Finalizes the order with the vault's CSR (finalize) and downloads the chain (download): the preferred one among the
 * CA's alternates when the certificate or the app names one (`choice` says whether one matched).
 */
export async function finalizeAndDownload(
  input: { order: OrderRef; csr: string; preferredChain?: string },
  deps: IssuanceDeps,
): Promise<{ order: OrderRef; chain: string[]; choice?: DownloadedChain["choice"] }> {
  const order = await atStep("finalize", () => finalizeWithVaultCsr(input, deps));
  const downloaded = await atStep("download", () => downloadCertificateChain({ order, preferredChain: input.preferredChain }, deps));
  return { order, chain: downloaded.chain, ...(downloaded.choice ? { choice: downloaded.choice } : {}) };
}
