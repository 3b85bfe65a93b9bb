/**
 * Names of the durable activities (registered in functions/activities.ts, implemented in src/app/activities.ts) and
 * the step names reported in custom status, telemetry (`failedStep`) and `certificate.renewal_failed` webhooks.
 */
export const ACTIVITIES = {
  validateRequest: "validateRequest",
  renewalRequest: "renewalRequest",
  placeOrder: "placeOrder",
  presentChallenges: "presentChallenges",
  checkPropagation: "checkPropagation",
  validateChallenges: "validateChallenges",
  preparePendingOperation: "preparePendingOperation",
  finalizeWithVaultCsr: "finalizeWithVaultCsr",
  downloadCertificateChain: "downloadCertificateChain",
  mergeIssuedChain: "mergeIssuedChain",
  cleanupChallenges: "cleanupChallenges",
  abandonIssuance: "abandonIssuance",
  scanInventory: "scanInventory",
  decideRenewals: "decideRenewals",
  revokeAtCa: "revokeAtCa",
  notify: "notify",
  notifyExpiring: "notifyExpiring",
  recordRenewalFailure: "recordRenewalFailure",
  trackOutcome: "trackOutcome",
} as const;
export type ActivityName = (typeof ACTIVITIES)[keyof typeof ACTIVITIES];

/** Steps of an issuance, in order (custom status `step`, `failedStep`); TXT cleanup runs right after validation. */
export const ISSUE_STEPS = [
  "renewal-request",
  "validate",
  "order",
  "dns-present",
  "propagation",
  "validate-challenges",
  "cleanup",
  "pending-operation",
  "finalize",
  "download",
  "merge",
  "notify",
  "done",
  "failed",
] as const;
export type IssueStep = (typeof ISSUE_STEPS)[number];

/**
 * Activities that read orchestration state through the durable client (registered with a durableClient input
 * binding in functions/activities.ts, implemented in src/app/client-activities.ts).
 */
export const CLIENT_ACTIVITIES = {
  findRenewalsInProgress: "findRenewalsInProgress",
} as const;
export type ClientActivityName = (typeof CLIENT_ACTIVITIES)[keyof typeof CLIENT_ACTIVITIES];
