/**
 * Several DNS providers at once: the zones of every configured provider instance, each zone owned by exactly one
 * instance, and every TXT change sent to the instance that owns its zone. Two instances claiming one zone name is a
 * configuration error naming both (so is one instance seeing two zones of one name, e.g. in two subscriptions).
 * A provider that cannot list its zones fails the listing (fail closed: a zone it owns might be the one asked for).
 */
import { normalizeDnsName } from "../acme/names";
import { ConfigurationError, KvAcmeError, UpstreamError, errorMessage } from "../shared/errors";
import { providerLabel, type DnsChange, type DnsProvider, type DnsZone } from "./provider";

export class DnsRouter {
  readonly providers: ReadonlyMap<string, DnsProvider>;

  constructor(providers: readonly DnsProvider[]) {
    const map = new Map<string, DnsProvider>();
    for (const p of providers) {
      if (map.has(p.name)) throw new ConfigurationError(`Two DNS provider instances are named "${p.name}"`);
      map.set(p.name, p);
    }
    if (map.size === 0) throw new ConfigurationError("No DNS provider is configured (see docs/dns-providers.md)");
    this.providers = map;
  }

  /** The instance that owns `zone`; a zone naming an instance that is not configured (any more) is a configuration error. */
  provider(zone: Pick<DnsZone, "provider" | "name">): DnsProvider {
    const p = this.providers.get(zone.provider);
    if (!p) {
      throw new ConfigurationError(
        `Zone ${zone.name} belongs to DNS provider "${zone.provider}", which is not configured (configured: ${[...this.providers.keys()].join(", ")})`,
      );
    }
    return p;
  }

  /** The zones of every instance, each name owned by exactly one instance. */
  async listZones(): Promise<DnsZone[]> {
    const providers = [...this.providers.values()];
    const results = await Promise.allSettled(providers.map((p) => p.listZones()));
    const failures = results.flatMap((r, i) =>
      r.status === "rejected" ? [{ provider: providers[i] as DnsProvider, error: r.reason }] : [],
    );
    const [first] = failures;
    if (first) throw listingFailure(first.provider, first.error, failures.length);
    const zones = results.flatMap((r, i) =>
      r.status === "fulfilled" ? r.value.map((z) => ({ ...z, provider: (providers[i] as DnsProvider).name })) : [],
    );
    assertSingleOwners(zones, this.providers);
    return zones;
  }

  addTxtValues(zone: DnsZone, recordName: string, values: string[], ttl: number): Promise<DnsChange | void> {
    return this.provider(zone).addTxtValues(zone, recordName, values, ttl);
  }

  removeTxtValues(zone: DnsZone, recordName: string, values: string[]): Promise<void> {
    return this.provider(zone).removeTxtValues(zone, recordName, values);
  }

  /** Waits for the provider's own "live" signal when it has one; resolves at once otherwise. */
  async waitUntilLive(zone: DnsZone, change: DnsChange | void, options: { timeoutMs: number }): Promise<void> {
    const p = this.provider(zone);
    if (change && p.waitUntilLive) await p.waitUntilLive(zone, change, options);
  }
}

function listingFailure(provider: DnsProvider, error: unknown, count: number): KvAcmeError {
  const more = count > 1 ? ` (and ${count - 1} more provider(s) failed)` : "";
  const label = providerLabel(provider);
  const message = errorMessage(error);
  const text = message.includes(`"${provider.name}"`) ? `${message}${more}` : `${label}: cannot list zones: ${message}${more}`;
  if (error instanceof UpstreamError) {
    return new UpstreamError(String(error.details?.service ?? "Dns"), text, {
      status: error.status,
      retryable: error.retryable,
      cause: error,
      details: { provider: provider.name },
      retryAfterMs: error.retryAfterMs,
    });
  }
  if (error instanceof KvAcmeError) return new KvAcmeError(error.code, text, error.status, { ...error.details, provider: provider.name });
  return new UpstreamError("Dns", text, { retryable: true, cause: error, details: { provider: provider.name } });
}

/** Throws ConfigurationError when a zone name is claimed twice, naming both claimants. */
export function assertSingleOwners(zones: readonly DnsZone[], providers: ReadonlyMap<string, Pick<DnsProvider, "name" | "type">>): void {
  const byName = new Map<string, DnsZone>();
  for (const zone of zones) {
    const key = normalizeDnsName(zone.name);
    const seen = byName.get(key);
    if (!seen) {
      byName.set(key, zone);
      continue;
    }
    const a = providers.get(seen.provider) ?? { name: seen.provider, type: seen.provider };
    const b = providers.get(zone.provider) ?? { name: zone.provider, type: zone.provider };
    if (seen.provider !== zone.provider) {
      throw new ConfigurationError(
        `Zone ${key} is claimed by two DNS providers: ${providerLabel(a)} and ${providerLabel(b)}; ` +
          `each zone must belong to exactly one provider (remove it from one of them)`,
        { zone: key, providers: [seen.provider, zone.provider] },
      );
    }
    throw new ConfigurationError(
      `${providerLabel(a)} sees two zones named ${key} (${seen.id} and ${zone.id}); restrict it to one of them ` +
        `(for Azure DNS: its ResourceGroups or SubscriptionIds setting)`,
      { zone: key, providers: [zone.provider], zoneIds: [seen.id, zone.id] },
    );
  }
}
