/* No imports: the dashboard bundles this file (its operation progress shows these steps). */
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
