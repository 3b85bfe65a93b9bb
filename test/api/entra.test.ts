/**
 * Entra ID access tokens validated by the app (src/api/entra.ts), against a local issuer whose JWKS is served over
 * HTTPS with the local CA: issuer, audience, signature from the tenant's keys, lifetime and roles, then the API's
 * decision through runRoute (401 problem bodies, 403 for a missing role) without WEBSITE_AUTH_ENABLED.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { authorize, ROLES, type AuthSettings } from "../../src/api/auth";
import { bearerToken, verifyEntraToken, type EntraSettings } from "../../src/api/entra";
import { runRoute, type ApiRoute } from "../../src/api/routes";
import type { Runtime } from "../../src/app/runtime";
import { startEntraIssuer, type EntraIssuer } from "../support/entra-issuer";

const headers = (h: Record<string, string> = {}) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });

describe("Entra ID access tokens validated in the app", () => {
  let issuer: EntraIssuer;
  let entra: EntraSettings;
  before(async () => {
    issuer = await startEntraIssuer();
    entra = { tenantId: issuer.tenantId, clientId: issuer.clientId, authority: issuer.authority };
  });
  after(() => issuer.close());

  it("accepts a v2.0 token of the tenant for the app, with its roles and name; audience api://<client id> too", async () => {
    const check = await verifyEntraToken(entra, await issuer.token({ roles: [ROLES.issue] }));
    assert.deepEqual(check, { ok: true, principal: { name: "alice@contoso.example", roles: [ROLES.issue] } });
    const apiAudience = await verifyEntraToken(entra, await issuer.token({ aud: `api://${issuer.clientId}`, roles: [] }));
    assert.equal(apiAudience.ok, true);
    assert.equal(issuer.keyRequests(), 1, "the tenant's keys are fetched once and cached");
  });

  it("refuses another audience, another issuer (v1.0 tokens), an expired token, a foreign key, HS256 and garbage", async () => {
    const table: Array<[string, Promise<string> | string, RegExp]> = [
      ["another app's token", issuer.token({ aud: "00000003-0000-0000-c000-000000000000" }), /not for this app/],
      [
        "a v1.0 token (sts.windows.net issuer)",
        issuer.token({ iss: `https://sts.windows.net/${issuer.tenantId}/` }),
        /requestedAccessTokenVersion=2/,
      ],
      ["another tenant's issuer", issuer.token({ iss: `${issuer.authority}/${crypto.randomUUID()}/v2.0` }), /issuer/],
      ["expired two minutes ago", issuer.token({}, { expiresInSeconds: -120 }), /expired/],
      ["signed by a key the tenant does not publish", issuer.token({}, { key: "stranger" }), /not signed by a key of this tenant/],
      ["not yet valid", issuer.token({ nbf: Math.floor(Date.now() / 1000) + 600 }), /"nbf" claim/],
      ["not a JWT", "abc.def.ghi", /malformed/],
    ];
    for (const [name, token, want] of table) {
      const check = await verifyEntraToken(entra, await token);
      assert.equal(check.ok, false, name);
      assert.match(check.ok ? "" : check.reason, want, name);
    }
    const [h, p] = (await issuer.token()).split(".");
    const hs = `${Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url")}.${p}.${h}`;
    assert.equal((await verifyEntraToken(entra, hs)).ok, false, "an HS256 token is refused whatever its key");
  });

  it("fails closed when the tenant's keys cannot be fetched", async () => {
    const elsewhere = { ...entra, tenantId: crypto.randomUUID() };
    const check = await verifyEntraToken(elsewhere, await issuer.token({ iss: `${issuer.authority}/${elsewhere.tenantId}/v2.0` }));
    assert.deepEqual(check, { ok: false, reason: "the tenant's signing keys could not be fetched" });
  });

  it("the API decides on the validated token, not on WEBSITE_AUTH_ENABLED; a forged principal header counts for nothing", async () => {
    const settings: AuthSettings = { mode: "appServiceAuth", platformAuthEnabled: false, entra };
    const route: ApiRoute = {
      name: "t",
      route: "t",
      method: "GET",
      role: ROLES.issue,
      durable: false,
      handler: () => async (_req, ctx) => ({
        status: 200,
        headers: {},
        body: JSON.stringify(ctx.caller),
      }),
    };
    const runtime = () => ({ settings: { auth: settings } }) as unknown as Runtime;
    const call = async (h: Record<string, string>) =>
      runRoute(
        route,
        {
          method: "GET",
          url: "http://localhost/api/t",
          params: {},
          query: new URLSearchParams(),
          headers: headers(h),
          body: new Uint8Array(),
        },
        {
          viaFunctionKey: false,
          logError: () => undefined,
          runtime,
        },
      );
    const ok = await call({ authorization: `Bearer ${await issuer.token({ roles: [ROLES.issue] })}` });
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(String(ok.body)), { kind: "user", name: "alice@contoso.example", roles: [ROLES.read, ROLES.issue] });
    const readOnly = await call({ authorization: `Bearer ${await issuer.token({ roles: [ROLES.read] })}` });
    assert.equal(readOnly.status, 403);
    assert.match(String(readOnly.body), /RoleRequired/);
    const expired = await call({ authorization: `Bearer ${await issuer.token({ roles: [ROLES.issue] }, { expiresInSeconds: -300 })}` });
    assert.equal(expired.status, 401);
    assert.match(String(expired.body), /"code":"InvalidToken"/);
    assert.match(String(expired.body), /the token has expired/);
    assert.equal(expired.headers["www-authenticate"], 'Bearer realm="kv-acme"');
    const forged = Buffer.from(JSON.stringify({ claims: [{ typ: "roles", val: ROLES.issue }] })).toString("base64");
    const anonymous = await call({ "x-ms-client-principal": forged });
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.body), /"code":"AuthenticationRequired"/);
  });

  it("bearerToken reads only an Authorization: Bearer header", () => {
    assert.equal(bearerToken(headers({ authorization: "Bearer abc.def.ghi" })), "abc.def.ghi");
    assert.equal(bearerToken(headers({ authorization: "bearer  abc.def" })), "abc.def");
    assert.equal(bearerToken(headers({ authorization: "Basic dXNlcjpwYXNz" })), undefined);
    assert.equal(bearerToken(headers({ authorization: "Bearer a b" })), undefined);
    assert.equal(bearerToken(headers({})), undefined);
  });

  it("authorize: a refused token is 401 InvalidToken even with the platform's principal; an accepted one gives its roles", () => {
    const settings: AuthSettings = { mode: "appServiceAuth", platformAuthEnabled: true, entra };
    const refused = authorize(settings, headers(), ROLES.read, false, { ok: false, reason: "the token has expired" });
    assert.deepEqual(refused, {
      ok: false,
      status: 401,
      code: "InvalidToken",
      detail: "The bearer token was refused: the token has expired.",
    });
    const accepted = authorize(settings, headers(), ROLES.revoke, false, { ok: true, principal: { name: "app", roles: [ROLES.revoke] } });
    assert.deepEqual(accepted, { ok: true, caller: { kind: "user", name: "app", roles: [ROLES.read, ROLES.revoke] } });
  });
});
