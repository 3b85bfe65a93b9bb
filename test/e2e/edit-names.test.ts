/**
 * Editing a certificate's names end to end, through the local Functions host running the real function app on a
 * private local stack, and through the CLI (--endpoint and direct mode): PUT /certificates/{name}/names re-issues
 * under the same name with the new SANs and everything else kept (key type and curve, exportable, custom tags,
 * preferred chain, issuer pins); the old version stays. Refusals (a bad name, a certificate kv-acme does not manage,
 * one tagged kv-acme-ignore, names another managed certificate has or covers) write nothing.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../../src/cli/run";
import { describeVersion } from "../../src/keyvault/certificates";
import { startTestApp, type TestApp } from "../support/app";
import { runCliProcess } from "../support/cli";
import { clients, txtRecords } from "../integration/helpers";
import { assertProblem, call, certificateState, pollOperation, snapshot } from "../api/support";

const KEY = "edit-names-function-key-0123456789";
let app: TestApp;
let origin: string;
let home: string;

before(async () => {
  app = await startTestApp({ host: { functionKeys: [KEY] } });
  origin = app.host.url;
  home = await mkdtemp(path.join(os.tmpdir(), "kv-acme-names-"));
});
after(async () => {
  await app?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

async function completed(r: { status: number; text: string; headers: Headers }): Promise<Record<string, unknown>> {
  assert.equal(r.status, 202, r.text);
  const { final } = await pollOperation(origin, r.headers.get("location") ?? "");
  assert.equal(final.body.status, "Completed", final.text);
  return final.body.output as Record<string, unknown>;
}

/** Everything a request could change on a certificate (./support certificateState). */
const certState = (name: string): Promise<string> => certificateState(app.stack, name);

async function sans(name: string, version?: string): Promise<string[]> {
  const { certificates } = clients(app.stack);
  const cert = version ? await certificates.getCertificateVersion(name, version) : await certificates.getCertificate(name);
  return [...describeVersion(cert).dnsNames].sort();
}

