import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Resolver } from "node:dns/promises";
import type { TokenCredential } from "@azure/core-auth";
import { DnsManagementClient } from "@azure/arm-dns";
import { ensureLocalCa } from "../../src/local/ca";
import { createTokenAuthority, type TokenAuthority } from "../../src/local/identity/tokens";
import { openZoneStore, type ZoneStore } from "../../src/local/dns/zone-store";
import { startArmDnsServer } from "../../src/local/dns/arm-server";
import { startDnsServer } from "../../src/local/dns/dns-server";

const SUB = "00000000-0000-4000-8000-000000000001";
const RG = "kv-acme-local";
const API = "api-version=2018-05-01";

/** A predicate for assert.rejects: a RestError with this status (and code). */
function rejectsWith(status: number, code?: string): (e: unknown) => boolean {
  return (e) => {
    const err = e as { statusCode?: number; code?: string };
    return err.statusCode === status && (code === undefined || err.code === code);
  };
}

function credentialFor(authority: TokenAuthority): TokenCredential {
  return {
    getToken: async (scopes) => {
      const t = authority.issue(String([scopes].flat()[0]));
      return { token: t.token, expiresOnTimestamp: t.claims.exp * 1000 };
    },
  };
}

describe("Azure DNS stand-in (ARM) with @azure/arm-dns", () => {
  let dir: string;
  let store: ZoneStore;
  let authority: TokenAuthority;
  let arm: Awaited<ReturnType<typeof startArmDnsServer>>;
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let client: DnsManagementClient;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kvacme-dns-arm-"));
    const ca = await ensureLocalCa();
    authority = createTokenAuthority(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
    store = await openZoneStore({
      stateDir: dir,
      subscriptionId: SUB,
      seedZones: [
        { name: "example.com", resourceGroup: RG },
        { name: "example.org", resourceGroup: RG },
      ],
      nameServers: ["ns1.kv-acme.test."],
    });
    arm = await startArmDnsServer({ store, authority, tls: await ca.issueServerCertificate(["localhost", "127.0.0.1"]) });
    dns = await startDnsServer({ store });
    client = new DnsManagementClient(credentialFor(authority), SUB, {
      endpoint: arm.url,
      credentialScopes: ["https://management.azure.com/.default"],
    });
  });

  after(async () => {
    await arm?.close();
    await dns?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function raw(
    method: string,
    urlPath: string,
    options: { body?: string | Buffer; token?: string | null; headers?: Record<string, string> } = {},
  ) {
    const token = options.token === undefined ? authority.issue("https://management.azure.com").token : options.token;
    const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${arm.url}${urlPath}`, { method, headers, body: options.body });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as { error?: { code?: string; message?: string } }) : undefined,
      headers: res.headers,
    };
  }

  test("seeded zones have SOA and NS at the apex and list by subscription and resource group", async () => {
    const all = [];
    for await (const z of client.zones.list()) all.push(z);
    assert.deepEqual(all.map((z) => z.name).sort(), ["example.com", "example.org"]);
    const inRg = [];
    for await (const z of client.zones.listByResourceGroup(RG)) inRg.push(z);
    assert.equal(inRg.length, 2);
    const zone = await client.zones.get(RG, "example.com");
    assert.equal(zone.id, `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/dnszones/example.com`);
    assert.deepEqual(zone.nameServers, ["ns1.kv-acme.test."]);
    assert.equal(zone.zoneType, "Public");
    assert.equal(zone.numberOfRecordSets, 2);
    const soa = await client.recordSets.get(RG, "example.com", "@", "SOA");
    assert.equal(soa.soaRecord?.host, "ns1.kv-acme.test");
    assert.equal(soa.fqdn, "example.com.");
    const ns = await client.recordSets.get(RG, "example.com", "@", "NS");
    assert.deepEqual(
      ns.nsRecords?.map((r) => r.nsdname),
      ["ns1.kv-acme.test"],
    );
  });

  test("create a zone, page the lists with $top, update tags, delete through the LRO poller", async () => {
    const created = await client.zones.createOrUpdate(
      RG,
      "Sub.Example.NET",
      { location: "global", tags: { a: "1" } },
      { ifNoneMatch: "*" },
    );
    assert.equal(created.name, "sub.example.net");
    await assert.rejects(
      client.zones.createOrUpdate(RG, "sub.example.net", { location: "global" }, { ifNoneMatch: "*" }),
      rejectsWith(412),
    );
    const names = [];
    for await (const page of client.zones.list({ top: 1 }).byPage()) {
      assert.ok(page.length <= 1);
      names.push(...page.map((z) => z.name));
    }
    assert.deepEqual(names.sort(), ["example.com", "example.org", "sub.example.net"]);
    const updated = await client.zones.update(RG, "sub.example.net", { tags: { b: "2" } });
    assert.deepEqual(updated.tags, { b: "2" });
    assert.notEqual(updated.etag, created.etag);
    await assert.rejects(client.zones.update(RG, "sub.example.net", { tags: {} }, { ifMatch: created.etag }), rejectsWith(412));

    const poller = await client.zones.beginDelete(RG, "sub.example.net", { updateIntervalInMs: 20 });
    await poller.pollUntilDone();
    assert.equal(poller.isDone(), true);
    assert.equal(poller.getOperationState().isCompleted, true);
    assert.equal(poller.getOperationState().error, undefined);
    await assert.rejects(client.zones.get(RG, "sub.example.net"), rejectsWith(404, "ResourceNotFound"));
    assert.equal(store.getZone("sub.example.net"), undefined);
  });

  test("TXT record set lifecycle with ETags, list by type, delete; DNS answers at once", async () => {
    const name = "_acme-challenge.www";
    const first = await client.recordSets.createOrUpdate(
      RG,
      "example.com",
      name,
      "TXT",
      { ttl: 60, txtRecords: [{ value: ["token-1"] }] },
      { ifNoneMatch: "*" },
    );
    assert.equal(first.fqdn, "_acme-challenge.www.example.com.");
    assert.equal(first.type, "Microsoft.Network/dnszones/TXT");
    assert.equal(first.provisioningState, "Succeeded");
    assert.ok(first.etag);
    await assert.rejects(
      client.recordSets.createOrUpdate(
        RG,
        "example.com",
        name,
        "TXT",
        { ttl: 60, txtRecords: [{ value: ["other"] }] },
        { ifNoneMatch: "*" },
      ),
      rejectsWith(412, "PreconditionFailed"),
    );

    const resolver = new Resolver();
    resolver.setServers([`127.0.0.1:${dns.port}`]);
    assert.deepEqual(await resolver.resolveTxt(`${name}.example.com`), [["token-1"]]);

    const second = await client.recordSets.createOrUpdate(
      RG,
      "example.com",
      name,
      "TXT",
      { ttl: 60, txtRecords: [{ value: ["token-1"] }, { value: ["token-2"] }] },
      { ifMatch: first.etag },
    );
    assert.notEqual(second.etag, first.etag);
    await assert.rejects(
      client.recordSets.createOrUpdate(
        RG,
        "example.com",
        name,
        "TXT",
        { ttl: 60, txtRecords: [{ value: ["clobber"] }] },
        { ifMatch: first.etag },
      ),
      rejectsWith(412),
    );
    const patched = await client.recordSets.update(RG, "example.com", name, "TXT", { ttl: 30 }, { ifMatch: second.etag });
    assert.equal(patched.ttl, 30);
    assert.deepEqual(
      patched.txtRecords?.map((r) => r.value),
      [["token-1"], ["token-2"]],
    );
    assert.deepEqual((await resolver.resolveTxt(`${name}.EXAMPLE.com`)).map((r) => r.join("")).sort(), ["token-1", "token-2"]);

    const listed = [];
    for await (const r of client.recordSets.listByType(RG, "example.com", "TXT")) listed.push(r);
    assert.deepEqual(
      listed.map((r) => r.name),
      [name],
    );
    const all = [];
    for await (const r of client.recordSets.listAllByDnsZone(RG, "example.com")) all.push(r);
    assert.deepEqual(all.map((r) => `${r.type?.split("/").pop()} ${r.name}`).sort(), ["NS @", "SOA @", `TXT ${name}`]);

    await assert.rejects(client.recordSets.delete(RG, "example.com", name, "TXT", { ifMatch: second.etag }), rejectsWith(412));
    await client.recordSets.delete(RG, "example.com", name, "TXT", { ifMatch: patched.etag });
    await client.recordSets.delete(RG, "example.com", name, "TXT"); // idempotent: 204
    await assert.rejects(client.recordSets.get(RG, "example.com", name, "TXT"), rejectsWith(404));
    await assert.rejects(resolver.resolveTxt(`${name}.example.com`), (e: NodeJS.ErrnoException) => e.code === "ENOTFOUND");
  });

  test("A, AAAA, CNAME, CAA record sets round-trip; CNAME excludes other data", async () => {
    await client.recordSets.createOrUpdate(RG, "example.org", "www", "A", { ttl: 300, aRecords: [{ ipv4Address: "192.0.2.1" }] });
    await client.recordSets.createOrUpdate(RG, "example.org", "www", "AAAA", { ttl: 300, aaaaRecords: [{ ipv6Address: "2001:db8::1" }] });
    await client.recordSets.createOrUpdate(RG, "example.org", "@", "CAA", {
      ttl: 300,
      caaRecords: [{ flags: 0, tag: "issue", value: "pebble.letsencrypt.org" }],
    });
    const cname = await client.recordSets.createOrUpdate(RG, "example.org", "alias", "CNAME", {
      ttl: 300,
      cnameRecord: { cname: "www.example.org" },
    });
    assert.equal(cname.cnameRecord?.cname, "www.example.org");
    await assert.rejects(
      client.recordSets.createOrUpdate(RG, "example.org", "alias", "A", { ttl: 300, aRecords: [{ ipv4Address: "192.0.2.2" }] }),
      rejectsWith(409),
    );
    const caa = await client.recordSets.get(RG, "example.org", "@", "CAA");
    assert.deepEqual(caa.caaRecords, [{ flags: 0, tag: "issue", value: "pebble.letsencrypt.org" }]);
  });

  test("record set lists page with $top and filter by $recordsetnamesuffix", async () => {
    for (const n of ["p1.paged", "p2.paged", "p3.paged", "other"]) {
      await client.recordSets.createOrUpdate(RG, "example.org", n, "A", { ttl: 60, aRecords: [{ ipv4Address: "192.0.2.50" }] });
    }
    const pages: string[][] = [];
    for await (const page of client.recordSets.listByType(RG, "example.org", "A", { top: 2 }).byPage())
      pages.push(page.map((r) => r.name ?? ""));
    assert.ok(pages.length >= 3, JSON.stringify(pages));
    assert.ok(pages.every((p) => p.length <= 2));
    assert.deepEqual(
      pages.flat().filter((n) => n !== "www"),
      ["other", "p1.paged", "p2.paged", "p3.paged"],
    );
    const suffixed = [];
    for await (const r of client.recordSets.listAllByDnsZone(RG, "example.org", { recordSetNameSuffix: "paged" })) suffixed.push(r.name);
    assert.deepEqual(suffixed, ["p1.paged", "p2.paged", "p3.paged"]);
    await assert.rejects(client.recordSets.update(RG, "example.org", "missing", "A", { ttl: 5 }), rejectsWith(404));
    await assert.rejects(client.recordSets.listByType(RG, "nope.example", "A").next(), rejectsWith(404, "ParentResourceNotFound"));
  });

  test("two concurrent PUTs with the same If-Match: exactly one wins", async () => {
    const base = await client.recordSets.createOrUpdate(RG, "example.org", "race", "TXT", { ttl: 60, txtRecords: [{ value: ["base"] }] });
    const results = await Promise.allSettled(
      ["a", "b", "c"].map((v) =>
        client.recordSets.createOrUpdate(
          RG,
          "example.org",
          "race",
          "TXT",
          { ttl: 60, txtRecords: [{ value: ["base"] }, { value: [v] }] },
          { ifMatch: base.etag },
        ),
      ),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    assert.ok(results.filter((r) => r.status === "rejected").every((r) => rejectsWith(412)((r as PromiseRejectedResult).reason)));
    assert.equal(store.getRecordSet("example.org", "race", "TXT")?.records.TXTRecords?.length, 2);
  });

  test("malformed requests get ARM errors and change no state", async () => {
    const p = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/dnsZones/example.com`;
    const good = JSON.stringify({ properties: { TTL: 60, TXTRecords: [{ value: ["x"] }] } });
    const expired = authority.issue("https://management.azure.com", { now: Date.now() - 7200_000 }).token;
    const before = JSON.stringify(store.listZones().map((z) => [z, store.listRecordSets(z.name)]));
    const version = store.version;
    const cases: {
      label: string;
      method: string;
      path: string;
      body?: string | Buffer;
      token?: string | null;
      status: number;
      code: string;
    }[] = [
      { label: "bad JSON", method: "PUT", path: `${p}/TXT/bad?${API}`, body: "{not json", status: 400, code: "InvalidRequestContent" },
      { label: "JSON array", method: "PUT", path: `${p}/TXT/bad?${API}`, body: "[]", status: 400, code: "InvalidRequestContent" },
      { label: "unknown record type", method: "PUT", path: `${p}/XYZ/bad?${API}`, body: good, status: 400, code: "BadRequest" },
      { label: "bad record set name", method: "PUT", path: `${p}/TXT/bad..name?${API}`, body: good, status: 400, code: "BadRequest" },
      { label: "label too long", method: "PUT", path: `${p}/TXT/${"a".repeat(64)}?${API}`, body: good, status: 400, code: "BadRequest" },
      {
        label: "wrong records for type",
        method: "PUT",
        path: `${p}/TXT/bad?${API}`,
        body: JSON.stringify({ properties: { ARecords: [{ ipv4Address: "192.0.2.1" }] } }),
        status: 400,
        code: "BadRequest",
      },
      {
        label: "bad IPv4",
        method: "PUT",
        path: `${p}/A/bad?${API}`,
        body: JSON.stringify({ properties: { ARecords: [{ ipv4Address: "999.1.1.1" }] } }),
        status: 400,
        code: "BadRequest",
      },
      {
        label: "negative TTL",
        method: "PUT",
        path: `${p}/TXT/bad?${API}`,
        body: JSON.stringify({ properties: { TTL: -1, TXTRecords: [{ value: ["x"] }] } }),
        status: 400,
        code: "BadRequest",
      },
      {
        label: "unknown api-version",
        method: "PUT",
        path: `${p}/TXT/bad?api-version=2099-01-01`,
        body: good,
        status: 400,
        code: "InvalidApiVersionParameter",
      },
      { label: "missing api-version", method: "PUT", path: `${p}/TXT/bad`, body: good, status: 400, code: "MissingApiVersionParameter" },
      {
        label: "oversized body",
        method: "PUT",
        path: `${p}/TXT/bad?${API}`,
        body: Buffer.alloc(1024 * 1024 + 10, 0x20),
        status: 413,
        code: "RequestEntityTooLarge",
      },
      {
        label: "wrong audience",
        method: "PUT",
        path: `${p}/TXT/bad?${API}`,
        body: good,
        token: authority.issue("https://vault.azure.net").token,
        status: 401,
        code: "InvalidAuthenticationTokenAudience",
      },
      {
        label: "expired token",
        method: "PUT",
        path: `${p}/TXT/bad?${API}`,
        body: good,
        token: expired,
        status: 401,
        code: "ExpiredAuthenticationToken",
      },
      {
        label: "missing token",
        method: "PUT",
        path: `${p}/TXT/bad?${API}`,
        body: good,
        token: null,
        status: 401,
        code: "AuthenticationFailed",
      },
      {
        label: "tampered token",
        method: "PUT",
        path: `${p}/TXT/bad?${API}`,
        body: good,
        token: `${authority.issue("https://management.azure.com").token.slice(0, -4)}AAAA`,
        status: 401,
        code: "InvalidAuthenticationToken",
      },
      {
        label: "unknown zone",
        method: "PUT",
        path: `${p.replace("example.com", "nowhere.test")}/TXT/bad?${API}`,
        body: good,
        status: 404,
        code: "ParentResourceNotFound",
      },
      {
        label: "zone in other resource group",
        method: "GET",
        path: `${p.replace(RG, "other-rg")}?${API}`,
        status: 404,
        code: "ResourceNotFound",
      },
      {
        label: "zone without location",
        method: "PUT",
        path: `${p.replace("example.com", "new.example")}?${API}`,
        body: "{}",
        status: 400,
        code: "LocationRequired",
      },
      {
        label: "bad zone name",
        method: "PUT",
        path: `${p.replace("example.com", "bad_zone..x")}?${API}`,
        body: JSON.stringify({ location: "global" }),
        status: 400,
        code: "InvalidZoneName",
      },
      {
        label: "If-None-Match other than *",
        method: "PUT",
        path: `${p}/TXT/bad?${API}`,
        body: good,
        status: 400,
        code: "InvalidIfNoneMatchHeader",
      },
      { label: "delete apex SOA", method: "DELETE", path: `${p}/SOA/@?${API}`, status: 400, code: "BadRequest" },
      {
        label: "CNAME at apex",
        method: "PUT",
        path: `${p}/CNAME/@?${API}`,
        body: JSON.stringify({ properties: { CNAMERecord: { cname: "x.example" } } }),
        status: 400,
        code: "BadRequest",
      },
    ];
    for (const c of cases) {
      const headers = c.label === "If-None-Match other than *" ? { "if-none-match": "abc" } : undefined;
      const res = await raw(c.method, c.path, { body: c.body, token: c.token, headers });
      assert.equal(res.status, c.status, `${c.label}: status ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body?.error?.code, c.code, `${c.label}: ${JSON.stringify(res.body)}`);
      assert.equal(typeof res.body?.error?.message, "string", c.label);
      if (c.status === 401) assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer authorization_uri=/);
    }
    assert.equal(store.version, version);
    assert.equal(JSON.stringify(store.listZones().map((z) => [z, store.listRecordSets(z.name)])), before);
  });

  test("state survives a restart of the store", async () => {
    await client.recordSets.createOrUpdate(RG, "example.com", "persist", "TXT", { ttl: 120, txtRecords: [{ value: ["kept"] }] });
    const reopened = await openZoneStore({
      stateDir: dir,
      subscriptionId: SUB,
      seedZones: [{ name: "example.com", resourceGroup: RG }],
      nameServers: ["ns1.kv-acme.test."],
    });
    const rs = reopened.getRecordSet("example.com", "persist", "TXT");
    assert.deepEqual(rs?.records.TXTRecords, [{ value: ["kept"] }]);
    assert.equal(rs?.etag, store.getRecordSet("example.com", "persist", "TXT")?.etag);
    assert.ok(reopened.getZone("example.org"), "zones not in the seed list are kept");
  });
});
