/**
 * RFC 2136 dynamic update with TSIG (RFC 8945), for BIND 9, Knot DNS, PowerDNS (with DNS update enabled), Windows
 * DNS with TSIG, ... Zones are the configured list, each checked at listing time with a TSIG-signed SOA query
 * (a wrong key fails there, before any order or write; a zone the server does not serve is left out, so names in
 * it are refused at validation). Values are added and deleted as single RRs in prerequisite-free updates, so other
 * values at the name (a concurrent order's) are never touched.
 */
import { setting, InvalidSetting, readSettings } from "../../config/descriptor";
import { timeoutSecondsSetting } from "../instance-settings";
import { splitList } from "../../config/parsers";
import { normalizeDnsName } from "../../acme/names";
import { UpstreamError } from "../../shared/errors";
import { providerLabel, type DnsProvider, type DnsProviderType, type DnsZone } from "../provider";
import { Rfc2136Failure, checkZone, updateTxt, type Rfc2136Server } from "./client";
import { TSIG_ALGORITHMS, type TsigAlgorithm, type TsigKey } from "./tsig";

export interface Rfc2136Settings {
  server: Rfc2136Server;
  keyName: string;
  keyAlgorithm: TsigAlgorithm;
  /** base64 as `tsig-keygen` / `keymgr` print it. */
  keySecret: string;
  zones: string[];
  timeoutSeconds: number;
}

function parseServer(raw: string): Rfc2136Server {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw);
  const plain = /^([^:[\]]+)(?::(\d+))?$/.exec(raw);
  const host = v6?.[1] ?? plain?.[1];
  const port = Number(v6?.[2] ?? plain?.[2] ?? 53);
  if (!host || !/^[a-z0-9.:-]+$/i.test(host)) throw new InvalidSetting(`"${raw}" is not a host with an optional port (like 192.0.2.53:53)`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidSetting(`"${raw}" has a port outside 1–65535`);
  return { host, port };
}

function parseKeyName(raw: string): string {
  const name = raw.replace(/\.$/, "").toLowerCase();
  if (!/^[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9_])?$/.test(name) || name.includes("..")) {
    throw new InvalidSetting(`"${raw}" is not a TSIG key name (a DNS name like kv-acme or kv-acme.example.net)`);
  }
  return name;
}

function parseAlgorithm(raw: string): TsigAlgorithm {
  const v = raw.toLowerCase().replace(/\.$/, "");
  if (Object.prototype.hasOwnProperty.call(TSIG_ALGORITHMS, v)) return v as TsigAlgorithm;
  throw new InvalidSetting(`"${raw}" is not one of ${Object.keys(TSIG_ALGORITHMS).join(", ")}`);
}

function parseSecret(raw: string): string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw) || Buffer.from(raw, "base64").length < 16) {
    throw new InvalidSetting("is not a base64 TSIG secret of at least 16 bytes (as tsig-keygen prints it)");
  }
  return raw;
}

function parseZones(raw: string): string[] {
  const zones = splitList(raw).map(normalizeDnsName);
  if (zones.length === 0) throw new InvalidSetting("needs at least one zone");
  const bad = zones.filter((z) => !/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/.test(z));
  if (bad.length > 0) throw new InvalidSetting(`not a zone name: ${bad.map((b) => `"${b}"`).join(", ")}`);
  return [...new Set(zones)];
}

const SETTINGS = {
  server: setting({
    key: "Dns__<n>__Server",
    aliases: [],
    field: "server",
    type: "host[:port]",
    required: true,
    doc: "The primary server that accepts dynamic updates (port 53 unless given); updates go over TCP.",
    parse: parseServer,
  }),
  zones: setting({
    key: "Dns__<n>__Zones",
    aliases: [],
    field: "zones",
    type: "zone list",
    required: true,
    doc: "The zones this server is primary for and kv-acme may update (comma separated).",
    parse: parseZones,
  }),
  keyName: setting({
    key: "Dns__<n>__KeyName",
    aliases: [],
    field: "keyName",
    type: "DNS name",
    required: true,
    doc: "Name of the TSIG key, as in the server's `key` clause.",
    parse: parseKeyName,
  }),
  keySecret: setting({
    key: "Dns__<n>__KeySecret",
    aliases: [],
    field: "keySecret",
    type: "base64",
    required: true,
    secret: true,
    doc: "The TSIG key's secret (base64, as `tsig-keygen` or `keymgr` print it). Secret: use a Key Vault reference.",
    parse: parseSecret,
  }),
  keyAlgorithm: setting({
    key: "Dns__<n>__KeyAlgorithm",
    aliases: [],
    field: "keyAlgorithm",
    type: "hmac-sha256 | hmac-sha384 | hmac-sha512",
    default: "hmac-sha256" as TsigAlgorithm,
    doc: "TSIG algorithm (RFC 8945; hmac-sha224 and hmac-sha1 are accepted for old servers).",
    parse: parseAlgorithm,
  }),
  timeoutSeconds: timeoutSecondsSetting("How long to wait for the server's answer to one update."),
};

