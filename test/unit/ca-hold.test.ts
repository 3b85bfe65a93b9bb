/**
 * src/renewal/ca-hold.ts: which limit a CA's rateLimited refusal names (Let's Encrypt's wording), and which of a
 * run's other renewals it holds, until when.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { caRefusalOf, holdsAfterRefusal, rateLimitScope, type HoldCandidate, type RateLimitScope } from "../../src/renewal/ca-hold";

describe("rateLimitScope: the limit a rateLimited detail names", () => {
  const table: [string, RateLimitScope][] = [
    ["too many new orders (300) from this account in the last 3h0m0s, retry after 2026-12-02 07:00:00 UTC", { kind: "account" }],
    ["too many new orders (local fault injection): retry after 2026-12-02 07:00:00 UTC", { kind: "account" }],
    ["too many new registrations (10) from this IP address in the last 3h0m0s", { kind: "account" }],
    ["Service busy; retry later.", { kind: "account" }],
    [
      'too many certificates (50) already issued for "example.com" in the last 168h0m0s',
      { kind: "registeredDomain", domain: "example.com" },
    ],
    [
      'too many certificates (50) already issued for "www.shop.example.co.uk" in the last 168h0m0s',
      { kind: "registeredDomain", domain: "example.co.uk" },
    ],
    ["see https://letsencrypt.org/docs/rate-limits/#new-certificates-per-registered-domain", { kind: "registeredDomain" }],
    ['too many failed authorizations (5) for "www.example.com" in the last 1h0m0s', { kind: "identifier", identifier: "www.example.com" }],
    ["too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s", { kind: "exactSet" }],
    ["too many certificates (5) already issued for this exact set of domains in the last 168h0m0s", { kind: "exactSet" }],
  ];
  for (const [detail, scope] of table)
    it(`${JSON.stringify(scope)} <- ${detail}`, () => {
      assert.deepEqual(rateLimitScope(detail), scope);
    });
});

describe("caRefusalOf: a renewal's failure message", () => {
  it("reads the CA's detail and Retry-After out of a sub-orchestration's failure", () => {
    const r = caRefusalOf(
      "Orchestrator function 'issueCertificate' failed: order: ACME: creating the order failed: the CA rate-limited the request: too many new orders (Retry-After: 3600 s)",
    );
    assert.deepEqual(r, { detail: "too many new orders", retryAfterMs: 3_600_000, scope: { kind: "account" } });
  });
  it("is undefined for other failures and for a refusal without a Retry-After (the failure backoff applies)", () => {
    assert.equal(caRefusalOf("order: ACME: creating the order failed: 503 Service Unavailable (Retry-After: 3 s)"), undefined);
    assert.equal(caRefusalOf("order: ACME: creating the order failed: the CA rate-limited the request: too many new orders"), undefined);
    assert.equal(caRefusalOf(undefined), undefined);
  });
});

describe("holdsAfterRefusal: which other renewals a refusal holds", () => {
  const refused: HoldCandidate = { certificateName: "www", dnsNames: ["www.example.com"] };
  const others: HoldCandidate[] = [
    { certificateName: "api", dnsNames: ["api.example.com"] },
    { certificateName: "shop", dnsNames: ["shop.example.org", "www.example.com"] },
    { certificateName: "blog", dnsNames: ["blog.example.net"] },
    { certificateName: "unnamed", dnsNames: [] },
  ];
  const at = new Date("2026-12-02T06:00:00.000Z");
  const held = (detail: string) => holdsAfterRefusal(refused, { detail, retryAfterMs: 600_000, scope: rateLimitScope(detail) }, others, at);
  const table: [string, string[]][] = [
    ["too many new orders (300) from this account in the last 3h0m0s", ["api", "shop", "blog", "unnamed"]],
    ['too many certificates (50) already issued for "example.com" in the last 168h0m0s', ["api", "shop"]],
    ["see https://letsencrypt.org/docs/rate-limits/#new-certificates-per-registered-domain", ["api", "shop"]],
    ['too many failed authorizations (5) for "www.example.com" in the last 1h0m0s', ["shop"]],
    ['too many failed authorizations (5) for "blog.example.net" in the last 1h0m0s', ["blog"]],
    ["too many certificates (5) already issued for this exact set of identifiers", []],
  ];
  for (const [detail, names] of table)
    it(`${names.join(",") || "none"} <- ${detail}`, () => {
      const h = held(detail);
      assert.deepEqual(
        h.map((x) => x.certificateName),
        names,
      );
      for (const x of h) {
        assert.equal(x.until, "2026-12-02T06:10:00.000Z", "the run's time + the CA's Retry-After");
        assert.match(x.reason, /^the CA rate-limited the renewal of www \(/);
      }
    });
});
