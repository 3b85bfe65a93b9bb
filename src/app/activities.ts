/**
 * Durable activity implementations: thin, idempotent, a named-object input and a JSON output, each calling one domain
 * step of src/ with the process runtime (getRuntime()). Registered by functions/activities.ts.
 *
 * Error contract (../orchestrations/outcome.ts): a permanent failure (ValidationError, ConfigurationError,
 * NotFoundError, ConflictError, an UpstreamError that is not retryable) is RETURNED as `{ ok: false, error }` so the
 * orchestrator fails fast; a transient one (retryable UpstreamError, network errors, anything unknown) is THROWN so
 * the durable driver retries it after a durable timer (the service's Retry-After, which the thrown UpstreamError
 * writes into its message, else a backoff). Outputs are round-tripped through JSON (Dates become ISO
 * strings) exactly as the Durable Task runtime stores them, so a replay sees the same values the first run did.
 *
 * `notify`, `notifyExpiring` and `trackOutcome` never throw: they are ../issuance/reporting's functions (shared with the
 * CLI's in-process driver) with this process's runtime; a failed delivery never fails the caller.
 * Domain modules are required lazily so loading the function app stays cheap (cold start).
 */
import type { InvocationContext } from "@azure/functions";
import type * as Issuance from "../issuance";
import type { IssueRequest, ValidatedRequest, ChallengeRecord } from "../issuance/steps";
import type { PresentAndValidateInput } from "../issuance/compound-steps";
import type { OrderRef } from "../acme/order";
import type { RenewalCandidate } from "../renewal/scan";
import type { HoldRenewalsInput, NotifyExpiringInput, NotifyInput, OutcomeInput, ReportInput } from "../issuance/reporting";
import { ACTIVITIES, type ActivityName } from "../orchestrations/activity-names";
import type { StepOutcome } from "../orchestrations/outcome";
import type { RevokeOutput } from "../orchestrations/revoke-certificate";
import { getRuntime } from "./runtime";
import { lazyModule } from "../shared/lazy";

const issuance = lazyModule<typeof Issuance>(() => require("../issuance"));
const compound = lazyModule<typeof import("../issuance/compound-steps")>(() => require("../issuance/compound-steps"));
const errors = lazyModule<typeof import("../shared/errors")>(() => require("../shared/errors"));
const renewal = lazyModule<typeof import("../renewal/scan")>(() => require("../renewal/scan"));
const reporting = lazyModule<typeof import("../issuance/reporting")>(() => require("../issuance/reporting"));
const stepErrors = lazyModule<typeof import("../issuance/step-error")>(() => require("../issuance/step-error"));
const revoke = lazyModule<typeof import("../acme/revoke")>(() => require("../acme/revoke"));
const acmeNames = lazyModule<typeof import("../acme/names")>(() => require("../acme/names"));
const tagRepair = lazyModule<typeof import("../issuance/tag-repair")>(() => require("../issuance/tag-repair"));
const vault = lazyModule<typeof import("../keyvault/certificates")>(() => require("../keyvault/certificates"));

/** The process runtime's dependencies for the vault an activity input names (`vault`; the default one when none). */
function depsFor(input: { vault?: string } | undefined) {
  return getRuntime().deps.forVault(input?.vault);
}

/** The process runtime with the dependencies of the vault an activity input names (reporting reads both). */
function runtimeFor(input: { vault?: string } | undefined) {
  const runtime = getRuntime();
  return input?.vault === undefined ? runtime : { ...runtime, deps: runtime.deps.forVault(input.vault) };
}

const warnTo = (context?: InvocationContext) => (context ? (message: string) => context.warn(message) : undefined);

function roundTrip<T>(value: T): T {
  return value === undefined ? (null as T) : (JSON.parse(JSON.stringify(value)) as T);
}

/** Runs one step: value -> `{ ok: true }`, permanent error -> `{ ok: false }`, transient error -> thrown. */
export async function runStep<T>(fn: () => Promise<T>): Promise<StepOutcome<T>> {
  try {
    return { ok: true, value: roundTrip(await fn()) };
  } catch (err) {
    const error = stepErrors().toStepError(err);
    if (error.retryable) throw withStepNote(withRetryAfterNote(err, error.retryAfterMs), error.step);
    return { ok: false, error };
  }
}

/** A thrown error whose message says its Retry-After (the only part of it the orchestrator receives on Azure). */
function withRetryAfterNote(err: unknown, retryAfterMs: number | undefined): unknown {
  if (retryAfterMs === undefined) return err;
  const { errorMessage, retryAfterFromMessage, retryAfterNote } = errors();
  const message = errorMessage(err);
  return retryAfterFromMessage(message) === undefined ? new Error(`${message} ${retryAfterNote(retryAfterMs)}`, { cause: err }) : err;
}

/** A thrown error whose message says the step it failed at (a call running several steps: ../issuance/compound-steps). */
function withStepNote(err: unknown, step: string | undefined): unknown {
  if (step === undefined) return err;
  const { errorMessage } = errors();
  return new Error(`${errorMessage(err)} ${stepErrors().stepNote(step)}`, { cause: err });
}

type Impl = (input: never, context?: InvocationContext) => Promise<unknown>;

