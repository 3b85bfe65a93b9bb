/**
 * The leading C# tool's DNS provider settings (`Acmebot__<Provider>__<Key>`, v4 and v5) for every provider kv-acme has,
 * each section configuring one instance of the kv-acme type, and the Acmebot providers kv-acme does not have, which
 * are a configuration problem at start-up (their zones would silently stop renewing otherwise).
 *
 * Azure DNS (`Acmebot__AzureDns__*`, instance `azure`, ./azure.ts) and Custom DNS (`Acmebot__CustomDns__*`, instance
 * `customdns`, ./custom.ts) declare theirs in their own files; the rest is this table. A row names the kv-acme type,
 * the instance, and for each of the type's keys the Acmebot names it is read from (in order), optionally transforming
 * the value into the kv-acme format first. The type's own descriptors parse it and hold its defaults: nothing is
 * written twice.
 */
import { InvalidSetting, type SettingDescriptor, type SettingsReader } from "../config/descriptor";
import type { DnsProviderType, DnsTopLevelNames } from "./provider";

/** One Acmebot name of a kv-acme key, and how its value becomes the kv-acme value. */
interface AcmebotName {
  name: string;
  transform?: (raw: string) => string;
  note?: string;
}

interface AcmebotDnsRow {
  type: string;
  /** The instance it configures (reported as the provider in tags and errors). */
  instance: string;
  /** Acmebot's section name: `Acmebot__<section>__<Key>`. */
  section: string;
  /** kv-acme key suffix (after `Dns__<n>__`) -> Acmebot names. */
  keys: Readonly<Record<string, readonly AcmebotName[]>>;
  /** A kv-acme key whose value Acmebot spreads over indexed keys (acme-dns's Zones): built from them. */
  derived?: { key: string; build(reader: SettingsReader, section: string): string | undefined };
  /** Acmebot keys of this section that have no kv-acme meaning: read and ignored (documented). */
  ignored?: readonly string[];
  /** Acmebot keys of this section kv-acme cannot honour: a problem at start-up, with this reason. */
  refused?: Readonly<Record<string, string>>;
}

function base64Json(raw: string): string {
  const text = Buffer.from(raw.trim(), "base64").toString("utf8");
  if (!text.trimStart().startsWith("{")) throw new InvalidSetting("is not the base64 of a JSON key file");
  return text;
}

function projectOfKeyFile(raw: string): string {
  const key = JSON.parse(base64Json(raw)) as { project_id?: unknown };
  if (typeof key.project_id !== "string" || key.project_id === "")
    throw new InvalidSetting("holds no project_id: set Acmebot__GoogleDns__ProjectId");
  return key.project_id;
}

/** Acmebot's PowerDNS endpoint includes `/api/v1/`; kv-acme's ApiUrl is the server's base. */
function powerDnsBase(raw: string): string {
  return raw.trim().replace(/\/api\/v1\/?$/i, "");
}

/**
 * acme-dns: `Acmebot__AcmeDns__Zones__<n>__Name|Subdomain|Username|Password` as kv-acme's accounts JSON. The
 * registration's fulldomain is `<subdomain>.<the API host>` (acme-dns serving its zone under its own API name, as a
 * default installation does).
 */
