/**
 * The DNS provider contract used for DNS-01 (RFC 8555 §8.4): list the zones we may write, add TXT values and
 * remove exactly the TXT values we added, and optionally wait until the provider reports a change live. Values are
 * set members, never whole record sets, so concurrent orders sharing one `_acme-challenge` set (apex + wildcard)
 * never clobber each other.
 *
 * A provider type (Azure DNS, RFC 2136, PowerDNS, ...) is one file or folder under src/dns/ exporting a
 * `DnsProviderType`: its settings descriptors (read as `KvAcme__Dns__<instance>__<Key>`, see ./settings.ts), how it
 * builds its typed settings from them, and how it creates a provider from those settings. The core never reads a
 * provider's fields; it routes each zone to the one provider instance that owns it (./router.ts).
 */
import type { TokenCredential } from "@azure/identity";
import type { ZoneRef } from "../acme/names";
import type { SettingDescriptor, SettingsReader } from "../config/descriptor";

/** A zone a provider can write into. JSON-serializable so it can cross a durable activity boundary. */
export interface DnsZone extends ZoneRef {
  /** The provider instance that owns the zone (its settings name, e.g. "azure", "bind", "cloudflare-eu"). */
  provider: string;
  /** Authoritative name servers the provider reports for the zone (host names, may be empty). */
  nameServers: string[];
}

/** What a provider hands back from an add when it can later say when that change is live (Route 53's change id). */
export interface DnsChange {
  id: string;
}

/** A small DNS provider: three methods and an optional fourth, no state beyond its clients. */
export interface DnsProvider {
  /** The instance name (settings `KvAcme__Dns__<instance>__Type`); "azure" for the top-level Azure settings. */
  readonly name: string;
  /** The provider type (registry key, e.g. "azure", "rfc2136"). */
  readonly type: string;
  /** Every zone this provider may write into, deduplicated by id. */
  listZones(): Promise<DnsZone[]>;
  /**
   * Adds each value to the TXT record set `recordName` (relative to the zone) unless already present; TTL in seconds.
   * Idempotent. May return a change handle for `waitUntilLive`.
   */
  addTxtValues(zone: DnsZone, recordName: string, values: string[], ttl: number): Promise<DnsChange | void>;
  /** Removes exactly these values from the TXT set; deletes the set only when nothing else is left. Idempotent. */
  removeTxtValues(zone: DnsZone, recordName: string, values: string[]): Promise<void>;
  /** Resolves when the provider reports the change live on its servers (e.g. Route 53 GetChange INSYNC). */
  waitUntilLive?(zone: DnsZone, change: DnsChange, options: { timeoutMs: number }): Promise<void>;
  /**
   * Optional (`kv-acme doctor`): resolves when TXT records may be written in `zone`, checked WITHOUT writing any
   * (e.g. a conditional write whose precondition cannot hold); throws the provider's refusal otherwise.
   */
  probeWriteAccess?(zone: DnsZone): Promise<void>;
}

/** What a provider gets besides its own settings. */
export interface DnsProviderContext {
  /** The instance name. */
  instance: string;
  /** An Azure credential: the app's identity, or the user-assigned managed identity with this client id. */
  credential(clientId?: string): TokenCredential;
}

/** A provider type: its settings (descriptors with defaults, secrets marked), its parser and its factory. */
export interface DnsProviderType<S = unknown> {
  /** Registry key, the value of `KvAcme__Dns__<instance>__Type`. */
  type: string;
  /** One line for docs/dns-providers.md. */
  title: string;
  /** Markdown: what it talks to, how values are added and removed, what the credential may do. */
  description: string;
  /** Markdown: what it was tested against here. */
  testedAgainst: string;
  /**
   * Its settings, keys written with the instance placeholder, e.g. `Dns__<n>__Server` (read as
   * `KvAcme__Dns__bind__Server` for instance "bind"). `Dns__<n>__Type` is the registry's and must not be declared.
   */
  settings: Readonly<Record<string, SettingDescriptor<unknown>>>;
  /** A minimal working example: setting key suffix (after `KvAcme__Dns__<instance>__`) -> value. */
  example: Readonly<Record<string, string>>;
  /**
   * Builds the typed settings of one instance; problems go through the reader (all reported at once). Returns
   * undefined only when it reported a problem (a required setting missing), so the loader fails.
   */
  build(reader: SettingsReader): S | undefined;
  create(settings: S, context: DnsProviderContext): DnsProvider;
  /** Names outside `KvAcme__Dns__<instance>__*` that configure one instance of this type (./settings.ts). */
  topLevel?: DnsTopLevelNames<S>;
}

/**
 * Settings names that configure one instance of a type without `KvAcme__Dns__<instance>__Type`: the names kv-acme read
 * before there were several providers (`KvAcme__DnsSubscriptionIds`, ...) and the leading C# tool's
 * (`Acmebot__AzureDns__SubscriptionId`, `Acmebot__CustomDns__Endpoint`, ...), so existing configurations load unchanged.
 */
export interface DnsTopLevelNames<S> {
  /** The instance they configure; declaring `KvAcme__Dns__<instance>__Type` as well is a configuration error. */
  instance: string;
  /** Their descriptors (documented with the DNS provider settings in docs/settings.md). */
  settings: Readonly<Record<string, SettingDescriptor<unknown>>>;
  /** Configure this instance when no DNS provider is configured in any other way (Azure DNS: kv-acme's default). */
  isDefault?: boolean;
  /** Whether any of its names is set, when that is more than its descriptors (keys it refuses or builds from several). */
  isConfigured?(reader: SettingsReader): boolean;
  build(reader: SettingsReader): S | undefined;
}

/** TTL of challenge records, in seconds: short so a retried order never waits on a cached stale answer. */
export const CHALLENGE_TTL_SECONDS = 60;

/** The message prefix every provider error starts with, naming the instance, its type and the zone. */
export function providerLabel(provider: Pick<DnsProvider, "name" | "type">, zone?: string): string {
  const who = provider.name === provider.type ? `DNS provider "${provider.name}"` : `DNS provider "${provider.name}" (${provider.type})`;
  return zone ? `${who}, zone ${zone}` : who;
}
