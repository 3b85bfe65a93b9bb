/**
 * docs/dns-providers.md, rendered from the provider types' own descriptors (./registry.ts) so it never drifts from
 * what they read: `npx tsx src/config/write-doc.ts` writes it, test/unit/dns-settings.test.ts fails when it drifts.
 */
import { renderSection } from "../config/doc";
import { DNS_PROVIDER_TYPES } from "./registry";
import { DNS_SETTINGS } from "./settings";

const INSTANCE = "<instance>";

function withInstance(lines: string[]): string[] {
  return lines.map((l) => l.replace(/<n>/g, INSTANCE));
}

export function renderDnsProvidersDoc(): string {
  const lines = [
    "# DNS providers",
    "",
    "<!-- Generated from the provider types in src/dns/ by `npx tsx src/config/write-doc.ts`; test/unit/dns-settings.test.ts fails when it drifts. -->",
    "",
    "kv-acme writes the DNS-01 challenge values (`_acme-challenge.<name>` TXT) through one or more DNS provider **instances**.",
    "Each instance has a name you choose (letters, digits, hyphens) and a type; its settings are",
    "`KvAcme__Dns__<instance>__<Key>` (or `KvAcme:Dns:<instance>:<Key>`), matched case-insensitively:",
    "",
    "```ini",
    "KvAcme__Dns__bind__Type=rfc2136",
    "KvAcme__Dns__bind__Server=192.0.2.53",
    "KvAcme__Dns__bind__Zones=example.net",
    "KvAcme__Dns__bind__KeyName=kv-acme",
    "KvAcme__Dns__bind__KeySecret=@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/tsig-kv-acme)",
    "KvAcme__Dns__pdns__Type=powerdns",
    "KvAcme__Dns__pdns__ApiUrl=https://pdns.example.org:8081",
    "KvAcme__Dns__pdns__ApiKey=@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/pdns-api-key)",
    "```",
    "",
    "- **Several providers at once.** The zones of every instance are collected; each zone belongs to exactly one instance, and",
    "  a zone claimed by two instances is a configuration error naming both. A certificate's names may span zones of",
    "  several instances. Several instances of one type are fine (two Cloudflare accounts, two BIND primaries).",
    "- **Azure DNS, as before.** With no instance declared, the instance `azure` is configured from `KvAcme__DnsSubscriptionIds`",
    "  (required then, and only then), `KvAcme__DnsResourceGroups` and `KvAcme__ArmEndpoint`. Those names may also be set next",
    "  to other instances.",
    "- **Secrets** (marked below) belong in Key Vault: in Azure, set the app setting to a Key Vault reference",
    "  (`@Microsoft.KeyVault(SecretUri=…)`), which App Service resolves before kv-acme reads it. kv-acme never logs them.",
    "- **Unknown keys** under an instance are refused at start-up, so a typo does not silently fall back to a default.",
    "- The tag `kv-acme-dns-provider` of a certificate names the instance(s) that wrote its challenge values.",
    "",
    "## CNAME delegation and `dnsAlias`",
    "",
    "Before presenting a challenge, kv-acme asks the authoritative servers of each name (or `KvAcme__DnsResolver`) whether",
    "`_acme-challenge.<name>` is a CNAME. If it is, the chain is followed (at most 8 hops; a loop is refused) and the TXT value",
    "is written at the final target, in whichever configured instance owns that zone, and the propagation check asks that",
    "zone's servers. The zone of `<name>` itself need not be writable by kv-acme: this is how certificates are issued for",
    "zones whose owner only grants one CNAME. A chain that ends outside every configured zone (dangling, or a zone no",
    "instance owns) is refused with a 400 naming the chain, before anything is written.",
    "",
    "For delegations not yet visible in DNS, a certificate may carry an explicit **`dnsAlias`** (the leading C# tool's field:",
    "API body `dnsAlias`, CLI `--dns-alias`, kept in the tag `kv-acme-dns-alias` for renewals): every name's TXT value then",
    "goes to `_acme-challenge.<dnsAlias>`.",
    "",
    "### acme-dns style setup",
    "",
    "Keep one small zone that only kv-acme may write, e.g. `acme.example.net` on a BIND primary with a TSIG key limited to TXT",
    "(`update-policy { grant kv-acme zonesub TXT; };`), configured as an `rfc2136` instance. For every name to certify, its",
    "owner creates once:",
    "",
    "```",
    "_acme-challenge.www.example.com.  CNAME  www-example-com.acme.example.net.",
    "```",
    "",
    "kv-acme then issues `www.example.com` (and `*.www.example.com`, which shares the record) without any right on",
    "`example.com`; a leaked key can only change TXT records in `acme.example.net`. The same works with an `acme-dns` server or",
    "any other provider owning the target zone. `npm run demo -- --dns azure --delegate rfc2136` shows it on the local stack.",
    "",
    ...withInstance(renderSection(DNS_SETTINGS)),
  ];
  for (const type of DNS_PROVIDER_TYPES) {
    lines.push(`## \`${type.type}\`: ${type.title}`, "", type.description, "", `Tested against: ${type.testedAgainst}`, "");
    lines.push(
      "Minimal example:",
      "",
      "```ini",
      ...Object.entries(type.example).map(([k, v]) => `KvAcme__Dns__example__${k}=${v}`),
      "```",
      "",
    );
    lines.push(
      ...withInstance(renderSection({ title: `Settings of \`${type.type}\``, settings: type.settings })).map((l) =>
        l.startsWith("## ") ? `#${l}` : l,
      ),
    );
  }
  return lines.join("\n");
}
