/** The agent report's validation (src/fleet/report.ts) and who may send one (app role KvAcme.Agent). */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { authorize, ROLES } from "../../src/api/auth";
import { SETTINGS } from "../../src/config/settings";
import { parseAgentReport } from "../../src/fleet/report";
import { ValidationError } from "../../src/shared/errors";

// Key material generated at run time (never committed), for the report that must be refused.
const TEST_KEY_PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;

const good = {
  hostId: "0f3c5d2e9a7b4c1d8e6f5a4b3c2d1e0f",
  agentVersion: "0.1.0",
  pollingIntervalInS: 3600,
  certificates: [
    {
      name: "web",
      vaultUrl: "https://myvault.vault.azure.net",
      installedVersion: "0a1b2c3d4e5f",
      thumbprint: "A".repeat(40),
      notAfter: "2027-03-01T00:00:00Z",
      location: "/var/lib/waagent/Microsoft.Azure.KeyVault.Store/myvault.web.0a1b2c3d4e5f",
      bindingsUpdated: ["nginx"],
    },
  ],
};

function fieldsOf(body: Record<string, unknown>): string[] {
  try {
    parseAgentReport(body);
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return err.problems.map((p) => p.field);
  }
  assert.fail("expected a ValidationError");
}

describe("parseAgentReport", () => {
  it("accepts a complete report and normalizes notAfter", () => {
    const r = parseAgentReport(good);
    assert.equal(r.hostId, good.hostId);
    assert.equal(r.certificates[0]!.notAfter, "2027-03-01T00:00:00.000Z");
    assert.deepEqual(r.certificates[0]!.bindingsUpdated, ["nginx"]);
  });

  it("accepts a host that has nothing installed yet, with its last error", () => {
    const r = parseAgentReport({ ...good, certificates: [{ name: "web", lastError: "no installable version yet: pending" }] });
    assert.equal(r.certificates[0]!.installedVersion, undefined);
    assert.equal(r.certificates[0]!.lastError, "no installable version yet: pending");
  });

  const cases: [string, Record<string, unknown>, string[]][] = [
    ["missing host id and version", { pollingIntervalInS: 60, certificates: [] }, ["hostId", "agentVersion"]],
    ["a host id that is not a safe partition key", { ...good, hostId: "a/b#c" }, ["hostId"]],
    ["a polling interval of zero", { ...good, pollingIntervalInS: 0 }, ["pollingIntervalInS"]],
    ["certificates not an array", { ...good, certificates: {} }, ["certificates"]],
    ["an unknown top-level field", { ...good, extra: 1 }, ["extra"]],
    ["a lower-case thumbprint", { ...good, certificates: [{ name: "web", thumbprint: "a".repeat(40) }] }, ["certificates[0].thumbprint"]],
    ["a date that is not ISO 8601", { ...good, certificates: [{ name: "web", notAfter: "March 1" }] }, ["certificates[0].notAfter"]],
    [
      "key material in the error",
      { ...good, certificates: [{ name: "web", lastError: TEST_KEY_PEM.slice(0, 40) }] },
      ["certificates[0].lastError"],
    ],
    [
      "a vault URL with a path",
      { ...good, certificates: [{ name: "web", vaultUrl: "https://v.vault.azure.net/secrets/web" }] },
      ["certificates[0].vaultUrl"],
    ],
    ["the same certificate twice", { ...good, certificates: [{ name: "web" }, { name: "WEB" }] }, ["certificates[1].name"]],
    ["an oversized error", { ...good, certificates: [{ name: "web", lastError: "x".repeat(1025) }] }, ["certificates[0].lastError"]],
    ["too many certificates", { ...good, certificates: Array.from({ length: 91 }, (_, i) => ({ name: `c${i}` })) }, ["certificates"]],
  ];
  for (const [what, body, fields] of cases) {
    it(`refuses ${what}`, () => assert.deepEqual(fieldsOf(body), fields));
  }
});

describe("who may report", () => {
  const headers = { get: () => null };
  it("the local principal and function keys may report; a caller without KvAcme.Agent may not", () => {
    assert.equal(authorize({ mode: "local" }, headers, ROLES.agent).ok, true);
    // Function keys get the default key roles (the settings descriptor's), which include KvAcme.Agent.
    assert.equal(authorize({ mode: "functionKeys", keyRoles: SETTINGS.authKeyRoles.default }, headers, ROLES.agent, true).ok, true);
    const readOnly = authorize({ mode: "functionKeys", keyRoles: [ROLES.read] }, headers, ROLES.agent, true);
    assert.equal(readOnly.ok, false);
    assert.equal(!readOnly.ok && readOnly.status, 403);
  });
  it("an agent identity (KvAcme.Agent only) may not read the fleet or issue", () => {
    const bearer = { ok: true as const, principal: { name: "vm-identity", roles: [ROLES.agent] } };
    const settings = {
      mode: "appServiceAuth" as const,
      entra: { tenantId: "t", clientId: "c", authority: "https://login.microsoftonline.com" },
    };
    assert.equal(authorize(settings, headers, ROLES.agent, false, bearer).ok, true);
    assert.equal(authorize(settings, headers, ROLES.read, false, bearer).ok, false);
    assert.equal(authorize(settings, headers, ROLES.issue, false, bearer).ok, false);
  });
});
