/**
 * The ignore tag end to end: a certificate kv-acme issued and manages, then tagged kv-acme-ignore=true, is never a
 * renewal candidate (the managed inventory, GET /api/renewals, the timer's renewal run and `kv-acme renew --all-due`
 * leave it out although it is as due as the certificate beside it, which they renew), and every writing route and
 * command refuses it (409 CertificateIgnored / exit 4): renew, revoke, edit names, issue with adopt, issuer pins, and
 * the pending operations (create, cancel, delete, merge). Its versions, leaf, policy, tags and pending state stay
 * byte-identical throughout, and no webhook ever names it (a refused renewal was never attempted, so it is no
 * `certificate.renewal_failed`). Both checks are needed: the inventory filter (src/keyvault/inventory.ts) and the
 * ownership decision (src/keyvault/tags.ts decideOwnership); without either, a part of this file fails.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { issueCertificate } from "../../src/issuance";
import { JumpingClock } from "../../src/local/host";
import { RENEW_ALL_INSTANCE_ID } from "../../src/orchestrations/ids";
import type { RenewalSummary } from "../../src/renewal/run";
import { derToPem } from "../../src/shared/x509";
import { clients } from "../integration/helpers";
import { startTestApp, type TestApp } from "../support/app";
import { runCliProcess } from "../support/cli";
import { assertProblem, call, snapshot } from "../api/support";
import { startReceiver, type Receiver } from "../notify/receiver";

const IGNORED = "frozen-real";
const WATCHED = "watched";

let app: TestApp;
let home: string;
// The host's clock, moved forward so that both certificates are due; the CLI processes run on the same clock.
const clock = new JumpingClock();
// 5-minute certificates renewed at 1 % of their lifetime: due 3 s after issuance. Every event goes to `hooks`.
const env: Record<string, string> = { KvAcme__RenewAtPercentOfLifetime: "1" };
let hooks: Receiver;

/** The events the app and the CLI sent that name `name` (CloudEvents `subject` or `data.certificateName`). */
function eventsNaming(name: string): string[] {
  return hooks.received
    .map((r) => JSON.parse(r.rawBody.toString("utf8")) as { type: string; subject?: string; data?: { certificateName?: string } })
    .filter((e) => e.subject === name || e.data?.certificateName === name)
    .map((e) => e.type.replace(/^com\.github\.kv-acme\./, ""));
}

