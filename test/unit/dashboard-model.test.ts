/** The dashboard's pure decisions (dashboard/src/model.ts), table-driven. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  buildNames,
  daysToExpiry,
  fieldErrors,
  groupByZone,
  isShortLived,
  matches,
  NO_FILTER,
  NO_ZONE,
  renewalsPerDay,
  rolesFromAuthMe,
  searchZones,
  urgency,
  zoneOf,
  type CertificateSummary,
} from "../../dashboard/src/model";

const DAY = 86_400_000;
const NOW = Date.parse("2026-06-01T12:00:00Z");
const at = (days: number) => new Date(NOW + days * DAY).toISOString();
const cert = (over: Partial<CertificateSummary>): CertificateSummary => ({
  name: "c",
  vault: "default",
  dnsNames: ["www.example.com"],
  enabled: true,
  pending: false,
  managedBy: "kv-acme",
  ...over,
});

describe("dashboard model", () => {
  it("colours days to expiry by urgency: expired, ≤ 7 urgent, ≤ 30 warning, else ok; none without a version", () => {
    const table: [number | undefined, string][] = [
      [undefined, "none"],
      [-1, "expired"],
      [0, "urgent"],
      [7, "urgent"],
      [8, "warning"],
      [30, "warning"],
      [31, "ok"],
    ];
    for (const [days, want] of table) assert.equal(urgency(days), want, String(days));
    assert.equal(daysToExpiry({ expiresOn: at(10.5) }, NOW), 10);
    assert.equal(daysToExpiry({ expiresOn: at(-0.5) }, NOW), -1);
    assert.equal(daysToExpiry({}, NOW), undefined);
  });

  it("calls a certificate short-lived when it lives at most 10 days", () => {
    assert.equal(isShortLived({ notBefore: at(0), expiresOn: at(6) }), true);
    assert.equal(isShortLived({ notBefore: at(0), expiresOn: at(10) }), true);
    assert.equal(isShortLived({ notBefore: at(0), expiresOn: at(10.01) }), false);
    assert.equal(isShortLived({ expiresOn: at(3) }), false);
  });

  it("puts a certificate in the longest zone of its first name (wildcards by their base), else in no zone", () => {
    const zones = ["example.com", "eu.example.com", "example.org"];
    assert.equal(zoneOf("www.eu.example.com", zones), "eu.example.com");
    assert.equal(zoneOf("*.example.com", zones), "example.com");
    assert.equal(zoneOf("EXAMPLE.ORG.", zones), "example.org");
    assert.equal(zoneOf("notexample.com", zones), undefined);
    const groups = groupByZone(
      [cert({ name: "a", dnsNames: ["x.example.org"] }), cert({ name: "b", dnsNames: [] }), cert({ name: "c", dnsNames: ["example.com"] })],
      zones,
    );
    assert.deepEqual(
      groups.map(([z, l]) => [z, l.map((c) => c.name)]),
      [
        ["example.com", ["c"]],
        ["example.org", ["a"]],
        [NO_ZONE, ["b"]],
      ],
    );
  });

  it("filters by search (name or DNS name), managed by, CA and status", () => {
    const failed = cert({ name: "f", lastOperation: { id: "x", status: "Failed", lastUpdatedTime: at(0) } });
    const expiring = cert({ name: "e", expiresOn: at(20), dnsNames: ["api.example.org"], issuer: "acme.example" });
    const pending = cert({ name: "p", pending: true, managedBy: "unmanaged" });
    const all = [failed, expiring, pending];
    const pick = (f: Partial<typeof NO_FILTER>) => all.filter((c) => matches(c, { ...NO_FILTER, ...f }, NOW)).map((c) => c.name);
    assert.deepEqual(pick({}), ["f", "e", "p"]);
    assert.deepEqual(pick({ search: "API.EXAMPLE" }), ["e"]);
    assert.deepEqual(pick({ search: " f " }), ["f"]);
    assert.deepEqual(pick({ status: "failed" }), ["f"]);
    assert.deepEqual(pick({ status: "expiring" }), ["e"]);
    assert.deepEqual(pick({ status: "pending" }), ["p"]);
    assert.deepEqual(pick({ source: "unmanaged" }), ["p"]);
    assert.deepEqual(pick({ issuer: "acme.example" }), ["e"]);
  });

  it("counts renewals per UTC day over the horizon, every day present, overdue ones today", () => {
    const days = renewalsPerDay([at(-3), at(0.1), at(1), at(1.2), at(5), at(40)], NOW, 7);
    assert.equal(days.length, 7);
    assert.equal(days[0].day, "2026-06-01");
    assert.deepEqual(
      days.map((d) => d.count),
      [2, 2, 0, 0, 0, 1, 0],
    );
  });

  it("builds names from a zone: apex, wildcard, labels under it, full names kept, no duplicates", () => {
    assert.deepEqual(buildNames("example.com", { apex: true, wildcard: true, labels: ["www", "API.eu", "www.example.com", " "] }), [
      "example.com",
      "*.example.com",
      "www.example.com",
      "api.eu.example.com",
    ]);
    assert.deepEqual(buildNames("example.com", { apex: false, wildcard: false, labels: [] }), []);
  });

  it("searches 500 zones: prefix matches first, bounded result", () => {
    const zones = Array.from({ length: 500 }, (_, i) => ({ name: `zone${i}.example.net` }));
    zones.push({ name: "my-zone7.example.org" });
    const found = searchZones(zones, "zone7", 5);
    assert.equal(found.length, 5);
    assert.ok(found.every((z) => z.name.startsWith("zone7")));
    assert.deepEqual(
      searchZones(zones, "my-zone", 5).map((z) => z.name),
      ["my-zone7.example.org"],
    );
    assert.equal(searchZones(zones, "", 50).length, 50);
  });

  it("keys the API's field problems by field (dnsNames[2] under dnsNames)", () => {
    assert.deepEqual(
      fieldErrors({
        errors: [
          { field: "dnsNames", message: "x is not inside zone" },
          { field: "dnsNames[2]", message: "bad label" },
          { field: "keyType", message: "unsupported" },
        ],
      }),
      { dnsNames: ["x is not inside zone", "dnsNames[2]: bad label"], keyType: ["unsupported"] },
    );
    assert.deepEqual(fieldErrors(undefined), {});
  });

  it("reads the user and their app roles from /.auth/me (Issue and Revoke imply Read; unknown roles ignored)", () => {
    const me = [
      {
        provider_name: "aad",
        user_id: "id-1",
        user_claims: [
          { typ: "name", val: "Ada" },
          { typ: "roles", val: "KvAcme.Revoke" },
          { typ: "roles", val: "Other.Role" },
        ],
      },
    ];
    assert.deepEqual(rolesFromAuthMe(me), { name: "Ada", roles: ["KvAcme.Read", "KvAcme.Revoke"] });
    assert.equal(rolesFromAuthMe([]), undefined);
    assert.equal(rolesFromAuthMe({ error: "x" }), undefined);
    assert.deepEqual(rolesFromAuthMe([{ user_id: "u", user_claims: [] }]), { name: "u", roles: [] });
  });
});
