import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decideOwnership, dnsNamesDigest, managedTags, readManagedTags, tagNamesMatch, type ManagedTagInfo } from "../../src/keyvault/tags";
import { ValidationError } from "../../src/shared/errors";

const LE = "https://acme-v02.api.letsencrypt.org/directory";
const many = Array.from({ length: 100 }, (_, i) => `host-${i}.example.com`);

describe("managedTags", () => {
  it("writes every tag for a short name list", () => {
    assert.deepEqual(
      managedTags({
        acmeDirectoryUrl: LE,
        dnsNames: ["Example.com", "*.example.com"],
        dnsProvider: "azure-dns",
        ariCertId: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
      }),
      {
        "kv-acme-managed": "true",
        "kv-acme-acme-directory": LE,
        "kv-acme-dns-names": "example.com,*.example.com",
        "kv-acme-dns-provider": "azure-dns",
        "kv-acme-ari-cert-id": "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
      },
    );
  });
  it("omits the ARI tag when there is no id", () => {
    assert.ok(!("kv-acme-ari-cert-id" in managedTags({ acmeDirectoryUrl: LE, dnsNames: ["a.example.com"], dnsProvider: "azure-dns" })));
  });
  it("100 names: compact digest form within 256 characters", () => {
    const tags = managedTags({ acmeDirectoryUrl: LE, dnsNames: many, dnsProvider: "azure-dns" });
    const expected = createHash("sha256")
      .update([...many].sort().join(","))
      .digest("hex")
      .slice(0, 32);
    assert.equal(tags["kv-acme-dns-names"], `100 names sha256:${expected}`);
    for (const v of Object.values(tags)) assert.ok(v.length <= 256);
  });
  it("exactly 256 characters of names are kept in full", () => {
    const names = [`${"a".repeat(60)}.${"b".repeat(35)}.com`, `${"c".repeat(60)}.${"d".repeat(35)}.org`];
    const joined = names.join(",");
    const padded = [...names, `${"e".repeat(256 - joined.length - 1 - 4)}.com`];
    assert.equal(padded.join(",").length, 256);
    assert.equal(managedTags({ acmeDirectoryUrl: LE, dnsNames: padded, dnsProvider: "x" })["kv-acme-dns-names"], padded.join(","));
  });
  it("an over-long directory URL is refused", () => {
    assert.throws(
      () => managedTags({ acmeDirectoryUrl: `https://ca.example/${"x".repeat(250)}`, dnsNames: ["a.com"], dnsProvider: "x" }),
      ValidationError,
    );
  });
});

