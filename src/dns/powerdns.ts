/**
 * PowerDNS Authoritative HTTP API (`/api/v1`, X-API-Key). Zones come from `GET /servers/{id}/zones`. PowerDNS
 * changes whole RRsets (PATCH with changetype REPLACE / DELETE); Debian's 4.7 has no single-value EXTEND / PRUNE, so
 * adding or removing one value is a read-modify-write of the TXT RRset:
 *   - serialized per RRset inside this process (two orders of one Function App instance never interleave), and
 *   - verified after writing: the RRset is read again, and when a writer elsewhere replaced it with a set that lost
 *     one of our values (or kept one we removed), the change is applied again on top of what is there now; a write
 *     the server refused under a concurrent one (5xx, e.g. SQLite "database is locked") is retried the same way,
 * so concurrent orders on one name converge on the union of their values.
 */
import { setting, readSettings } from "../config/descriptor";
import { apiUrlSetting, timeoutSecondsSetting } from "./instance-settings";
import { normalizeDnsName } from "../acme/names";
import { UpstreamError, errorMessage } from "../shared/errors";
import { sleep } from "../shared/time";
import { providerLabel, type DnsProvider, type DnsProviderType, type DnsZone } from "./provider";

export interface PowerDnsSettings {
  apiUrl: string;
  apiKey: string;
  serverId: string;
  timeoutSeconds: number;
}

const SETTINGS = {
  apiUrl: apiUrlSetting({
    required: true,
    doc: "Base URL of the PowerDNS API (its `webserver-address`/`webserver-port`), like `https://pdns.example.net:8081`.",
  }),
  apiKey: setting({
    key: "Dns__<n>__ApiKey",
    aliases: [],
    field: "apiKey",
    type: "string",
    required: true,
    secret: true,
    doc: "The server's `api-key`. Secret: use a Key Vault reference.",
    parse: (raw) => raw,
  }),
  serverId: setting({
    key: "Dns__<n>__ServerId",
    aliases: [],
    field: "serverId",
    type: "string",
    default: "localhost",
    doc: "The API's server id (always `localhost` for a plain PowerDNS Authoritative).",
    parse: (raw) => raw,
  }),
  timeoutSeconds: timeoutSecondsSetting("How long to wait for one API call."),
};

interface PdnsRecord {
  content: string;
  disabled: boolean;
}
interface PdnsRrset {
  name: string;
  type: string;
  ttl: number;
  records: PdnsRecord[];
}

