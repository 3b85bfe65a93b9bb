/** DNS provider registry and the grouping of challenge values into record sets (pure). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createDnsProvider, dnsProviders } from "../../src/dns/registry";
import { groupByRecordSet, type ChallengeRecord } from "../../src/issuance/steps";
import { ConfigurationError } from "../../src/shared/errors";
import type { DnsZone } from "../../src/dns/provider";

const credential = { getToken: async () => null };
const zone: DnsZone = {
  provider: "azure",
  id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/dnszones/example.com",
  name: "example.com",
  nameServers: [],
};

function challenge(identifier: string, recordName: string, txtValue: string): ChallengeRecord {
  return {
    authorizationUrl: `https://ca/authz/${identifier}`,
    identifier,
    challengeUrl: "https://ca/chall",
    token: "t",
    txtValue,
    status: "pending",
    zone,
    recordName,
    fqdn: `${recordName}.example.com`,
  };
}

describe("DNS provider registry", () => {
  it("knows azure and describes its settings", () => {
    assert.ok(dnsProviders.azure);
    assert.ok(dnsProviders.azure.settings.some((s) => s.setting === "KvAcme__DnsSubscriptionIds" && s.required));
    const p = createDnsProvider("Azure", { credential, azure: { subscriptionIds: ["s"] } });
    assert.equal(p.name, "azure");
  });
  it("rejects an unknown provider naming the known ones", () => {
    assert.throws(
      () => createDnsProvider("route53", { credential }),
      (e: unknown) => e instanceof ConfigurationError && /Unknown DNS provider "route53"; known providers: azure/.test(e.message),
    );
  });
  it("does not resolve prototype keys as providers", () => {
    assert.throws(() => createDnsProvider("constructor", { credential }), ConfigurationError);
  });
  it("azure needs a subscription id", () => {
    assert.throws(() => createDnsProvider("azure", { credential, azure: { subscriptionIds: [] } }), /KvAcme__DnsSubscriptionIds/);
  });
});

describe("groupByRecordSet", () => {
  it("apex and wildcard share one _acme-challenge set with both values", () => {
    const groups = groupByRecordSet([
      challenge("example.com", "_acme-challenge", "A"),
      challenge("*.example.com", "_acme-challenge", "B"),
      challenge("www.example.com", "_acme-challenge.www", "C"),
    ]);
    assert.deepEqual(
      groups.map((g) => [g.recordName, g.values]),
      [
        ["_acme-challenge", ["A", "B"]],
        ["_acme-challenge.www", ["C"]],
      ],
    );
  });
  it("the same value twice is kept once", () => {
    const groups = groupByRecordSet([challenge("example.com", "_acme-challenge", "A"), challenge("*.example.com", "_acme-challenge", "A")]);
    assert.deepEqual(groups[0]?.values, ["A"]);
  });
});
