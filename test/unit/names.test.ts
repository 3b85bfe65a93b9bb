import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  challengeRecordName,
  defaultCertificateName,
  normalizeDnsName,
  normalizeDnsNames,
  validateCertificateName,
  validateDnsNames,
  zoneForName,
  type ZoneRef,
} from "../../src/acme/names";
import { ConfigurationError, ValidationError } from "../../src/shared/errors";

function problemsOf(fn: () => unknown): { field: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail("expected a ValidationError");
}

describe("normalizeDnsNames", () => {
  const cases: { name: string; input: string[] | string; want: string[] }[] = [
    {
      name: "string split on commas and whitespace",
      input: " Example.com, *.Example.COM\nwww.example.com\t,, ",
      want: ["example.com", "*.example.com", "www.example.com"],
    },
    {
      name: "array entries trimmed and lowercased",
      input: ["  A.Example.Com  ", "B.example.com"],
      want: ["a.example.com", "b.example.com"],
    },
    { name: "IDN converted to punycode", input: ["bücher.de", "*.München.de"], want: ["xn--bcher-kva.de", "*.xn--mnchen-3ya.de"] },
    { name: "trailing dot stripped", input: ["example.com.", "*.example.com."], want: ["example.com", "*.example.com"] },
    { name: "punycode kept as is", input: ["xn--bcher-kva.de"], want: ["xn--bcher-kva.de"] },
    { name: "empty array entry kept for validation", input: ["", "a.com"], want: ["", "a.com"] },
    { name: "empty string gives no names", input: "  ", want: [] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(normalizeDnsNames(c.input), c.want));
  it("normalizeDnsName single name", () => assert.equal(normalizeDnsName(" WWW.Example.org. "), "www.example.org"));
});

describe("validateDnsNames", () => {
  const ok: { name: string; input: string[] | string; want: string[] }[] = [
    { name: "apex and wildcard", input: ["example.com", "*.example.com"], want: ["example.com", "*.example.com"] },
    { name: "comma string", input: "a.example.com,b.example.com", want: ["a.example.com", "b.example.com"] },
    { name: "IDN", input: ["Bücher.de"], want: ["xn--bcher-kva.de"] },
    { name: "63-char label", input: [`${"a".repeat(63)}.com`], want: [`${"a".repeat(63)}.com`] },
    {
      name: "253-char name",
      input: [`${"a".repeat(61)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}`],
      want: [`${"a".repeat(61)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}`],
    },
    { name: "digits and hyphens inside labels", input: ["1-2.x-y.example.com"], want: ["1-2.x-y.example.com"] },
    {
      name: "100 names",
      input: Array.from({ length: 100 }, (_, i) => `n${i}.example.com`),
      want: Array.from({ length: 100 }, (_, i) => `n${i}.example.com`),
    },
  ];
  for (const c of ok) it(`accepts: ${c.name}`, () => assert.deepEqual(validateDnsNames(c.input), c.want));

  const bad: { name: string; input: string[] | string; options?: { maxNames?: number }; want: RegExp[] }[] = [
    { name: "no names", input: [], want: [/at least one/] },
    { name: "empty string input", input: "", want: [/at least one/] },
    { name: "empty entry", input: ["", "a.com"], want: [/dnsNames\[0\].*is empty/] },
    { name: "101 names", input: Array.from({ length: 101 }, (_, i) => `n${i}.example.com`), want: [/101 names given; at most 100/] },
    { name: "custom maximum", input: ["a.com", "b.com", "c.com"], options: { maxNames: 2 }, want: [/at most 2/] },
    { name: "IPv4 address", input: ["192.0.2.1"], want: [/IP address/] },
    { name: "IPv6 address", input: ["2001:db8::1"], want: [/IP address/] },
    { name: "bracketed IPv6", input: ["[::1]"], want: [/IP address/] },
    { name: "wildcard in the middle", input: ["www.*.example.com"], want: [/whole leftmost label/] },
    { name: "partial wildcard label", input: ["w*.example.com"], want: [/whole leftmost label/] },
    { name: "double wildcard", input: ["*.*.example.com"], want: [/whole leftmost label/] },
    { name: "wildcard on a TLD", input: ["*.com"], want: [/base name of at least two labels/] },
    { name: "single label", input: ["localhost"], want: [/fully qualified/] },
    { name: "underscore", input: ["a_b.example.com"], want: [/letters, digits and hyphens/] },
    { name: "leading hyphen", input: ["-a.example.com"], want: [/may not start or end with a hyphen/] },
    { name: "trailing hyphen", input: ["a-.example.com"], want: [/may not start or end with a hyphen/] },
    { name: "empty label", input: ["a..example.com"], want: [/empty label/] },
    { name: "64-char label", input: [`${"a".repeat(64)}.com`], want: [/64 characters long; at most 63/] },
    {
      name: "254-char name",
      input: [`${"a".repeat(62)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}`],
      want: [/254 characters long; at most 253/],
    },
    { name: "numeric TLD", input: ["a.b.123"], want: [/all digits/] },
    { name: "whitespace inside an array entry", input: ["a b.example.com"], want: [/whitespace/] },
    { name: "duplicate after normalization", input: ["Example.com", "example.com."], want: [/dnsNames\[1\].*duplicate of dnsNames\[0\]/] },
    { name: "duplicate IDN spelled both ways", input: ["bücher.de", "xn--bcher-kva.de"], want: [/duplicate/] },
    {
      name: "every problem listed at once",
      input: ["a_b.com", "1.2.3.4", "www.*.x.com", "a_b.com"],
      want: [/dnsNames\[0\]/, /dnsNames\[1\].*IP address/, /dnsNames\[2\].*wildcard/, /dnsNames\[3\].*duplicate/],
    },
  ];
  for (const c of bad) {
    it(`rejects: ${c.name}`, () => {
      const problems = problemsOf(() => validateDnsNames(c.input, c.options));
      const text = problems.map((p) => `${p.field}: ${p.message}`);
      for (const re of c.want)
        assert.ok(
          text.some((t) => re.test(t)),
          `${re} not in ${JSON.stringify(text)}`,
        );
    });
  }
});

describe("zoneForName", () => {
  const zones: ZoneRef[] = [
    { name: "example.com", id: "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.Network/dnszones/example.com" },
    { name: "sub.example.com.", id: "zone-sub" },
    { name: "xn--bcher-kva.de", id: "zone-idn" },
    { name: "ample.com", id: "zone-ample" },
  ];
  const cases: { name: string; input: string; want: string }[] = [
    { name: "apex", input: "example.com", want: zones[0]!.id },
    { name: "host in zone", input: "www.example.com", want: zones[0]!.id },
    { name: "longest suffix wins", input: "a.sub.example.com", want: "zone-sub" },
    { name: "zone apex of child zone (trailing dot in zone)", input: "sub.example.com", want: "zone-sub" },
    { name: "wildcard matches by its base", input: "*.sub.example.com", want: "zone-sub" },
    { name: "wildcard on apex", input: "*.example.com", want: zones[0]!.id },
    { name: "label boundary respected", input: "www.ample.com", want: "zone-ample" },
    { name: "IDN name", input: "www.bücher.de", want: "zone-idn" },
    { name: "case and trailing dot", input: "WWW.Example.COM.", want: zones[0]!.id },
  ];
  for (const c of cases) it(c.name, () => assert.equal(zoneForName(c.input, zones).id, c.want));

  it("no matching zone is a ValidationError naming the name", () => {
    const problems = problemsOf(() => zoneForName("www.example.org", zones));
    assert.match(problems[0]!.message, /"www\.example\.org" is not inside any DNS zone/);
  });
  it("a suffix that is not on a label boundary does not match", () => {
    assert.throws(() => zoneForName("notexample.com", [zones[0]!]), ValidationError);
  });
  it("two zones with the same name name both ids", () => {
    const dup = [
      ...zones,
      {
        name: "Example.com",
        id: "/subscriptions/s/resourceGroups/rg2/providers/Microsoft.Network/dnszones/example.com",
        resourceGroup: "rg2",
      },
    ];
    assert.throws(
      () => zoneForName("www.example.com", dup),
      (err: unknown) => err instanceof ConfigurationError && /rg1/.test(err.message) && /rg2/.test(err.message),
    );
  });
  it("duplicate zones do not matter when a longer zone owns the name", () => {
    const dup = [...zones, { name: "example.com", id: "other" }];
    assert.equal(zoneForName("x.sub.example.com", dup).id, "zone-sub");
  });
});

describe("challengeRecordName", () => {
  const cases: { name: string; input: string; zone: string; want: string }[] = [
    { name: "apex", input: "example.com", zone: "example.com", want: "_acme-challenge" },
    { name: "wildcard of apex", input: "*.example.com", zone: "example.com", want: "_acme-challenge" },
    { name: "host", input: "www.example.com", zone: "example.com", want: "_acme-challenge.www" },
    { name: "wildcard of host", input: "*.www.example.com", zone: "example.com", want: "_acme-challenge.www" },
    { name: "deep host", input: "a.b.example.com", zone: "example.com", want: "_acme-challenge.a.b" },
    { name: "zone with trailing dot and case", input: "WWW.example.com", zone: "Example.com.", want: "_acme-challenge.www" },
  ];
  for (const c of cases) it(c.name, () => assert.equal(challengeRecordName(c.input, c.zone), c.want));
  it("name outside the zone is rejected", () => assert.throws(() => challengeRecordName("www.other.com", "example.com"), ValidationError));
});

describe("certificate names", () => {
  const cases: { name: string; input: string; want: string }[] = [
    { name: "apex", input: "example.com", want: "example-com" },
    { name: "wildcard", input: "*.example.com", want: "wildcard-example-com" },
    { name: "IDN kept as punycode", input: "bücher.de", want: "xn--bcher-kva-de" },
    { name: "upper case normalized", input: "WWW.Example.com", want: "www-example-com" },
    {
      name: "long name trimmed to 127",
      input: `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.com`,
      want: `${"a".repeat(63)}-${"b".repeat(63)}`,
    },
  ];
  for (const c of cases) it(`default name: ${c.name}`, () => assert.equal(defaultCertificateName(c.input), c.want));

  const valid = ["a", "Example-Com", "x".repeat(127), "123"];
  for (const v of valid) it(`valid: ${v.slice(0, 20)}`, () => assert.equal(validateCertificateName(v), v));
  const invalid: { name: string; input: string; want: RegExp }[] = [
    { name: "empty", input: "", want: /is empty/ },
    { name: "128 chars", input: "x".repeat(128), want: /128 characters/ },
    { name: "dot", input: "a.b", want: /letters, digits and hyphens/ },
    { name: "underscore", input: "a_b", want: /letters, digits and hyphens/ },
    { name: "space", input: "a b", want: /letters, digits and hyphens/ },
  ];
  for (const c of invalid) {
    it(`invalid: ${c.name}`, () => {
      const problems = problemsOf(() => validateCertificateName(c.input));
      assert.equal(problems[0]!.field, "certificateName");
      assert.match(problems[0]!.message, c.want);
    });
  }
  it("default name of an empty string is rejected", () => assert.throws(() => defaultCertificateName(""), ValidationError));
});

describe("validateDnsNames: internationalised names (UTS #46 non-transitional + IDNA2008, RFC 5890-5893)", () => {
  const valid: { input: string; want: string }[] = [
    { input: "bücher.example.com", want: "xn--bcher-kva.example.com" },
    { input: "BÜCHER.example.com", want: "xn--bcher-kva.example.com" },
    { input: "xn--bcher-kva.example.com", want: "xn--bcher-kva.example.com" },
    { input: "*.münchen.example.com", want: "*.xn--mnchen-3ya.example.com" },
    { input: "faß.example.com", want: "xn--fa-hia.example.com" }, // non-transitional: ß stays ß
    { input: "xn--zca.example.com", want: "xn--zca.example.com" }, // ß as an A-label
    { input: "ｅｘａｍｐｌｅ.example.com", want: "example.example.com" }, // full-width mapped
    { input: "العربية.example.com", want: "xn--mgbcd4a2b0d2b.example.com" }, // RTL label, bidi rules hold
    { input: "l·l.example.com", want: "xn--ll-0ea.example.com" }, // CONTEXTO: middle dot between two l
    { input: "παράδειγμα.example.com", want: "xn--hxajbheg2az3al.example.com" },
  ];
  for (const c of valid) {
    it(`accepts ${c.input} as ${c.want}`, () => assert.deepEqual(validateDnsNames([c.input]), [c.want]));
  }
  const invalid: { input: string; why: RegExp }[] = [
    { input: "xn--a.example.com", why: /U\+0080|disallowed/ }, // invalid punycode: decodes to a disallowed code point
    { input: "💩.example.com", why: /U\+1F4A9/ }, // emoji: valid under UTS #46 alone, not IDNA2008
    { input: "xn--ls8h.example.com", why: /U\+1F4A9/ }, // the same emoji as an A-label: decoded and re-checked
    { input: "xn--ab-.example.com", why: /A-label|ASCII/ }, // A-label that decodes to plain ASCII
    { input: "a\u200cb.example.com", why: /ZWNJ|200C/ }, // CONTEXTJ without a virama
    { input: "a·b.example.com", why: /00B7|l/ }, // CONTEXTO middle dot not between l and l
    { input: "\u05d0a.example.com", why: /[Bb]idi/ }, // RTL label with a left-to-right letter
    { input: "a1-\u0661.example.com", why: /[Bb]idi/ }, // Arabic-Indic digit in an LTR label
    { input: "\u0378.example.com", why: /U\+0378/ }, // unassigned code point
    { input: "ab--c.example.com", why: /hyphen/ }, // hyphens in positions 3 and 4 (reserved, like xn--)
  ];
  for (const c of invalid) {
    it(`refuses ${JSON.stringify(c.input)}`, () => {
      const problems = problemsOf(() => validateDnsNames([c.input]));
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.equal(problems[0]?.field, "dnsNames[0]");
      assert.match(problems[0]?.message ?? "", c.why);
      assert.ok((problems[0]?.message ?? "").length < 300);
    });
  }
});
