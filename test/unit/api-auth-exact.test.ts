/**
 * Whole authorization decisions (status, code, detail, or the caller with its kind, name and roles) for each branch
 * of authorize(), and parseClientPrincipal's claim handling: a custom name or role claim type, the second role claim
 * type, the name fallbacks, a principal that is not an object with claims. api-auth.test.ts checks the status of
 * each case; these pin down what the caller is told and who the caller is.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authorize, localCaller, parseClientPrincipal, ROLES, type AuthSettings } from "../../src/api/auth";

const ALL = [ROLES.read, ROLES.issue, ROLES.revoke, ROLES.agent];
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");
const principal = (roles: string[], name = "alice@contoso.com") =>
  encode({
    auth_typ: "aad",
    name_typ: "name",
    role_typ: "roles",
    claims: [{ typ: "name", val: name }, ...roles.map((val) => ({ typ: "roles", val }))],
  });
const headers = (h: Record<string, string> = {}) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });
const ENTRA = { tenantId: "t", clientId: "c1", authority: "https://login.microsoftonline.com" };

describe("authorize: whole decisions", () => {
  it("a function-key caller gets exactly the key roles (Issue implies Read)", () => {
    assert.deepEqual(authorize({ mode: "unconfigured", keyRoles: [ROLES.issue] }, headers(), ROLES.read, true), {
      ok: true,
      caller: { kind: "functionKey", name: "function key", roles: [ROLES.read, ROLES.issue] },
    });
  });

  it("a valid bearer token: the token's principal with its effective roles", () => {
    const bearer = { ok: true as const, principal: { name: "bob", roles: [ROLES.revoke, "Other"] } };
    assert.deepEqual(authorize({ mode: "appServiceAuth", entra: ENTRA }, headers(), ROLES.read, false, bearer as never), {
      ok: true,
      caller: { kind: "user", name: "bob", roles: [ROLES.read, ROLES.revoke] },
    });
  });

  it("a refused bearer token: 401 InvalidToken with the reason", () => {
    assert.deepEqual(authorize({ mode: "appServiceAuth", entra: ENTRA }, headers(), ROLES.read, false, { ok: false, reason: "expired" }), {
      ok: false,
      status: 401,
      code: "InvalidToken",
      detail: "The bearer token was refused: expired.",
    });
  });

  it("a bearer token outside appServiceAuth mode is not consulted: the local principal decides", () => {
    const d = authorize({ mode: "local", localRoles: [ROLES.read] }, headers(), ROLES.read, false, { ok: false, reason: "bad" });
    assert.deepEqual(d, { ok: true, caller: { kind: "local", name: "local developer", roles: [ROLES.read] } });
  });

  it("Entra configured, no token, platform authentication off: 401 asking for a token for the app's audience", () => {
    assert.deepEqual(
      authorize({ mode: "appServiceAuth", entra: ENTRA }, headers({ "x-ms-client-principal": principal([ROLES.read]) }), ROLES.read),
      {
        ok: false,
        status: 401,
        code: "AuthenticationRequired",
        detail: "Send an Entra ID access token for api://c1 (Authorization: Bearer) to use this API.",
      },
    );
  });

  it("Entra configured and platform authentication on, no token: the platform's principal is used", () => {
    const d = authorize(
      { mode: "appServiceAuth", entra: ENTRA, platformAuthEnabled: true },
      headers({ "x-ms-client-principal": principal([ROLES.issue], "carol") }),
      ROLES.issue,
    );
    assert.deepEqual(d, { ok: true, caller: { kind: "user", name: "carol", roles: [ROLES.read, ROLES.issue] } });
  });

  it("appServiceAuth with neither Entra nor platform authentication: 401 AuthenticationNotConfigured saying what to set", () => {
    assert.deepEqual(authorize({ mode: "appServiceAuth" }, headers(), ROLES.read), {
      ok: false,
      status: 401,
      code: "AuthenticationNotConfigured",
      detail:
        "KvAcme__Auth__Mode is appServiceAuth but neither KvAcme__Auth__TenantId and KvAcme__Auth__ClientId (the app then validates Entra ID access tokens itself) nor WEBSITE_AUTH_ENABLED=true is set, so no caller can be trusted and the API stays closed. Set the tenant and client id of the app registration. See docs/deploy.md.",
    });
  });

  it("platform authentication on without a principal: 401 asking to sign in", () => {
    assert.deepEqual(authorize({ mode: "appServiceAuth", platformAuthEnabled: true }, headers(), ROLES.read), {
      ok: false,
      status: 401,
      code: "AuthenticationRequired",
      detail: "Sign in through App Service Authentication to use this API.",
    });
  });

  it("local mode: the local developer with every role, or the roles settings name", () => {
    assert.deepEqual(authorize({ mode: "local" }, headers(), ROLES.revoke), {
      ok: true,
      caller: { kind: "local", name: "local developer", roles: ALL },
    });
    assert.deepEqual(localCaller({ mode: "local", localRoles: [ROLES.agent] }), {
      kind: "local",
      name: "local developer",
      roles: [ROLES.agent],
    });
  });

  it("local mode inside App Service: 401 LocalAuthRefused naming the platform variable", () => {
    assert.deepEqual(authorize({ mode: "local", azureHostVariable: "WEBSITE_INSTANCE_ID" }, headers(), ROLES.read), {
      ok: false,
      status: 401,
      code: "LocalAuthRefused",
      detail:
        "KvAcme__Auth__Mode is local, which gives every anonymous caller the local principal's roles, but this process runs in App Service / Azure Functions (WEBSITE_INSTANCE_ID is set), so the API stays closed. Remove KvAcme__Auth__Mode=local from the app settings and enable App Service Authentication (Entra ID), or use the /api/automation/* routes with a function key. See docs/security.md.",
    });
  });

  it("unconfigured: 401 AuthenticationNotConfigured saying how to open the API", () => {
    assert.deepEqual(authorize({ mode: "unconfigured" } as AuthSettings, headers(), ROLES.read), {
      ok: false,
      status: 401,
      code: "AuthenticationNotConfigured",
      detail:
        "The API is closed because no authentication is configured. Enable App Service Authentication (Entra ID) on the Function App and assign the app roles KvAcme.Read / KvAcme.Issue / KvAcme.Revoke, or call the /api/automation/* routes with a function key. See docs/api.md.",
    });
  });

  it("a missing role: 403 RoleRequired naming the role, the caller and its roles (or none)", () => {
    const easy = { mode: "appServiceAuth" as const, platformAuthEnabled: true };
    assert.deepEqual(authorize(easy, headers({ "x-ms-client-principal": principal([ROLES.issue], "dave") }), ROLES.revoke), {
      ok: false,
      status: 403,
      code: "RoleRequired",
      detail: "This operation needs the app role KvAcme.Revoke; dave has KvAcme.Read, KvAcme.Issue.",
    });
    assert.equal(
      (authorize(easy, headers({ "x-ms-client-principal": principal([], "erin") }), ROLES.read) as { detail: string }).detail,
      "This operation needs the app role KvAcme.Read; erin has none.",
    );
  });
});

describe("authorize: the Entra ID settings only matter in mode appServiceAuth", () => {
  it("mode local with Entra ID configured: the local principal, no token asked for", () => {
    assert.deepEqual(authorize({ mode: "local", entra: ENTRA }, headers(), ROLES.read), {
      ok: true,
      caller: localCaller({ mode: "local" }),
    });
  });

  it("mode unconfigured with Entra ID configured: still closed as not configured, not asking for a token", () => {
    const decision = authorize({ mode: "unconfigured", entra: ENTRA }, headers(), ROLES.read);
    assert.equal(decision.ok, false);
    assert.equal(!decision.ok && decision.code, "AuthenticationNotConfigured");
  });
});

describe("parseClientPrincipal: claims", () => {
  it("a custom name claim type and role claim type are honoured", () => {
    const header = encode({
      name_typ: "upn",
      role_typ: "grp",
      claims: [
        { typ: "name", val: "fallback" },
        { typ: "upn", val: "frank@contoso.com" },
        { typ: "grp", val: ROLES.read },
        { typ: "other", val: ROLES.issue },
      ],
    });
    assert.deepEqual(parseClientPrincipal(header), { name: "frank@contoso.com", roles: [ROLES.read] });
  });

  it("without role_typ the roles claim counts, and so does the role claim URI", () => {
    const header = encode({
      claims: [
        { typ: "roles", val: ROLES.read },
        { typ: "http://schemas.microsoft.com/ws/2008/06/identity/claims/role", val: ROLES.revoke },
        { typ: "role", val: ROLES.issue },
        { typ: "", val: ROLES.agent },
      ],
    });
    assert.deepEqual(parseClientPrincipal(header), { name: "unknown", roles: [ROLES.read, ROLES.revoke] }, 'a claim of type "" is no role');
  });

  it("the name falls back through name, preferred_username, the name claim URI and appid", () => {
    const of = (typ: string) => parseClientPrincipal(encode({ claims: [{ typ, val: `by-${typ.length}` }] }))?.name;
    assert.equal(of("preferred_username"), "by-18");
    assert.equal(of("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"), "by-58");
    assert.equal(of("appid"), "by-5");
    assert.equal(
      parseClientPrincipal(
        encode({
          claims: [
            { typ: "appid", val: "app" },
            { typ: "name", val: "n" },
          ],
        }),
      )?.name,
      "n",
    );
  });

  it("no header, JSON null, or claims that are not a list: no principal", () => {
    assert.equal(parseClientPrincipal(""), undefined);
    assert.equal(parseClientPrincipal(null), undefined);
    assert.equal(parseClientPrincipal(encode(null)), undefined);
    assert.equal(parseClientPrincipal(encode({ claims: { typ: "roles" } })), undefined);
  });
});
