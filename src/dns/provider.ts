/**
 * The DNS provider contract used for DNS-01 (RFC 8555 §8.4): list the zones we may write, add TXT values and
 * remove exactly the TXT values we added. Values are set members, never whole record sets, so concurrent orders
 * sharing one `_acme-challenge` set (apex + wildcard) never clobber each other.
 */
import type { ZoneRef } from "../acme/names";

/** A zone a provider can write into. JSON-serializable so it can cross a durable activity boundary. */
export interface DnsZone extends ZoneRef {
  /** Name of the provider that owns the zone (registry key, e.g. "azure"). */
  provider: string;
  /** Authoritative name servers the provider reports for the zone (host names, may be empty). */
  nameServers: string[];
}

/** A small DNS provider: three methods, no state beyond its clients. */
export interface DnsProvider {
  readonly name: string;
  /** Every zone this provider may write into, deduplicated by id. */
  listZones(): Promise<DnsZone[]>;
  /** Adds each value to the TXT record set `recordName` (relative to the zone) unless already present; TTL in seconds. Idempotent. */
  addTxtValues(zone: DnsZone, recordName: string, values: string[], ttl: number): Promise<void>;
  /** Removes exactly these values from the TXT set; deletes the set only when nothing else is left. Idempotent. */
  removeTxtValues(zone: DnsZone, recordName: string, values: string[]): Promise<void>;
}

/** TTL of challenge records, in seconds: short so a retried order never waits on a cached stale answer. */
export const CHALLENGE_TTL_SECONDS = 60;
