/**
 * The DNS provider platform, pure parts: provider instance settings (`KvAcme__Dns__<instance>__*`), the router's
 * one-owner-per-zone rule and dispatch, where challenge values go (CNAME chains, loops, dangling targets, dnsAlias),
 * and docs/dns-providers.md generated from the descriptors.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { loadSettings, type Settings } from "../../src/config/settings";
import type { FieldProblem } from "../../src/shared/errors";
import { resolveChallengeTargets, MAX_CNAME_HOPS, type CnameLookup } from "../../src/dns/delegation";
import { renderDnsProvidersDoc } from "../../src/dns/doc";
import type { DnsProvider, DnsZone } from "../../src/dns/provider";
import { createDnsRouter, DNS_PROVIDER_TYPES } from "../../src/dns/registry";
import { DnsRouter } from "../../src/dns/router";
import { ConfigurationError, UpstreamError, ValidationError } from "../../src/shared/errors";

const SUB = "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10";
const VAULT = { KvAcme__VaultUrl: "https://v.vault.azure.net" };
const SECRET = Buffer.alloc(32, 7).toString("base64");
const BIND = {
  KvAcme__Dns__bind__Type: "rfc2136",
  KvAcme__Dns__bind__Server: "192.0.2.53",
  KvAcme__Dns__bind__Zones: "example.net, Example.ORG.",
  KvAcme__Dns__bind__KeyName: "kv-acme",
  KvAcme__Dns__bind__KeySecret: SECRET,
};

function problems(env: Record<string, string>): FieldProblem[] {
  try {
    loadSettings({ ...VAULT, ...env });
  } catch (err) {
    assert.ok(err instanceof ConfigurationError, String(err));
    return (err.details as { problems: FieldProblem[] }).problems;
  }
  return assert.fail("expected a ConfigurationError");
}

const instances = (s: Settings) => s.dns.instances.map((i) => `${i.name}:${i.type}`);

describe("DNS provider settings", () => {
  it("with no instance declared, the top-level Azure names configure the instance azure (DnsSubscriptionIds required)", () => {
    assert.deepEqual(instances(loadSettings({ ...VAULT, KvAcme__DnsSubscriptionIds: SUB })), ["azure:azure"]);
    assert.deepEqual(
      problems({}).map((p) => p.field),
      ["KvAcme__DnsSubscriptionIds"],
    );
  });

  it("declared instances need no Azure subscription; their own settings are parsed by their type", () => {
    const s = loadSettings({
      ...VAULT,
      ...BIND,
      KvAcme__Dns__pdns__Type: "PowerDNS",
      KvAcme__Dns__pdns__ApiUrl: "http://127.0.0.1:8081",
      KvAcme__Dns__pdns__ApiKey: "k",
    });
    assert.deepEqual(instances(s), ["bind:rfc2136", "pdns:powerdns"]);
    const bind = s.dns.instances[0]?.settings as { server: unknown; zones: string[]; keyAlgorithm: string; timeoutSeconds: number };
    assert.deepEqual(bind.server, { host: "192.0.2.53", port: 53 });
    assert.deepEqual(bind.zones, ["example.net", "example.org"]);
    assert.equal(bind.keyAlgorithm, "hmac-sha256");
    assert.equal(bind.timeoutSeconds, 10);
    const pdns = s.dns.instances[1]?.settings as { serverId: string };
    assert.equal(pdns.serverId, "localhost");
  });

  it("two instances of one type, plus the top-level Azure instance next to them", () => {
    const second = Object.fromEntries(Object.entries(BIND).map(([k, v]) => [k.replace("__bind__", "__Bind-2__"), v]));
    const s = loadSettings({ ...VAULT, ...BIND, ...second, KvAcme__DnsSubscriptionIds: SUB });
    assert.deepEqual(instances(s), ["bind:rfc2136", "bind-2:rfc2136", "azure:azure"]);
  });

  it("reports every problem of every instance at once, by setting name", () => {
    const found = problems({
      KvAcme__Dns__bind__Type: "rfc2136",
      KvAcme__Dns__bind__Server: "192.0.2.53:99999",
      KvAcme__Dns__bind__KeyAlgorithm: "hmac-md5",
      KvAcme__Dns__bind__Sever: "typo",
      KvAcme__Dns__cf__Type: "no-such-type",
      KvAcme__Dns__x_y__Type: "rfc2136",
    });
    const fields = found.map((p) => p.field).sort();
    assert.deepEqual(fields, [
      "KvAcme__Dns__bind__KeyAlgorithm",
      "KvAcme__Dns__bind__KeyName",
      "KvAcme__Dns__bind__KeySecret",
      "KvAcme__Dns__bind__Server",
      "KvAcme__Dns__bind__Sever",
      "KvAcme__Dns__bind__Zones",
      "KvAcme__Dns__cf__Type",
      "KvAcme__Dns__x_y__Type",
    ]);
    assert.match(found.find((p) => p.field === "KvAcme__Dns__bind__Sever")?.message ?? "", /not a setting of DNS provider type rfc2136/);
    assert.match(
      found.find((p) => p.field === "KvAcme__Dns__cf__Type")?.message ?? "",
      /not a DNS provider type \(azure, rfc2136, powerdns/,
    );
  });

  it("the top-level Azure names and an explicit instance named azure cannot both configure it", () => {
    const found = problems({
      KvAcme__DnsSubscriptionIds: SUB,
      KvAcme__Dns__azure__Type: "azure",
      KvAcme__Dns__azure__SubscriptionIds: SUB,
    });
    assert.deepEqual(
      found.map((p) => p.field),
      ["KvAcme__DnsSubscriptionIds"],
    );
  });

  it("every provider type declares its secrets as secret and no Type key of its own", () => {
    for (const t of DNS_PROVIDER_TYPES) {
      for (const d of Object.values(t.settings)) {
        assert.ok(d.key?.startsWith("Dns__<n>__"), `${t.type}: ${d.key}`);
        assert.notEqual(d.key, "Dns__<n>__Type");
        if (/secret|key$|token|password/i.test(d.key ?? "") && !/name|algorithm/i.test(d.key ?? ""))
          assert.equal(d.secret, true, `${t.type} ${d.key}`);
      }
    }
  });
});

function memoryProvider(name: string, zones: string[], log: string[] = []): DnsProvider {
  return {
    name,
    type: "memory",
    listZones: async () => zones.map((z) => ({ provider: name, id: `${name}/${z}`, name: z, nameServers: [] })),
    addTxtValues: async (zone, record, values) => void log.push(`${name} add ${record}.${zone.name} ${values.join(",")}`),
    removeTxtValues: async (zone, record, values) => void log.push(`${name} remove ${record}.${zone.name} ${values.join(",")}`),
  };
}

describe("DNS router", () => {
  it("collects the zones of every instance and sends each change to the instance owning the zone", async () => {
    const log: string[] = [];
    const router = new DnsRouter([memoryProvider("a", ["example.com"], log), memoryProvider("b", ["example.net", "sub.example.com"], log)]);
    const zones = await router.listZones();
    assert.deepEqual(zones.map((z) => `${z.provider}:${z.name}`).sort(), ["a:example.com", "b:example.net", "b:sub.example.com"]);
    for (const z of zones) await router.addTxtValues(z, "_acme-challenge", ["v"], 60);
    assert.deepEqual(log.sort(), [
      "a add _acme-challenge.example.com v",
      "b add _acme-challenge.example.net v",
      "b add _acme-challenge.sub.example.com v",
    ]);
  });

  it("a zone claimed by two instances is a configuration error naming both", async () => {
    const router = new DnsRouter([memoryProvider("bind", ["example.net"]), memoryProvider("pdns", ["Example.NET"])]);
    await assert.rejects(
      router.listZones(),
      (e: unknown) =>
        e instanceof ConfigurationError && /example\.net is claimed by two DNS providers: .*"bind".* and .*"pdns"/.test(e.message),
    );
  });

  it("an instance that cannot list its zones fails the listing, naming it", async () => {
    const failing: DnsProvider = {
      ...memoryProvider("cf", []),
      listZones: async () => Promise.reject(new UpstreamError("X", "401 token rejected")),
    };
    const router = new DnsRouter([memoryProvider("a", ["example.com"]), failing]);
    await assert.rejects(
      router.listZones(),
      (e: unknown) => e instanceof UpstreamError && /DNS provider "cf" \(memory\): cannot list zones: 401 token rejected/.test(e.message),
    );
  });

  it("builds the configured instances through their types", async () => {
    const s = loadSettings({ ...VAULT, ...BIND, KvAcme__DnsSubscriptionIds: SUB });
    const router = createDnsRouter(s.dns, { credential: { getToken: async () => null } });
    assert.deepEqual(
      [...router.providers.values()].map((p) => `${p.name}:${p.type}`),
      ["bind:rfc2136", "azure:azure"],
    );
  });
});

describe("where challenge values go", () => {
  const zones: DnsZone[] = [
    { provider: "azure", id: "z1", name: "example.com", nameServers: [] },
    { provider: "bind", id: "z2", name: "acme.example.net", nameServers: [] },
  ];
  const table =
    (cnames: Record<string, string>): CnameLookup =>
    async (name) =>
      cnames[name];

  it("a name in a writable zone without a CNAME: _acme-challenge.<name> in that zone (wildcard shares it)", async () => {
    const [a, b] = await resolveChallengeTargets(["www.example.com", "*.www.example.com"], zones, { lookup: table({}) });
    assert.deepEqual(a, { zone: zones[0], recordName: "_acme-challenge.www", fqdn: "_acme-challenge.www.example.com" });
    assert.deepEqual(b, a);
  });

  it("a CNAME chain is followed to the zone of another provider; the owner zone need not be writable", async () => {
    const lookup = table({
      "_acme-challenge.shop.example.org": "hop.example.com",
      "hop.example.com": "shop.acme.example.net",
    });
    const [t] = await resolveChallengeTargets(["shop.example.org"], zones, { lookup });
    assert.equal(t?.zone.provider, "bind");
    assert.equal(t?.recordName, "shop");
    assert.deepEqual(t?.delegation, {
      from: "_acme-challenge.shop.example.org",
      via: "cname",
      chain: ["_acme-challenge.shop.example.org", "hop.example.com", "shop.acme.example.net"],
    });
  });

  it("a loop, an over-long chain and a dangling target are 400s naming the chain", async () => {
    const loop = table({ "_acme-challenge.a.example.com": "b.example.com", "b.example.com": "_acme-challenge.a.example.com" });
    await assert.rejects(
      resolveChallengeTargets(["a.example.com"], zones, { lookup: loop }),
      (e: unknown) => e instanceof ValidationError && /is a loop/.test(e.message),
    );
    const long: Record<string, string> = { "_acme-challenge.l.example.com": "h0.example.com" };
    for (let i = 0; i < MAX_CNAME_HOPS + 1; i++) long[`h${i}.example.com`] = `h${i + 1}.example.com`;
    await assert.rejects(resolveChallengeTargets(["l.example.com"], zones, { lookup: table(long) }), /longer than 8 hops/);
    const dangling = table({ "_acme-challenge.d.example.com": "gone.elsewhere.example" });
    await assert.rejects(
      resolveChallengeTargets(["d.example.com"], zones, { lookup: dangling }),
      (e: unknown) =>
        e instanceof ValidationError && e.status === 400 && /ends at gone\.elsewhere\.example, which is not in any zone/.test(e.message),
    );
  });

  it("dnsAlias: every name's value goes to _acme-challenge.<alias>; a bad alias is a 400", async () => {
    const targets = await resolveChallengeTargets(["a.example.org", "*.b.example.org"], zones, {
      dnsAlias: "Shared.acme.example.net.",
      lookup: table({}),
    });
    assert.deepEqual(new Set(targets.map((t) => t.fqdn)), new Set(["_acme-challenge.shared.acme.example.net"]));
    assert.equal(targets[0]?.delegation?.via, "dnsAlias");
    await assert.rejects(resolveChallengeTargets(["a.example.org"], zones, { dnsAlias: "*.x.example.net", lookup: table({}) }), /dnsAlias/);
    await assert.rejects(
      resolveChallengeTargets(["a.example.org"], zones, { dnsAlias: "nowhere.example", lookup: table({}) }),
      /dnsAlias "nowhere.example" is not inside any DNS zone/,
    );
  });
});

describe("docs/dns-providers.md", () => {
  it("is generated from the provider descriptors (run npx tsx src/config/write-doc.ts)", () => {
    const file = readFileSync(path.join(__dirname, "..", "..", "docs", "dns-providers.md"), "utf8");
    assert.equal(file, renderDnsProvidersDoc());
    for (const t of DNS_PROVIDER_TYPES) assert.ok(file.includes(`## \`${t.type}\``), t.type);
  });
});
