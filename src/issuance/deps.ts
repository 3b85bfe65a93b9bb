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
import { authoritativeCaaLookup, type CaaRRsetLookup } from "../dns/caa";
import { authoritativeCnameLookup, type CnameLookup } from "../dns/delegation";
import { createDnsRouter } from "../dns/registry";
import type { AzureCloud } from "../config/clouds";
import { throttlingClientOptions } from "../shared/azure-throttling";
import { identityFailures } from "../shared/credential";
import type { DnsRouter } from "../dns/router";
import { validateVaultName } from "../keyvault/address";
import { ValidationError } from "../shared/errors";
import type { PendingTxtJournal } from "./pending-txt";

/**
 * The settings the issuance steps read: a subset of the app's Settings, complete (defaults come from the settings
 * descriptors, src/config/descriptors.ts, never from the steps). The resolver override may be one "host:port".
 */
export type IssuanceSettings = Pick<
  Settings,
  | "acmeDirectoryUrl"
  | "contacts"
  | "vaultUrl"
  | "vaults"
  | "defaultVault"
  | "secretsVaultUrl"
  | "dns"
  | "propagationTimeoutSeconds"
  | "acmeTimeoutSeconds"
  | "disableChallengeResourceVerification"
  | "renewBeforeExpiryDays"
  | "renewAtPercentOfLifetime"
  | "maxConcurrentRenewals"
  | "acmebotRenewBeforeExpiry"
  | "order"
  | "manualPendingHoldHours"
> & { eab?: EabCredentials; dnsResolver?: string | string[]; cloud?: Pick<AzureCloud, "login"> };

/** A progress event; the CLI prints them on stderr, the orchestrator logs them. */
export type ProgressSink = (step: string, message: string, data?: Record<string, unknown>) => void;

export interface IssuanceDeps {
  /** settings.vaultUrl is the URL of `vault`. */
  settings: IssuanceSettings;
  /** The name of the vault `certificates` addresses (settings.vaults). */
  vault: string;
  certificates: CertificateClient;
  secrets: SecretClient;
  /** Every configured DNS provider instance, each zone routed to the one that owns it. */
  dns: DnsRouter;
  /** Asks a name's authoritative servers (or the resolver override) for its CNAME (delegation, src/dns/delegation.ts). */
  cnameLookup: CnameLookup;
  /** Reads a name's CAA RRset at its authoritative servers (or the resolver override), CNAMEs followed (src/dns/caa.ts). */
  caaLookup: CaaRRsetLookup;
  /** The ACME session for settings.acmeDirectoryUrl; created on first use and cached. */
  acme(): Promise<AcmeSession>;
  progress: ProgressSink;
  /**
   * The same dependencies addressing another configured vault (undefined: the default); ValidationError (400) for an
   * unknown one. Called on a copy with overrides (`{ ...deps, certificates }`), it keeps them: the copy itself for its
   * own vault, and for another vault that vault's dependencies with the copy's overrides of what all vaults share
   * (SHARED_DEPS, and the settings but the vault URL).
   */
  forVault(this: IssuanceDeps | void, vault: string | undefined): IssuanceDeps;
  /** The in-process driver journals presented TXT values here until removed (the CLI sets it: ./pending-txt.ts). */
  pendingTxt?: PendingTxtJournal;
}

/** What every vault's dependencies share (one client, provider or session for all): overrides of these carry to every vault. */
export const SHARED_DEPS = ["secrets", "dns", "cnameLookup", "caaLookup", "acme", "progress", "pendingTxt"] as const;

/** The credential of a vault with a managed identity of its own (by client id); the app's credential otherwise. */
export type VaultCredentials = (managedIdentityClientId: string) => TokenCredential;

