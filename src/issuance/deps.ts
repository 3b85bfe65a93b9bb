/**
 * The dependencies of the issuance steps, built once per process from typed settings: Key Vault clients, the DNS
 * provider and a lazily created ACME session (account loaded from or created in Key Vault). Steps receive these and
 * JSON inputs only; nothing here reads process.env.
 */
import type { TokenCredential } from "@azure/identity";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { ensureAccount, type EabCredentials } from "../acme/account";
import type { AcmeSession } from "../acme/client";
import type { Settings } from "../config/types";
import type { DnsProvider } from "../dns/provider";
import { createDnsProvider } from "../dns/registry";

/**
 * The settings the issuance steps read: a subset of the app's Settings, complete (defaults come from the settings
 * descriptors, src/config/descriptors.ts, never from the steps). The resolver override may be one "host:port".
 */
export type IssuanceSettings = Pick<
  Settings,
  | "acmeDirectoryUrl"
  | "contacts"
  | "vaultUrl"
  | "secretsVaultUrl"
  | "dnsProvider"
  | "dnsSubscriptionIds"
  | "dnsResourceGroups"
  | "armEndpoint"
  | "propagationTimeoutSeconds"
  | "acmeTimeoutSeconds"
  | "disableChallengeResourceVerification"
  | "renewBeforeExpiryDays"
  | "renewAtPercentOfLifetime"
  | "maxConcurrentRenewals"
> & { eab?: EabCredentials; dnsResolver?: string | string[] };

/** A progress event; the CLI prints them on stderr, the orchestrator logs them. */
export type ProgressSink = (step: string, message: string, data?: Record<string, unknown>) => void;

export interface IssuanceDeps {
  settings: IssuanceSettings;
  certificates: CertificateClient;
  secrets: SecretClient;
  dns: DnsProvider;
  /** The ACME session for settings.acmeDirectoryUrl; created on first use and cached. */
  acme(): Promise<AcmeSession>;
  progress: ProgressSink;
}

/** Builds the dependencies from settings and a credential. */
export function createIssuanceDeps(
  settings: IssuanceSettings,
  credential: TokenCredential,
  options: { progress?: ProgressSink } = {},
): IssuanceDeps {
  const clientOptions = { disableChallengeResourceVerification: settings.disableChallengeResourceVerification };
  const certificates = new CertificateClient(settings.vaultUrl, credential, clientOptions);
  const secrets = new SecretClient(settings.secretsVaultUrl, credential, clientOptions);
  const dns = createDnsProvider(settings.dnsProvider, {
    credential,
    azure: {
      subscriptionIds: settings.dnsSubscriptionIds,
      resourceGroups: settings.dnsResourceGroups,
      armEndpoint: settings.armEndpoint,
    },
  });
  let session: Promise<AcmeSession> | undefined;
  return {
    settings,
    certificates,
    secrets,
    dns,
    progress: options.progress ?? (() => undefined),
    acme() {
      if (!session) {
        session = ensureAccount(secrets, { acmeDirectoryUrl: settings.acmeDirectoryUrl, contacts: settings.contacts, eab: settings.eab });
        session.catch(() => {
          session = undefined;
        });
      }
      return session;
    },
  };
}