/** Every activity by name. */
export const activities: Record<ActivityName, Impl> = {
  [ACTIVITIES.validateRequest]: (input: IssueRequest) => runStep(() => issuance().validateRequest(input, getRuntime().deps)),

  /** A renewal's request from the current version, validated (../issuance/compound-steps). */
  [ACTIVITIES.validateRenewal]: (input: { certificateName: string; vault?: string; validationRun?: string }) =>
    runStep(() => compound().validateRenewal(input, getRuntime().deps)),

  [ACTIVITIES.placeOrder]: (input: ValidatedRequest) => runStep(() => issuance().placeOrder(input, depsFor(input))),

  /**
   * TXT values (when `present`), one bounded propagation check and, once visible, the CA's validation, the TXT cleanup
   * and the pending operation: `visible: false` (not an error) when the values are not visible yet.
   */
  [ACTIVITIES.presentAndValidate]: (input: PresentAndValidateInput) =>
    runStep(() => compound().presentAndValidate(input, getRuntime().deps)),

  /** Finalize with the vault's CSR and download the chain. */
  [ACTIVITIES.finalizeAndDownload]: (input: { order: OrderRef; csr: string; preferredChain?: string }) =>
    runStep(() => compound().finalizeAndDownload(input, getRuntime().deps)),

  [ACTIVITIES.mergeIssuedChain]: (input: Parameters<typeof Issuance.mergeIssuedChain>[0]) =>
    runStep(() => issuance().mergeIssuedChain(input, depsFor(input))),

  [ACTIVITIES.cleanupChallenges]: (input: { challenges: ChallengeRecord[] }) =>
    runStep(() => issuance().cleanupChallenges(input.challenges, getRuntime().deps)),

  [ACTIVITIES.abandonIssuance]: (input: { certificateName?: string; requestId?: string; authorizationUrls?: string[]; vault?: string }) =>
    runStep(() => issuance().abandonIssuance(input, depsFor(input))),

  /** The inventory of managed certificates through the list API only (one request per page of 25), compacted. */
  [ACTIVITIES.scanInventory]: () => runStep(() => renewal().scanInventory(getRuntime().deps, getRuntime().settings)),

  /** Renewal decisions at `now` (the orchestration's time) for the scanned certificates (../renewal/scan). */
  [ACTIVITIES.decideRenewals]: (input: {
    items: RenewalCandidate[];
    now: string;
    operationId?: string;
    horizonEnd?: string;
    dryRun?: boolean;
  }) =>
    runStep(() => {
      const { deps, telemetry, settings } = getRuntime();
      return renewal().decideRenewals(
        input.items,
        new Date(input.now),
        {
          deps,
          telemetry,
          expiryWarningDays: settings.expiryWarningDays,
          ...(input.horizonEnd ? { horizonEnd: new Date(input.horizonEnd) } : {}),
          ...(input.dryRun ? { dryRun: true } : {}),
        },
        input.operationId,
      );
    }),

  [ACTIVITIES.revokeAtCa]: (input: { certificateName: string; reason?: string | number; disable?: boolean; vault?: string }) =>
    runStep(async (): Promise<RevokeOutput> => {
      const { parseRevocationReason, REVOCATION_REASONS } = revoke();
      const { validateCertificateName } = acmeNames();
      const { describeVersion, getCurrentCertificate } = vault();
      const deps = depsFor(input);
      const name = validateCertificateName(input.certificateName);
      const reason = parseRevocationReason(input.reason);
      const names = describeVersion(await getCurrentCertificate(deps.certificates, name)).dnsNames;
      const result = await issuance().revokeCertificate(name, { reason, disable: input.disable === true }, deps);
      return { ...result, dnsNames: names, ...(reason ? { reasonCode: REVOCATION_REASONS[reason] } : {}) };
    }),

  /** Delivers one event to every matching webhook target (../issuance/reporting). Never throws; one result per target. */
  [ACTIVITIES.notify]: (input: NotifyInput, context?: InvocationContext) => reporting().notify(input, runtimeFor(input), warnTo(context)),

  /** `certificate.expiring` for one certificate the run did not renew, unless renewed meanwhile. Never throws. */
  [ACTIVITIES.notifyExpiring]: (input: NotifyExpiringInput, context?: InvocationContext) =>
    reporting().notifyExpiring(input, getRuntime(), warnTo(context)),

  /** Counts one failed renewal on the certificate (the kv-acme-renewal-failures tag); idempotent per `failureId`. */
  [ACTIVITIES.recordRenewalFailure]: (input: { certificateName: string; failureId: string; at: string; vault?: string }) =>
    runStep(() => reporting().recordRenewalFailure(input, depsFor(input))),

  /** Holds certificates until the CA's time after it rate-limited another renewal of the run (no failure counted). */
  [ACTIVITIES.holdRenewals]: (input: HoldRenewalsInput) => runStep(() => reporting().holdRenewals(input, getRuntime().deps)),

  /** Repairs kv-acme's tags on a version its merge could not tag (../issuance/tag-repair). Never throws. */
  [ACTIVITIES.repairTags]: (input: { certificateName: string }) => tagRepair().repairMergeTags(input, getRuntime().deps),

  /** An issuance's webhook events, then its telemetry outcome (../issuance/reporting). Never throws. */
  [ACTIVITIES.report]: (input: ReportInput, context?: InvocationContext) => reporting().report(input, runtimeFor(input), warnTo(context)),

  /** One orchestration outcome in telemetry (caHost filled in). Never throws. */
  [ACTIVITIES.trackOutcome]: (input: OutcomeInput) => reporting().trackOutcome(input, getRuntime()),
};
