import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { planCertificate, recentIssuances, registeredDomain } from "../../src/renewal/plan-input";
import type { DueCertificate, RenewalCandidate } from "../../src/renewal/scan";

const DAY = 86_400_000;
const NOW = new Date("2027-03-01T00:00:00Z");
const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

describe("registeredDomain (Public Suffix List)", () => {
  const cases: [string, string][] = [
    ["www.example.com", "example.com"],
    ["*.shop.example.co.uk", "example.co.uk"],
    ["a.b.customer.github.io", "customer.github.io"],
    ["EXAMPLE.ORG", "example.org"],
    ["localhost", "localhost"],
  ];
  for (const [name, domain] of cases) it(`${name} -> ${domain}`, () => assert.equal(registeredDomain(name), domain));
});

describe("planCertificate", () => {
  const due: DueCertificate = {
    certificateName: "shop",
    decision: { due: true, reason: "WithinRenewBeforeExpiry", message: "", renewAt: ago(1) },
    ari: "used",
    rule: "ari",
    ariWindow: { start: ago(2), end: ago(-1) },
    notBefore: ago(60),
    notAfter: ago(-30),
  };
  it("writes two record sets per name in the zone of each registered domain, exact set sorted and lower-cased", () => {
    const candidate: RenewalCandidate = { name: "shop", dnsNames: ["www.Shop.example.com", "shop.example.com", "*.shop.example.net"] };
    const c = planCertificate(due, candidate, "vault");
    assert.ok(c);
    assert.deepEqual(c.dnsWrites, { "example.com": 4, "example.net": 2 });
    assert.equal(c.armWrites, 6);
    assert.deepEqual(c.registeredDomains, ["example.com", "example.net"]);
    assert.equal(c.exactSet, "*.shop.example.net,shop.example.com,www.shop.example.com");
    assert.equal(c.order, "renewal");
    assert.equal(c.ariWindow?.start.toISOString(), due.ariWindow?.start);
    assert.equal(c.dueAt.toISOString(), due.decision.renewAt);
  });
  it("the CA's rateLimited Retry-After (renewNotBefore) becomes the planner's not-before", () => {
    const c = planCertificate({ ...due, renewNotBefore: ago(-2) }, undefined, "vault");
    assert.equal(c?.caNotBefore?.toISOString(), ago(-2));
    assert.equal(planCertificate(due, undefined, "vault")?.caNotBefore, undefined);
  });
  it("without names in the tags the certificate name stands for them; without validity there is nothing to plan", () => {
    assert.deepEqual(planCertificate(due, undefined, "vault")?.dnsWrites, { shop: 2 });
    assert.equal(planCertificate({ ...due, notBefore: undefined }, undefined, "vault"), undefined);
  });
});

describe("recentIssuances", () => {
  it("counts the current versions issued in the last 7 days, nothing older or in the future", () => {
    const items: RenewalCandidate[] = [
      { name: "a", notBefore: ago(1), dnsNames: ["a.example.com"] },
      { name: "b", notBefore: ago(6.9) },
      { name: "old", notBefore: ago(7.1) },
      { name: "future", notBefore: ago(-1) },
      { name: "none" },
    ];
    const recent = recentIssuances(items, NOW);
    assert.deepEqual(
      recent.map((r) => [r.exactSet, r.order, r.registeredDomains]),
      [
        ["a.example.com", "renewal", ["example.com"]],
        ["b", "renewal", ["b"]],
      ],
    );
  });
});
