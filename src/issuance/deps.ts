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
import { authoritativeCnameLookup, type CnameLookup } from "../dns/delegation";
import { createDnsRouter } from "../dns/registry";
import type { DnsRouter } from "../dns/router";

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
  | "dns"
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
  /** Every configured DNS provider instance, each zone routed to the one that owns it. */
  dns: DnsRouter;
  /** Asks a name's authoritative servers (or the resolver override) for its CNAME (delegation, src/dns/delegation.ts). */
  cnameLookup: CnameLookup;
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
  const dns = createDnsRouter(settings.dns, { credential });
  const resolvers = typeof settings.dnsResolver === "string" ? [settings.dnsResolver] : settings.dnsResolver;
  const cnameLookup = authoritativeCnameLookup(resolvers ? { resolvers } : {});
  let session: Promise<AcmeSession> | undefined;
  return {
    settings,
    certificates,
    secrets,
    dns,
    cnameLookup,
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
