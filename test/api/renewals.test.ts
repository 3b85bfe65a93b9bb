/** GET /api/renewals: each managed certificate's renewal schedule (next time, rule, ARI window, failures), read role. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { clients } from "../integration/helpers";
import { startTestApp, type TestApp } from "../support/app";
import { assertProblem, call, pollOperation } from "./support";

let app: TestApp;

before(async () => {
  app = await startTestApp();
  const started = await call(app.api, "POST", "/certificates", {
    body: { dnsNames: ["renew-view.example.com"], certificateName: "renew-view" },
  });
  assert.equal(started.status, 202, started.text);
  const { final } = await pollOperation(app.host.url, started.headers.get("location")!);
  assert.equal(final.body.status, "Completed", final.text);
  // An unmanaged certificate (no kv-acme tags) has no schedule.
  await (
    await clients(app.stack).certificates.beginCreateCertificate("not-managed", { issuerName: "Self", subject: "CN=nm.example.com" })
  ).pollUntilDone();
});
after(async () => {
  await app?.close();
});

describe("GET /api/renewals", () => {
  it("lists managed certificates only, with the next renewal time, the rule that sets it and the decision", async () => {
    const r = await call(app.api, "GET", "/renewals");
    assert.equal(r.status, 200, r.text);
    assert.ok(Math.abs(Date.parse(r.body.generatedAt) - Date.now()) < 60_000);
    assert.deepEqual(
      r.body.renewals.map((x: { name: string }) => x.name),
      ["renew-view"],
    );
    const [v] = r.body.renewals;
    assert.deepEqual(v.dnsNames, ["renew-view.example.com"]);
    const nb = Date.parse(v.notBefore);
    const na = Date.parse(v.expiresOn);
    const renewAt = Date.parse(v.renewAt);
    assert.ok(renewAt > nb && renewAt < na, JSON.stringify(v));
    assert.ok(["percent", "days"].includes(v.rule), v.rule);
    assert.equal(v.due, false);
    assert.equal(v.reason, "NotDue");
    assert.match(v.message, /^due at /);
    assert.ok(["unsupported", "used", "skipped", "failed"].includes(v.ari));
    assert.equal(v.lastFailure, undefined);
  });

  it("narrows to one certificate with ?name=, empty for a name it does not manage, 400 for a malformed name", async () => {
    const one = await call(app.api, "GET", "/renewals?name=renew-view");
    assert.equal(one.body.renewals.length, 1);
    assert.deepEqual((await call(app.api, "GET", "/renewals?name=not-managed")).body.renewals, []);
    assertProblem(await call(app.api, "GET", "/renewals?name=bad_name!"), 400, ["certificateName"]);
  });
});
