/**
 * The DNS provider types kv-acme knows, and building the configured instances into one router. A provider type is
 * one file or folder under src/dns/ exporting a DnsProviderType; adding one is adding it to DNS_PROVIDER_TYPES.
 * Unknown types are a configuration error (./settings.ts), never a silent default.
 */
import type { TokenCredential } from "@azure/identity";
import { identityFailures } from "../shared/credential";
import { acmeDns } from "./acme-dns";
import { azure } from "./azure";
import { cloudflare } from "./cloudflare";
import { custom } from "./custom";
import { gcloud } from "./gcloud";
import { powerdns } from "./powerdns";
import type { DnsProviderType } from "./provider";
import { rfc2136 } from "./rfc2136";
import { route53 } from "./route53";
import { DnsRouter } from "./router";
import { lazyModule } from "../shared/lazy";
import type { DnsSettings } from "./settings";

const identity = lazyModule<typeof import("@azure/identity")>(() => require("@azure/identity"));

/** Every provider type, in documentation order. */
export const DNS_PROVIDER_TYPES: readonly DnsProviderType<never>[] = [
  azure,
  rfc2136,
  powerdns,
  cloudflare,
  route53,
  gcloud,
  custom,
  acmeDns,
] as unknown as DnsProviderType<never>[];

/** The type registered under `name` (case-insensitive), if any. */
export function providerType(name: string): DnsProviderType<unknown> | undefined {
  const key = name.trim().toLowerCase();
  return DNS_PROVIDER_TYPES.find((t) => t.type === key) as DnsProviderType<unknown> | undefined;
}

/**
 * Builds every configured instance and the router over them. `credential` is the app's identity; an instance with
 * its own managed identity client id gets a ManagedIdentityCredential for it (`identityFor`, overridable in tests), at
 * the cloud's login endpoint (`authorityHost`, src/config/clouds.ts).
 */
export function createDnsRouter(
  dns: DnsSettings,
  options: { credential: TokenCredential; identityFor?: (clientId: string) => TokenCredential; authorityHost?: string },
): DnsRouter {
  const identityFor =
    options.identityFor ??
    ((clientId: string) => {
      const { ManagedIdentityCredential } = identity();
      return identityFailures(
        new ManagedIdentityCredential({ clientId, ...(options.authorityHost ? { authorityHost: options.authorityHost } : {}) }),
      );
    });
  const providers = dns.instances.map((instance) => {
    const type = providerType(instance.type);
    if (!type) throw new Error(`DNS provider type "${instance.type}" is not registered`);
    return type.create(instance.settings, {
      instance: instance.name,
      credential: (clientId?: string) => (clientId ? identityFor(clientId) : options.credential),
    });
  });
  return new DnsRouter(providers);
}
