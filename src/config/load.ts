/**
 * Loading: reads every setting once from an environment record into the typed Settings object, through the
 * descriptors (./descriptors.ts) and any SettingsSection a module declares. Defaults come from the descriptors only.
 *
 * Names: `KvAcme__<Key>` (Azure app settings on Linux) or `KvAcme:<Key>`, matched case-insensitively; the leading
 * C# tool's `Acmebot__*` names are accepted as aliases so its users can switch by redeploying. When both a
 * kv-acme name and an alias are set, the kv-acme name wins. Empty values count as unset.
 */
import { ConfigurationError, type FieldProblem } from "../shared/errors";
import {
  envNamesOf,
  InvalidSetting,
  PREFIX,
  type DefaultedSetting,
  type SettingDescriptor,
  type SettingsReader,
  type SettingsSection,
} from "./descriptor";
import { DNS_SETTINGS } from "../dns/settings";
import { FLEET_SETTINGS } from "../fleet/settings";
import { CA_LIMITS_SETTINGS } from "../renewal/ca-limits-settings";
import { ORDER_SETTINGS } from "../acme/order-options";
import { SETTINGS, WEBHOOK_SETTINGS } from "./descriptors";
import { buildAcmebotSettings, type AcmebotSettings } from "./acmebot";
import { vaultCloudProblem } from "./clouds";
import { getServers } from "node:dns";
import { VAULTS_SECTION } from "./vaults";
import { sniffWebhookFormat } from "./parsers";
import { urlOrigin } from "../shared/url";
import type { Settings, WebhookTargetSettings } from "./types";

function normalizeName(name: string): string {
  return name.replace(/:/g, "__").toLowerCase();
}

interface EnvIndex {
  values: Map<string, { name: string; value: string }>;
  problems: FieldProblem[];
}

function indexEnv(env: Record<string, string | undefined>): EnvIndex {
  const values = new Map<string, { name: string; value: string }>();
  const problems: FieldProblem[] = [];
  for (const name of Object.keys(env).sort()) {
    const value = env[name]?.trim();
    if (value === undefined || value === "") continue;
    const key = normalizeName(name);
    const seen = values.get(key);
    if (seen && seen.value !== value && /^(kvacme|acmebot)__/.test(key)) {
      problems.push({ field: name, message: `conflicts with ${seen.name}, which is set to a different value` });
      continue;
    }
    if (!seen) values.set(key, { name, value });
  }
  return { values, problems };
}

