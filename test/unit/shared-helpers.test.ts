/** The small shared helpers (src/shared): one copy each of statusOf, urlOrigin, sleep, parseBoolean and lazyModule. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseBoolean } from "../../src/shared/bool";
import { UpstreamError, statusOf } from "../../src/shared/errors";
import { lazyModule } from "../../src/shared/lazy";
import { sleep } from "../../src/shared/time";
import { describeUrlForError, urlOrigin } from "../../src/shared/url";

describe("statusOf", () => {
  const cases: [string, unknown, number | undefined][] = [
    ["an Azure SDK RestError's statusCode", { statusCode: 404, message: "x" }, 404],
    ["an UpstreamError's status", new UpstreamError("KeyVault", "boom", { status: 503 }), 503],
    ["statusCode wins over status", { statusCode: 409, status: 500 }, 409],
    ["a non-numeric status", { status: "500" }, undefined],
    ["no status at all", new Error("plain"), undefined],
    ["null", null, undefined],
  ];
  for (const [name, err, want] of cases) it(name, () => assert.equal(statusOf(err), want));
});

describe("urlOrigin and describeUrlForError", () => {
  it("keep scheme, host and port, never the path, query or fragment", () => {
    assert.equal(urlOrigin("https://hooks.slack.com/services/T/B/SECRET?x=1#f"), "https://hooks.slack.com");
    assert.equal(urlOrigin("http://127.0.0.1:8443/api/x"), "http://127.0.0.1:8443");
    assert.equal(describeUrlForError("https://hooks.slack.com/services/T/B/SECRET"), '"https://hooks.slack.com/…"');
    assert.equal(describeUrlForError("https://example.net/"), '"https://example.net"');
  });
  it("say nothing of a value that is not an absolute URL", () => {
    assert.equal(urlOrigin("not a url/secret"), undefined);
    assert.equal(urlOrigin("mailto:a@example.com"), undefined);
    assert.equal(describeUrlForError("secret-token"), "a value of 12 characters");
  });
});

describe("sleep", () => {
  it("resolves after the wait", async () => {
    const t0 = Date.now();
    await sleep(20);
    assert.ok(Date.now() - t0 >= 15);
  });
  it("an abort ends the wait early, rejecting with the signal's reason", async () => {
    const ac = new AbortController();
    const waiting = sleep(60_000, ac.signal);
    ac.abort(new Error("shutting down"));
    await assert.rejects(waiting, /shutting down/);
  });
  it("an already aborted signal rejects at once", async () => {
    await assert.rejects(sleep(60_000, AbortSignal.abort(new Error("gone"))), /gone/);
  });
});

describe("parseBoolean", () => {
  const cases: [unknown, "lenient" | "strict", boolean | undefined][] = [
    [true, "strict", true],
    ["true", "strict", true],
    ["false", "strict", false],
    ["yes", "strict", undefined],
    ["TRUE", "strict", undefined],
    [1, "strict", undefined],
    [" Yes ", "lenient", true],
    ["1", "lenient", true],
    ["NO", "lenient", false],
    ["0", "lenient", false],
    [false, "lenient", false],
    ["maybe", "lenient", undefined],
    [null, "lenient", undefined],
  ];
  for (const [value, dialect, want] of cases)
    it(`${JSON.stringify(value)} (${dialect}) is ${String(want)}`, () => assert.equal(parseBoolean(value, dialect), want));
});

describe("lazyModule", () => {
  it("loads the module on first use only, once", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kvacme-lazy-"));
    try {
      const file = path.join(dir, "counted.js");
      writeFileSync(file, "globalThis.__kvacmeLazyLoads = (globalThis.__kvacmeLazyLoads ?? 0) + 1; exports.answer = 42;\n");
      const g = globalThis as { __kvacmeLazyLoads?: number };
      const mod = lazyModule<{ answer: number }>(() => require(file));
      assert.equal(g.__kvacmeLazyLoads, undefined, "not loaded when declared");
      assert.equal(mod().answer, 42);
      assert.equal(mod().answer, 42);
      assert.equal(g.__kvacmeLazyLoads, 1, "loaded once");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
