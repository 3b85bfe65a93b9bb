/**
 * The limits a renewal plan respects, per CA (ACME directory) and per Azure service: what they are and the published
 * defaults. Pure data and lookups; the planner (./plan) counts against them. Sources: docs/scale.md and
 * ../../shared/reference/limits.md (Let's Encrypt rate-limits page, lastmod 2026-08-05; Key Vault service limits;
 * Azure DNS limits; ARM token buckets).
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** At most `count` events in any `windowMs` (a sliding window: never more than the CA's token bucket allows). */
export interface WindowLimit {
  count: number;
  windowMs: number;
}

/** A CA's limits on orders. Absent limit = the CA publishes none (only its Retry-After answers are honoured). */
export interface CaLimits {
  /** New (non-renewal) orders per ACME account. */
  newOrdersPerAccount?: WindowLimit;
  /** New certificates per registered domain (eTLD+1), all accounts. */
  newCertificatesPerRegisteredDomain?: WindowLimit;
  /** Certificates for the exact same set of names, all accounts; counts renewals too (but not ARI renewals). */
  certificatesPerExactSet?: WindowLimit;
  /** ARI renewals (`replaces`, inside the suggested window) are exempt from every limit. */
  ariRenewalsExempt: boolean;
}

/** Let's Encrypt's published defaults (production and staging). */
export const LETS_ENCRYPT_LIMITS: CaLimits = {
  newOrdersPerAccount: { count: 300, windowMs: 3 * HOUR_MS },
  newCertificatesPerRegisteredDomain: { count: 50, windowMs: 7 * DAY_MS },
  certificatesPerExactSet: { count: 5, windowMs: 7 * DAY_MS },
  ariRenewalsExempt: true,
};

/** A CA without published limits: nothing counted, Retry-After honoured. */
export const UNPUBLISHED_LIMITS: CaLimits = { ariRenewalsExempt: false };

/** The built-in limits by ACME directory host. */
const BY_DIRECTORY_HOST: Record<string, CaLimits> = {
  "acme-v02.api.letsencrypt.org": LETS_ENCRYPT_LIMITS,
  "acme-staging-v02.api.letsencrypt.org": LETS_ENCRYPT_LIMITS,
};

/** The limits of the CA at `directoryUrl`: the configured ones when given, else the published defaults, else none. */
export function caLimitsFor(directoryUrl: string, configured?: CaLimits): CaLimits {
  if (configured) return configured;
  let host: string;
  try {
    host = new URL(directoryUrl).hostname.toLowerCase();
  } catch {
    return UNPUBLISHED_LIMITS;
  }
  return BY_DIRECTORY_HOST[host] ?? UNPUBLISHED_LIMITS;
}

/** Azure budgets a plan paces its renewal starts against (per the scope named on each). */
export interface AzureBudgets {
  /** Azure DNS record-set create/update/delete per zone (200 per minute). */
  dnsWritesPerZone: WindowLimit;
  /** Key Vault key creates per vault (a certificate create makes a key: 20 per 10 s software, 10 HSM). */
  keyVaultCreatesPerVault: WindowLimit;
  /** ARM writes per subscription and principal (bucket 200, refill 10/s: at most 300 in any 10 s; 100 kept spare). */
  armWrites: WindowLimit;
}

export const AZURE_BUDGETS: AzureBudgets = {
  dnsWritesPerZone: { count: 200, windowMs: 60_000 },
  keyVaultCreatesPerVault: { count: 20, windowMs: 10_000 },
  armWrites: { count: 200, windowMs: 10_000 },
};