function acmeDnsAccounts(reader: SettingsReader, section: string): string | undefined {
  const zones = new Map<string, Record<string, string>>();
  for (const { name, suffix } of reader.namesStartingWith(`Acmebot__${section}__Zones__`)) {
    const m = /^(\d+)__(name|subdomain|username|password)$/.exec(suffix);
    if (!m) {
      reader.problem(name, "is not a setting of Acmebot's acme-dns zones (Name, Subdomain, Username, Password)");
      continue;
    }
    const zone = zones.get(m[1] as string) ?? {};
    zone[m[2] as string] = valueOf(reader, name) ?? "";
    zones.set(m[1] as string, zone);
  }
  if (zones.size === 0) return undefined;
  const endpoint = valueOf(reader, `Acmebot__${section}__Endpoint`);
  const host = endpoint ? hostOf(endpoint) : undefined;
  const accounts: Record<string, unknown> = {};
  for (const [n, z] of [...zones.entries()].sort()) {
    const missing = ["name", "subdomain", "username", "password"].filter((f) => !z[f]);
    if (missing.length > 0) {
      reader.problem(
        `Acmebot__${section}__Zones__${n}__${missing[0] === "name" ? "Name" : "Subdomain"}`,
        `zone ${n} lacks ${missing.join(", ")}`,
      );
      continue;
    }
    if (!host) continue; // the missing endpoint is reported by the ApiUrl descriptor
    accounts[(z.name as string).toLowerCase()] = {
      username: z.username,
      password: z.password,
      subdomain: z.subdomain,
      fulldomain: `${z.subdomain}.${host}`,
    };
  }
  return JSON.stringify(accounts);
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** A raw value by its whole name (the reader parses descriptors; this reads one through a throwaway descriptor). */
function valueOf(reader: SettingsReader, name: string): string | undefined {
  return reader.get({ aliases: [name], field: name, type: "string", doc: "", parse: (raw: string) => raw });
}

export const ACMEBOT_DNS_ROWS: readonly AcmebotDnsRow[] = [
  { type: "cloudflare", instance: "cloudflare", section: "Cloudflare", keys: { ApiToken: [{ name: "ApiToken" }] } },
  {
    type: "route53",
    instance: "route53",
    section: "Route53",
    keys: { AccessKeyId: [{ name: "AccessKey" }], SecretAccessKey: [{ name: "SecretKey" }] },
    ignored: ["Region"],
    refused: {
      RoleArn:
        "kv-acme's Route 53 provider signs with an access key (AccessKey, SecretKey), not a role assumed with the app's managed identity",
      ManagedIdentityClientId: "kv-acme's Route 53 provider signs with an access key, not a web identity token",
    },
  },
  {
    type: "gcloud",
    instance: "gcloud",
    section: "GoogleDns",
    keys: {
      ServiceAccountKey: [{ name: "KeyFile64", transform: base64Json, note: "base64 decoded" }],
      Project: [{ name: "ProjectId" }, { name: "KeyFile64", transform: projectOfKeyFile, note: "the key file's project_id" }],
    },
    refused: {
      PoolProvider: "kv-acme's Google Cloud DNS provider signs with a service account key (KeyFile64), not workload identity federation",
      ServiceAccount: "kv-acme's Google Cloud DNS provider signs with a service account key (KeyFile64), not workload identity federation",
      ManagedIdentityClientId:
        "kv-acme's Google Cloud DNS provider signs with a service account key (KeyFile64), not workload identity federation",
    },
  },
  {
    type: "powerdns",
    instance: "powerdns",
    section: "PowerDns",
    keys: {
      ApiUrl: [{ name: "Endpoint", transform: powerDnsBase, note: "without /api/v1" }],
      ApiKey: [{ name: "ApiKey" }],
      ServerId: [{ name: "ServerId" }],
    },
  },
  {
    type: "acme-dns",
    instance: "acme-dns",
    section: "AcmeDns",
    keys: { ApiUrl: [{ name: "Endpoint" }] },
    derived: { key: "Accounts", build: acmeDnsAccounts },
    ignored: ["PropagationSeconds"],
  },
];

/** Acmebot's DNS providers kv-acme has no provider for (v4 and v5), by section name. */
export const ACMEBOT_DNS_NOT_CARRIED: Readonly<Record<string, string>> = {
  AzurePrivateDns: "Azure Private DNS",
  Akamai: "Akamai Edge DNS",
  DnsMadeEasy: "DNS Made Easy",
  Gandi: "Gandi",
  GandiLiveDns: "Gandi LiveDNS",
  GoDaddy: "GoDaddy",
  IonosDns: "IONOS DNS",
  Ovh: "OVH",
  Regfish: "Regfish",
  TransIp: "TransIP",
  UnitedDomains: "UnitedDomains",
};

function suffixOf(d: SettingDescriptor<unknown>): string {
  return (d.key ?? "").replace(/^Dns__<n>__/, "");
}

/** The type's descriptor read from the Acmebot names instead (no kv-acme name, same parser, default and flags). */
function acmebotDescriptor(d: SettingDescriptor<unknown>, row: AcmebotDnsRow): SettingDescriptor<unknown> {
  const derived = row.derived?.key === suffixOf(d);
  const names = derived
    ? [{ name: "Zones__<n>__Name, __Subdomain, __Username, __Password", note: "fulldomain: <Subdomain>.<the Endpoint's host>" }]
    : (row.keys[suffixOf(d)] ?? []);
  const notes = names.flatMap((n) => (n.note ? [`Acmebot__${row.section}__${n.name}: ${n.note}`] : []));
  const { key: _key, ...rest } = d;
  return {
    ...rest,
    doc: notes.length > 0 ? `${d.doc} (${notes.join("; ")})` : d.doc,
    required: d.required === true && names.length > 0,
    aliases: names.map((n) => ({
      name: `Acmebot__${row.section}__${n.name}`,
      ...(n.note ? { note: n.note } : {}),
      parse: n.transform ? (raw: string) => d.parse((n.transform as (raw: string) => string)(raw)) : d.parse,
    })),
  };
}

/** The top-level names of one row: the type's descriptors under Acmebot's names, built by the type's own build. */
function topLevelOf(row: AcmebotDnsRow, type: DnsProviderType<unknown>): DnsTopLevelNames<unknown> {
  const mapped = new Map(Object.values(type.settings).map((d) => [d, acmebotDescriptor(d, row)]));
  const settings = Object.fromEntries(
    Object.entries(type.settings).flatMap(([k, d]) => {
      const a = mapped.get(d) as SettingDescriptor<unknown>;
      return a.aliases.length > 0 ? [[k, a]] : [];
    }),
  );
  return {
    instance: row.instance,
    settings,
    isConfigured: (r) => r.namesStartingWith(`Acmebot__${row.section}__`).length > 0,
    build(reader) {
      checkSection(reader, row, type);
      const derivedValue = row.derived ? row.derived.build(reader, row.section) : undefined;
      const renamed: SettingsReader = {
        ...reader,
        get: (<T>(d: SettingDescriptor<T>) => {
          const a = mapped.get(d as SettingDescriptor<unknown>);
          if (a === undefined) return reader.get(d);
          if (row.derived && suffixOf(d as SettingDescriptor<unknown>) === row.derived.key) {
            if (derivedValue === undefined) {
              reader.problem(`Acmebot__${row.section}__Zones__0__Name`, "is required: Acmebot's acme-dns provider needs at least one zone");
              return undefined;
            }
            return d.parse(derivedValue);
          }
          return reader.get(a as SettingDescriptor<T>);
        }) as SettingsReader["get"],
        isSet: (d) => reader.isSet(mapped.get(d) ?? d),
      };
      return type.build(renamed);
    },
  };
}

/** Unknown keys of the section, and the ones kv-acme cannot honour, reported by name. */
function checkSection(reader: SettingsReader, row: AcmebotDnsRow, type: DnsProviderType<unknown>): void {
  const names = [
    ...new Set([
      ...Object.values(row.keys).flatMap((ns) => ns.map((n) => n.name)),
      ...(row.ignored ?? []),
      ...(row.derived ? ["Zones"] : []),
    ]),
  ];
  const known = new Set(names.map((k) => k.toLowerCase()));
  const refused = new Map(Object.entries(row.refused ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  for (const { name, suffix } of reader.namesStartingWith(`Acmebot__${row.section}__`)) {
    const head = suffix.split("__")[0] as string;
    const reason = refused.get(head);
    if (reason) reader.problem(name, `is not carried over: ${reason}`);
    else if (!known.has(head))
      reader.problem(
        name,
        `is not a setting of Acmebot's ${row.section} provider that kv-acme reads (${names.join(", ")}; kv-acme type ${type.type})`,
      );
  }
}

/** Every row as top-level names of its type (./settings.ts adds them to the types' own). */
export function acmebotTopLevelNames(types: readonly DnsProviderType<never>[]): { type: string; names: DnsTopLevelNames<unknown> }[] {
  return ACMEBOT_DNS_ROWS.map((row) => {
    const type = types.find((t) => t.type === row.type) as DnsProviderType<unknown> | undefined;
    if (!type) throw new Error(`Acmebot DNS row for an unregistered type ${row.type}`);
    return { type: row.type, names: topLevelOf(row, type) };
  });
}

/** The Acmebot DNS providers kv-acme lacks, each set name a problem at start-up. */
export function reportProvidersNotCarried(reader: SettingsReader): void {
  for (const [section, title] of Object.entries(ACMEBOT_DNS_NOT_CARRIED)) {
    for (const { name } of reader.namesStartingWith(`Acmebot__${section}__`))
      reader.problem(
        name,
        `kv-acme has no ${title} provider, so certificates in its zones would not renew: move their _acme-challenge names to a provider kv-acme has (CNAME delegation, docs/dns-providers.md), or remove the setting (docs/migrate-from-acmebot.md)`,
      );
  }
}
