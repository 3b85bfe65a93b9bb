/**
 * The DNS provider settings: any number of provider instances, each named, each of one provider type:
 *
 *   KvAcme__Dns__<instance>__Type=<type>          (azure, rfc2136, powerdns, ... see docs/dns-providers.md)
 *   KvAcme__Dns__<instance>__<Key>=<value>        (the keys the type declares, e.g. Server, KeySecret)
 *
 * Instance names are letters, digits and hyphens (matched case-insensitively, shown in lower case), e.g. `bind`,
 * `cloudflare-eu`; two Cloudflare accounts are two instances. A type may also declare names outside that pattern that
 * configure one instance of it (./provider.ts DnsTopLevelNames): the instance `azure` from the top-level names kv-acme
 * has always read (`KvAcme__DnsSubscriptionIds`, ...), the default when no provider is configured in any other way —
 * so `DnsSubscriptionIds` is required only when an Azure DNS instance is configured — and the instance `customdns`
 * from the leading C# tool's `Acmebot__CustomDns__*`. Each type parses its own keys (./provider.ts
 * DnsProviderType.build); this file never reads them.
 */
import {
  InvalidSetting,
  PREFIX,
  envNamesOf,
  setting,
  type SettingDescriptor,
  type SettingsReader,
  type SettingsSection,
} from "../config/descriptor";
import { DNS_PROVIDER_TYPES, providerType } from "./registry";
import { acmebotTopLevelNames, reportProvidersNotCarried } from "./acmebot-names";
import type { DnsTopLevelNames } from "./provider";

/** One configured provider instance: its name, type and the settings its type built (opaque here). */
export interface DnsInstanceSettings {
  name: string;
  type: string;
  settings: unknown;
}

export interface DnsSettings {
  /** In the order their names sort; never empty once loaded. */
  instances: DnsInstanceSettings[];
}

const INSTANCE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const TYPE = setting({
  key: "Dns__<n>__Type",
  aliases: [],
  field: "dns.instances[<n>].type",
  type: "provider type",
  required: true,
  doc: "The provider type of instance `<n>` (a name of letters, digits and hyphens): see docs/dns-providers.md for each type's settings.",
  parse: (raw: string) => {
    const t = providerType(raw);
    if (!t) throw new InvalidSetting(`"${raw}" is not a DNS provider type (${DNS_PROVIDER_TYPES.map((p) => p.type).join(", ")})`);
    return t.type;
  },
});

/**
 * Names outside `KvAcme__Dns__<instance>__*` that configure one instance: each type's own (./provider.ts
 * DnsTopLevelNames), then the leading C# tool's provider sections for the other types (./acmebot-names.ts).
 */
const TOP_LEVEL: { type: string; names: DnsTopLevelNames<unknown> }[] = [
  ...DNS_PROVIDER_TYPES.flatMap((t) => (t.topLevel ? [{ type: t.type, names: t.topLevel as DnsTopLevelNames<unknown> }] : [])),
  ...acmebotTopLevelNames(DNS_PROVIDER_TYPES),
];

export const DNS_SETTINGS: SettingsSection<DnsSettings> = {
  title: "DNS providers",
  intro: [
    "Any number of DNS provider instances, each `KvAcme__Dns__<instance>__Type` plus the keys its type declares",
    "(docs/dns-providers.md lists every type, its settings and an example). Zones are collected from every instance; a zone",
    "claimed by two instances is a configuration error. With no instance declared, the instance `azure` is configured from",
    "the top-level names below, as before. The leading C# tool's `Acmebot__CustomDns__*` names below configure an instance",
    "`customdns` of type `custom` (its endpoint and key are then both required), and its other provider sections",
    "(`Acmebot__Cloudflare__*`, `__Route53__*`, `__GoogleDns__*`, `__PowerDns__*`, `__AcmeDns__*`) an instance of the same",
    "name in lower case (acme-dns: `acme-dns`, Google: `gcloud`); Acmebot providers kv-acme lacks (GoDaddy, Gandi, ...)",
    "stop the start with a problem naming them (docs/migrate-from-acmebot.md).",
  ].join(" "),
  settings: {
    type: TYPE,
    ...Object.fromEntries(
      TOP_LEVEL.flatMap(({ type, names }) => Object.entries(names.settings).map(([k, d]) => [type === "azure" ? k : `${type}.${k}`, d])),
    ),
  } as Readonly<Record<string, SettingDescriptor<unknown>>>,
  build(r: SettingsReader): DnsSettings {
    const instances: DnsInstanceSettings[] = [];
    const declared = r.names("Dns__<n>__");
    for (const name of declared) {
      const field = `${PREFIX}__Dns__${name}__Type`;
      if (!INSTANCE_NAME.test(name)) {
        r.problem(field, `"${name}" is not a DNS provider instance name (letters, digits and hyphens, at most 32)`);
        continue;
      }
      const at = r.at(name);
      const typeName = at.get(TYPE);
      const type = typeName === undefined ? undefined : providerType(typeName);
      if (!type) continue; // the reader reported the missing or unknown type
      const known = new Set(["type", ...Object.values(type.settings).map((d) => (d.key ?? "").replace(/^Dns__<n>__/, "").toLowerCase())]);
      for (const key of r.keysUnder(`Dns__${name}__`)) {
        if (!known.has(key.suffix.toLowerCase())) {
          r.problem(key.name, `is not a setting of DNS provider type ${type.type} (its settings: ${[...known].join(", ")})`);
        }
      }
      const settings = type.build(at);
      if (settings !== undefined) instances.push({ name, type: type.type, settings });
    }
    // Top-level names (./provider.ts DnsTopLevelNames): the default instance only when nothing else configures one.
    reportProvidersNotCarried(r);
    const set = TOP_LEVEL.filter(({ names }) => names.isConfigured?.(r) || Object.values(names.settings).some((d) => r.isSet(d)));
    const chosen = set.length > 0 || declared.length > 0 ? set : TOP_LEVEL.filter(({ names }) => names.isDefault);
    for (const { type, names } of chosen) {
      if (instances.some((i) => i.name === names.instance)) {
        const first = Object.values(names.settings).find((d) => r.isSet(d));
        r.problem(
          (first && envNamesOf(first)[0]?.name) || `${PREFIX}__Dns__${names.instance}__Type`,
          `configures the instance "${names.instance}", which ${PREFIX}__Dns__${names.instance}__Type also declares: use one or the other`,
        );
        continue;
      }
      const settings = names.build(r);
      if (settings !== undefined) instances.push({ name: names.instance, type, settings });
    }
    return { instances };
  },
};
