/**
 * Whole problem bodies (RFC 9457) for each kind of error, and the bounds on their size at the edges: the title of
 * every status, `detail` clipped at 1024 characters, at most 50 field problems (the rest counted), each field and
 * message clipped, the ValidationError detail listing five problems, KvAcmeError statuses outside 4xx/5xx, and which
 * details reach the body (only a string operation or service, ownership tags, overlaps). api-problem.test.ts checks
 * the upstream status mapping field by field.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RestError } from "@azure/core-rest-pipeline";
import { problemResponse } from "../../src/api/http";
import { PROBLEM_LIMITS, problem, problemFromError } from "../../src/api/problem";
import { ConflictError, KvAcmeError, OwnershipError, UpstreamError, ValidationError } from "../../src/shared/errors";

const clipped = (c: string, n: number) => `${c.repeat(n - 1)}…`;

describe("problemResponse: RFC 9457's media type", () => {
  it("is sent as application/problem+json with the problem's status and body", () => {
    const p = problem(409, "Conflict", "the certificate is being renewed");
    assert.deepEqual(problemResponse(p, { "retry-after": "5" }), {
      status: 409,
      headers: { "content-type": "application/problem+json", "retry-after": "5" },
      body: JSON.stringify(p),
    });
  });
});

describe("problem(): the body and its bounds", () => {
  const titles: [number, string][] = [
    [400, "Bad Request"],
    [401, "Unauthorized"],
    [403, "Forbidden"],
    [404, "Not Found"],
    [405, "Method Not Allowed"],
    [409, "Conflict"],
    [413, "Content Too Large"],
    [415, "Unsupported Media Type"],
    [500, "Internal Server Error"],
    [502, "Bad Gateway"],
    [503, "Service Unavailable"],
    [418, "Error"],
  ];
  for (const [status, title] of titles) {
    it(`status ${status} is titled "${title}"`, () => {
      assert.deepEqual(problem(status, "SomeCode", "d"), {
        type: "urn:kv-acme:problem:somecode",
        title,
        status,
        detail: "d",
        code: "SomeCode",
      });
    });
  }

  it("the limits are 1024 / 50 / 240 / 80", () => {
    assert.deepEqual({ ...PROBLEM_LIMITS }, { detail: 1024, listedErrors: 50, errorMessage: 240, field: 80 });
  });

  it("a 1024-character detail is kept, a 1025-character one is cut to 1023 characters and an ellipsis", () => {
    assert.equal(problem(400, "C", "d".repeat(1024)).detail, "d".repeat(1024));
    assert.equal(problem(400, "C", "d".repeat(1025)).detail, clipped("d", 1024));
  });

  it("50 field problems are all listed; 51 list 50 and count 1 omitted; fields and messages clipped at 80 / 240", () => {
    const fifty = Array.from({ length: 50 }, (_, i) => ({ field: `f${i}`, message: "m" }));
    const fiftyBody = problem(400, "C", "d", { errors: fifty });
    assert.deepEqual(fiftyBody.errors, fifty);
    assert.equal("omittedErrors" in fiftyBody, false);
    const long = [{ field: "f".repeat(81), message: "m".repeat(241) }, ...fifty];
    const body = problem(400, "C", "d", { errors: long });
    assert.equal(body.errors?.length, 50);
    assert.deepEqual(body.errors?.[0], { field: clipped("f", 80), message: clipped("m", 240) });
    assert.deepEqual(body.errors?.[1], { field: "f0", message: "m" });
    assert.equal(body.omittedErrors, 1);
    const edge = problem(400, "C", "d", { errors: [{ field: "f".repeat(80), message: "m".repeat(240) }] });
    assert.deepEqual(edge.errors, [{ field: "f".repeat(80), message: "m".repeat(240) }]);
  });
});

describe("problemFromError: whole bodies", () => {
  it("a ValidationError of five problems lists all five in detail, with no 'more'", () => {
    const problems = Array.from({ length: 5 }, (_, i) => ({ field: `f${i}`, message: `m${i}` }));
    assert.deepEqual(problemFromError(new ValidationError(problems), "/api/x"), {
      type: "urn:kv-acme:problem:validationfailed",
      title: "Bad Request",
      status: 400,
      detail: "f0: m0; f1: m1; f2: m2; f3: m3; f4: m4",
      code: "ValidationFailed",
      errors: problems,
      instance: "/api/x",
    });
  });

  it("a ValidationError of seven lists five and says 2 more; a long message is clipped at 160 in detail, a long field at 80", () => {
    const problems = [
      { field: "g".repeat(81), message: "m".repeat(161) },
      ...Array.from({ length: 6 }, (_, i) => ({ field: `f${i}`, message: "m" })),
    ];
    const p = problemFromError(new ValidationError(problems));
    assert.equal(p.detail, `${clipped("g", 80)}: ${clipped("m", 160)}; f0: m; f1: m; f2: m; f3: m; and 2 more (see errors)`);
    assert.equal(p.errors?.length, 7);
  });

  it("an UpstreamError names its service and a string operation; a non-string operation is left out", () => {
    assert.deepEqual(
      problemFromError(new UpstreamError("Revocation", "failed", { status: 503, details: { operation: "/api/operations/r" } }), "/i"),
      {
        type: "urn:kv-acme:problem:revocationerror",
        title: "Service Unavailable",
        status: 503,
        detail: "failed",
        code: "RevocationError",
        instance: "/i",
        service: "Revocation",
        operation: "/api/operations/r",
      },
    );
    const p = problemFromError(new UpstreamError("Acme", "x", { details: { operation: 7 } }));
    assert.equal("operation" in p, false);
    assert.equal(p.service, "Acme");
  });

  it("an unwrapped RestError: UpstreamError with the status only", () => {
    assert.deepEqual(problemFromError(new RestError("secret details", { statusCode: 500 }), "/i"), {
      type: "urn:kv-acme:problem:upstreamerror",
      title: "Bad Gateway",
      status: 502,
      detail: "A service the app depends on answered HTTP 500; the operation log has the details.",
      code: "UpstreamError",
      instance: "/i",
    });
  });

  it("an error named RestError without a status, or with a status but another name, is an internal error", () => {
    const internal = {
      type: "urn:kv-acme:problem:internalerror",
      title: "Internal Server Error",
      status: 500,
      detail: "The request failed unexpectedly; the operation log has the details.",
      code: "InternalError",
      instance: undefined,
    };
    assert.deepEqual(problemFromError(Object.assign(new Error("x"), { name: "RestError" })), internal);
    assert.deepEqual(problemFromError(Object.assign(new Error("x"), { statusCode: 503 })), internal);
    assert.deepEqual(problemFromError("a string"), internal);
  });

  it("a KvAcmeError keeps a status from 400 to 599; 399 and 600 become 500", () => {
    for (const [status, want] of [
      [400, 400],
      [599, 599],
      [399, 500],
      [600, 500],
    ] as const) {
      assert.equal(problemFromError(new KvAcmeError("Odd", "odd", status)).status, want, `status ${status}`);
    }
  });

  it("a conflict names a string operation only; an ownership refusal its certificate and tags; overlaps only as a list", () => {
    assert.deepEqual(problemFromError(new ConflictError("busy", { operation: "/api/operations/o" })), {
      type: "urn:kv-acme:problem:conflict",
      title: "Conflict",
      status: 409,
      detail: "busy",
      code: "Conflict",
      instance: undefined,
      operation: "/api/operations/o",
    });
    assert.equal("operation" in problemFromError(new ConflictError("busy", { operation: 1 })), false);
    const owned = problemFromError(
      new OwnershipError("CertificateNotManaged", "not ours", { certificateName: "c", ownerTags: { a: "b" } }),
    );
    assert.equal(owned.certificateName, "c");
    assert.deepEqual(owned.ownerTags, { a: "b" });
    assert.equal("ownerTags" in problemFromError(new ConflictError("x", { certificateName: "c", ownerTags: {} })), false);
    assert.deepEqual(problemFromError(new ConflictError("x", { overlaps: [{ certificateName: "o" }] })).overlaps, [
      { certificateName: "o" },
    ]);
    assert.equal("overlaps" in problemFromError(new ConflictError("x", { overlaps: "o" })), false);
  });
});
