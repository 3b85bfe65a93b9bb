/** Pure parts of the HTTP API and the CLI's --endpoint mode: body rules, field collection, operation views, problem -> exit code. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FieldReader, MAX_BODY_BYTES, readJsonObject, type ApiRequest } from "../../src/api/http";
import { operationResponse, operationView } from "../../src/api/operations";
import { API_ROUTES } from "../../src/api/routes";
import { apiBase, errorFromProblem } from "../../src/cli/endpoint";
import { exitCodeFor } from "../../src/cli/run";
import { KvAcmeError, ValidationError } from "../../src/shared/errors";

function req(body: string, contentType?: string): ApiRequest {
  const headers = new Headers(contentType ? { "content-type": contentType } : {});
  return { method: "POST", url: "http://h/api/certificates", params: {}, query: new URLSearchParams(), headers, body: Buffer.from(body) };
}

function statusOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    return (err as KvAcmeError).status;
  }
  return 0;
}

describe("request bodies", () => {
  const cases: [string, string, string | undefined, number][] = [
    ["JSON object", '{"a":1}', "application/json; charset=utf-8", 0],
    ["+json media type", '{"a":1}', "application/merge-patch+json", 0],
    ["no content type", '{"a":1}', undefined, 415],
    ["form encoded", "a=1", "application/x-www-form-urlencoded", 415],
    ["broken JSON", "{", "application/json", 400],
    ["array", "[]", "application/json", 400],
    ["null", "null", "application/json", 400],
    ["empty, required", "", "application/json", 400],
    ["too large", `{"a":"${"x".repeat(MAX_BODY_BYTES)}"}`, "application/json", 413],
  ];
  for (const [name, body, type, status] of cases) {
    it(`${name} -> ${status || "ok"}`, () =>
      assert.equal(
        statusOf(() => readJsonObject(req(body, type))),
        status,
      ));
  }
  it("an empty optional body is {}", () => assert.deepEqual(readJsonObject(req(""), { optional: true }), {}));
});

describe("FieldReader", () => {
  it("collects every problem, unknown fields included, into one ValidationError", () => {
    const r = new FieldReader({ a: 1, b: "x", c: ["y", 2], extra: true }, ["a", "b", "c", "d"]);
    r.string("a");
    r.boolean("b");
    r.stringList("c");
    r.require("d", r.string("d"));
    assert.throws(
      () => r.check(),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.deepEqual(err.problems.map((p) => p.field).sort(), ["a", "b", "c", "d", "extra"]);
        return true;
      },
    );
  });
});

describe("operations", () => {
  const base = {
    name: "issueCertificate",
    instanceId: "kv-acme-certificate-a",
    createdTime: new Date(0),
    lastUpdatedTime: "1970-01-01T00:00:01Z",
  };
  it("running -> 202 with Location and Retry-After; automation callers get the automation link", () => {
    const r = operationResponse({ ...base, runtimeStatus: "Running", customStatus: { step: "dns" } }, true);
    assert.equal(r.status, 202);
    assert.equal(r.headers.location, "/api/automation/operations/kv-acme-certificate-a");
    assert.ok(Number(r.headers["retry-after"]) > 0);
    assert.deepEqual(JSON.parse(r.body!).customStatus, { step: "dns" });
  });
  it("failed -> 200 with the error, completed -> 200 with the output", () => {
    assert.deepEqual(operationView({ ...base, runtimeStatus: "Failed", output: "boom" }).error, { message: "boom" });
    const done = operationResponse({ ...base, runtimeStatus: "Completed", output: { version: "v1" } });
    assert.equal(done.status, 200);
    assert.deepEqual(JSON.parse(done.body!).output, { version: "v1" });
    assert.equal(JSON.parse(done.body!).lastUpdatedTime, "1970-01-01T00:00:01.000Z");
  });
});

describe("route table", () => {
  it("has unique function names and unique method + route pairs", () => {
    assert.equal(new Set(API_ROUTES.map((r) => r.name)).size, API_ROUTES.length);
    assert.equal(new Set(API_ROUTES.map((r) => `${r.method} ${r.route}`)).size, API_ROUTES.length);
    for (const r of API_ROUTES) if (r.method === "GET") assert.equal(r.role, "KvAcme.Read", r.name);
  });
});

describe("CLI --endpoint", () => {
  it("maps API problems to the CLI's exit codes", () => {
    const code = (status: number, body = {}) => exitCodeFor(errorFromProblem(status, body, "GET /x"));
    assert.equal(code(400, { errors: [{ field: "dnsNames", message: "bad" }] }), 2);
    assert.equal(code(413), 2);
    assert.equal(code(415), 2);
    assert.equal(code(404), 3);
    assert.equal(code(409), 4);
    assert.equal(code(401), 78);
    assert.equal(code(403), 78);
    assert.equal(code(500), 1);
    assert.equal(code(502), 1);
  });
  it("normalizes the endpoint to the API base", () => {
    assert.equal(apiBase("http://localhost:7071", false).href, "http://localhost:7071/api/");
    assert.equal(apiBase("https://app.azurewebsites.net/api/", true).href, "https://app.azurewebsites.net/api/automation/");
    assert.throws(() => apiBase("not a url", false), /not a URL/);
    assert.throws(() => apiBase("ftp://x", false), /http/);
  });
});
