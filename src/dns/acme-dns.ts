/**
 * acme-dns (github.com/acme-dns/acme-dns): a small authoritative DNS server with an HTTP API, for delegation setups.
 * Each registration (POST /register) owns one subdomain of the acme-dns zone; `_acme-challenge.<your name>` is a
 * CNAME to its `fulldomain`, and kv-acme writes the TXT value there with POST /update (X-Api-User / X-Api-Key).
 * Accounts are configured as lego's and certbot's acme-dns plugins store them: a JSON object from the domain to
 * `{ username, password, fulldomain, subdomain }`.
 *
 * acme-dns keeps the two most recently written values per subdomain and has no delete: adding more than two values
 * at once is refused (apex + wildcard is two), and removing is a no-op — the values are replaced by the next
 * order's. The zones this provider offers are the acme-dns zones the accounts' fulldomains are in.
 */
import { readSettings } from "../config/descriptor";
import { apiUrlSetting, jsonSecretSetting } from "./instance-settings";
import { ConfigurationError, UpstreamError } from "../shared/errors";
import type { DnsProvider, DnsProviderType, DnsZone } from "./provider";
import { httpFailure, send, type CallContext } from "./rest";

/** What acme-dns serves per subdomain: the two most recent TXT values. */
export const ACME_DNS_VALUES_PER_SUBDOMAIN = 2;

export interface AcmeDnsAccount {
  username: string;
  password: string;
  fulldomain: string;
  subdomain: string;
}

export interface AcmeDnsOptions {
  /** acme-dns API base URL, like https://auth.example.org. */
  apiUrl: string;
  /** Domain -> account (lego / certbot storage format). */
  accounts: Record<string, AcmeDnsAccount>;
  name?: string;
}

/** Parses the accounts JSON; throws ConfigurationError naming the entry at fault (never echoing a password). */
export function parseAcmeDnsAccounts(raw: string): Record<string, AcmeDnsAccount> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(
      "The acme-dns accounts are not JSON (an object from domain to {username, password, fulldomain, subdomain})",
    );
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new ConfigurationError("The acme-dns accounts must be a JSON object");
  const out: Record<string, AcmeDnsAccount> = {};
  for (const [domain, a] of Object.entries(parsed as Record<string, Partial<AcmeDnsAccount>>)) {
    const missing = (["username", "password", "fulldomain", "subdomain"] as const).filter((f) => typeof a?.[f] !== "string" || a[f] === "");
    if (missing.length > 0) throw new ConfigurationError(`The acme-dns account for ${domain} lacks ${missing.join(", ")}`);
    out[domain.toLowerCase()] = { ...(a as AcmeDnsAccount), fulldomain: (a.fulldomain as string).toLowerCase().replace(/\.$/, "") };
  }
  return out;
}

export class AcmeDnsProvider implements DnsProvider {
  readonly type = "acme-dns";
  readonly name: string;
  private readonly base: string;

  constructor(private readonly options: AcmeDnsOptions) {
    this.name = options.name ?? "acme-dns";
    this.base = options.apiUrl.replace(/\/+$/, "");
  }

  private ctx(action: string, zone?: string): CallContext {
    return { provider: `acme-dns (${this.name})`, action, zone };
  }

  async listZones(): Promise<DnsZone[]> {
    const zones = new Set(Object.values(this.options.accounts).map((a) => a.fulldomain.split(".").slice(1).join(".")));
    return [...zones].filter((z) => z.includes(".")).map((z) => ({ provider: this.name, id: z, name: z, nameServers: [] }));
  }

  private account(fqdn: string, ctx: CallContext): AcmeDnsAccount {
    const account = Object.values(this.options.accounts).find((a) => a.fulldomain === fqdn.toLowerCase());
    if (!account) {
      throw new UpstreamError("AcmeDns", `acme-dns (${this.name}): ${ctx.action}: no configured account has fulldomain ${fqdn}`, {
        status: 400,
      });
    }
    return account;
  }

  async addTxtValues(zone: DnsZone, recordName: string, values: string[], _ttl?: number): Promise<void> {
    const fqdn = `${recordName}.${zone.name}`;
    const ctx = this.ctx(`updating TXT at ${fqdn}`, zone.name);
    const unique = [...new Set(values)];
    if (unique.length > ACME_DNS_VALUES_PER_SUBDOMAIN) {
      throw new UpstreamError(
        "AcmeDns",
        `acme-dns (${this.name}): ${fqdn} holds at most ${ACME_DNS_VALUES_PER_SUBDOMAIN} TXT values, ${unique.length} asked for (split the names over several certificates)`,
        { status: 400 },
      );
    }
    const account = this.account(fqdn, ctx);
    for (const txt of unique) {
      const res = await send(
        {
          method: "POST",
          url: `${this.base}/update`,
          headers: { "content-type": "application/json", "x-api-user": account.username, "x-api-key": account.password },
          body: JSON.stringify({ subdomain: account.subdomain, txt }),
        },
        ctx,
      );
      if (res.status !== 200) throw httpFailure(ctx, res.status, res.text.slice(0, 200), res.headers);
    }
  }

  /** acme-dns has no delete: the two-value rolling set is overwritten by the next update. */
  async removeTxtValues(): Promise<void> {}
}

const SETTINGS = {
  apiUrl: apiUrlSetting({ required: true, doc: "Base URL of the acme-dns API, like `https://auth.example.org`." }),
  accounts: jsonSecretSetting({
    key: "Accounts",
    field: "accounts",
    doc: 'The registrations, as lego and certbot store them: `{"example.com": {"username", "password", "fulldomain", "subdomain"}}`. Secret: use a Key Vault reference.',
    parse: parseAcmeDnsAccounts,
  }),
};

export const acmeDns: DnsProviderType<AcmeDnsOptions> = {
  type: "acme-dns",
  title: "acme-dns (register/update API)",
  description: [
    "For delegation: `_acme-challenge.<name>` is a CNAME to a registration's `fulldomain`, and kv-acme writes the value with",
    "`POST /update`. acme-dns keeps the two newest values per registration and has no delete: at most two values per name",
    "at once (apex + wildcard), and cleanup leaves the values to be replaced by the next order.",
  ].join("\n"),
  testedAgainst:
    "A stand-in (src/local/dns/acme-dns-server.ts) following acme-dns's README and pkg/api (Debian has no acme-dns package); its zone is served by the stack's DNS server. `npm run demo -- --dns acme-dns` runs the Quick start through it.",
  settings: SETTINGS,
  example: {
    Type: "acme-dns",
    ApiUrl: "https://auth.example.org",
    Accounts: "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/acme-dns-accounts)",
  },
  build: (reader) => readSettings(reader, SETTINGS),
  create: (settings, context) => new AcmeDnsProvider({ ...settings, name: context.instance }),
};
