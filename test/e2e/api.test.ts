/**
 * End to end through the local Functions host running the real function app on a private local stack: issue, 409 on a
 * second issue while one runs, operation polling, list, get, renew, revoke, every pending-operation route (create,
 * show, cancel, delete, merge of an out-of-band chain as PEM and as x5c), the automation routes with a function key,
 * and the CLI in --endpoint mode.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runCli } from "../../src/cli/run";
import { startTestApp, type TestApp } from "../support/app";
import { txtRecords } from "../integration/helpers";
import { assertProblem, call, pollOperation, signCsrOutOfBand } from "../api/support";

const KEY = "e2e-function-key-0123456789abcdef";
let app: TestApp;
let origin: string;

before(async () => {
  // Revocations get a minute to finish inside the request, so each answers 200 with its result (vaults.test.ts: 202).
  app = await startTestApp({ env: { KvAcme__RevokeWaitSeconds: "60" }, host: { functionKeys: [KEY] } });
  origin = app.host.url;
});
after(async () => {
  await app?.close();
});

describe("HTTP API end to end", { concurrency: false }, () => {
  let firstVersion = "";

  it("issues: 202 + Location, 409 for a second issue while it runs, polling to the result; TXT values cleaned", async () => {
    const started = await call(app.api, "POST", "/certificates", {
      body: { dnsNames: ["api.example.com", "*.api.example.com"], certificateName: "api-cert", keyType: "EC-P256" },
    });
    assert.equal(started.status, 202, started.text);
    const location = started.headers.get("location");
    assert.equal(location, "/api/operations/kv-acme-certificate-api-cert");
    assert.ok(Number(started.headers.get("retry-after")) > 0);
    assert.equal(started.body.certificateName, "api-cert");

    const again = await call(app.api, "POST", "/certificates", { body: { dnsNames: ["other.example.com"], certificateName: "api-cert" } });
    assertProblem(again, 409);
    assert.equal(again.body.operation, location);
    const renewMeanwhile = await call(app.api, "POST", "/certificates/api-cert/renew");
    assert.ok(renewMeanwhile.status === 409 || renewMeanwhile.status === 404, renewMeanwhile.text);

    const { final, steps, sawRunning } = await pollOperation(origin, location!);
    assert.ok(sawRunning, "the first poll should find the operation running (202)");
    assert.ok(steps.length >= 2, `custom status steps: ${steps.join(", ")}`);
    assert.equal(final.body.status, "Completed", final.text);
    assert.equal(final.body.id, "kv-acme-certificate-api-cert");
    assert.deepEqual([...final.body.output.dnsNames].sort(), ["*.api.example.com", "api.example.com"]);
    assert.match(final.body.output.thumbprint, /^[0-9A-F]{40}$/);
    firstVersion = final.body.output.version;
    assert.deepEqual(
      Object.keys(await txtRecords(app.stack)).filter((n) => n.includes("_acme-challenge")),
      [],
    );
  });

  it("lists from the list API with management, issuer and the last operation", async () => {
    const r = await call(app.api, "GET", "/certificates");
    assert.equal(r.status, 200, r.text);
    const item = r.body.certificates.find((c: { name: string }) => c.name === "api-cert");
    assert.ok(item, r.text);
    assert.equal(item.managedBy, "kv-acme");
    assert.equal(item.issuer, new URL(app.stack.info.acmeDirectoryUrl).host);
    assert.deepEqual([...item.dnsNames].sort(), ["*.api.example.com", "api.example.com"]);
    assert.ok(Date.parse(item.expiresOn) > Date.now());
    assert.ok(Date.parse(item.notBefore) <= Date.now());
    assert.equal(item.lastOperation.status, "Completed");
    assert.equal(item.lastOperation.reason, "issue");
  });

  it("gets one certificate: current version, versions, policy, tags", async () => {
    const r = await call(app.api, "GET", "/certificates/api-cert");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.current.version, firstVersion);
    assert.equal(r.body.versions.length, 1);
    assert.equal(r.body.policy.keyType, "EC");
    assert.equal(r.body.policy.keyCurveName, "P-256");
    assert.equal(r.body.tags["kv-acme-managed"], "true");
    assert.equal(r.body.lastOperation.status, "Completed");
  });

  it("renews: a new version with the same names", async () => {
    const started = await call(app.api, "POST", "/certificates/api-cert/renew");
    assert.equal(started.status, 202, started.text);
    const { final } = await pollOperation(origin, started.headers.get("location")!);
    assert.equal(final.body.status, "Completed", final.text);
    assert.notEqual(final.body.output.version, firstVersion);
    const one = await call(app.api, "GET", "/certificates/api-cert");
    assert.equal(one.body.versions.length, 2);
    assert.equal(one.body.current.version, final.body.output.version);
    assert.equal(one.body.lastOperation.reason, "renew");
  });

  it("revokes (role Revoke): 200 with the result; a second revocation is 200 with alreadyRevoked true", async () => {
    const first = await call(app.api, "POST", "/certificates/api-cert/revoke", { body: { reason: "superseded" } });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.status, "Completed");
    assert.equal(first.body.output.alreadyRevoked, false);
    assert.equal(first.body.output.reason, "superseded");
    // Revoking again is idempotent: the CA's "already revoked" answer is a success that says so, not a fresh one.
    const second = await call(app.api, "POST", "/certificates/api-cert/revoke", { body: {} });
    assert.equal(second.status, 200, second.text);
    assert.equal(second.body.status, "Completed");
    assert.equal(second.body.output.alreadyRevoked, true, second.text);
  });

  it("pending operation: create returns the CSR, show, 409 on a second create, cancel, delete", async () => {
    const created = await call(app.api, "POST", "/certificates/cancel-me/pending", {
      body: { dnsNames: ["cancel-me.example.org"], keyType: "RSA-2048" },
    });
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.csrPem, /^-----BEGIN CERTIFICATE REQUEST-----/);
    const shown = await call(app.api, "GET", "/certificates/cancel-me/pending");
    assert.equal(shown.status, 200);
    assert.equal(shown.body.status, "inProgress");
    assert.equal(shown.body.csrPem, created.body.csrPem);
    assertProblem(await call(app.api, "POST", "/certificates/cancel-me/pending", { body: { dnsNames: ["cancel-me.example.org"] } }), 409);
    const cancelled = await call(app.api, "POST", "/certificates/cancel-me/pending/cancel");
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.body.cancellationRequested, true);
    const deleted = await call(app.api, "DELETE", "/certificates/cancel-me/pending");
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.body.deleted, true);
    assertProblem(await call(app.api, "GET", "/certificates/cancel-me/pending"), 404);
  });

  it("pending operation: merges a chain obtained out of band, as x5c and as PEM", async () => {
    for (const [name, form] of [
      ["oob-x5c", "x5c"],
      ["oob-pem", "pem"],
    ] as const) {
      const dnsName = `${name}.example.org`;
      const created = await call(app.api, "POST", `/certificates/${name}/pending`, { body: { dnsNames: [dnsName], keyType: "EC-P256" } });
      assert.equal(created.status, 201, created.text);
      const chain = await signCsrOutOfBand(created.body.csrPem, [dnsName]);
      const body =
        form === "x5c"
          ? { x5c: [chain.leafDer.toString("base64"), chain.caDer.toString("base64")] }
          : { chainPem: `${chain.leafPem}\n${chain.caPem}` };
      const merged = await call(app.api, "POST", `/certificates/${name}/pending/merge`, { body });
      assert.equal(merged.status, 200, merged.text);
      assert.deepEqual(merged.body.dnsNames, [dnsName]);
      const one = await call(app.api, "GET", `/certificates/${name}`);
      assert.equal(one.status, 200, one.text);
      assert.equal(one.body.current.thumbprint, merged.body.thumbprint);
      // The pending create wrote kv-acme's tags: the version merged by hand is managed (and renewed by kv-acme).
      assert.equal(one.body.managedBy, "kv-acme");
    }
    const all = await call(app.api, "GET", "/certificates");
    assert.equal(all.body.certificates.find((c: { name: string }) => c.name === "oob-pem").managedBy, "kv-acme");
    const managed = await call(app.api, "GET", "/certificates?managed=true");
    assert.deepEqual(
      managed.body.certificates.map((c: { name: string }) => c.name),
      // cancel-me too: its only version is the one its (deleted) manual pending operation left, tagged by kv-acme.
      ["api-cert", "cancel-me", "oob-pem", "oob-x5c"],
    );
  });

  it("DNS zones", async () => {
    const r = await call(app.api, "GET", "/dns-zones");
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.zones.map((z: { name: string }) => z.name),
      ["example.com", "example.org"],
    );
  });

  it("automation routes with a function key: issue and poll under /api/automation", async () => {
    const headers = { "x-functions-key": KEY };
    const started = await call(app.api, "POST", "/automation/certificates", { headers, body: { dnsNames: ["auto.example.com"] } });
    assert.equal(started.status, 202, started.text);
    assert.equal(started.headers.get("location"), "/api/automation/operations/kv-acme-certificate-auto-example-com");
    const { final } = await pollOperation(origin, started.headers.get("location")!, headers);
    assert.equal(final.body.status, "Completed", final.text);
  });

  it("CLI --endpoint: issue (progress on stderr) and list", async () => {
    const run = async (args: string[], env: Record<string, string> = {}) => {
      let stdout = "";
      let stderr = "";
      const code = await runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env });
      return { code, stdout, stderr };
    };
    const issued = await run([
      "--endpoint",
      origin,
      "--function-key",
      KEY,
      "--json",
      "issue",
      "--dns-names",
      "cli.example.org",
      "--key-type",
      "EC-P384",
    ]);
    assert.equal(issued.code, 0, issued.stderr);
    const result = JSON.parse(issued.stdout);
    assert.equal(result.certificateName, "cli-example-org");
    assert.match(issued.stderr, /kv-acme: operation: started \/api\/automation\/operations\/kv-acme-certificate-cli-example-org/);
    assert.match(issued.stderr, /^kv-acme: (?!operation:)[a-z-]+: /m, "a progress line per step of the operation");
    const listed = await run(["--endpoint", `${origin}/api`, "list"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^cli-example-org\s+\S+\s+kv-acme last:Completed$/m);
    const bad = await run(["--endpoint", origin, "issue", "--dns-names", "bad..name.example.org"]);
    assert.equal(bad.code, 2, bad.stderr);
    const missing = await run(["--endpoint", origin, "pending", "show", "nothing-here"]);
    assert.equal(missing.code, 3, missing.stderr);
    const denied = await run(["--endpoint", origin, "--function-key", "not-the-key-0123456", "list"]);
    assert.equal(denied.code, 78, denied.stderr);
    // The key from the environment (not visible in ps): uses the automation routes.
    const viaEnv = await run(["--endpoint", origin, "--json", "pending", "show", "nothing-here"], { KVACME_FUNCTION_KEY: KEY });
    assert.equal(viaEnv.code, 3, viaEnv.stderr);
    assert.equal((await run(["--endpoint", origin, "list"], { KVACME_FUNCTION_KEY: "not-the-key-0123456" })).code, 78);
  });
});
