/** The types of the one typed, validated settings object (loaded by ./load.ts from the descriptors in ./descriptors.ts). */
import type { EntraSettings } from "../api/entra";
import type { DnsSettings } from "../dns/settings";
import type { FleetSettings } from "../fleet/settings";
import type { ConfiguredCaLimits } from "../renewal/ca-limits-settings";
import type { OrderSettings } from "../acme/order-options";
import type { WebhookTargetSettings } from "../notify/types";
import type { AzureCloud } from "./clouds";
import type { UndecidedRenewBeforeExpiry } from "./acmebot";

export type { WebhookFormat, WebhookTargetSettings } from "../notify/types";
export type EabAlgorithm = "HS256" | "HS384" | "HS512";
export type AuthMode = "appServiceAuth" | "functionKeys" | "local" | "unconfigured";

export interface EabSettings {
  keyId: string;
  /** base64url, no padding. */
  hmacKey: string;
  algorithm: EabAlgorithm;
}

export interface AuthSettings {
  mode: AuthMode;
  /** WEBSITE_AUTH_ENABLED=true: the platform validates callers, so x-ms-client-principal can be trusted. */
  platformAuthEnabled: boolean;
  /** Entra ID tenant and app registration: bearer access tokens are validated by the app itself. */
  entra?: EntraSettings;
  localRoles?: string[];
  /** Roles of function-key callers (default: the descriptor's). */
  keyRoles: string[];
  /** The first App Service / Functions platform variable present (WEBSITE_INSTANCE_ID, ...): the app runs in Azure. */
  azureHostVariable?: string;
}

/** One Key Vault holding certificates (src/config/vaults.ts). */
export interface VaultSettings {
  /** Lower case, Key Vault's naming rule; `default` for KvAcme__VaultUrl. */
  name: string;
  url: string;
  /** A user-assigned managed identity for this vault (else the app's). */
  managedIdentityClientId?: string;
}

export interface Settings {
  acmeDirectoryUrl: string;
  /** "mailto:" URIs (RFC 8555 §7.3). */
  contacts: string[];
  eab?: EabSettings;
  /** The Azure cloud (KvAcme__Environment): Key Vault suffix, ARM and login endpoints (./clouds.ts). */
  cloud: AzureCloud;
  /** The default vault's URL. */
  vaultUrl: string;
  /** Every vault holding certificates, the default among them. */
  vaults: VaultSettings[];
  /** The name of the vault used when a request names none. */
  defaultVault: string;
  /** Key Vault holding the app's own secrets (ACME account keys, webhook signing secrets); default: the default vault. */
  secretsVaultUrl: string;
  /** The DNS provider instances (src/dns/settings.ts; each type's own settings are opaque here). */
  dns: DnsSettings;
  /** Agent reports and stale-host detection (src/fleet/settings.ts). */
  fleet: FleetSettings;
  /** CA limits configured per ACME directory for the renewal planner (src/renewal/ca-limits-settings.ts). */
  caLimits: ConfiguredCaLimits[];
  /** Preferred chain, ACME profile, CAA pre-flight of every order (src/acme/order-options.ts). */
  order: OrderSettings;
  /** "host:port" servers asked instead of the zones' name servers; undefined = the zones' own. */
  dnsResolver?: string[];
  propagationTimeoutSeconds: number;
  acmeTimeoutSeconds: number;
  /** How long POST .../revoke waits for the revocation before answering 202 (0: at once). */
  revokeWaitSeconds: number;
  renewBeforeExpiryDays: number;
  renewAtPercentOfLifetime: number;
  /**
   * Acmebot__RenewBeforeExpiry whose unit (v4 days, v5 percent) no setting decided: the renewal run decides it by the
   * Acmebot tags in the vaults (./acmebot.ts resolveRenewalPolicy); renewBeforeExpiryDays and renewAtPercentOfLifetime
   * hold kv-acme's values until then.
   */
  acmebotRenewBeforeExpiry?: UndecidedRenewBeforeExpiry;
  /** NCRONTAB, six fields (second minute hour day month day-of-week). */
  renewalSchedule: string;
  maxConcurrentRenewals: number;
  /** Renewals per renewal-run orchestration execution (continueAsNew pages). */
  renewalBatchSize: number;
  /** How far ahead a renewal run plans (hours). */
  renewalPlanHorizonHours: number;
  /** How long renewals leave a pending operation created by hand alone (hours). */
  manualPendingHoldHours: number;
  /** A due certificate not renewed by a run and expiring within this many days gets `certificate.expiring`. */
  expiryWarningDays: number;
  /** Finished orchestration instances older than this many days are purged from durable history daily. */
  historyRetentionDays: number;
  webhooks: WebhookTargetSettings[];
  auth: AuthSettings;
  managedIdentityClientId?: string;
  appInsightsConnectionString?: string;
  /** Cloud role name of the telemetry (default kv-acme; WEBSITE_SITE_NAME in Azure). */
  telemetryRoleName: string;
  functionAppName?: string;
  disableChallengeResourceVerification: boolean;
}
