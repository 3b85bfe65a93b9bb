/**
 * The Key Vaults that hold certificates: `KvAcme__VaultUrl` (the vault named `default`, as in a one-vault instance)
 * and/or any number of named vaults `KvAcme__Vaults__<name>__Url` (each with an optional managed identity of its own),
 * one of them the default (`KvAcme__DefaultVault`). Certificates are addressed as `{vault}/{name}` outside the
 * default vault (src/keyvault/address.ts).
 */
import { validateVaultName } from "../keyvault/address";
import { ValidationError } from "../shared/errors";
import { InvalidSetting, PREFIX, setting, type SettingsReader, type SettingsSection } from "./descriptor";
import { SETTINGS } from "./descriptors";
import { originUrl, parseGuid } from "./parsers";
import type { VaultSettings } from "./types";

/** The name of the vault `KvAcme__VaultUrl` configures. */
export const URL_SETTING_VAULT = "default";

function parseVaultName(raw: string): string {
  try {
    return validateVaultName(raw);
  } catch (err) {
    if (err instanceof ValidationError) throw new InvalidSetting(err.problems.map((p) => p.message).join("; "));
    throw err;
  }
}

export const VAULT_SETTINGS = {
  url: setting({
    key: "Vaults__<n>__Url",
    aliases: [],
    field: "vaults[<n>].url",
    type: "URL",
    required: true,
    doc: "Key Vault of the vault named `<n>` (3-24 letters, digits and single hyphens), like `https://contoso-eu.vault.azure.net`.",
    parse: originUrl,
  }),
  managedIdentityClientId: setting({
    key: "Vaults__<n>__ManagedIdentityClientId",
    aliases: [],
    field: "vaults[<n>].managedIdentityClientId",
    type: "GUID",
    defaultDoc: "(ManagedIdentityClientId)",
    doc: "Client id of the user-assigned managed identity that reaches this vault.",
    parse: parseGuid,
  }),
  defaultVault: setting({
    key: "DefaultVault",
    aliases: [],
    field: "defaultVault",
    type: "vault name",
    defaultDoc: "(`default` when VaultUrl is set, else the only vault)",
    doc: "The vault of requests that name none; its certificates are addressed by name alone.",
    parse: parseVaultName,
  }),
} as const;

export interface VaultsSettings {
  vaults: VaultSettings[];
  defaultVault: string;
}

function build(r: SettingsReader): VaultsSettings {
  const vaults: VaultSettings[] = [];
  const top = r.get(SETTINGS.vaultUrl);
  if (top !== undefined) vaults.push({ name: URL_SETTING_VAULT, url: top });
  for (const raw of r.names("Vaults__<n>__")) {
    const field = `${PREFIX}__Vaults__${raw}__Url`;
    let name: string;
    try {
      name = parseVaultName(raw);
    } catch (err) {
      r.problem(field, (err as Error).message);
      continue;
    }
    if (name === URL_SETTING_VAULT && top !== undefined) {
      r.problem(field, `conflicts with ${PREFIX}__VaultUrl, which configures the vault named "${URL_SETTING_VAULT}"`);
      continue;
    }
    const at = r.at(raw);
    const url = at.get(VAULT_SETTINGS.url);
    if (url === undefined) continue;
    const vault: VaultSettings = { name, url };
    const clientId = at.get(VAULT_SETTINGS.managedIdentityClientId);
    if (clientId !== undefined) vault.managedIdentityClientId = clientId;
    vaults.push(vault);
  }
  const seen = new Map<string, string>();
  for (const v of vaults) {
    const other = seen.get(v.url);
    if (other !== undefined) r.problem(`${PREFIX}__Vaults__${v.name}__Url`, `is the same Key Vault as vault "${other}" (${v.url})`);
    seen.set(v.url, v.name);
  }
  if (vaults.length === 0) {
    // An invalid VaultUrl has been reported already.
    if (!r.isSet(SETTINGS.vaultUrl))
      r.problem(
        `${PREFIX}__VaultUrl`,
        `is required (or Acmebot__VaultBaseUrl), or ${PREFIX}__Vaults__<name>__Url: ${SETTINGS.vaultUrl.doc}`,
      );
    return { vaults, defaultVault: URL_SETTING_VAULT };
  }
  const chosen = r.get(VAULT_SETTINGS.defaultVault);
  if (chosen !== undefined) {
    if (!vaults.some((v) => v.name === chosen))
      r.problem(`${PREFIX}__DefaultVault`, `names no configured vault (configured: ${vaults.map((v) => v.name).join(", ")})`);
    return { vaults, defaultVault: chosen };
  }
  if (top !== undefined) return { vaults, defaultVault: URL_SETTING_VAULT };
  if (vaults.length > 1)
    r.problem(`${PREFIX}__DefaultVault`, `is required with several vaults (configured: ${vaults.map((v) => v.name).join(", ")})`);
  return { vaults, defaultVault: (vaults[0] as VaultSettings).name };
}

export const VAULTS_SECTION: SettingsSection<VaultsSettings> = {
  title: "Key Vaults",
  intro:
    "Certificates live in one vault (`KvAcme__VaultUrl`, the vault named `default`) or several: `KvAcme__Vaults__<name>__Url` for each, " +
    "with `KvAcme__DefaultVault` naming the one used when a request names none. Requests take `vault` (API) or `{vault}/{name}` " +
    "(CLI); every listing, renewal run, webhook and telemetry event covers all vaults (docs/vaults.md).",
  settings: VAULT_SETTINGS,
  build,
};
