/**
 * Whole outcomes of src/api/http.ts (api-http.test.ts checks statuses): the response shapes (json, accepted,
 * problemResponse, problemFor), each body rule at its edge (the size limit by body and by Content-Length, the media
 * types, empty bodies, non-objects) with the error's code and message, and FieldReader's exact problems.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  FieldReader,
  HttpProblemError,
  MAX_BODY_BYTES,
  accepted,
  json,
  problemFor,
  problemResponse,
  readJsonObject,
  type ApiRequest,
} from "../../src/api/http";
import { problem } from "../../src/api/problem";
import { ValidationError, type FieldProblem } from "../../src/shared/errors";

function req(body: string | Uint8Array, headers: Record<string, string> = { "content-type": "application/json" }): ApiRequest {
  return {
    method: "POST",
    url: "http://h/api/certificates",
    params: {},
    query: new URLSearchParams(),
    headers: new Headers(headers),
    body: typeof body === "string" ? Buffer.from(body) : body,
  };
}

/** What readJsonObject throws: its class, status, code, message and (for a 400) the field problems. */
function failure(fn: () => unknown): { kind: string; status: number; code: string; message: string; problems?: FieldProblem[] } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError)
      return { kind: "ValidationError", status: err.status, code: err.code, message: err.message, problems: err.problems };
    if (err instanceof HttpProblemError) return { kind: "HttpProblemError", status: err.status, code: err.code, message: err.message };
    throw err;
  }
  throw new Error("did not throw");
}

