/**
 * The doctor as the CLI and `GET /api/health` run it: the checks of checks.ts over the real clients built from the
 * settings (the same Key Vault, DNS and ACME clients the issuance uses), with every problem in the settings
 * reported at once when they do not load.
 */
import type { TokenCredential } from "@azure/core-auth";
import { newAcmeClient, withNonceRetry } from "../acme/client";
import { loadSettings } from "../config/settings";
import { eventSource, notifyAll, webhookPing } from "../notify";
import type { Settings } from "../config/types";
import { createIssuanceDeps, everyVault, type IssuanceDeps, type VaultCredentials } from "../issuance/deps";
import { ConfigurationError } from "../shared/errors";
import { runChecks, type CheckResult, type DoctorDeps } from "./checks";
import { allPassed, settingsCheck } from "./report";

export { nextTimerRun, type CheckResult } from "./checks";
export { allPassed, renderChecklist } from "./report";

export interface DoctorReport {
  ok: boolean;
  checkedAt: string;
  checks: CheckResult[];
}

export interface DoctorOptions {
  /** Each vault's own credential, from the settings once they are loaded (the CLI's direct mode). */
  vaultCredentialsFor?: (settings: Settings) => VaultCredentials;
  /** Send a signed `webhook.ping` event to every webhook target (`kv-acme doctor --ping`). */
  ping?: boolean;
  /** Told each result as it is known. */
  onResult?: (r: CheckResult) => void;
  /** The next step to print when settings are missing (differs between the CLI and the app). */
  settingsHint: string;
  now?: () => Date;
}

async function fetchJson(url: string): Promise<{ status: number; date?: string; body: unknown }> {
  const resp = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(15_000) });
  const text = await resp.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: resp.status, date: resp.headers.get("date") ?? undefined, body };
}

/** What the doctor is built from besides settings: the app's own dependencies, or a credential (and each vault's). */
export interface DoctorSource {
  /** The issuance dependencies to check (the Function App's runtime: the same clients it issues with). */
  deps?: IssuanceDeps;
  /** Vaults with a managed identity of their own get that identity's credential (when `deps` is not given). */
  vaultCredentials?: VaultCredentials;
}

/** Builds the doctor's dependencies from loaded settings and a credential: every configured vault, each with its own client. */
export function doctorDeps(
  settings: Settings,
  credential: TokenCredential,
  options: { ping?: boolean; now?: () => Date } & DoctorSource = {},
): DoctorDeps {
  const deps = options.deps ?? createIssuanceDeps(settings, credential, { vaultCredentials: options.vaultCredentials });
  return {
    settings,
    vaults: everyVault(deps).map((v) => {
      const configured = settings.vaults.find((c) => c.name === v.vault);
      return {
        name: v.vault,
        url: v.settings.vaultUrl,
        certificates: v.certificates,
        ...(configured?.managedIdentityClientId ? { managedIdentityClientId: configured.managedIdentityClientId } : {}),
      };
    }),
    secrets: deps.secrets,
    dns: deps.dns,
    fetchJson,
    now: options.now ?? (() => new Date()),
    async accountStatus(keyPem, accountUrl, directory) {
      const client = newAcmeClient(settings.acmeDirectoryUrl, keyPem, accountUrl, directory);
      // RFC 8555 §7.3.1: newAccount with onlyReturnExisting returns the existing account (and its status), never creates one.
      const account = (await withNonceRetry(() => client.createAccount({ onlyReturnExisting: true }))) as { status?: string };
      return { status: account.status ?? "unknown", url: client.getAccountUrl() };
    },
    ...(options.ping
      ? {
          async pingWebhooks() {
            // A ping goes to every target whatever its event filter: it tests the target, not the filter.
            const targets = settings.webhooks.map((t) => ({ ...t, events: ["*"] }));
            const event = webhookPing("kv-acme doctor", {
              source: eventSource(["function-app", settings.functionAppName ?? "kv-acme-cli"]),
            });
            const results = await notifyAll(targets, event, {
              maxAttempts: 1,
              resolveSecret: async (name) => (await deps.secrets.getSecret(name)).value ?? "",
            });
            return results.map((r) => ({ target: r.target, format: r.format, ok: r.ok, status: r.status, error: r.error }));
          },
        }
      : {}),
  };
}

/** Loads the settings from `env` and runs every check; a settings failure stops there (the rest needs them). */
export async function runDoctor(
  env: Record<string, string | undefined>,
  credentialFor: (settings: Settings) => TokenCredential,
  options: DoctorOptions,
): Promise<DoctorReport> {
  const now = options.now ?? (() => new Date());
  const checks: CheckResult[] = [];
  const add = (r: CheckResult) => {
    checks.push(r);
    options.onResult?.(r);
  };
  let settings: Settings;
  try {
    settings = loadSettings(env);
  } catch (err) {
    if (!(err instanceof ConfigurationError)) throw err;
    const problems = (err.details?.problems as { field: string; message: string }[] | undefined) ?? [
      { field: "settings", message: err.message },
    ];
    add(settingsCheck(problems, options.settingsHint));
    return { ok: false, checkedAt: now().toISOString(), checks };
  }
  add(settingsCheck(undefined, options.settingsHint));
  await runChecks(
    doctorDeps(settings, credentialFor(settings), { ping: options.ping, now, vaultCredentials: options.vaultCredentialsFor?.(settings) }),
    add,
  );
  return { ok: allPassed(checks), checkedAt: now().toISOString(), checks };
}

/** The checks with settings already loaded (the Function App's runtime): `GET /api/health`. */
export async function runDoctorWith(
  settings: Settings,
  credential: TokenCredential,
  options: { ping?: boolean; now?: () => Date } & DoctorSource = {},
): Promise<DoctorReport> {
  const now = options.now ?? (() => new Date());
  const checks: CheckResult[] = [settingsCheck(undefined, "")];
  await runChecks(doctorDeps(settings, credential, { ...options, now }), (r) => checks.push(r));
  return { ok: allPassed(checks), checkedAt: now().toISOString(), checks };
}
