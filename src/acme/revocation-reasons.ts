/** RFC 5280 §5.3.1 CRLReason codes CAs accept over ACME (Let's Encrypt accepts 0, 1, 3, 4, 5). No imports: the dashboard bundles this too. */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;