function read<T>(idx: EnvIndex, d: SettingDescriptor<T>, index?: number | string): T | undefined {
  for (const candidate of envNamesOf(d as SettingDescriptor<unknown>, index)) {
    const hit = idx.values.get(normalizeName(candidate.name));
    if (!hit) continue;
    try {
      return (candidate.parse ?? d.parse)(hit.value) as T;
    } catch (err) {
      if (!(err instanceof InvalidSetting)) throw err;
      idx.problems.push({ field: hit.name, message: err.message });
      return d.default;
    }
  }
  if (d.required) {
    const names = envNamesOf(d as SettingDescriptor<unknown>, index).map((c) => c.name);
    idx.problems.push({
      field: names[0] ?? d.field,
      message: `is required${names.length > 1 ? ` (or ${names.slice(1).join(", ")})` : ""}: ${d.doc}`,
    });
  }
  return d.default;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function namesStartingWith(idx: EnvIndex, prefix: string): { name: string; suffix: string }[] {
  const p = normalizeName(prefix);
  return [...idx.values.entries()].filter(([key]) => key.startsWith(p)).map(([key, v]) => ({ name: v.name, suffix: key.slice(p.length) }));
}

function readerOf(idx: EnvIndex, index?: number | string): SettingsReader {
  const reader = {
    get: <T>(d: SettingDescriptor<T>) => read(idx, d, index),
    isSet: (d: SettingDescriptor<unknown>) => envNamesOf(d, index).some((c) => idx.values.has(normalizeName(c.name))),
    indices(keyPattern: string): number[] {
      const [before = "", after = ""] = normalizeName(`${PREFIX}__${keyPattern}`).split("<n>").map(escapeRegExp);
      const re = new RegExp(`^${before}(\\d+)${after}`);
      const found = new Set<number>();
      for (const key of idx.values.keys()) {
        const m = re.exec(key);
        if (m) found.add(Number(m[1]));
      }
      return [...found].sort((a, b) => a - b);
    },
    names(keyPattern: string): string[] {
      const [before = "", after = ""] = normalizeName(`${PREFIX}__${keyPattern}`).split("<n>").map(escapeRegExp);
      const re = new RegExp(`^${before}([^_]+(?:_[^_]+)*)${after}`);
      const found = new Set<string>();
      for (const key of idx.values.keys()) {
        const m = re.exec(key);
        if (m?.[1]) found.add(m[1]);
      }
      return [...found].sort();
    },
    keysUnder: (prefix: string) => namesStartingWith(idx, `${PREFIX}__${prefix}`),
    namesStartingWith: (prefix: string) => namesStartingWith(idx, prefix),
    at: (n: number | string) => readerOf(idx, n),
    problem: (field: string, message: string) => void idx.problems.push({ field, message }),
  };
  return reader as SettingsReader;
}

/** Builds a section's typed value from the environment; throws one ConfigurationError listing every problem. */
export function loadSection<T>(env: Record<string, string | undefined>, section: SettingsSection<T>): T {
  const idx = indexEnv(env);
  const value = section.build(readerOf(idx));
  throwProblems(idx.problems);
  return value;
}

/** Each secret of a target, given inline or by Key Vault name (one of the two). */
const SECRET_PAIRS = [
  ["secret", "secretName"],
  ["secondarySecret", "secondarySecretName"],
  ["legacySecret", "legacySecretName"],
] as const;

function readWebhooks(reader: SettingsReader, acmebot: AcmebotSettings): WebhookTargetSettings[] {
  const out: WebhookTargetSettings[] = [];
  for (const n of reader.indices("Webhooks__<n>__")) {
    const at = reader.at(n);
    const url = at.get(WEBHOOK_SETTINGS.url);
    const format = at.get(WEBHOOK_SETTINGS.format);
    const events = at.get(WEBHOOK_SETTINGS.events);
    if (url === undefined) continue;
    const target: WebhookTargetSettings = { url, format: format ?? sniffWebhookFormat(url), events };
    for (const [value, name] of SECRET_PAIRS) {
      const v = at.get(WEBHOOK_SETTINGS[value]);
      const vName = at.get(WEBHOOK_SETTINGS[name]);
      const key = `${value[0].toUpperCase()}${value.slice(1)}`;
      if (v !== undefined && vName !== undefined)
        reader.problem(`${PREFIX}__Webhooks__${n}__${key}`, `set either ${key} or ${key}Name, not both`);
      if (v !== undefined) target[value] = v;
      if (vName !== undefined) target[name] = vName;
    }
    const signed = target.secret !== undefined || target.secretName !== undefined;
    const alongside = [target.secondarySecret, target.secondarySecretName, target.legacySecret, target.legacySecretName];
    if (!signed && alongside.some((v) => v !== undefined))
      reader.problem(
        `${PREFIX}__Webhooks__${n}__Secret`,
        "SecondarySecret and LegacySecret sign alongside Secret: set Secret or SecretName",
      );
    out.push(target);
  }
  const legacy = acmebot.webhook;
  if (legacy && !out.some((w) => w.url === legacy.url)) out.push(legacy);
  return out;
}

/** The core settings as a section: every descriptor of ./descriptors.ts and how they combine. */
export const CORE_SETTINGS: SettingsSection<Settings> = {
  title: "Settings",
  settings: SETTINGS,
  build(r) {
    const S = SETTINGS;
    const get = <T>(d: DefaultedSetting<T>): T => r.get(d);
    const cloud = get(S.environment);
    const eabKeyId = r.get(S.eabKeyId);
    const eabHmacKey = r.get(S.eabHmacKey);
    const authMode = r.get(S.authMode);
    const websiteAuth = get(S.websiteAuthEnabled);
    const tenantId = r.get(S.authTenantId);
    const clientId = r.get(S.authClientId);
    const authority = r.get(S.authAuthority) ?? cloud.login;
    const entra = tenantId !== undefined && clientId !== undefined ? { tenantId, clientId, authority } : undefined;
    if (r.isSet(S.authTenantId) !== r.isSet(S.authClientId)) {
      const missing = r.isSet(S.authTenantId) ? "ClientId" : "TenantId";
      r.problem(`${PREFIX}__Auth__${missing}`, "validating Entra ID tokens needs both the tenant id and the client id");
    }
    const { vaults, defaultVault } = VAULTS_SECTION.build(r);
    for (const v of vaults) {
      const problem = vaultCloudProblem(v.url, cloud);
      if (problem) r.problem(v.name === "default" ? `${PREFIX}__VaultUrl` : `${PREFIX}__Vaults__${v.name}__Url`, problem);
    }
    const vaultUrl = vaults.find((v) => v.name === defaultVault)?.url ?? "";
    const acmebot = buildAcmebotSettings(r, { days: r.isSet(S.renewBeforeExpiryDays), percent: r.isSet(S.renewAtPercentOfLifetime) });
    const settings: Settings = {
      acmeDirectoryUrl: get(S.acmeDirectoryUrl),
      contacts: get(S.contacts),
      cloud,
      vaultUrl,
      vaults,
      defaultVault,
      secretsVaultUrl: r.get(S.secretsVaultUrl) ?? vaultUrl,
      dns: DNS_SETTINGS.build(r),
      fleet: FLEET_SETTINGS.build(r),
      caLimits: CA_LIMITS_SETTINGS.build(r),
      order: ORDER_SETTINGS.build(r),
      propagationTimeoutSeconds: get(S.propagationTimeoutSeconds),
      acmeTimeoutSeconds: get(S.acmeTimeoutSeconds),
      revokeWaitSeconds: get(S.revokeWaitSeconds),
      renewBeforeExpiryDays: acmebot.renewal?.renewBeforeExpiryDays ?? get(S.renewBeforeExpiryDays),
      renewAtPercentOfLifetime: acmebot.renewal?.renewAtPercentOfLifetime ?? get(S.renewAtPercentOfLifetime),
      renewalSchedule: get(S.renewalSchedule),
      maxConcurrentRenewals: get(S.maxConcurrentRenewals),
      renewalBatchSize: get(S.renewalBatchSize),
      renewalPlanHorizonHours: get(S.renewalPlanHorizonHours),
      manualPendingHoldHours: get(S.manualPendingHoldHours),
      expiryWarningDays: get(S.expiryWarningDays),
      historyRetentionDays: get(S.historyRetentionDays),
      webhooks: readWebhooks(r, acmebot),
      auth: {
        mode: authMode ?? (websiteAuth || entra ? "appServiceAuth" : "unconfigured"),
        platformAuthEnabled: websiteAuth,
        keyRoles: get(S.authKeyRoles),
      },
      telemetryRoleName: get(S.telemetryRoleName),
      disableChallengeResourceVerification: get(S.disableChallengeResourceVerification),
    };
    if (eabKeyId !== undefined && eabHmacKey !== undefined) {
      settings.eab = { keyId: eabKeyId, hmacKey: eabHmacKey, algorithm: get(S.eabAlgorithm) };
    } else if (r.isSet(S.eabKeyId) !== r.isSet(S.eabHmacKey)) {
      const missing = r.isSet(S.eabKeyId) ? "HmacKey" : "KeyId";
      r.problem(`${PREFIX}__Eab__${missing}`, "External Account Binding needs both the key id and the HMAC key");
    }
    const optional = {
      localRoles: r.get(S.authLocalRoles),
      azureHostVariable: r.get(S.azureHostVariable),
    };
    if (entra !== undefined) settings.auth.entra = entra;
    if (optional.localRoles !== undefined) settings.auth.localRoles = optional.localRoles;
    if (optional.azureHostVariable !== undefined) settings.auth.azureHostVariable = optional.azureHostVariable;
    // Acmebot__UseSystemNameServer=true: the system's resolvers (read once, here), unless DnsResolver names others.
    const dnsResolver = r.get(S.dnsResolver) ?? (acmebot.useSystemNameServer ? getServers() : undefined);
    const managedIdentityClientId = r.get(S.managedIdentityClientId);
    const appInsightsConnectionString = r.get(S.appInsightsConnectionString);
    const functionAppName = r.get(S.functionAppName);
    if (dnsResolver !== undefined) settings.dnsResolver = dnsResolver;
    if (managedIdentityClientId !== undefined) settings.managedIdentityClientId = managedIdentityClientId;
    if (appInsightsConnectionString !== undefined) settings.appInsightsConnectionString = appInsightsConnectionString;
    if (functionAppName !== undefined) settings.functionAppName = functionAppName;
    if (acmebot.undecidedRenewBeforeExpiry !== undefined) settings.acmebotRenewBeforeExpiry = acmebot.undecidedRenewBeforeExpiry;
    return settings;
  },
};

function throwProblems(problems: FieldProblem[]): void {
  if (problems.length > 0) {
    throw new ConfigurationError(`Invalid settings: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`, {
      problems: [...problems],
    });
  }
}

/**
 * Reads and validates every setting from an environment record (process.env at the edge, or a test's record).
 * Throws one ConfigurationError listing every problem (details.problems: {field, message}[]).
 */
export function loadSettings(env: Record<string, string | undefined>): Settings {
  return loadSection(env, CORE_SETTINGS);
}

/** A copy safe to log or show: secrets and token-bearing webhook URLs reduced to what identifies them. */
export function redactSettings(settings: Settings): Record<string, unknown> {
  return {
    ...settings,
    eab: settings.eab ? { ...settings.eab, hmacKey: "(redacted)" } : undefined,
    webhooks: settings.webhooks.map((w) => ({
      url: `${urlOrigin(w.url) ?? "invalid-url"}/…`,
      format: w.format,
      events: w.events,
      ...Object.fromEntries(
        SECRET_PAIRS.flatMap(([value, name]) => [
          ...(w[value] !== undefined ? [[value, "(redacted)"]] : []),
          ...(w[name] !== undefined ? [[name, w[name]]] : []),
        ]),
      ),
    })),
    appInsightsConnectionString: settings.appInsightsConnectionString ? "(set)" : undefined,
  };
}