const tooLarge = {
  kind: "HttpProblemError",
  status: 413,
  code: "BodyTooLarge",
  message: `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
};

describe("response shapes", () => {
  it("json: the status, application/json; charset=utf-8, extra headers, the serialized body", () => {
    assert.deepEqual(json(201, { a: 1 }, { etag: '"x"' }), {
      status: 201,
      headers: { "content-type": "application/json; charset=utf-8", etag: '"x"' },
      body: '{"a":1}',
    });
    assert.deepEqual(json(200, [1]), { status: 200, headers: { "content-type": "application/json; charset=utf-8" }, body: "[1]" });
  });

  it("accepted: 202 with Location and Retry-After 5 s unless told otherwise", () => {
    assert.deepEqual(accepted("/api/operations/1", { id: "1" }), {
      status: 202,
      headers: { "content-type": "application/json; charset=utf-8", location: "/api/operations/1", "retry-after": "5" },
      body: '{"id":"1"}',
    });
    assert.equal(accepted("/x", {}, 30).headers["retry-after"], "30");
  });

  it("problemFor is problemResponse of problem(): application/problem+json, the status, the body", () => {
    const extra = { errors: [{ field: "dnsNames", message: "is required" }] };
    const p = problem(400, "ValidationFailed", "one problem", extra);
    assert.deepEqual(problemFor(400, "ValidationFailed", "one problem", extra), problemResponse(p));
    assert.deepEqual(problemResponse(p), { status: 400, headers: { "content-type": "application/problem+json" }, body: JSON.stringify(p) });
  });

  it("HttpProblemError carries its status, code and message", () => {
    const err = new HttpProblemError(415, "UnsupportedMediaType", "send JSON");
    assert.deepEqual([err.status, err.code, err.message], [415, "UnsupportedMediaType", "send JSON"]);
  });
});

describe("readJsonObject: each rule at its edge", () => {
  it("a body of exactly MAX_BODY_BYTES is read; one byte more is 413 BodyTooLarge", () => {
    const exactly = `{"a":"${"x".repeat(MAX_BODY_BYTES - 8)}"}`;
    assert.equal(Buffer.byteLength(exactly), MAX_BODY_BYTES);
    assert.equal((readJsonObject(req(exactly)).a as string).length, MAX_BODY_BYTES - 8);
    assert.deepEqual(
      failure(() => readJsonObject(req(`{"a":"${"x".repeat(MAX_BODY_BYTES - 7)}"}`))),
      tooLarge,
    );
  });

  it("a declared Content-Length above MAX_BODY_BYTES is 413 before the body is looked at; exactly the limit is fine", () => {
    const headers = (length: number) => ({ "content-type": "application/json", "content-length": String(length) });
    assert.deepEqual(
      failure(() => readJsonObject(req("{}", headers(MAX_BODY_BYTES + 1)))),
      tooLarge,
    );
    assert.deepEqual(readJsonObject(req('{"a":1}', headers(MAX_BODY_BYTES))), { a: 1 });
    assert.deepEqual(
      failure(() => readJsonObject(req("", headers(MAX_BODY_BYTES + 1)), { optional: true })),
      tooLarge,
      "an empty optional body with a too large declared length",
    );
  });

  it("an empty body: {} when optional (whatever the content type), else 400 'a JSON object is required'", () => {
    assert.deepEqual(readJsonObject(req("", {}), { optional: true }), {});
    assert.deepEqual(
      failure(() => readJsonObject(req("", {}))),
      {
        kind: "ValidationError",
        status: 400,
        code: "ValidationFailed",
        message: "body: a JSON object is required",
        problems: [{ field: "body", message: "a JSON object is required" }],
      },
    );
  });

  it("media types: application/json in any case and with parameters, application/*+json; others are 415 naming what came", () => {
    for (const type of ["application/json", "APPLICATION/JSON; charset=utf-8", " application/json ;q=1", "application/merge-patch+json"])
      assert.deepEqual(readJsonObject(req('{"a":1}', { "content-type": type })), { a: 1 }, type);
    for (const type of ["text/json", "application/jsonx", "application/json-seq", "text/plain+json", "json"])
      assert.deepEqual(
        failure(() => readJsonObject(req('{"a":1}', { "content-type": type }))),
        {
          kind: "HttpProblemError",
          status: 415,
          code: "UnsupportedMediaType",
          message: `Send the body as application/json (got ${type}).`,
        },
        type,
      );
    assert.deepEqual(
      failure(() => readJsonObject(req('{"a":1}', {}))),
      {
        kind: "HttpProblemError",
        status: 415,
        code: "UnsupportedMediaType",
        message: "Send the body as application/json (got no content type).",
      },
    );
  });

  it("broken JSON is 400 naming the parser's complaint; a JSON value that is not an object is 400 'must be a JSON object'", () => {
    const broken = failure(() => readJsonObject(req("{")));
    assert.equal(broken.status, 400);
    assert.equal(broken.problems?.length, 1);
    assert.equal(broken.problems?.[0]?.field, "body");
    assert.match(broken.problems?.[0]?.message ?? "", /^not valid JSON: \S/);
    for (const body of ["[]", "null", "5", '"text"', "true"])
      assert.deepEqual(failure(() => readJsonObject(req(body))).problems, [{ field: "body", message: "must be a JSON object" }], body);
  });
});

describe("FieldReader: exact problems", () => {
  it("unknown fields are listed with the allowed ones; known ones are not", () => {
    const r = new FieldReader({ dnsNames: [], extra: 1, other: 2 }, ["dnsNames", "vault"]);
    assert.deepEqual(r.problems, [
      { field: "extra", message: "unknown field; allowed: dnsNames, vault" },
      { field: "other", message: "unknown field; allowed: dnsNames, vault" },
    ]);
  });

  it("string and boolean: the value, undefined for absent or null, a problem for another type", () => {
    const r = new FieldReader({ s: "x", n: null, num: 1, b: false, bs: "true" }, ["s", "n", "num", "b", "bs"]);
    assert.equal(r.string("s"), "x");
    assert.equal(r.string("n"), undefined);
    assert.equal(r.string("missing"), undefined);
    assert.equal(r.string("num"), undefined);
    assert.equal(r.boolean("b"), false);
    assert.equal(r.boolean("n"), undefined);
    assert.equal(r.boolean("missing"), undefined);
    assert.equal(r.boolean("bs"), undefined);
    assert.deepEqual(r.problems, [
      { field: "num", message: "must be a string" },
      { field: "bs", message: "must be true or false" },
    ]);
  });

  it("stringList: a list of strings; a string only with allowString; each wrong shape named for its option", () => {
    const body = { list: ["a", "b"], one: "a,b", mixed: ["a", 1], obj: { a: "b" }, nul: null };
    const r = new FieldReader(body, Object.keys(body));
    assert.deepEqual(r.stringList("list"), ["a", "b"]);
    assert.equal(r.stringList("one", { allowString: true }), "a,b");
    assert.equal(r.stringList("nul"), undefined);
    assert.equal(r.stringList("missing", { allowString: true }), undefined);
    assert.equal(r.stringList("one"), undefined);
    assert.equal(r.stringList("mixed", { allowString: true }), undefined);
    assert.equal(r.stringList("obj"), undefined);
    assert.deepEqual(r.problems, [
      { field: "one", message: "must be a list of strings" },
      { field: "mixed", message: "must be a list of strings or a comma-separated string" },
      { field: "obj", message: "must be a list of strings" },
    ]);
  });

  it("stringMap: an object of strings; a list, a string, or an object with another value is a problem", () => {
    const body = { tags: { a: "1", b: "" }, none: {}, list: ["a"], text: "a=1", num: { a: 1 }, mixed: { a: "1", b: 2 }, nul: null };
    const r = new FieldReader(body, Object.keys(body));
    assert.deepEqual(r.stringMap("tags"), { a: "1", b: "" });
    assert.deepEqual(r.stringMap("none"), {}, "an empty object is an object of string values");
    assert.equal(r.stringMap("nul"), undefined);
    assert.equal(r.stringMap("missing"), undefined);
    for (const field of ["list", "text", "num", "mixed"]) assert.equal(r.stringMap(field), undefined, field);
    assert.deepEqual(
      r.problems,
      ["list", "text", "num", "mixed"].map((field) => ({ field, message: "must be an object of string values" })),
    );
  });

  it("require: 'is required' for a missing value unless the field already has a problem; check throws them all at once", () => {
    const r = new FieldReader({ name: 5, given: "x" }, ["name", "given", "absent"]);
    assert.equal(r.require("name", r.string("name")), undefined);
    assert.equal(r.require("absent", r.string("absent")), undefined);
    assert.equal(r.require("given", r.string("given")), "x");
    assert.deepEqual(r.problems, [
      { field: "name", message: "must be a string" },
      { field: "absent", message: "is required" },
    ]);
    assert.throws(
      () => r.check(),
      (err: unknown) =>
        err instanceof ValidationError && err.problems.length === 2 && err.message === "name: must be a string; absent: is required",
    );
    assert.doesNotThrow(() => new FieldReader({ a: "x" }, ["a"]).check());
    const first = new FieldReader({}, ["a"]);
    first.require("a", first.string("a"));
    assert.deepEqual(first.problems, [{ field: "a", message: "is required" }], "the first problem found");
  });
});