/** The DNS provider for one RFC 2136 server. */
export class Rfc2136Provider implements DnsProvider {
  readonly type = "rfc2136";
  private readonly key: TsigKey;

  constructor(
    readonly name: string,
    private readonly settings: Rfc2136Settings,
  ) {
    this.key = { name: settings.keyName, algorithm: settings.keyAlgorithm, secret: Buffer.from(settings.keySecret, "base64") };
  }

  private fail(action: string, zone: string, err: unknown): never {
    const permanent = err instanceof Rfc2136Failure && err.permanent;
    const where = `${this.settings.server.host}:${this.settings.server.port}`;
    throw new UpstreamError("Rfc2136", `${providerLabel(this, zone)}: ${action} at ${where} failed: ${(err as Error).message}`, {
      status: 502,
      retryable: !permanent,
      cause: err,
      details: { provider: this.name, zone, rcode: err instanceof Rfc2136Failure ? err.rcode : undefined },
    });
  }

  async listZones(): Promise<DnsZone[]> {
    const timeoutMs = this.settings.timeoutSeconds * 1000;
    const checked = await Promise.all(
      this.settings.zones.map(async (zone) => {
        try {
          await checkZone(this.settings.server, this.key, zone, timeoutMs);
          return zone;
        } catch (err) {
          // A zone the server does not serve is left out (names in it are refused at validation); a rejected key,
          // an unreachable server or a server error fails the listing.
          if (err instanceof Rfc2136Failure && err.notServed) return undefined;
          return this.fail("checking the zone (signed SOA query)", zone, err);
        }
      }),
    );
    return checked
      .filter((z): z is string => z !== undefined)
      .map((zone) => ({ provider: this.name, id: zone, name: zone, nameServers: [] }));
  }

  private fqdn(zone: DnsZone, recordName: string): string {
    return recordName === "@" ? zone.name : `${recordName}.${zone.name}`;
  }

  async addTxtValues(zone: DnsZone, recordName: string, values: string[], ttl: number): Promise<void> {
    try {
      await updateTxt(
        this.settings.server,
        this.key,
        zone.name,
        { add: { fqdn: this.fqdn(zone, recordName), values }, ttl },
        this.timeoutMs,
      );
    } catch (err) {
      this.fail(`adding TXT ${this.fqdn(zone, recordName)}`, zone.name, err);
    }
  }

  async removeTxtValues(zone: DnsZone, recordName: string, values: string[]): Promise<void> {
    try {
      await updateTxt(
        this.settings.server,
        this.key,
        zone.name,
        { delete: { fqdn: this.fqdn(zone, recordName), values }, ttl: 0 },
        this.timeoutMs,
      );
    } catch (err) {
      this.fail(`removing TXT ${this.fqdn(zone, recordName)}`, zone.name, err);
    }
  }

  private get timeoutMs(): number {
    return this.settings.timeoutSeconds * 1000;
  }
}

export const rfc2136: DnsProviderType<Rfc2136Settings> = {
  type: "rfc2136",
  title: "RFC 2136 dynamic update with TSIG (BIND 9, Knot DNS, and other primaries)",
  description: [
    "Sends prerequisite-free DNS UPDATE messages (RFC 2136) over TCP, signed with a TSIG key (RFC 8945: hmac-sha256, -384 or -512).",
    "Each challenge value is added as one TXT RR and deleted as one RR (class NONE), so other values at the same name — an apex and a",
    "wildcard, or a concurrent order — are never touched. The listed zones are checked with a TSIG-signed SOA query when zones are",
    "listed, so a wrong key or algorithm fails at validation, before an order is placed or anything is written.",
    "",
    "Give the key TXT rights only. BIND: `update-policy { grant kv-acme zonesub TXT; };` (or `name _acme-challenge.example.net. TXT`",
    "per name). Knot: an `acl` with `action: update`, `key: kv-acme`, `update-type: [TXT]`.",
  ].join("\n"),
  testedAgainst:
    "BIND 9.18 (Debian `bind9`) and Knot DNS 3.2 (Debian `knot`), started by the tests on loopback with generated configurations.",
  settings: SETTINGS,
  example: {
    Type: "rfc2136",
    Server: "192.0.2.53",
    Zones: "example.net",
    KeyName: "kv-acme",
    KeySecret: "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/tsig-kv-acme)",
  },
  build: (reader) => readSettings(reader, SETTINGS),
  create: (settings, context) => new Rfc2136Provider(context.instance, settings),
};