before(async () => {
  hooks = await startReceiver([], { status: 204 }, "/events");
  Object.assign(env, { KvAcme__Webhooks__0__Url: hooks.url, KvAcme__Webhooks__0__Format: "generic", KvAcme__Webhooks__0__Events: "*" });
  app = await startTestApp({ stack: { pebble: { validityPeriodSeconds: 300 } }, env, host: { clock } });
  home = await mkdtemp(path.join(os.tmpdir(), "kv-acme-ignore-"));
  for (const [name, dnsName] of [
    [IGNORED, "frozen-real.example.com"],
    [WATCHED, "watched.example.com"],
  ] as const)
    await issueCertificate({ dnsNames: [dnsName], certificateName: name, keyOptions: { keyType: "EC-P256" } }, app.runtime.deps);
  const { certificates } = clients(app.stack);
  const cert = await certificates.getCertificate(IGNORED);
  await certificates.updateCertificateProperties(IGNORED, cert.properties.version ?? "", {
    tags: { ...cert.properties.tags, "kv-acme-ignore": "true" },
  });
  await clock.jump(3500);
});
after(async () => {
  await app?.close();
  await hooks?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

/** Everything kv-acme could change on the certificate: every version (attributes, tags, thumbprint), leaf, policy, pending. */
async function certState(name: string): Promise<string> {
  const { certificates } = clients(app.stack);
  const cert = await certificates.getCertificate(name);
  const versions: unknown[] = [];
  for await (const v of certificates.listPropertiesOfCertificateVersions(name))
    versions.push({
      version: v.version,
      enabled: v.enabled,
      tags: v.tags,
      thumbprint: Buffer.from(v.x509Thumbprint ?? []).toString("hex"),
      notBefore: v.notBefore?.toISOString(),
      expiresOn: v.expiresOn?.toISOString(),
      updatedOn: v.updatedOn?.toISOString(),
    });
  const pending = await certificates.getCertificateOperation(name).then(
    (p) => p.getOperationState().certificateOperation?.status ?? "none",
    () => "none",
  );
  return JSON.stringify({
    versions: versions.sort((a, b) => String((a as { version: string }).version).localeCompare(String((b as { version: string }).version))),
    cer: Buffer.from(cert.cer ?? []).toString("base64"),
    policy: cert.policy,
    tags: cert.properties.tags,
    pending,
  });
}

const cli = (args: string[]) =>
  runCliProcess(args, { ...process.env, ...app.stack.env, ...env, KVACME_HOME: home }, { clockOffsetMs: clock.now() - Date.now() });

describe("a certificate tagged kv-acme-ignore=true", { concurrency: false }, () => {
  let frozen = "";
  before(async () => {
    frozen = await certState(IGNORED);
  });

  it("is no renewal candidate: not in the managed inventory nor in GET /api/renewals (the other certificate is)", async () => {
    const managed = await call(app.api, "GET", "/certificates?managed=true");
    assert.equal(managed.status, 200, managed.text);
    const names = (managed.body.certificates as { name: string }[]).map((c) => c.name);
    assert.ok(names.includes(WATCHED), managed.text);
    assert.ok(!names.includes(IGNORED), managed.text);
    const renewals = await call(app.api, "GET", "/renewals");
    assert.equal(renewals.status, 200, renewals.text);
    const scheduled = (renewals.body.renewals as { name: string }[]).map((r) => r.name);
    assert.ok(scheduled.includes(WATCHED), renewals.text);
    assert.ok(!scheduled.includes(IGNORED), renewals.text);
    const one = await call(app.api, "GET", `/renewals?name=${IGNORED}`);
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.body.renewals, []);
    const listed = await cli(["--json", "renewals"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(!listed.stdout.includes(IGNORED), listed.stdout);
  });

  it(
    "the timer's renewal run and `kv-acme renew --all-due` renew the other certificate and never this one",
    { timeout: 240_000 },
    async () => {
      await app.host.fireTimer("renewalTimer");
      const status = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 180_000);
      assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
      const timer = status.output as RenewalSummary;
      assert.deepEqual(
        timer.renewed.map((r) => r.certificateName),
        [WATCHED],
        JSON.stringify(timer),
      );
      assert.ok(!JSON.stringify(timer).includes(IGNORED), JSON.stringify(timer));
      assert.equal(await certState(IGNORED), frozen);

      await clock.jump(3500); // the renewed one is due again
      for (const args of [
        ["--json", "renew", "--all-due", "--dry-run"],
        ["--json", "renew", "--all-due"],
      ]) {
        const r = await cli(args);
        assert.equal(r.code, 0, r.stderr);
        const summary = JSON.parse(r.stdout) as RenewalSummary;
        assert.deepEqual(
          summary.due.map((d) => d.certificateName),
          [WATCHED],
          r.stdout,
        );
        assert.ok(!r.stdout.includes(IGNORED), r.stdout);
      }
      assert.equal(await certState(IGNORED), frozen);
    },
  );

  it("every writing route refuses it with 409 CertificateIgnored; it stays byte-identical", async () => {
    const { certificates } = clients(app.stack);
    const chainPem = derToPem(Buffer.from((await certificates.getCertificate(IGNORED)).cer ?? []));
    const before = await snapshot(app.stack);
    for (const [method, route, body] of [
      ["POST", `/certificates/${IGNORED}/renew`, undefined],
      ["POST", `/certificates/${IGNORED}/revoke`, {}],
      ["PUT", `/certificates/${IGNORED}/names`, { dnsNames: ["frozen-real.example.com", "more.example.com"] }],
      ["POST", "/certificates", { dnsNames: ["frozen-real.example.com"], certificateName: IGNORED, adopt: true }],
      ["PUT", `/certificates/${IGNORED}/issuer-pins`, { issuerPins: [] }],
      ["POST", `/certificates/${IGNORED}/pending`, { dnsNames: ["frozen-real.example.com"], adopt: true }],
      ["POST", `/certificates/${IGNORED}/pending/cancel`, undefined],
      ["DELETE", `/certificates/${IGNORED}/pending`, undefined],
      ["POST", `/certificates/${IGNORED}/pending/merge`, { chainPem }],
    ] as const) {
      const r = await call(app.api, method, route, { body });
      assertProblem(r, 409);
      assert.equal(r.body.code, "CertificateIgnored", `${method} ${route}: ${r.text}`);
    }
    assert.equal(await certState(IGNORED), frozen);
    assert.equal(await snapshot(app.stack), before);
  });

  it("every writing command in direct mode exits 4 naming the tag; it stays byte-identical", { timeout: 300_000 }, async () => {
    const before = await snapshot(app.stack);
    for (const args of [
      ["renew", "--name", IGNORED],
      ["revoke", IGNORED],
      ["names", IGNORED, "--dns-names", "frozen-real.example.com,more.example.com"],
      ["issue", "--dns-names", "frozen-real.example.com", "--name", IGNORED, "--adopt"],
      ["issuer-pins", "clear", IGNORED],
      ["pending", "create", IGNORED, "--dns-names", "frozen-real.example.com", "--adopt"],
      ["pending", "cancel", IGNORED],
      ["pending", "delete", IGNORED],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 4, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /kv-acme-ignore/, args.join(" "));
    }
    assert.equal(await certState(IGNORED), frozen);
    assert.equal(await snapshot(app.stack), before);
  });

  it("nothing of it changed since it was tagged, and no webhook named it, while the other certificate was renewed twice", async () => {
    assert.equal(await certState(IGNORED), frozen);
    assert.deepEqual(eventsNaming(IGNORED), []);
    assert.ok(eventsNaming(WATCHED).includes("certificate.renewed"), JSON.stringify(eventsNaming(WATCHED)));
    let versions = 0;
    for await (const _ of clients(app.stack).certificates.listPropertiesOfCertificateVersions(WATCHED)) versions++;
    assert.equal(versions, 3);
  });
});
