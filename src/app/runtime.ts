/**
 * The per-process runtime of the Function App: settings read and validated ONCE from the environment, and the
 * clients built from them (Key Vault, DNS provider, ACME session, telemetry). Built lazily on first use so the
 * module graph the Functions worker loads at cold start stays small; every handler and activity asks for it.
 */
import type { TokenCredential } from "@azure/core-auth";
import type { Settings } from "../config/settings";
import type { IssuanceDeps, ProgressSink, VaultCredentials } from "../issuance/deps";
import type { PendingTxtJournal } from "../issuance/pending-txt";
import type { Telemetry } from "../telemetry";
import { lazyModule } from "../shared/lazy";

export interface Runtime {
  settings: Settings;
  credential: TokenCredential;
  deps: IssuanceDeps;
  telemetry: Telemetry;
}

// Loaded lazily: these modules and the SDKs behind them are large and only needed once a function actually runs.
const config = lazyModule<typeof import("../config/settings")>(() => require("../config/settings"));
const issuanceDeps = lazyModule<typeof import("../issuance/deps")>(() => require("../issuance/deps"));
const telemetry = lazyModule<typeof import("../telemetry")>(() => require("../telemetry"));
const identity = lazyModule<typeof import("@azure/identity")>(() => require("@azure/identity"));

let current: Runtime | undefined;

/** The runtime for this process; throws ConfigurationError (listing every problem) when settings are invalid. */
export function getRuntime(): Runtime {
  if (!current) current = createRuntime(process.env);
  return current;
}

/** Builds a runtime from an explicit environment record (tests, the CLI's --stack mode). */
export function createRuntime(
  env: Record<string, string | undefined>,
  options: { progress?: ProgressSink; credential?: TokenCredential } = {},
): Runtime {
  const { loadSettings } = config();
  const settings = loadSettings(env);
  if (options.credential) return runtimeFromSettings(settings, options.credential, options);
  return runtimeFromSettings(settings, defaultCredential(settings), { ...options, vaultCredentials: vaultCredentialsFor(settings) });
}

/** Builds a runtime from settings already read (the CLI reads them from its environment or the local stack). */
export function runtimeFromSettings(
  settings: Settings,
  credential: TokenCredential,
  options: { progress?: ProgressSink; vaultCredentials?: VaultCredentials; pendingTxt?: PendingTxtJournal } = {},
): Runtime {
  const { createIssuanceDeps } = issuanceDeps();
  const { createTelemetry } = telemetry();
  return {
    settings,
    credential,
    deps: createIssuanceDeps(settings, credential, {
      progress: options.progress,
      vaultCredentials: options.vaultCredentials,
      pendingTxt: options.pendingTxt,
    }),
    telemetry: createTelemetry({ connectionString: settings.appInsightsConnectionString, roleName: settings.telemetryRoleName }),
  };
}

/** Replaces the process runtime (tests and the local host's per-stack setup); returns the previous one. */
export function setRuntime(runtime: Runtime | undefined): Runtime | undefined {
  const previous = current;
  current = runtime;
  return previous;
}

/** The app's identity (or a user-assigned one), authenticating at the cloud's Entra ID login endpoint. */
/**
 * The credential of each vault with a managed identity of its own (`Vaults__<n>__ManagedIdentityClientId`): that
 * identity, at the cloud's login endpoint. The app and the CLI's direct mode both use it.
 */
export function vaultCredentialsFor(settings: Pick<Settings, "cloud">): VaultCredentials {
  return (managedIdentityClientId) => defaultCredential({ managedIdentityClientId, cloud: settings.cloud });
}

/** The app's credential: DefaultAzureCredential (its user-assigned identity when ManagedIdentityClientId is set). */
export function defaultCredential(settings: Pick<Settings, "managedIdentityClientId" | "cloud">): TokenCredential {
  const { DefaultAzureCredential } = identity();
  return new DefaultAzureCredential({
    authorityHost: settings.cloud.login,
    ...(settings.managedIdentityClientId ? { managedIdentityClientId: settings.managedIdentityClientId } : {}),
  });
}
