/**
 * Problem statuses for upstream failures: a service the app depends on failing with a 5xx, throttling or refusing
 * the app's identity is a 502 or 503 for the caller, never a 500 (the app did not fail) nor the upstream's 401/403
 * (the caller is authorized); an upstream 400/404/409 describes the request and is passed on.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RestError } from "@azure/core-rest-pipeline";
import { problemFromError, upstreamStatus } from "../../src/api/problem";
import { ConflictError, UpstreamError } from "../../src/shared/errors";
import { vaultError } from "../../src/keyvault/certificates";

describe("upstreamStatus", () => {
  const table: [number | undefined, number][] = [
    [503, 503],
    [429, 503],
    [500, 502],
    [502, 502],
    [504, 502],
    [401, 502],
    [403, 502],
    [412, 502],
    [undefined, 502],
    [400, 400],
    [404, 404],
    [409, 409],
  ];
  for (const [upstream, expected] of table) {
    it(`upstream ${upstream ?? "no answer"} -> ${expected}`, () => assert.equal(upstreamStatus(upstream), expected));
  }
});

describe("problemFromError for upstream failures", () => {
  it("a Key Vault 503 is a 503 problem naming the service, with the upstream message", () => {
    const p = problemFromError(vaultError("reading x", new RestError("Service Unavailable", { statusCode: 503 })), "/api/certificates/x");
    assert.equal(p.status, 503);
    assert.equal(p.title, "Service Unavailable");
    assert.equal(p.code, "KeyVaultError");
    assert.equal(p.type, "urn:kv-acme:problem:keyvaulterror");
    assert.equal(p.service, "KeyVault");
    assert.equal(p.instance, "/api/certificates/x");
    assert.match(p.detail, /Key Vault: reading x failed: Service Unavailable/);
  });

  it("a Key Vault 500 and a 403 of the app's identity are 502 Bad Gateway", () => {
    for (const statusCode of [500, 403]) {
      const p = problemFromError(vaultError("reading x", new RestError("boom", { statusCode })));
      assert.equal(p.status, 502, `upstream ${statusCode}`);
      assert.equal(p.title, "Bad Gateway");
    }
  });

  it("an ACME order the CA calls invalid stays 400; a failed revocation keeps its operation", () => {
    assert.equal(problemFromError(new UpstreamError("Acme", "order is invalid", { status: 400 })).status, 400);
    const p = problemFromError(new UpstreamError("Revocation", "failed", { status: 502, details: { operation: "/api/operations/r" } }));
    assert.equal(p.status, 502);
    assert.equal(p.operation, "/api/operations/r");
  });

  it("an unwrapped SDK RestError is a 502/503 UpstreamError problem whose detail does not carry the SDK message", () => {
    const secret = "https://vault.example/secrets/s?api-version=7.5 token=abc";
    const unavailable = problemFromError(new RestError(secret, { statusCode: 503 }));
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.code, "UpstreamError");
    assert.doesNotMatch(unavailable.detail, /token=abc/);
    assert.match(unavailable.detail, /HTTP 503/);
    assert.equal(problemFromError(new RestError(secret, { statusCode: 500 })).status, 502);
  });

  it("errors that are not upstream failures keep their status: 409 conflict, 500 for the unknown", () => {
    assert.equal(problemFromError(new ConflictError("busy", { operation: "/api/operations/o" })).status, 409);
    const unknown = problemFromError(Object.assign(new Error("internal"), { status: 503 }));
    assert.equal(unknown.status, 500, "an error of our own with a status field is not an upstream answer");
    assert.equal(unknown.code, "InternalError");
  });
});
