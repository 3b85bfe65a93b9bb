/**
 * The exact problems (field and message) that name validation reports, for the inputs on the edges of each rule:
 * brackets that are not an IPv6 literal, a lone dot, empty labels next to an IDN label, all-digit top-level labels,
 * the cut-off of long names and labels in messages, and the zone lookup's errors with their details. The other tests
 * match messages loosely; these pin down that nothing extra is reported and nothing is lost.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { challengeRecordName, normalizeDnsName, validateCertificateName, validateDnsNames, zoneForName } from "../../src/acme/names";
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

const LDH = "may only contain letters, digits and hyphens, and may not start or end with a hyphen";
const NOT_FQDN = "is not a fully qualified domain name (it needs at least two labels, like example.com)";

describe("validateDnsNames reports exactly these problems", () => {
  const cases: { name: string; input: string[]; want: { field: string; message: string }[] }[] = [
    {
      name: "no names: one problem on the list itself",
      input: [],
      want: [{ field: "dnsNames", message: "at least one DNS name is required" }],
    },
    {
      name: "two empty entries: each is empty, neither is a duplicate",
      input: ["", ""],
      want: [
        { field: "dnsNames[0]", message: "is empty" },
        { field: "dnsNames[1]", message: "is empty" },
      ],
    },
    {
      name: "a lone dot is kept (not stripped to empty) and has an empty label",
      input: ["."],
      want: [{ field: "dnsNames[0]", message: '"." has an empty label (two dots in a row or a leading dot)' }],
    },
    {
      name: "an opening bracket without the closing one is not an IPv6 literal",
      input: ["[::1x"],
      want: [
        { field: "dnsNames[0]", message: `"[::1x" ${NOT_FQDN}` },
        { field: "dnsNames[0]", message: `"[::1x": label "[::1x" ${LDH}` },
      ],
    },
    {
      name: "a closing bracket without the opening one is not an IPv6 literal",
      input: ["x::1]"],
      want: [
        { field: "dnsNames[0]", message: `"x::1]" ${NOT_FQDN}` },
        { field: "dnsNames[0]", message: `"x::1]": label "x::1]" ${LDH}` },
      ],
    },
    {
      name: "an IDN label beside an empty label: both label problems, no IDNA check",
      input: ["bücher..example.com"],
      want: [
        { field: "dnsNames[0]", message: `"bücher..example.com": label "bücher" ${LDH}` },
        { field: "dnsNames[0]", message: '"bücher..example.com" has an empty label (two dots in a row or a leading dot)' },
      ],
    },
    {
      name: "an ASCII label with an underscore: the label problem only, no IDNA problem",
      input: ["a_b.example.com"],
      want: [{ field: "dnsNames[0]", message: `"a_b.example.com": label "a_b" ${LDH}` }],
    },
    {
      name: "a wildcard in the middle: the wildcard problem only, not also a label problem",
      input: ["www.*.example.com"],
      want: [
        {
          field: "dnsNames[0]",
          message: '"www.*.example.com": a wildcard is only allowed as the whole leftmost label (like *.example.com)',
        },
      ],
    },
    {
      name: "a single all-digit label: not qualified, no top-level-label problem",
      input: ["123"],
      want: [{ field: "dnsNames[0]", message: `"123" ${NOT_FQDN}` }],
    },
    {
      name: "two labels with an all-digit top-level label",
      input: ["a.123"],
      want: [{ field: "dnsNames[0]", message: '"a.123": the top-level label "123" may not be all digits' }],
    },
    {
      name: "a 254-character name is quoted by its first 40 characters",
      input: [`${"a".repeat(62)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}`],
      want: [{ field: "dnsNames[0]", message: `"${"a".repeat(40)}…" is 254 characters long; at most 253 are allowed` }],
    },
    {
      name: "a 64-character label is quoted by its first 20 characters",
      input: [`${"a".repeat(64)}.com`],
      want: [
        {
          field: "dnsNames[0]",
          message: `"${"a".repeat(64)}.com": label "${"a".repeat(20)}…" is 64 characters long; at most 63 are allowed`,
        },
      ],
    },
  ];
  for (const c of cases)
    it(c.name, () =>
      assert.deepEqual(
        problemsOf(() => validateDnsNames(c.input)),
        c.want,
      ),
    );

  it("too many names: one problem on the list itself", () => {
    assert.deepEqual(
      problemsOf(() => validateDnsNames(["a.example.com", "b.example.com", "c.example.com"], { maxNames: 2 })),
      [{ field: "dnsNames", message: "3 names given; at most 2 are allowed per certificate" }],
    );
  });

  it("top-level labels that only start or only end with digits are accepted", () => {
    assert.deepEqual(validateDnsNames(["a.b.x123", "a.b.123x"]), ["a.b.x123", "a.b.123x"]);
  });
});

describe("normalizeDnsName edges", () => {
  it("a lone dot stays a dot (only a trailing dot after a name is stripped)", () => assert.equal(normalizeDnsName("."), "."));
});

describe("zone lookup errors", () => {
  it("no zone owns the name: a ValidationError on dnsNames naming the name and how many zones are visible", () => {
    assert.deepEqual(
      problemsOf(() => zoneForName("www.example.org", [{ name: "example.com", id: "z1" }])),
      [{ field: "dnsNames", message: '"www.example.org" is not inside any DNS zone kv-acme can write to (1 zones visible)' }],
    );
  });

  it("two zones of the same name: a ConfigurationError naming both ids, with the name and the ids as details", () => {
    const zones = [
      { name: "example.com", id: "z1" },
      { name: "Example.com.", id: "z2" },
    ];
    assert.throws(
      () => zoneForName("WWW.example.com", zones),
      (err: unknown) => {
        assert.ok(err instanceof ConfigurationError);
        assert.equal(
          err.message,
          'Two or more DNS zones named "example.com" are visible (z1 and z2); restrict the DNS providers so that one of them owns it (see docs/dns-providers.md)',
        );
        assert.deepEqual(err.details, { name: "www.example.com", zoneIds: ["z1", "z2"] });
        return true;
      },
    );
  });

  it("a challenge record outside the zone: a ValidationError on dnsNames naming the name and the zone", () => {
    assert.deepEqual(
      problemsOf(() => challengeRecordName("WWW.other.com", "Example.com.")),
      [{ field: "dnsNames", message: '"www.other.com" is not inside zone "example.com"' }],
    );
  });
});

describe("certificate name edges", () => {
  it("a 127-character name with a dot is refused for its characters, not its length", () => {
    const name = `${"x".repeat(126)}.`;
    assert.deepEqual(
      problemsOf(() => validateCertificateName(name)),
      [{ field: "certificateName", message: `certificate name "${name}" may only contain letters, digits and hyphens` }],
    );
  });
});
