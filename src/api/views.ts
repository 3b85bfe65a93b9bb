/**
 * Shapes of API answers that the dashboard reads too (type-only, no imports: the dashboard's TypeScript build checks
 * against the same declarations the handlers return).
 */

/** The last issuance or renewal of a certificate (its durable instance). */
export interface LastOperation {
  id: string;
  reason?: string;
  status: string;
  lastUpdatedTime: string;
  error?: string;
}

/** One certificate of GET /certificates. */
export interface CertificateSummary {
  name: string;
  /** The vault holding it (settings.vaults; `default` for KvAcme__VaultUrl). */
  vault: string;
  dnsNames: string[];
  dnsNamesDigest?: { count: number; sha256Prefix: string };
  enabled: boolean;
  pending: boolean;
  notBefore?: string;
  expiresOn?: string;
  thumbprint?: string;
  /** Host of the issuing ACME CA (from the tags). */
  issuer?: string;
  managedBy: "kv-acme" | "acmebot" | "unmanaged";
  /** Other certificates of the vault sharing a name with this one (from the names in their tags). */
  overlapsWith?: string[];
  /** The CA rate-limited the last renewal: no renewal before this time (its Retry-After). */
  renewNotBefore?: string;
  /** The issuing intermediate recorded on the version (kv-acme-issuer). */
  issuingCa?: { subject: string; keyId?: string; thumbprint?: string };
  /** Issuer pins: a new version from another intermediate is not merged. */
  issuerPins?: string[];
  /** This version expires before the version it replaced (older Service Fabric runtimes would keep that one). */
  lifetimeShortened?: { previousVersion: string; previousNotAfter: string };
  /**
   * The latest version in the vault is unissued (an issuance in progress or an abandoned one); the fields describe
   * the newest issued version.
   */
  latestVersionUnissued?: boolean;
  /** The certificate's own preferred chain (issuer common name) and ACME profile (docs/certificates.md). */
  preferredChain?: string;
  profile?: string;
  /** Its tags that are neither kv-acme's nor Acmebot's (kept across renewals). */
  customTags?: Record<string, string>;
  lastOperation?: LastOperation;
}

/** One managed certificate's renewal schedule in GET /renewals. */
export interface RenewalView {
  name: string;
  /** The vault holding it. */
  vault: string;
  dnsNames: string[];
  notBefore: string;
  expiresOn: string;
  renewAt: string;
  due: boolean;
  reason: string;
  message: string;
  /** The rule that sets the renewal moment: the CA's ARI window, days before expiry, or the lifetime fraction. */
  rule: "ari" | "days" | "percent";
  ari: "used" | "unsupported" | "failed" | "skipped";
  ariWindow?: { start: string; end: string };
  /** Consecutive failed renewals of the current version and when the last one ran (the last attempt). */
  lastFailure?: { at: string; attempts: number };
  /** The CA rate-limited the last renewal: no renewal before this time (its Retry-After). */
  renewNotBefore?: string;
  /** A pending operation created by hand is in progress: when, and until when renewals leave it alone. */
  manualPending?: { createdAt: string; holdUntil: string };
  /** The failures hold the next attempt back until this moment (exponential backoff), when they do. */
  backoffUntil?: string;
  /** The issuing intermediate recorded on the version (kv-acme-issuer). */
  issuingCa?: { subject: string; keyId?: string; thumbprint?: string };
  /** Issuer pins: a new version from another intermediate is not merged. */
  issuerPins?: string[];
  /** This version expires before the version it replaced (older Service Fabric runtimes would keep that one). */
  lifetimeShortened?: { previousVersion: string; previousNotAfter: string };
}

/** One ACME account of GET /account (never its key). */
export interface AccountView {
  directoryUrl: string;
  /** The directory the app is configured for (KvAcme__AcmeDirectoryUrl). */
  current: boolean;
  accountUrl?: string;
  /** At the CA: valid, deactivated, revoked; `not-registered` before the first use, `unknown` when the CA did not answer. */
  status: string;
  contacts: string[];
  /** Registered with External Account Binding (RFC 8555 §7.3.4). */
  eabBound: boolean;
  eabKeyId?: string;
  termsOfServiceAgreed?: boolean;
  /** When kv-acme stored the account key (created the account). */
  createdOn?: string;
  /** Why the CA's view is missing. */
  error?: string;
}
