/**
 * DNS provider registry: a provider name maps to a factory and a descriptor of the settings it reads. The same
 * descriptor drives validation and documentation. Unknown names are a configuration error, never a silent default.
 */
import type { TokenCredential } from "@azure/identity";
import { ConfigurationError } from "../shared/errors";
import type { DnsProvider } from "./provider";
import { AzureDnsProvider, type AzureDnsOptions } from "./azure";

/** One setting a provider reads, as documented for operators. */
export interface ProviderSettingDescriptor {
  /** Environment / app setting name. */
  setting: string;
  required: boolean;
  description: string;
}

/** What every factory gets: the typed options of all providers (each picks its own) and an Azure credential. */
export interface DnsProviderContext {
  credential: TokenCredential;
  azure?: Partial<AzureDnsOptions>;
}

export interface DnsProviderRegistration {
  description: string;
  settings: ProviderSettingDescriptor[];
  create(context: DnsProviderContext): DnsProvider;
}

export const dnsProviders: Readonly<Record<string, DnsProviderRegistration>> = Object.freeze({
  azure: {
    description: "Azure DNS public zones through Azure Resource Manager (@azure/arm-dns)",
    settings: [
      {
        setting: "KvAcme__DnsSubscriptionIds",
        required: true,
        description: "Comma-separated subscription ids whose DNS zones may be used",
      },
      {
        setting: "KvAcme__DnsResourceGroups",
        required: false,
        description: "Comma-separated resource groups to restrict the zone search to",
      },
      {
        setting: "KvAcme__ArmEndpoint",
        required: false,
        description: "Azure Resource Manager endpoint (default https://management.azure.com)",
      },
    ],
    create(context: DnsProviderContext): DnsProvider {
      const subscriptionIds = context.azure?.subscriptionIds ?? [];
      if (subscriptionIds.length === 0) {
        throw new ConfigurationError("The azure DNS provider needs at least one subscription id (KvAcme__DnsSubscriptionIds)");
      }
      return new AzureDnsProvider(context.credential, { ...context.azure, subscriptionIds });
    },
  },
});

/** Builds the named provider; throws ConfigurationError naming the known providers for an unknown name. */
export function createDnsProvider(name: string, context: DnsProviderContext): DnsProvider {
  const key = name.trim().toLowerCase();
  const registration = Object.prototype.hasOwnProperty.call(dnsProviders, key) ? dnsProviders[key] : undefined;
  if (!registration) {
    throw new ConfigurationError(`Unknown DNS provider "${name}"; known providers: ${Object.keys(dnsProviders).join(", ")}`);
  }
  return registration.create(context);
}
