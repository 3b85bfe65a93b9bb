/**
 * The Azure clouds kv-acme can run in (`KvAcme__Environment`, the leading C# tool's `Acmebot__Environment`): each
 * cloud's Key Vault DNS suffix, Azure Resource Manager endpoint (also the ARM token audience, as the Azure SDKs'
 * ArmEnvironment has it) and Entra ID login endpoint. Every Azure client takes its endpoints from the cloud chosen
 * here: the credentials (authority host), Azure DNS (ARM endpoint and audience), App Service Auth token validation
 * (authority), and the vault URLs are checked against the cloud's Key Vault suffix. Written once, here.
 */
import { InvalidSetting, setting } from "./descriptor";

export interface AzureCloud {
  /** The name as Azure CLI and Acmebot write it. */
  name: AzureCloudName;
  /** Key Vault host suffix: `<vault>.<suffix>`. */
  keyVaultSuffix: string;
  /** Azure Resource Manager origin (and the audience of its tokens). */
  resourceManager: string;
  /** Entra ID authority host origin. */
  login: string;
}

export const AZURE_CLOUDS = {
  AzureCloud: {
    name: "AzureCloud",
    keyVaultSuffix: "vault.azure.net",
    resourceManager: "https://management.azure.com",
    login: "https://login.microsoftonline.com",
  },
  AzureChinaCloud: {
    name: "AzureChinaCloud",
    keyVaultSuffix: "vault.azure.cn",
    resourceManager: "https://management.chinacloudapi.cn",
    login: "https://login.chinacloudapi.cn",
  },
  AzureUSGovernment: {
    name: "AzureUSGovernment",
    keyVaultSuffix: "vault.usgovcloudapi.net",
    resourceManager: "https://management.usgovcloudapi.net",
    login: "https://login.microsoftonline.us",
  },
} as const satisfies Record<string, Omit<AzureCloud, "name"> & { name: string }>;

export type AzureCloudName = keyof typeof AZURE_CLOUDS;

export const AZURE_CLOUD_NAMES = Object.keys(AZURE_CLOUDS) as AzureCloudName[];

/** A cloud by name (case-insensitive, as Acmebot's lookup is not): the setting's parser. */
export function parseAzureCloud(raw: string): AzureCloud {
  const name = AZURE_CLOUD_NAMES.find((n) => n.toLowerCase() === raw.trim().toLowerCase());
  if (!name) throw new InvalidSetting(`"${raw}" is not an Azure cloud (${AZURE_CLOUD_NAMES.join(", ")})`);
  return AZURE_CLOUDS[name];
}

/**
 * The problem with a vault URL in `cloud`, when its host is a Key Vault of another cloud (a Key Vault of this cloud,
 * or a host no cloud's suffix claims, such as the local stand-in's, is fine).
 */
export function vaultCloudProblem(url: string, cloud: AzureCloud): string | undefined {
  const host = new URL(url).hostname.toLowerCase();
  const other = AZURE_CLOUD_NAMES.map((n) => AZURE_CLOUDS[n]).find((c) => c.name !== cloud.name && host.endsWith(`.${c.keyVaultSuffix}`));
  if (!other) return undefined;
  return `${host} is a Key Vault of ${other.name} (*.${other.keyVaultSuffix}), but the app runs in ${cloud.name} (*.${cloud.keyVaultSuffix}): set KvAcme__Environment (or Acmebot__Environment) to ${other.name}, or use a vault of ${cloud.name}`;
}

/** `KvAcme__Environment`: read by the core settings and by every module whose defaults depend on the cloud (Azure DNS). */
export const ENVIRONMENT_SETTING = setting<AzureCloud>({
  key: "Environment",
  aliases: ["Acmebot__Environment"],
  field: "cloud",
  type: AZURE_CLOUD_NAMES.join(" | "),
  default: AZURE_CLOUDS.AzureCloud,
  defaultDoc: "`AzureCloud`",
  doc: `The Azure cloud (as Azure CLI and the leading C# tool name it): its Entra ID login endpoint is every credential's authority host and the default of Auth__Authority, its Resource Manager endpoint the default ARM endpoint and audience of Azure DNS, and vault URLs with another cloud's Key Vault suffix are refused. ${AZURE_CLOUD_NAMES.map((n) => `\`${n}\`: *.${AZURE_CLOUDS[n].keyVaultSuffix}, ${AZURE_CLOUDS[n].resourceManager}, ${AZURE_CLOUDS[n].login}`).join("; ")}.`,
  parse: parseAzureCloud,
});
