/** The grouping of challenge values into record sets (pure). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { groupByRecordSet, type ChallengeRecord } from "../../src/issuance/steps";
import type { DnsZone } from "../../src/dns/provider";

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