/** Builds the dependencies from settings and a credential (`vaultCredentials`: per-vault managed identities; `pendingTxt`: the CLI's TXT journal, in every vault's dependencies). */
export function createIssuanceDeps(
  settings: IssuanceSettings,
  credential: TokenCredential,
  options: { progress?: ProgressSink; vaultCredentials?: VaultCredentials; pendingTxt?: PendingTxtJournal } = {},
): IssuanceDeps {
  // Key Vault's 429 + Retry-After fails the call at once: the durable driver waits in a timer, not in the request.
  const clientOptions = {
    disableChallengeResourceVerification: settings.disableChallengeResourceVerification,
    ...throttlingClientOptions(),
  };
  // Token failures become Identity errors naming the resource (retryable when the endpoint was down).
  const tokens = identityFailures(credential);
  const secrets = new SecretClient(settings.secretsVaultUrl, tokens, clientOptions);
  const dns = createDnsRouter(settings.dns, { credential: tokens, ...(settings.cloud ? { authorityHost: settings.cloud.login } : {}) });
  const resolvers = typeof settings.dnsResolver === "string" ? [settings.dnsResolver] : settings.dnsResolver;
  const cnameLookup = authoritativeCnameLookup(resolvers ? { resolvers } : {});
  const caaLookup = authoritativeCaaLookup(cnameLookup, resolvers ? { resolvers } : {});
  let session: Promise<AcmeSession> | undefined;
  const acme = () => {
    if (!session) {
      session = ensureAccount(secrets, { acmeDirectoryUrl: settings.acmeDirectoryUrl, contacts: settings.contacts, eab: settings.eab });
      session.catch(() => {
        session = undefined;
      });
    }
    return session;
  };
  const progress = options.progress ?? (() => undefined);
  const byVault = new Map<string, IssuanceDeps>();
  // A copy with overrides -> its dependencies for the other vaults (built on first use), and each of those -> that copy.
  const derived = new WeakMap<IssuanceDeps, Map<string, IssuanceDeps>>();
  const copyOf = new WeakMap<IssuanceDeps, IssuanceDeps>();
  function forVault(this: IssuanceDeps | void, vault: string | undefined): IssuanceDeps {
    const name = vault === undefined ? settings.defaultVault : validateVaultName(vault);
    const base = built(name);
    const copy = this ? (copyOf.get(this) ?? this) : undefined;
    const own = copy && byVault.get(copy.vault);
    // Called on the built dependencies (or unbound): those of the vault asked for.
    if (!copy || !own || copy === own) return base;
    if (name === copy.vault) return copy;
    let perVault = derived.get(copy);
    if (!perVault) derived.set(copy, (perVault = new Map()));
    let deps = perVault.get(name);
    if (!deps) {
      const carried: Partial<Record<(typeof SHARED_DEPS)[number], unknown>> & { settings?: IssuanceSettings } = {};
      for (const key of SHARED_DEPS) if (copy[key] !== own[key]) carried[key] = copy[key];
      if (copy.settings !== own.settings) carried.settings = { ...copy.settings, vaultUrl: base.settings.vaultUrl };
      deps = { ...base, ...(carried as Partial<IssuanceDeps>) };
      perVault.set(name, deps);
      copyOf.set(deps, copy);
    }
    return deps;
  }
  const built = (name: string): IssuanceDeps => {
    const hit = byVault.get(name);
    if (hit) return hit;
    const configured = settings.vaults.find((v) => v.name === name);
    if (!configured)
      throw new ValidationError([
        { field: "vault", message: `no vault "${name}" is configured (vaults: ${settings.vaults.map((v) => v.name).join(", ")})` },
      ]);
    // The default vault's URL is settings.vaultUrl (callers may point it elsewhere); the others are their own.
    const url = name === settings.defaultVault ? settings.vaultUrl : configured.url;
    const clientId = configured.managedIdentityClientId;
    const vaultCredential =
      clientId !== undefined && options.vaultCredentials ? identityFailures(options.vaultCredentials(clientId)) : tokens;
    const deps: IssuanceDeps = {
      settings: url === settings.vaultUrl ? settings : { ...settings, vaultUrl: url },
      vault: name,
      certificates: new CertificateClient(url, vaultCredential, clientOptions),
      secrets,
      dns,
      cnameLookup,
      caaLookup,
      progress,
      acme,
      forVault,
      ...(options.pendingTxt ? { pendingTxt: options.pendingTxt } : {}),
    };
    byVault.set(name, deps);
    return deps;
  };
  return built(settings.defaultVault);
}

/** The dependencies of every configured vault, the default first, then by name. */
export function everyVault(deps: IssuanceDeps): IssuanceDeps[] {
  const names = deps.settings.vaults.map((v) => v.name).sort();
  const ordered = [deps.settings.defaultVault, ...names.filter((n) => n !== deps.settings.defaultVault)];
  return ordered.map((name) => deps.forVault(name));
}