describe("edit a certificate's names", { concurrency: false }, () => {
  let firstVersion = "";
  let pin = "";

  before(async () => {
    const issued = await completed(
      await call(app.api, "POST", "/certificates", {
        body: {
          dnsNames: ["edit.example.com", "old.example.com"],
          certificateName: "edit-cert",
          keyType: "EC-P384",
          exportable: false,
          preferredChain: "No Such Root",
          tags: { team: "web", costCenter: "cc-7" },
        },
      }),
    );
    firstVersion = String(issued.version);
    const pins = await call(app.api, "GET", "/certificates/edit-cert/issuer-pins");
    assert.equal(pins.status, 200, pins.text);
    pin = pins.body.issuer.thumbprint as string;
    const set = await call(app.api, "PUT", "/certificates/edit-cert/issuer-pins", { body: { issuerPins: [pin] } });
    assert.equal(set.status, 200, set.text);
    // Another managed certificate, with a wildcard: its names (and those it covers) are off limits for the edit.
    await completed(
      await call(app.api, "POST", "/certificates", { body: { dnsNames: ["*.other.example.com"], certificateName: "other-cert" } }),
    );
  });

  it("PUT /names: 202, a new version with the new SANs and the same key, tags, chain and pins; the old version stays", async () => {
    const r = await call(app.api, "PUT", "/certificates/edit-cert/names", { body: { dnsNames: ["edit.example.com", "new.example.com"] } });
    assert.equal(r.headers.get("location"), "/api/operations/kv-acme-certificate-edit-cert");
    assert.deepEqual(r.body.dnsNames, ["edit.example.com", "new.example.com"]);
    const out = await completed(r);
    assert.notEqual(out.version, firstVersion);
    assert.deepEqual(await sans("edit-cert"), ["edit.example.com", "new.example.com"]);
    assert.deepEqual(await sans("edit-cert", firstVersion), ["edit.example.com", "old.example.com"]);

    const got = await call(app.api, "GET", "/certificates/edit-cert");
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.policy.keyType, "EC");
    assert.equal(got.body.policy.keyCurveName, "P-384");
    assert.equal(got.body.policy.exportable, false);
    assert.deepEqual([...got.body.policy.dnsNames].sort(), ["edit.example.com", "new.example.com"]);
    assert.equal(got.body.tags.team, "web");
    assert.equal(got.body.tags.costCenter, "cc-7");
    assert.equal(got.body.tags["kv-acme-preferred-chain"], "No Such Root");
    assert.equal(got.body.tags["kv-acme-dns-names"], "edit.example.com,new.example.com");
    assert.deepEqual(got.body.issuerPins, [pin]);
    assert.ok(
      (got.body.versions as { version: string }[]).some((v) => v.version === firstVersion),
      "the previous version is still in the vault",
    );
    assert.deepEqual(
      Object.keys(await txtRecords(app.stack)).filter((n) => n.includes("_acme-challenge")),
      [],
    );
  });

  it("a bad name, a missing body field or an unknown field: 400 naming them; nothing written", async () => {
    const before = await certState("edit-cert");
    const all = await snapshot(app.stack);
    assertProblem(await call(app.api, "PUT", "/certificates/edit-cert/names", { body: { dnsNames: ["bad..example.com"] } }), 400, [
      "dnsNames[0]",
    ]);
    assertProblem(await call(app.api, "PUT", "/certificates/edit-cert/names", { body: { dnsNames: ["www.not-our-zone.test"] } }), 400);
    assertProblem(await call(app.api, "PUT", "/certificates/edit-cert/names", { body: {} }), 400, ["dnsNames"]);
    assertProblem(
      await call(app.api, "PUT", "/certificates/edit-cert/names", { body: { dnsNames: ["x.example.com"], keyType: "RSA-2048" } }),
      400,
      ["keyType"],
    );
    assertProblem(await call(app.api, "PUT", "/certificates/edit-cert/names?vault=nosuch", { body: { dnsNames: ["x.example.com"] } }), 400);
    assert.equal(await certState("edit-cert"), before);
    assert.equal(await snapshot(app.stack), all);
  });

  it("names another managed certificate has or its wildcard covers: 409 CertificateNamesOverlap; nothing written", async () => {
    const before = await certState("edit-cert");
    const all = await snapshot(app.stack);
    for (const names of [["edit.example.com", "a.other.example.com"], ["*.other.example.com"]]) {
      const r = await call(app.api, "PUT", "/certificates/edit-cert/names", { body: { dnsNames: names } });
      assertProblem(r, 409);
      assert.equal(r.body.code, "CertificateNamesOverlap", r.text);
      assert.match(r.body.detail, /other-cert/);
    }
    assert.equal(await certState("edit-cert"), before);
    assert.equal(await snapshot(app.stack), all);
  });

  it("a certificate kv-acme does not manage, one tagged kv-acme-ignore, one that does not exist: refused, nothing written", async () => {
    const { certificates } = clients(app.stack);
    for (const [name, tags] of [
      ["foreign-cert", { owner: "payments" }],
      ["ignored-cert", { "kv-acme-managed": "true", "kv-acme-ignore": "true" }],
    ] as const) {
      const poller = await certificates.beginCreateCertificate(
        name,
        { issuerName: "Self", subject: `CN=${name}.example.com`, subjectAlternativeNames: { dnsNames: [`${name}.example.com`] } },
        { tags },
      );
      await poller.pollUntilDone();
    }
    const all = await snapshot(app.stack);
    const foreign = await certState("foreign-cert");
    const ignored = await certState("ignored-cert");
    const r1 = await call(app.api, "PUT", "/certificates/foreign-cert/names", { body: { dnsNames: ["foreign2.example.com"] } });
    assertProblem(r1, 409);
    assert.equal(r1.body.code, "CertificateNotManaged");
    const r2 = await call(app.api, "PUT", "/certificates/ignored-cert/names", { body: { dnsNames: ["ignored2.example.com"] } });
    assertProblem(r2, 409);
    assert.equal(r2.body.code, "CertificateIgnored");
    assertProblem(await call(app.api, "PUT", "/certificates/no-such-cert/names", { body: { dnsNames: ["nosuch.example.com"] } }), 404);
    assert.equal(await certState("foreign-cert"), foreign);
    assert.equal(await certState("ignored-cert"), ignored);
    assert.equal(await snapshot(app.stack), all);
  });

  it("kv-acme names with --endpoint and in direct mode re-issue with the new names, keeping the key", async () => {
    let stdout = "";
    let stderr = "";
    const code = await runCli(
      ["--endpoint", origin, "--function-key", KEY, "--json", "names", "edit-cert", "--dns-names", "edit.example.com,cli.example.com"],
      { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {} },
    );
    assert.equal(code, 0, stderr);
    assert.deepEqual([...(JSON.parse(stdout) as { dnsNames: string[] }).dnsNames].sort(), ["cli.example.com", "edit.example.com"]);
    assert.deepEqual(await sans("edit-cert"), ["cli.example.com", "edit.example.com"]);

    const env = { ...process.env, ...app.stack.env, KVACME_HOME: home };
    const direct = await runCliProcess(["--json", "names", "edit-cert", "--dns-names", "edit.example.com,direct.example.com"], env);
    assert.equal(direct.code, 0, direct.stderr);
    assert.deepEqual(await sans("edit-cert"), ["direct.example.com", "edit.example.com"]);
    const { certificates } = clients(app.stack);
    const cert = await certificates.getCertificate("edit-cert");
    assert.equal(cert.policy?.keyCurveName, "P-384");
    assert.equal(cert.properties.tags?.team, "web");

    const bad = await runCliProcess(["names", "edit-cert", "--dns-names", "bad..example.com"], env);
    assert.equal(bad.code, 2, bad.stderr);
    const refused = await runCliProcess(["names", "ignored-cert", "--dns-names", "ignored3.example.com"], env);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /kv-acme-ignore/);
  });
});
