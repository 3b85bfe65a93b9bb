import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OVERLAP_CHECK_REUSE_MS, nameOverlaps, namesCover, overlapCheckDue } from "../../src/keyvault/overlap";

describe("name overlap: exact names and wildcard coverage (RFC 6125: a wildcard covers exactly one label)", () => {
  const table: [string, string, boolean][] = [
    ["a.example.com", "a.example.com", true],
    ["A.Example.com", "a.example.com", false], // namesCover compares normalized names; nameOverlaps normalizes
    ["*.example.com", "a.example.com", true],
    ["a.example.com", "*.example.com", true],
    ["*.example.com", "*.example.com", true],
    ["*.example.com", "example.com", false],
    ["*.example.com", "b.a.example.com", false],
    ["*.a.example.com", "*.example.com", false],
    ["*.example.com", "a.example.net", false],
    ["*.example.com", "aexample.com", false],
    ["a.example.com", "b.example.com", false],
  ];
  for (const [a, b, want] of table) {
    it(`${a} vs ${b}: ${want ? "overlap" : "no overlap"}`, () => assert.equal(namesCover(a, b), want));
  }

  it("nameOverlaps skips the certificate itself (any case) and names each other certificate and the names of it that cover or are covered, sorted", () => {
    const others = [
      { name: "wild", dnsNames: ["*.Example.com", "example.com"] },
      { name: "deep", dnsNames: ["x.y.example.com"] },
      { name: "exact", dnsNames: ["shop.example.com"] },
      { name: "Mine", dnsNames: ["shop.example.com"] },
    ];
    assert.deepEqual(nameOverlaps("mine", ["shop.example.com"], others), [
      { certificateName: "exact", dnsNames: ["shop.example.com"] },
      { certificateName: "wild", dnsNames: ["*.example.com"] },
    ]);
    assert.deepEqual(nameOverlaps("new", ["*.example.com"], others), [
      { certificateName: "exact", dnsNames: ["shop.example.com"] },
      { certificateName: "Mine", dnsNames: ["shop.example.com"] },
      { certificateName: "wild", dnsNames: ["*.example.com"] },
    ]);
    assert.deepEqual(nameOverlaps("new", ["example.org", "*.y.example.com"], others), [
      { certificateName: "deep", dnsNames: ["x.y.example.com"] },
    ]);
  });
});

describe("overlapCheckDue: a passed guard stands for the same request's next validation for OVERLAP_CHECK_REUSE_MS", () => {
  const now = new Date("2026-12-02T06:00:00.000Z");
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const table: [string, string | undefined, boolean][] = [
    ["never checked", undefined, true],
    ["checked just now", ago(0), false],
    ["checked 1 s ago", ago(1_000), false],
    ["checked exactly at the window's end", ago(OVERLAP_CHECK_REUSE_MS), false],
    ["checked 1 ms after the window", ago(OVERLAP_CHECK_REUSE_MS + 1), true],
    ["checked an hour ago", ago(3_600_000), true],
    ["a time in the future (clock skew)", ago(-1_000), true],
    ["not a time", "yesterday-ish", true],
  ];
  for (const [label, checkedAt, due] of table) {
    it(`${label}: ${due ? "list the vault" : "reuse the answer"}`, () => assert.equal(overlapCheckDue(checkedAt, now), due));
  }
});
