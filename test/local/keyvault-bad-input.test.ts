/**
 * Malformed requests against the Key Vault stand-in: each gets the documented status and error code, and
 * none changes state (a snapshot of lists, gets and the state files is compared before and after).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createTokenAuthority } from "../../src/local/identity/tokens";
import { generateKeyPairSync } from "node:crypto";
import { kvFetch, startVault, type Vault } from "./support-keyvault";

describe("Key Vault stand-in: bad input", () => {
  let vault: Vault;
  before(async () => {
    vault = await startVault({ maxBodyBytes: 64 * 1024 });
    const created = await kvFetch(vault, "POST", "/certificates/pending-one/create", {
      policy: {
        key_props: { kty: "EC", crv: "P-256" },
        x509_props: { subject: "CN=a.example.com", sans: { dns_names: ["a.example.com"] } },
        issuer: { name: "Unknown" },
      },
    });
    assert.equal(created.status, 202);
    const self = await kvFetch(vault, "POST", "/certificates/self-one/create", {
      policy: { key_props: { kty: "EC", crv: "P-256" }, x509_props: { subject: "CN=b.example.com" }, issuer: { name: "Self" } },
    });
    assert.equal(self.status, 202);
    assert.equal((await kvFetch(vault, "PUT", "/secrets/account-key", { value: "secret-1" })).status, 200);
  });
  after(async () => vault.close());

  async function snapshot(): Promise<string> {
    const parts: unknown[] = [];
    for (const p of [
      "/certificates?includePending=true",
      "/secrets",
      "/certificates/pending-one/pending",
      "/certificates/self-one/",
      "/secrets/account-key/",
      "/deletedcertificates",
    ]) {
      const r = await kvFetch(vault, "GET", p);
      parts.push([p, r.status, r.json]);
    }
    for (const kind of ["certificates", "secrets"]) {
      const dir = path.join(vault.stateDir, kind);
      for (const f of readdirSync(dir).sort()) parts.push([kind, f, readFileSync(path.join(dir, f), "utf8")]);
    }
    return JSON.stringify(parts);
  }

  const otherAuthority = createTokenAuthority(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
  const unknownPolicy = (over: Record<string, unknown>) => ({
    policy: { x509_props: { subject: "CN=x.example.com" }, issuer: { name: "Unknown" }, ...over },
  });

  const cases: Array<{
    name: string;
    method: string;
    path: string;
    body?: string | object;
    token?: () => string | null;
    status: number;
    code: string;
    message?: RegExp;
  }> = [
    {
      name: "malformed JSON on create",
      method: "POST",
      path: "/certificates/new-one/create",
      body: '{"policy": {',
      status: 400,
      code: "BadParameter",
      message: /not valid JSON/,
    },
    { name: "JSON array body", method: "POST", path: "/certificates/new-one/create", body: "[1,2]", status: 400, code: "BadParameter" },
    {
      name: "invalid certificate name",
      method: "POST",
      path: "/certificates/bad_name!/create",
      body: unknownPolicy({}),
      status: 400,
      code: "BadParameter",
      message: /invalid name/,
    },
    {
      name: "name longer than 127",
      method: "PUT",
      path: `/secrets/${"a".repeat(128)}`,
      body: { value: "x" },
      status: 400,
      code: "BadParameter",
    },
    {
      name: "unknown api-version",
      method: "GET",
      path: "/certificates?api-version=9.9",
      status: 400,
      code: "BadParameter",
      message: /not recognized/,
    },
    {
      name: "missing api-version",
      method: "GET",
      path: "/certificates?api-versio=7.4",
      status: 400,
      code: "BadParameter",
      message: /missing/,
    },
    {
      name: "oversized body",
      method: "PUT",
      path: "/secrets/account-key",
      body: { value: "x".repeat(70 * 1024) },
      status: 413,
      code: "RequestEntityTooLarge",
    },
    {
      name: "secret value over 25 KiB",
      method: "PUT",
      path: "/secrets/account-key",
      body: { value: "x".repeat(26 * 1024) },
      status: 400,
      code: "BadParameter",
    },
    {
      name: "missing token",
      method: "PUT",
      path: "/secrets/account-key",
      body: { value: "y" },
      token: () => null,
      status: 401,
      code: "Unauthorized",
    },
    {
      name: "wrong token audience",
      method: "PUT",
      path: "/secrets/account-key",
      body: { value: "y" },
      token: () => vault.token("https://management.azure.com"),
      status: 401,
      code: "Unauthorized",
      message: /audience/,
    },
    {
      name: "expired token",
      method: "PUT",
      path: "/secrets/account-key",
      body: { value: "y" },
      token: () => vault.authority.issue("https://vault.azure.net", { now: Date.now() - 7200_000, lifetimeSeconds: 60 }).token,
      status: 401,
      code: "Unauthorized",
      message: /expired/,
    },
    {
      name: "token signed by another key",
      method: "PUT",
      path: "/secrets/account-key",
      body: { value: "y" },
      token: () => otherAuthority.issue("https://vault.azure.net").token,
      status: 401,
      code: "Unauthorized",
    },
    {
      name: "merge with garbage x5c",
      method: "POST",
      path: "/certificates/pending-one/pending/merge",
      body: { x5c: ["bm90IGEgY2VydGlmaWNhdGU="] },
      status: 400,
      code: "BadParameter",
      message: /x5c/,
    },
    {
      name: "merge with x5c not an array",
      method: "POST",
      path: "/certificates/pending-one/pending/merge",
      body: { x5c: "abc" },
      status: 400,
      code: "BadParameter",
    },
    {
      name: "merge on a Self-issued operation",
      method: "POST",
      path: "/certificates/self-one/pending/merge",
      body: { x5c: ["bm90"] },
      status: 403,
      code: "Forbidden",
    },
    {
      name: "unknown key type",
      method: "POST",
      path: "/certificates/new-one/create",
      body: unknownPolicy({ key_props: { kty: "DSA" } }),
      status: 400,
      code: "BadParameter",
      message: /kty/,
    },
    {
      name: "unknown curve",
      method: "POST",
      path: "/certificates/new-one/create",
      body: unknownPolicy({ key_props: { kty: "EC", crv: "P-999" } }),
      status: 400,
      code: "BadParameter",
      message: /crv/,
    },
    {
      name: "RSA key size 1024",
      method: "POST",
      path: "/certificates/new-one/create",
      body: unknownPolicy({ key_props: { kty: "RSA", key_size: 1024 } }),
      status: 400,
      code: "BadParameter",
      message: /key_size/,
    },
    {
      name: "unknown content type",
      method: "POST",
      path: "/certificates/new-one/create",
      body: unknownPolicy({ secret_props: { contentType: "text/plain" } }),
      status: 400,
      code: "BadParameter",
    },
    {
      name: "no subject and no SANs",
      method: "POST",
      path: "/certificates/new-one/create",
      body: { policy: { x509_props: {}, issuer: { name: "Unknown" } } },
      status: 400,
      code: "BadParameter",
    },
    {
      name: "create while pending inProgress",
      method: "POST",
      path: "/certificates/pending-one/create",
      body: unknownPolicy({}),
      status: 409,
      code: "Forbidden",
      message: /inProgress/,
    },
    {
      name: "cancel with a non-boolean",
      method: "PATCH",
      path: "/certificates/pending-one/pending",
      body: { cancellation_requested: "yes" },
      status: 400,
      code: "BadParameter",
    },
    { name: "maxresults 26", method: "GET", path: "/certificates?maxresults=26", status: 400, code: "BadParameter" },
    { name: "forged skiptoken", method: "GET", path: "/certificates?$skiptoken=%%%", status: 400, code: "BadParameter" },
    {
      name: "tags not strings",
      method: "PATCH",
      path: "/certificates/self-one/",
      body: { tags: { a: 1 } },
      status: 400,
      code: "BadParameter",
    },
    {
      name: "import garbage PFX",
      method: "POST",
      path: "/certificates/new-one/import",
      body: { value: "AAAA" },
      status: 400,
      code: "BadParameter",
    },
    {
      name: "unknown certificate",
      method: "GET",
      path: "/certificates/nope/",
      status: 404,
      code: "CertificateNotFound",
      message: /was not found in this key vault/,
    },
    {
      name: "unknown pending",
      method: "GET",
      path: "/certificates/self-one/pending?request_id=00000000000000000000000000000000",
      status: 404,
      code: "PendingCertificateNotFound",
    },
    { name: "unknown secret", method: "GET", path: "/secrets/nope/", status: 404, code: "SecretNotFound" },
    {
      name: "unknown certificate version",
      method: "GET",
      path: "/certificates/self-one/0123456789abcdef0123456789abcdef",
      status: 404,
      code: "CertificateNotFound",
    },
  ];

  it(`${cases.length} malformed requests each get the documented error and change nothing`, async () => {
    const before = await snapshot();
    for (const c of cases) {
      const token = c.token ? c.token() : vault.token();
      const r = await kvFetch(vault, c.method, c.path, c.body, token);
      assert.equal(r.status, c.status, `${c.name}: status (${r.text})`);
      assert.equal(r.json.error?.code, c.code, `${c.name}: code (${r.text})`);
      assert.equal(typeof r.json.error?.message, "string", `${c.name}: message`);
      if (c.message) assert.match(r.json.error!.message, c.message, c.name);
      if (c.status === 401)
        assert.match(
          r.headers.get("www-authenticate") ?? "",
          /^Bearer authorization="https:\/\/login\.microsoftonline\.com\/[^"]+", resource="https:\/\/vault\.azure\.net"$/,
        );
    }
    assert.equal(await snapshot(), before, "no request changed any state");
  });

  it("the api-version query key is parsed percent-encoded, as the SDK sends it", async () => {
    const r = await kvFetch(vault, "GET", "/certificates?api%2Dversion=7.4");
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.json.value));
  });
});