describe("readManagedTags", () => {
  const cases: { name: string; tags: Record<string, string> | undefined; want: ManagedTagInfo }[] = [
    { name: "no tags", tags: undefined, want: { managed: false, source: undefined } },
    { name: "unrelated tags", tags: { env: "prod", Issuer: "DigiCert" }, want: { managed: false, source: undefined } },
    {
      name: "managed=false",
      tags: { "kv-acme-managed": "false", "kv-acme-dns-names": "a.com" },
      want: { managed: false, source: undefined },
    },
    {
      name: "kv-acme full",
      tags: managedTags({ acmeDirectoryUrl: LE, dnsNames: ["example.com", "*.example.com"], dnsProvider: "azure-dns", ariCertId: "a.b" }),
      want: {
        managed: true,
        source: "kv-acme",
        acmeDirectoryUrl: LE,
        acmeHost: "acme-v02.api.letsencrypt.org",
        dnsNames: ["example.com", "*.example.com"],
        dnsProvider: "azure-dns",
        ariCertId: "a.b",
      },
    },
    {
      name: "kv-acme digest form",
      tags: { "kv-acme-managed": "true", "kv-acme-dns-names": "100 names sha256:0123456789abcdef0123456789abcdef" },
      want: { managed: true, source: "kv-acme", dnsNamesDigest: { count: 100, sha256Prefix: "0123456789abcdef0123456789abcdef" } },
    },
    {
      name: "kv-acme local stack directory with port",
      tags: { "kv-acme-managed": "TRUE", "kv-acme-acme-directory": "https://127.0.0.1:14000/dir" },
      want: { managed: true, source: "kv-acme", acmeDirectoryUrl: "https://127.0.0.1:14000/dir", acmeHost: "127.0.0.1:14000" },
    },
    {
      name: "keys matched case-insensitively",
      tags: { "KV-ACME-MANAGED": "true", "KV-ACME-DNS-PROVIDER": "azure-dns" },
      want: { managed: true, source: "kv-acme", dnsProvider: "azure-dns" },
    },
    {
      name: "Acmebot certificate adopted",
      tags: { Issuer: "Acmebot", Endpoint: "acme-v02.api.letsencrypt.org", DnsProvider: "Azure DNS" },
      want: { managed: true, source: "acmebot", acmebotVersion: 4, acmeHost: "acme-v02.api.letsencrypt.org", dnsProvider: "Azure DNS" },
    },
    {
      name: "Acmebot endpoint given as URL",
      tags: { Issuer: "acmebot", Endpoint: "https://acme.zerossl.com/v2/DV90" },
      want: { managed: true, source: "acmebot", acmebotVersion: 4, acmeHost: "acme.zerossl.com" },
    },
    { name: "Acmebot without endpoint", tags: { Issuer: "Acmebot" }, want: { managed: true, source: "acmebot", acmebotVersion: 4 } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(readManagedTags(c.tags), c.want));
});

describe("tagNamesMatch and dnsNamesDigest", () => {
  const full = readManagedTags(managedTags({ acmeDirectoryUrl: LE, dnsNames: ["example.com", "*.example.com"], dnsProvider: "x" }));
  const compact = readManagedTags(managedTags({ acmeDirectoryUrl: LE, dnsNames: many, dnsProvider: "x" }));
  const cases: { name: string; info: ManagedTagInfo; names: string[]; want: boolean | undefined }[] = [
    { name: "full form, same set in other order", info: full, names: ["*.example.com", "Example.com"], want: true },
    { name: "full form, a name missing", info: full, names: ["example.com"], want: false },
    { name: "full form, a name extra", info: full, names: ["example.com", "*.example.com", "www.example.com"], want: false },
    { name: "digest form, same set reversed", info: compact, names: [...many].reverse(), want: true },
    { name: "digest form, one name changed", info: compact, names: [...many.slice(1), "other.example.com"], want: false },
    { name: "no names recorded", info: readManagedTags({ Issuer: "Acmebot" }), names: ["a.com"], want: undefined },
  ];
  for (const c of cases) it(c.name, () => assert.equal(tagNamesMatch(c.info, c.names), c.want));
  it("digest is order- and case-independent", () => {
    assert.deepEqual(dnsNamesDigest(["B.com", "a.com"]), dnsNamesDigest(["a.com", "b.com"]));
    assert.notDeepEqual(dnsNamesDigest(["a.com"]), dnsNamesDigest(["b.com"]));
  });
});

describe("decideOwnership", () => {
  const cases: {
    name: string;
    tags?: Record<string, string>;
    issued?: boolean;
    options?: { adopt?: boolean; ignoreOnly?: boolean };
    expect: string;
  }[] = [
    { name: "no certificate of that name: ok", expect: "ok" },
    { name: "kv-acme managed: ok", tags: { "kv-acme-managed": "true" }, expect: "ok" },
    { name: "Acmebot tags: ok (adopted as managed)", tags: { Issuer: "Acmebot" }, expect: "ok" },
    { name: "another owner's: refused", tags: { owner: "payments" }, expect: "CertificateNotManaged" },
    { name: "no tags at all: refused", tags: {}, expect: "CertificateNotManaged" },
    { name: "another owner's with adopt: ok (adopting)", tags: { owner: "payments" }, options: { adopt: true }, expect: "adopting" },
    { name: "ignored: refused", tags: { "kv-acme-managed": "true", "KV-ACME-IGNORE": "True" }, expect: "CertificateIgnored" },
    {
      name: "ignored with adopt: still refused",
      tags: { "kv-acme-ignore": "true" },
      options: { adopt: true },
      expect: "CertificateIgnored",
    },
    { name: "ignore-only check on another owner's: ok", tags: { owner: "x" }, options: { ignoreOnly: true }, expect: "ok" },
    { name: "no issued version yet (pending only): ok", tags: {}, issued: false, expect: "ok" },
    { name: "no issued version but ignored: refused", tags: { "kv-acme-ignore": "true" }, issued: false, expect: "CertificateIgnored" },
    { name: "kv-acme-ignore=false is not ignored", tags: { "kv-acme-managed": "true", "kv-acme-ignore": "false" }, expect: "ok" },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decideOwnership(
        "c1",
        c.tags === undefined ? undefined : { tags: c.tags, issuerName: "Self", issued: c.issued ?? true },
        c.options,
      );
      assert.equal(d.ok ? (d.adopting ? "adopting" : "ok") : d.code, c.expect);
    });
  }
  it("the refusal names the owner tags (bounded) and the issuer", () => {
    const d = decideOwnership("c1", { tags: { owner: "payments", note: "x".repeat(300) }, issuerName: "Self" });
    assert.ok(!d.ok);
    if (!d.ok) {
      assert.match(d.message, /owner=payments/);
      assert.match(d.message, /issuer Self/);
      assert.ok(d.message.length < 600, d.message);
    }
  });
});
