/**
 * The issuance flow (RFC 8555 §7.4 with DNS-01, key generated in Key Vault): the steps of ./steps in order, with the
 * TXT values removed in every outcome and, on failure, the pending operation and pending authorizations cleaned up.
 */
import { issueResult } from "./result";
import { UpstreamError, errorMessage } from "../shared/errors";
import type { IssuanceDeps } from "./deps";
import {
  abandonIssuance,
  awaitPropagation,
  cleanupChallenges,
  downloadCertificateChain,
  finalizeWithVaultCsr,
  mergeIssuedChain,
  placeOrder,
  preparePendingOperation,
  presentChallenges,
  validateChallenges,
  validateRequest,
  type IssueRequest,
  type IssueResult,
  type OrderPlan,
} from "./steps";
import type { EnsurePendingResult } from "../keyvault/certificates";

/**
 * Issues (or re-issues) a certificate into Key Vault. Nothing is written before validation passes. Returns the new
 * version's facts; throws ValidationError (bad input), ConfigurationError (e.g. EAB missing) or UpstreamError.
 */
export async function issueCertificate(request: IssueRequest, deps: IssuanceDeps): Promise<IssueResult> {
  const started = Date.now();
  const validated = await validateRequest(request, deps);
  let plan: OrderPlan | undefined;
  let pending: EnsurePendingResult | undefined;
  // Set before the vault call: a create can succeed and its follow-up read fail, leaving an operation to clean up.
  let pendingReached = false;
  let earlyCleanup: Promise<unknown> | undefined;
  let failure: unknown;
  try {
    plan = await placeOrder(validated, deps);
    await presentChallenges(plan.challenges, deps);
    await awaitPropagation(plan.challenges, deps);
    const ready = await validateChallenges(plan, deps);
    // The CA has seen the records: remove them while the vault and the CA finish (awaited in finally).
    const challenges = plan.challenges;
    earlyCleanup = cleanupChallenges(challenges, deps).catch(() => cleanupChallenges(challenges, deps));
    earlyCleanup.catch(() => undefined);
    pendingReached = true;
    pending = await preparePendingOperation(validated, deps);
    const issued = await finalizeWithVaultCsr({ order: ready, csr: pending.pending.csr }, deps);
    const chain = await downloadCertificateChain(issued, deps);
    const merged = await mergeIssuedChain({ certificateName: validated.certificateName, dnsNames: validated.dnsNames, chain }, deps);
    const result = issueResult(merged, validated, pending.action, Date.now() - started, issued.replaces);
    return result;
  } catch (err) {
    failure = err;
    const cleanup = await abandonIssuance(
      {
        certificateName: pendingReached ? validated.certificateName : undefined,
        requestId: pending?.pending.requestId,
        authorizationUrls: plan?.order.authorizations,
      },
      deps,
    ).catch((cleanupErr: unknown) => ({ error: errorMessage(cleanupErr) }));
    deps.progress("cleanup", `issuance failed: ${errorMessage(err)}`, { cleanup });
    throw err;
  } finally {
    if (plan) {
      try {
        if (earlyCleanup) await earlyCleanup;
        else await cleanupChallenges(plan.challenges, deps);
      } catch (cleanupErr) {
        deps.progress("cleanup", `TXT cleanup failed: ${errorMessage(cleanupErr)}`);
        // A cleanup failure must not hide the original error, but must not pass silently on success either.
        if (failure === undefined) {
          // eslint-disable-next-line no-unsafe-finally
          throw new UpstreamError("Dns", `Certificate issued, but removing the challenge TXT values failed: ${errorMessage(cleanupErr)}`, {
            retryable: true,
            cause: cleanupErr,
          });
        }
      }
    }
  }
}
