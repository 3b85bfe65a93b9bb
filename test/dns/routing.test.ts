/**
 * Several DNS providers at once and CNAME delegation, end to end over real DNS: the stack's Azure DNS stand-in, BIND 9
 * (rfc2136) and PowerDNS run together (three providers), Pebble asks the stack's DNS server, which forwards the BIND
 * and PowerDNS zones and follows CNAMEs across them like a resolver.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { loadSettings } from "../../src/config/settings";
import { createDnsRouter } from "../../src/dns/registry";
import { issueCertificate } from "../../src/issuance";
import { ConfigurationError, ValidationError } from "../../src/shared/errors";
import { clients, stackDeps } from "../integration/helpers";
import { startTestStack, type TestStack } from "../support/stack";

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ dns: ["rfc2136", "powerdns"] });
});
after(async () => {
  await stack?.close();
});

const label = () => `r${randomBytes(3).toString("hex")}`;

async function cname(zone: string, name: string, target: string): Promise<void> {
  await clients(stack).dns.recordSets.createOrUpdate(stack.info.resourceGroup, zone, name, "CNAME", {
    ttl: 60,
    cnameRecord: { cname: target },
  });
}

async function tagsOf(certificateName: string): Promise<Record<string, string>> {
  return (await clients(stack).certificates.getCertificate(certificateName)).properties.tags ?? {};
}

describe("three DNS providers at once", { concurrency: false }, () => {
  it("lists every provider's zones, each owned by one instance", async () => {
    const zones = await stackDeps(stack).dns.listZones();
    const owners = Object.fromEntries(zones.map((z) => [z.name, z.provider]));
    assert.deepEqual(owners, { "example.com": "azure", "example.org": "azure", "example.net": "rfc2136", "example.edu": "powerdns" });
  });

  it("issues one certificate whose names span two providers; the tag names both", async () => {
    const a = `${label()}.example.com`;
    const b = `${label()}.example.net`;
    const c = `${label()}.example.edu`;
    const result = await issueCertificate({ dnsNames: [a, `*.${b}`, c], certificateName: "spans-providers" }, stackDeps(stack));
    assert.deepEqual(result.dnsNames, [a, `*.${b}`, c]);
    assert.equal((await tagsOf("spans-providers"))["kv-acme-dns-provider"], "azure,powerdns,rfc2136");
  });

  it("a zone claimed by two instances is a configuration error naming both", async () => {
    const bind = stack.dns.rfc2136?.env ?? {};
    const twice: Record<string, string> = { KvAcme__VaultUrl: stack.info.keyVaultUrl, ...bind };
    for (const [k, v] of Object.entries(bind)) twice[k.replace("__rfc2136__", "__bind-again__")] = v;
    const router = createDnsRouter(loadSettings(twice).dns, { credential: stack.credential });
    await assert.rejects(
      router.listZones(),
      (e: unknown) =>
        e instanceof ConfigurationError && /example\.net is claimed by two DNS providers: .*"bind-again".* and .*"rfc2136"/.test(e.message),
    );
  });
});

describe("CNAME delegation of _acme-challenge", { concurrency: false }, () => {
  it("follows a chain through another Azure zone into a BIND zone and writes the TXT there", async () => {
    const name = `${label()}.example.com`;
    const target = `${label()}.example.net`;
    await cname("example.com", `_acme-challenge.${name.split(".")[0]}`, `hop-${target.split(".")[0]}.example.org`);
    await cname("example.org", `hop-${target.split(".")[0]}`, target);
    const result = await issueCertificate({ dnsNames: [name, `*.${name}`], certificateName: "delegated-chain" }, stackDeps(stack));
    assert.deepEqual(result.dnsNames, [name, `*.${name}`]);
    assert.equal((await tagsOf("delegated-chain"))["kv-acme-dns-provider"], "rfc2136", "the BIND instance wrote the values");
  });

  it("a CNAME in a PowerDNS zone sends that name's value into the BIND zone", async () => {
    const pdns = stack.dns.powerdns?.server?.api;
    assert.ok(pdns);
    const owner = `${label()}.example.edu`;
    const target = `${label()}.example.net`;
    const res = await fetch(`${pdns.url}/api/v1/servers/localhost/zones/example.edu.`, {
      method: "PATCH",
      headers: { "X-API-Key": pdns.apiKey, "content-type": "application/json" },
      body: JSON.stringify({
        rrsets: [
          {
            name: `_acme-challenge.${owner}.`,
            type: "CNAME",
            ttl: 60,
            changetype: "REPLACE",
            records: [{ content: `${target}.`, disabled: false }],
          },
        ],
      }),
    });
    assert.equal(res.status, 204);
    const result = await issueCertificate({ dnsNames: [owner], certificateName: "delegated-pdns" }, stackDeps(stack));
    assert.deepEqual(result.dnsNames, [owner]);
    assert.equal((await tagsOf("delegated-pdns"))["kv-acme-dns-provider"], "rfc2136");
  });

  it("a CNAME loop and a dangling CNAME are 400s naming the chain, before anything is written", async () => {
    const loop = label();
    await cname("example.com", `_acme-challenge.${loop}`, `${loop}-b.example.com`);
    await cname("example.com", `${loop}-b`, `_acme-challenge.${loop}.example.com`);
    await assert.rejects(
      issueCertificate({ dnsNames: [`${loop}.example.com`] }, stackDeps(stack)),
      (e: unknown) => e instanceof ValidationError && e.status === 400 && /is a loop/.test(e.message),
    );
    const dangling = label();
    await cname("example.com", `_acme-challenge.${dangling}`, `gone.nowhere.example`);
    await assert.rejects(
      issueCertificate({ dnsNames: [`${dangling}.example.com`] }, stackDeps(stack)),
      (e: unknown) =>
        e instanceof ValidationError && /ends at gone\.nowhere\.example, which is not in any zone kv-acme can write to/.test(e.message),
    );
  });

  it("an explicit dnsAlias writes every name's value at _acme-challenge.<alias> and is kept in the tags", async () => {
    const a = label();
    const b = label();
    const alias = `${label()}.example.net`;
    await cname("example.com", `_acme-challenge.${a}`, `_acme-challenge.${alias}`);
    await cname("example.com", `_acme-challenge.${b}`, `_acme-challenge.${alias}`);
    const result = await issueCertificate(
      { dnsNames: [`${a}.example.com`, `${b}.example.com`], certificateName: "with-alias", dnsAlias: alias },
      stackDeps(stack),
    );
    assert.equal(result.dnsNames.length, 2);
    const tags = await tagsOf("with-alias");
    assert.equal(tags["kv-acme-dns-alias"], alias);
    assert.equal(tags["kv-acme-dns-provider"], "rfc2136");
  });
});
