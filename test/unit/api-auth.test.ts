import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authorize, effectiveRoles, parseClientPrincipal, ROLES, AuthSettings } from "../../src/api/auth";
import { problemFromError } from "../../src/api/problem";
import { SETTINGS } from "../../src/config/settings";
import { NotFoundError, ValidationError } from "../../src/shared/errors";

function principal(roles: string[], name = "alice@contoso.com"): string {
  const claims = [{ typ: "name", val: name }, ...roles.map((r) => ({ typ: "roles", val: r }))];
  return Buffer.from(JSON.stringify({ auth_typ: "aad", name_typ: "name", role_typ: "roles", claims })).toString("base64");
}
const headers = (h: Record<string, string> = {}) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });

describe("authorize", () => {
  const easyAuth: AuthSettings = { mode: "appServiceAuth", platformAuthEnabled: true };
  const cases: {
    name: string;
    settings: AuthSettings;
    headers: Record<string, string>;
    role: string;
    viaKey?: boolean;
    expect: number | "ok";
  }[] = [
    { name: "unconfigured fails closed", settings: { mode: "unconfigured" }, headers: {}, role: ROLES.read, expect: 401 },
    {
      name: "unconfigured ignores a forged principal",
      settings: { mode: "unconfigured" },
      headers: { "x-ms-client-principal": principal([ROLES.issue]) },
      role: ROLES.read,
      expect: 401,
    },
    {
      name: "easy auth mode without the platform's authentication ignores a forged principal",
      settings: { mode: "appServiceAuth" },
      headers: { "x-ms-client-principal": principal([ROLES.revoke]) },
      role: ROLES.read,
      expect: 401,
    },
    {
      name: "easy auth mode with WEBSITE_AUTH_ENABLED false",
      settings: { mode: "appServiceAuth", platformAuthEnabled: false },
      headers: { "x-ms-client-principal": principal([ROLES.read]) },
      role: ROLES.read,
      expect: 401,
    },
    { name: "easy auth without principal", settings: easyAuth, headers: {}, role: ROLES.read, expect: 401 },
    {
      name: "easy auth with garbage principal",
      settings: easyAuth,
      headers: { "x-ms-client-principal": "!!not-base64-json" },
      role: ROLES.read,
      expect: 401,
    },
    {
      name: "reader may read",
      settings: easyAuth,
      headers: { "x-ms-client-principal": principal([ROLES.read]) },
      role: ROLES.read,
      expect: "ok",
    },
    {
      name: "reader may not issue",
      settings: easyAuth,
      headers: { "x-ms-client-principal": principal([ROLES.read]) },
      role: ROLES.issue,
      expect: 403,
    },
    {
      name: "issuer may read",
      settings: easyAuth,
      headers: { "x-ms-client-principal": principal([ROLES.issue]) },
      role: ROLES.read,
      expect: "ok",
    },
    {
      name: "issuer may not revoke",
      settings: easyAuth,
      headers: { "x-ms-client-principal": principal([ROLES.issue]) },
      role: ROLES.revoke,
      expect: 403,
    },
    { name: "no roles at all", settings: easyAuth, headers: { "x-ms-client-principal": principal([]) }, role: ROLES.read, expect: 403 },
    {
      name: "function key default may issue",
      settings: { mode: "unconfigured", keyRoles: SETTINGS.authKeyRoles.default },
      headers: {},
      role: ROLES.issue,
      viaKey: true,
      expect: "ok",
    },
    {
      name: "function key default may not revoke",
      settings: { mode: "unconfigured", keyRoles: SETTINGS.authKeyRoles.default },
      headers: {},
      role: ROLES.revoke,
      viaKey: true,
      expect: 403,
    },
    {
      name: "function key without key roles has none (fail closed)",
      settings: { mode: "unconfigured" },
      headers: {},
      role: ROLES.read,
      viaKey: true,
      expect: 403,
    },
    {
      name: "function key default may not revoke (loaded settings)",
      settings: { mode: "unconfigured", keyRoles: SETTINGS.authKeyRoles.default },
      headers: {},
      role: ROLES.revoke,
      viaKey: true,
      expect: 403,
    },
    {
      name: "function key with revoke role",
      settings: { mode: "functionKeys", keyRoles: [ROLES.revoke] },
      headers: {},
      role: ROLES.revoke,
      viaKey: true,
      expect: "ok",
    },
    { name: "local principal default has all", settings: { mode: "local" }, headers: {}, role: ROLES.revoke, expect: "ok" },
    {
      name: "local read-only principal",
      settings: { mode: "local", localRoles: [ROLES.read] },
      headers: {},
      role: ROLES.issue,
      expect: 403,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = authorize(c.settings, headers(c.headers), c.role as typeof ROLES.read, c.viaKey);
      if (c.expect === "ok") assert.equal(d.ok, true, JSON.stringify(d));
      else {
        assert.equal(d.ok, false);
        if (!d.ok) assert.equal(d.status, c.expect);
      }
    });
  }
  for (const variable of ["WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME"]) {
    it(`local mode is refused (fail closed, saying why) when the process runs in App Service / Functions (${variable})`, () => {
      const d = authorize({ mode: "local", azureHostVariable: variable }, headers(), ROLES.read);
      assert.equal(d.ok, false);
      if (!d.ok) {
        assert.equal(d.status, 401);
        assert.equal(d.code, "LocalAuthRefused");
        assert.match(d.detail, new RegExp(variable));
        assert.match(d.detail, /KvAcme__Auth__Mode/);
      }
    });
  }
  it("function keys still work on Azure whatever the user-route mode", () => {
    assert.equal(
      authorize(
        { mode: "local", azureHostVariable: "WEBSITE_INSTANCE_ID", keyRoles: SETTINGS.authKeyRoles.default },
        headers(),
        ROLES.read,
        true,
      ).ok,
      true,
    );
  });
  it("says what to configure when closed", () => {
    const d = authorize({ mode: "unconfigured" }, headers(), ROLES.read);
    assert.ok(!d.ok && /App Service Authentication/.test(d.detail) && /function key/.test(d.detail));
  });
});

describe("parseClientPrincipal / effectiveRoles", () => {
  it("reads name and roles", () => {
    assert.deepEqual(parseClientPrincipal(principal([ROLES.read, "Other"], "bob")), { name: "bob", roles: [ROLES.read, "Other"] });
  });
  it("rejects non-JSON", () => assert.equal(parseClientPrincipal(Buffer.from("nope").toString("base64")), undefined));
  it("drops unknown roles and adds read to issue", () => assert.deepEqual(effectiveRoles(["x", ROLES.issue]), [ROLES.read, ROLES.issue]));
});

describe("problemFromError", () => {
  it("validation -> 400 with field errors", () => {
    const p = problemFromError(new ValidationError([{ field: "dnsNames[0]", message: "bad" }]));
    assert.equal(p.status, 400);
    assert.deepEqual(p.errors, [{ field: "dnsNames[0]", message: "bad" }]);
    assert.equal(p.type, "urn:kv-acme:problem:validationfailed");
  });
  it("not found -> 404", () => assert.equal(problemFromError(new NotFoundError("gone")).status, 404));
  it("unknown errors do not leak", () => {
    const p = problemFromError(new Error("secret internal path /x/y"));
    assert.equal(p.status, 500);
    assert.doesNotMatch(p.detail, /secret/);
  });
});
