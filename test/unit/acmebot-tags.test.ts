/**
 * The leading C# tool's tags (src/keyvault/acmebot-tags.ts): v5's JSON `Acmebot` tag and v4's Issuer/Endpoint/
 * DnsProvider/DnsAlias, read into readManagedTags (adopted as managed) and honoured by the ownership rule.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readAcmebotTags } from "../../src/keyvault/acmebot-tags";
import { decideOwnership, readManagedTags } from "../../src/keyvault/tags";

const V5 = JSON.stringify({
  endpoint: "acme-v02.api.letsencrypt.org",
  dnsProvider: "Azure DNS",
  dnsAlias: "_acme.delegated.example.net",
  certificateId: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
});

describe("readAcmebotTags", () => {
  const cases: { name: string; tags: Record<string, string>; want: ReturnType<typeof readAcmebotTags> }[] = [
    {
      name: "v5 JSON tag: every field",
      tags: { Acmebot: V5 },
      want: {
        version: 5,
        acmeHost: "acme-v02.api.letsencrypt.org",
        dnsProvider: "Azure DNS",
        dnsAlias: "_acme.delegated.example.net",
        certificateId: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
      },
    },
    {
      name: "v5 JSON tag without the optional fields (Acmebot omits null dnsAlias)",
      tags: { acmebot: JSON.stringify({ endpoint: "https://acme.zerossl.com/v2/DV90", dnsProvider: "Cloudflare" }) },
      want: { version: 5, acmeHost: "acme.zerossl.com", dnsProvider: "Cloudflare" },
    },
    {
      name: "v5 tag wins over v4 tags left on the same certificate",
      tags: { Acmebot: V5, Issuer: "Acmebot", Endpoint: "old.example", DnsAlias: "old.alias.example" },
      want: {
        version: 5,
        acmeHost: "acme-v02.api.letsencrypt.org",
        dnsProvider: "Azure DNS",
        dnsAlias: "_acme.delegated.example.net",
        certificateId: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
      },
    },
    {
      name: "unparsable v5 tag with v4 tags: the v4 tags (as Acmebot falls back)",
      tags: { Acmebot: "{not json", Issuer: "Acmebot", Endpoint: "acme.example", DnsAlias: "alias.example" },
      want: { version: 4, acmeHost: "acme.example", dnsAlias: "alias.example" },
    },
    { name: "unparsable v5 tag alone: still Acmebot's", tags: { Acmebot: "[1,2]" }, want: { version: 5 } },
    {
      name: "v4 tags with DnsAlias",
      tags: { Issuer: "Acmebot", Endpoint: "acme-v02.api.letsencrypt.org", DnsProvider: "Azure DNS", DnsAlias: "alias.example.net" },
      want: { version: 4, acmeHost: "acme-v02.api.letsencrypt.org", dnsProvider: "Azure DNS", dnsAlias: "alias.example.net" },
    },
    { name: "Issuer of another tool: not Acmebot's", tags: { Issuer: "DigiCert" }, want: undefined },
    { name: "no tags", tags: {}, want: undefined },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(readAcmebotTags(c.tags), c.want));
});

describe("readManagedTags with Acmebot v5 tags", () => {
  it("adopts a v5 certificate as managed, with its alias and ARI certificate id", () => {
    assert.deepEqual(readManagedTags({ Acmebot: V5 }), {
      managed: true,
      source: "acmebot",
      acmebotVersion: 5,
      acmeHost: "acme-v02.api.letsencrypt.org",
      dnsProvider: "Azure DNS",
      dnsAlias: "_acme.delegated.example.net",
      ariCertId: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
    });
  });
  it("kv-acme's own tags win over Acmebot's on the same certificate", () => {
    const info = readManagedTags({ Acmebot: V5, "kv-acme-managed": "true", "kv-acme-dns-provider": "azure" });
    assert.equal(info.source, "kv-acme");
    assert.equal(info.dnsProvider, "azure");
  });
});

describe("decideOwnership with Acmebot tags", () => {
  const existing = (tags: Record<string, string>) => ({ tags, issued: true, issuerName: "Unknown" });
  it("a v5 certificate may be renewed without adopt", () =>
    assert.deepEqual(decideOwnership("c", existing({ Acmebot: V5 })), { ok: true, adopting: false }));
  it("a v4 certificate may be renewed without adopt", () =>
    assert.deepEqual(decideOwnership("c", existing({ Issuer: "Acmebot" })), { ok: true, adopting: false }));
  it("a certificate neither tool manages is refused", () => {
    const d = decideOwnership("c", existing({ owner: "team-x" }));
    assert.equal(d.ok, false);
    assert.equal(d.ok === false && d.code, "CertificateNotManaged");
  });
  it("kv-acme-ignore beats the Acmebot tag", () => {
    const d = decideOwnership("c", existing({ Acmebot: V5, "kv-acme-ignore": "true" }));
    assert.equal(d.ok === false && d.code, "CertificateIgnored");
  });
});
