/**
 * The HTTP API through the real routes on the local Functions host: bad input gets a 400/404/413/415 problem and
 * writes nothing (vault certificates, secrets and DNS record sets compared before and after), and authorization
 * (App Service Authentication principal and roles, fail closed when unconfigured, function keys on /api/automation).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRuntime, setRuntime } from "../../src/app/runtime";
import { startTestApp, type TestApp } from "../support/app";
import { assertProblem, call, principal, snapshot } from "./support";

const KEY = "api-test-function-key-0123456789";
let app: TestApp;

before(async () => {
  app = await startTestApp({ host: { functionKeys: [KEY] } });
});
after(async () => {
  await app?.close();
});

describe("bad input: problem bodies, nothing written", () => {
  let initial: string;
  before(async () => {
    initial = await snapshot(app.stack);
  });
  after(async () => {
    assert.equal(await snapshot(app.stack), initial, "a refused request wrote to the vault or DNS");
  });

  it("POST /certificates validates every field before starting anything", async () => {
    const api = app.api;
    assertProblem(await call(api, "POST", "/certificates", { body: {} }), 400, ["dnsNames"]);
    assertProblem(await call(api, "POST", "/certificates", { body: { dnsNames: ["ok.example.com"], dnsName: "typo" } }), 400, ["dnsName"]);
    const many = await call(api, "POST", "/certificates", {
      body: { dnsNames: ["bad..name.example.com"], keyType: "DSA-1024", certificateName: "no_underscores" },
    });
    assertProblem(many, 400, ["dnsNames[0]", "keyType", "certificateName"]);
    assertProblem(await call(api, "POST", "/certificates", { body: { dnsNames: 42, reuseKey: "yes", exportable: 1 } }), 400, [
      "dnsNames",
      "reuseKey",
      "exportable",
    ]);
    // A 200 KB body of bad names: the problem stays small (listed problems capped, detail short).
    const junk = Array.from({ length: 4000 }, (_, i) => `bad_name_${i}_${"x".repeat(30)}..example.com`);
    const bounded = await call(api, "POST", "/certificates", { body: { dnsNames: junk } });
    assertProblem(bounded, 400);
    assert.ok(bounded.text.length < 16 * 1024, `problem body is ${bounded.text.length} bytes`);
    assert.ok(bounded.body.detail.length <= 1024, `detail is ${bounded.body.detail.length} characters`);
    assert.ok(bounded.body.errors.length <= 50, `${bounded.body.errors.length} errors listed`);
    assert.ok(bounded.body.omittedErrors > 0, "says how many problems were left out");
    // Not IDNA2008: invalid punycode and an emoji label (both passed before and started issuances).
    const idn = await call(api, "POST", "/certificates", { body: { dnsNames: ["xn--a.example.com", "💩.example.com"] } });
    assertProblem(idn, 400, ["dnsNames[0]", "dnsNames[1]"]);
    assert.match(idn.body.detail, /internationalised/);
    const noZone = await call(api, "POST", "/certificates", { body: { dnsNames: ["www.not-our-zone.test"] } });
    assertProblem(noZone, 400);
    assert.ok(noZone.body.errors.length >= 1);
    assert.match(noZone.body.detail, /zone/i);
    assertProblem(await call(api, "POST", "/certificates", { body: "{not json", headers: { "content-type": "application/json" } }), 400, [
      "body",
    ]);
    assertProblem(await call(api, "POST", "/certificates", { body: "[1,2]", headers: { "content-type": "application/json" } }), 400, [
      "body",
    ]);
    assertProblem(
      await call(api, "POST", "/certificates", {
        body: "dnsNames=a.example.com",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
      415,
    );
    const huge = JSON.stringify({ dnsNames: ["a.example.com"], certificateName: "x".repeat(300 * 1024) });
    assertProblem(await call(api, "POST", "/certificates", { body: huge, headers: { "content-type": "application/json" } }), 413);
  });

  it("certificate routes validate the name and answer 404 for what does not exist", async () => {
    const api = app.api;
    assertProblem(await call(api, "POST", "/certificates/bad_name/renew"), 400, ["certificateName"]);
    assertProblem(await call(api, "GET", "/certificates/bad_name"), 400, ["certificateName"]);
    assertProblem(await call(api, "POST", "/certificates/nothing-here/revoke", { body: { reason: "because" } }), 400, ["reason"]);
    assertProblem(await call(api, "POST", "/certificates/nothing-here/revoke", { body: { disable: "yes" } }), 400, ["disable"]);
    assertProblem(await call(api, "GET", "/certificates/nothing-here"), 404);
    assertProblem(await call(api, "POST", "/certificates/nothing-here/renew"), 404);
    // Renew takes no fields: an unknown one is refused before anything is read.
    assertProblem(await call(api, "POST", "/certificates/nothing-here/renew", { body: { dnsNames: ["x.example.com"] } }), 400, [
      "dnsNames",
    ]);
    assertProblem(
      await call(api, "POST", "/certificates/nothing-here/renew", { body: "[1]", headers: { "content-type": "application/json" } }),
      400,
      ["body"],
    );
    assertProblem(await call(api, "POST", "/certificates/nothing-here/revoke", { body: { reason: "superseded" } }), 404);
    assertProblem(await call(api, "GET", "/operations/kv-acme-certificate-nothing-here"), 404);
    assertProblem(await call(api, "GET", "/operations/someone-elses-instance"), 400, ["id"]);
    const unknown = await call(api, "GET", "/no-such-route");
    assert.equal(unknown.status, 404);
  });

  it("pending-operation routes validate their bodies and answer 404 when there is no operation", async () => {
    const api = app.api;
    assertProblem(
      await call(api, "POST", "/certificates/p-bad/pending", { body: { dnsNames: ["ok.example.com"], keyType: "nope" } }),
      400,
      ["keyType"],
    );
    assertProblem(
      await call(api, "POST", "/certificates/p-bad/pending", { body: { dnsNames: ["-bad-.example.com", "*.*.example.com"] } }),
      400,
    );
    assertProblem(await call(api, "POST", "/certificates/p-bad/pending", { body: { keyType: "EC-P256" } }), 400, ["dnsNames"]);
    assertProblem(await call(api, "POST", "/certificates/p-bad/pending/merge", { body: {} }), 400, ["chainPem"]);
    assertProblem(await call(api, "POST", "/certificates/p-bad/pending/merge", { body: { chainPem: "garbage" } }), 400, ["chainPem"]);
    assertProblem(await call(api, "POST", "/certificates/p-bad/pending/merge", { body: { x5c: ["!!notbase64"] } }), 400, ["x5c[0]"]);
    assertProblem(
      await call(api, "POST", "/certificates/p-bad/pending/merge", {
        body: { x5c: [Buffer.from("not a certificate").toString("base64")] },
      }),
      400,
      ["x5c[0]"],
    );
    assertProblem(await call(api, "GET", "/certificates/p-bad/pending"), 404);
    assertProblem(await call(api, "POST", "/certificates/p-bad/pending/cancel"), 404);
    assertProblem(await call(api, "DELETE", "/certificates/p-bad/pending"), 404);
  });
});

describe("authorization through the real routes", () => {
  const withAuth = (env: Record<string, string>) => {
    setRuntime(createRuntime({ ...app.stack.env, ...env }, { credential: app.stack.credential }));
  };
  after(() => {
    setRuntime(app.runtime);
  });

  it("appServiceAuth mode without the platform's authentication refuses even a well-formed principal (it could be forged)", async () => {
    withAuth({ KvAcme__Auth__Mode: "appServiceAuth" });
    const forged = { "x-ms-client-principal": principal("attacker@example.com", ["KvAcme.Read", "KvAcme.Issue", "KvAcme.Revoke"]) };
    const r = await call(app.api, "GET", "/certificates", { headers: forged });
    assertProblem(r, 401);
    assert.equal(r.body.code, "AuthenticationNotConfigured");
    assert.match(r.body.detail, /WEBSITE_AUTH_ENABLED/);
  });

  it("local auth mode published to App Service / Functions refuses every user route with a problem saying why", async () => {
    withAuth({ KvAcme__Auth__Mode: "local", WEBSITE_INSTANCE_ID: "8d4c1a0f", WEBSITE_SITE_NAME: "func-acme" });
    const before = await snapshot(app.stack);
    for (const [method, path, body] of [
      ["GET", "/certificates", undefined],
      ["POST", "/certificates", { dnsNames: ["local-on-azure.example.com"] }],
      ["POST", "/certificates/anything/revoke", {}],
    ] as const) {
      const r = await call(app.api, method, path, { body });
      assertProblem(r, 401);
      assert.equal(r.body.code, "LocalAuthRefused");
      assert.match(r.body.detail, /WEBSITE_INSTANCE_ID/);
    }
    assert.equal(await snapshot(app.stack), before);
  });

  it("App Service Authentication: 401 without a principal, 403 without the role, 200 with it", async () => {
    withAuth({ KvAcme__Auth__Mode: "appServiceAuth", WEBSITE_AUTH_ENABLED: "true" });
    const before = await snapshot(app.stack);
    const none = await call(app.api, "GET", "/certificates");
    assertProblem(none, 401);
    assert.equal(none.body.code, "AuthenticationRequired");
    assert.match(none.headers.get("www-authenticate") ?? "", /Bearer/);
    assertProblem(await call(app.api, "GET", "/certificates", { headers: { "x-ms-client-principal": "%%%not-base64-json" } }), 401);

    const reader = { "x-ms-client-principal": principal("reader@example.com", ["KvAcme.Read"]) };
    const list = await call(app.api, "GET", "/certificates", { headers: reader });
    assert.equal(list.status, 200, list.text);
    assert.ok(Array.isArray(list.body.certificates));
    assert.equal((await call(app.api, "GET", "/dns-zones", { headers: reader })).status, 200);

    const forbidden = await call(app.api, "POST", "/certificates", { headers: reader, body: { dnsNames: ["forbidden.example.com"] } });
    assertProblem(forbidden, 403);
    assert.equal(forbidden.body.code, "RoleRequired");
    assert.match(forbidden.body.detail, /KvAcme\.Issue/);

    const issuer = { "x-ms-client-principal": principal("issuer@example.com", ["KvAcme.Issue"]) };
    const revoke = await call(app.api, "POST", "/certificates/anything/revoke", { headers: issuer, body: {} });
    assertProblem(revoke, 403);
    assert.match(revoke.body.detail, /KvAcme\.Revoke/);
    assertProblem(
      await call(app.api, "POST", "/certificates/p-auth/pending", { headers: reader, body: { dnsNames: ["p-auth.example.com"] } }),
      403,
    );
    const names = await call(app.api, "PUT", "/certificates/p-auth/names", { headers: reader, body: { dnsNames: ["p-auth.example.com"] } });
    assertProblem(names, 403);
    assert.match(names.body.detail, /KvAcme\.Issue/);
    assertProblem(
      await call(app.api, "GET", "/certificates", {
        headers: { "x-ms-client-principal": principal("nobody@example.com", ["Other.Role"]) },
      }),
      403,
    );
    assert.equal(await snapshot(app.stack), before);
  });

  it("unconfigured: every user route refuses with a body saying what to configure", async () => {
    withAuth({ KvAcme__Auth__Mode: "unconfigured" });
    for (const [method, path] of [
      ["GET", "/certificates"],
      ["GET", "/dns-zones"],
      ["POST", "/certificates"],
      ["GET", "/operations/kv-acme-x"],
    ] as const) {
      const r = await call(app.api, method, path, {
        headers: { "x-ms-client-principal": principal("admin@example.com", ["KvAcme.Issue", "KvAcme.Revoke"]) },
      });
      assertProblem(r, 401);
      assert.equal(r.body.code, "AuthenticationNotConfigured");
      assert.match(r.body.detail, /App Service Authentication/);
      assert.match(r.body.detail, /function key/);
    }
  });

  it("function keys: /api/automation routes need a valid key; a key grants Read and Issue but not Revoke", async () => {
    withAuth({ KvAcme__Auth__Mode: "unconfigured" });
    assert.equal((await call(app.api, "GET", "/automation/certificates")).status, 401);
    assert.equal(
      (await call(app.api, "GET", "/automation/certificates", { headers: { "x-functions-key": "wrong-key-wrong-key" } })).status,
      401,
    );
    const ok = await call(app.api, "GET", "/automation/certificates", { headers: { "x-functions-key": KEY } });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(Array.isArray(ok.body.certificates));
    assert.equal((await call(app.api, `GET`, `/automation/dns-zones?code=${KEY}`)).status, 200);
    const revoke = await call(app.api, "POST", "/automation/certificates/anything/revoke", {
      headers: { "x-functions-key": KEY },
      body: {},
    });
    assertProblem(revoke, 403);
    // A key on a user route is no principal.
    assertProblem(await call(app.api, "GET", "/certificates", { headers: { "x-functions-key": KEY } }), 401);
  });
});
