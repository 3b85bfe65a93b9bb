/**
 * Names of the durable activities (registered in functions/activities.ts, implemented in src/app/activities.ts) and
 * the step names reported in custom status, telemetry (`failedStep`) and `certificate.renewal_failed` webhooks.
 * Every call a flow makes (FlowCall) is an activity of the same name.
 */
import type { FlowCall } from "../issuance/flow";

export const ACTIVITIES = {
  validateRequest: "validateRequest",
  validateRenewal: "validateRenewal",
  placeOrder: "placeOrder",
  presentAndValidate: "presentAndValidate",
  finalizeAndDownload: "finalizeAndDownload",
  mergeIssuedChain: "mergeIssuedChain",
  cleanupChallenges: "cleanupChallenges",
  abandonIssuance: "abandonIssuance",
  scanInventory: "scanInventory",
  decideRenewals: "decideRenewals",
  revokeAtCa: "revokeAtCa",
  notify: "notify",
  notifyExpiring: "notifyExpiring",
  recordRenewalFailure: "recordRenewalFailure",
  holdRenewals: "holdRenewals",
  repairTags: "repairTags",
  trackOutcome: "trackOutcome",
  report: "report",
} as const satisfies Record<FlowCall | "revokeAtCa", string>;
export type ActivityName = (typeof ACTIVITIES)[keyof typeof ACTIVITIES];

/** Steps of an issuance, in order (custom status `step`, `failedStep`): defined with the flow. */
export { ISSUE_STEPS, type IssueStep } from "../issuance/flow";

/**
 * Activities that read orchestration state through the durable client (registered with a durableClient input
 * binding in functions/activities.ts, implemented in src/app/client-activities.ts).
 */
export const CLIENT_ACTIVITIES = {
  findRenewalsInProgress: "findRenewalsInProgress",
} as const;
export type ClientActivityName = (typeof CLIENT_ACTIVITIES)[keyof typeof CLIENT_ACTIVITIES];