/** TXT content in PowerDNS's presentation form (one quoted string per 255 bytes) and back. */
export function quoteTxt(value: string): string {
  const chunks = value.match(/[\s\S]{1,255}/g) ?? [""];
  return chunks.map((c) => `"${c.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(" ");
}
export function unquoteTxt(content: string): string {
  const parts = [...content.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? "").replace(/\\(.)/g, "$1"));
  return parts.length > 0 ? parts.join("") : content;
}

const MAX_ATTEMPTS = 6;

/** Per-RRset queues (by API URL, zone and name), shared by every instance in this process: one read-modify-write at a time. */
const queues = new Map<string, Promise<unknown>>();

export class PowerDnsProvider implements DnsProvider {
  readonly type = "powerdns";

  constructor(
    readonly name: string,
    private readonly settings: PowerDnsSettings,
  ) {}

  private async call(method: string, path: string, zone: string | undefined, body?: unknown): Promise<unknown> {
    const url = `${this.settings.apiUrl}/api/v1/servers/${encodeURIComponent(this.settings.serverId)}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { "X-API-Key": this.settings.apiKey, Accept: "application/json", ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.settings.timeoutSeconds * 1000),
      });
    } catch (err) {
      throw new UpstreamError("PowerDns", `${providerLabel(this, zone)}: ${method} ${path} failed: ${errorMessage(err)}`, {
        retryable: true,
        cause: err,
        details: { provider: this.name },
      });
    }
    const text = await res.text();
    if (!res.ok) {
      let detail = text.slice(0, 300);
      try {
        detail = String((JSON.parse(text) as { error?: unknown }).error ?? detail);
      } catch {
        // not JSON
      }
      const hint = res.status === 401 || res.status === 403 ? " (the API key was rejected)" : "";
      throw new UpstreamError("PowerDns", `${providerLabel(this, zone)}: ${method} ${path} answered ${res.status}${hint}: ${detail}`, {
        status: 502,
        retryable: res.status === 429 || res.status >= 500,
        details: { provider: this.name, status: res.status },
      });
    }
    return text === "" ? undefined : (JSON.parse(text) as unknown);
  }

  async listZones(): Promise<DnsZone[]> {
    const zones = (await this.call("GET", "/zones", undefined)) as { id: string; name: string }[];
    return zones.map((z) => ({ provider: this.name, id: z.id, name: normalizeDnsName(z.name), nameServers: [] }));
  }

  private async readTxt(zone: DnsZone, fqdn: string): Promise<PdnsRrset | undefined> {
    const query = `?rrsets=true&rrset_name=${encodeURIComponent(`${fqdn}.`)}&rrset_type=TXT`;
    const body = (await this.call("GET", `/zones/${encodeURIComponent(zone.id)}${query}`, zone.name)) as { rrsets?: PdnsRrset[] };
    return (body.rrsets ?? []).find((r) => r.type === "TXT" && normalizeDnsName(r.name) === fqdn);
  }

  private async write(zone: DnsZone, fqdn: string, values: string[], ttl: number): Promise<void> {
    const rrset =
      values.length === 0
        ? { name: `${fqdn}.`, type: "TXT", changetype: "DELETE" }
        : {
            name: `${fqdn}.`,
            type: "TXT",
            ttl,
            changetype: "REPLACE",
            records: values.map((v) => ({ content: quoteTxt(v), disabled: false })),
          };
    await this.call("PATCH", `/zones/${encodeURIComponent(zone.id)}`, zone.name, { rrsets: [rrset] });
  }

  /** Applies `change` to the current values until a fresh read shows it applied (see the file comment). */
  private change(zone: DnsZone, recordName: string, add: string[], remove: string[], ttl?: number): Promise<void> {
    const fqdn = recordName === "@" ? zone.name : `${recordName}.${zone.name}`;
    const key = `${this.settings.apiUrl}|${this.settings.serverId}|${zone.id}|${fqdn}`;
    const run = async () => {
      for (let attempt = 1; ; attempt++) {
        let current: PdnsRrset | undefined;
        try {
          current = await this.readTxt(zone, fqdn);
        } catch (err) {
          if (!retryAgain(err, attempt)) throw err;
          await sleep(50 * attempt + Math.random() * 100);
          continue;
        }
        const values = (current?.records ?? []).map((r) => unquoteTxt(r.content));
        const done = add.every((v) => values.includes(v)) && remove.every((v) => !values.includes(v));
        if (done) return;
        if (attempt > MAX_ATTEMPTS) {
          throw new UpstreamError("PowerDns", `${providerLabel(this, zone.name)}: TXT ${fqdn} kept changing under concurrent writers`, {
            retryable: true,
            details: { provider: this.name },
          });
        }
        const next = [...new Set([...values.filter((v) => !remove.includes(v)), ...add])];
        const setTtl = current ? Math.min(current.ttl, ttl ?? current.ttl) : (ttl ?? 60);
        try {
          await this.write(zone, fqdn, next, setTtl);
        } catch (err) {
          // A concurrent writer elsewhere can make PowerDNS's backend refuse this one (SQLite: "database is locked",
          // answered 500): read again and retry, like a lost update.
          if (!retryAgain(err, attempt)) throw err;
          await sleep(50 * attempt + Math.random() * 100);
        }
      }
    };
    const previous = queues.get(key) ?? Promise.resolve();
    const mine = previous.then(run, run);
    const tail = mine.catch(() => undefined);
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return mine;
  }

  addTxtValues(zone: DnsZone, recordName: string, values: string[], ttl: number): Promise<void> {
    return this.change(zone, recordName, [...new Set(values)], [], ttl);
  }

  removeTxtValues(zone: DnsZone, recordName: string, values: string[]): Promise<void> {
    return this.change(zone, recordName, [], [...new Set(values)]);
  }
}

function retryAgain(err: unknown, attempt: number): boolean {
  return err instanceof UpstreamError && err.retryable && attempt < MAX_ATTEMPTS;
}

export const powerdns: DnsProviderType<PowerDnsSettings> = {
  type: "powerdns",
  title: "PowerDNS Authoritative HTTP API",
  description: [
    "Lists the server's zones (`GET /api/v1/servers/{id}/zones`) and changes the TXT RRset with `PATCH` (changetype REPLACE, or",
    "DELETE when the last value goes). Debian's PowerDNS 4.7 has no single-value EXTEND/PRUNE, so one value is added or removed by",
    "read-modify-write: serialized per RRset within the process and verified by reading back (re-applied if another writer's",
    "REPLACE lost our change), so concurrent orders on one name end with the union of their values.",
  ].join("\n"),
  testedAgainst: "PowerDNS Authoritative 4.7 (Debian `pdns-server` + `pdns-backend-sqlite3`), started by the tests on loopback.",
  settings: SETTINGS,
  example: {
    Type: "powerdns",
    ApiUrl: "https://pdns.example.net:8081",
    ApiKey: "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/pdns-api-key)",
  },
  build: (reader) => readSettings(reader, SETTINGS),
  create: (settings, context) => new PowerDnsProvider(context.instance, settings),
};
