/**
 * Several vaults end to end, through the local Functions host on a stack with two Key Vault stand-ins (`vaults: 2`):
 * the same certificate name issued, renewed and revoked in both vaults over the HTTP API (addressed with `vault`),
 * listings and the renewal schedule covering both, webhooks naming the vault, bad vaults refused with 400 before
 * anything is written, the timer's renewal run renewing in both, and a run with one vault down renewing the other.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CertificateClient } from "@azure/keyvault-certificates";
import { JumpingClock } from "../../src/local/host";
import { RENEW_ALL_INSTANCE_ID } from "../../src/orchestrations/ids";
import type { RenewalSummary } from "../../src/orchestrations/renew-certificates";
import { runCli } from "../../src/cli/run";
import { CLOUDEVENT_TYPE_PREFIX } from "../../src/notify/formats/generic";
import { startTestApp, type TestApp } from "../support/app";
import { startReceiver, type Receiver } from "../notify/receiver";
import { assertProblem, call, pollOperation, snapshot } from "../api/support";

const KEY = "vaults-function-key-0123456789abcdef";
let app: TestApp;
let hooks: Receiver;
let origin: string;
// The host's clock: the wall clock, moved forward where certificates must become due (no sleeping).
const clock = new JumpingClock();

before(async () => {
  hooks = await startReceiver([], { status: 204 }, "/events");
  app = await startTestApp({
    // 5-minute certificates; renewing at 1 % of the lifetime makes them due 3 s after issuance.
    stack: { vaults: 2, pebble: { validityPeriodSeconds: 300 } },
    env: {
      KvAcme__RenewAtPercentOfLifetime: "1",
      // Revocations answer 202 at once (the 200-within-the-wait path is test/e2e/api.test.ts's).
      KvAcme__RevokeWaitSeconds: "0",
      KvAcme__Webhooks__0__Url: hooks.url,
      KvAcme__Webhooks__0__Format: "generic",
    },
    host: { functionKeys: [KEY], clock },
  });
  origin = app.host.url;
});
after(async () => {
  await app?.close();
  await hooks?.close();
});

function vaultClient(name: string): CertificateClient {
  const url = app.stack.info.vaults.find((v) => v.name === name)?.url;
  assert.ok(url, `vault ${name} in stack.json`);
  return new CertificateClient(url, app.stack.credential, { disableChallengeResourceVerification: true });
}

async function versions(vault: string, name: string): Promise<string[]> {
  const out: string[] = [];
  for await (const v of vaultClient(vault).listPropertiesOfCertificateVersions(name)) out.push(v.version ?? "");
  return out.sort();
}

async function completed(location: string): Promise<Record<string, unknown>> {
  const { final } = await pollOperation(origin, location, {}, 120_000);
  assert.equal(final.body.status, "Completed", final.text);
  return final.body.output as Record<string, unknown>;
}

const events = (type: string) =>
  hooks.received
    .map((r) => JSON.parse(r.rawBody.toString("utf8")) as { type: string; subject: string; data: Record<string, unknown> })
    .filter((e) => e.type === `${CLOUDEVENT_TYPE_PREFIX}${type}`);

describe("several vaults", { concurrency: false }, () => {
  it("stack.json lists both vaults and the app's settings name them, the first the default", () => {
    assert.deepEqual(
      app.stack.info.vaults.map((v) => v.name),
      ["default", "vault2"],
    );
    assert.notEqual(app.stack.info.vaults[0]?.url, app.stack.info.vaults[1]?.url);
    assert.equal(app.stack.env.KvAcme__Vaults__vault2__Url, app.stack.info.vaults[1]?.url);
    assert.deepEqual(
      app.runtime.settings.vaults.map((v) => v.name),
      ["default", "vault2"],
    );
    assert.equal(app.runtime.settings.defaultVault, "default");
  });

  it("issues the same certificate name into both vaults; each operation id and result names its vault", { timeout: 240_000 }, async () => {
    const one = await call(app.api, "POST", "/certificates", { body: { dnsNames: ["one.example.com"], certificateName: "shared" } });
    const two = await call(app.api, "POST", "/certificates", {
      body: { dnsNames: ["two.example.com"], certificateName: "shared", vault: "vault2" },
    });
    assert.equal(one.status, 202, one.text);
    assert.equal(two.status, 202, two.text);
    assert.equal(one.headers.get("location"), "/api/operations/kv-acme-certificate-shared");
    assert.equal(two.headers.get("location"), "/api/operations/kv-acme-vault-vault2--certificate-shared");
    assert.equal(one.body.vault, "default");
    assert.equal(two.body.vault, "vault2");
    const [a, b] = await Promise.all([completed(one.headers.get("location")!), completed(two.headers.get("location")!)]);
    assert.deepEqual([a.vault, a.dnsNames], ["default", ["one.example.com"]]);
    assert.deepEqual([b.vault, b.dnsNames], ["vault2", ["two.example.com"]]);
    assert.deepEqual(await versions("default", "shared"), [a.version]);
    assert.deepEqual(await versions("vault2", "shared"), [b.version]);
    const issued = events("certificate.issued").map((e) => [e.data.vault, e.data.keyVault, e.data.dnsNames]);
    assert.deepEqual(
      issued.sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
      [
        ["default", app.stack.info.vaults[0]?.url, ["one.example.com"]],
        ["vault2", app.stack.info.vaults[1]?.url, ["two.example.com"]],
      ],
    );
  });

  it("lists both vaults, gets each by ?vault=, and shows both in the renewal schedule", async () => {
    const list = await call(app.api, "GET", "/certificates?managed=true");
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.defaultVault, "default");
    const shared = (list.body.certificates as { name: string; vault: string; dnsNames: string[]; lastOperation?: { status: string } }[])
      .filter((c) => c.name === "shared")
      .map((c) => [c.vault, c.dnsNames, c.lastOperation?.status]);
    assert.deepEqual(shared, [
      ["default", ["one.example.com"], "Completed"],
      ["vault2", ["two.example.com"], "Completed"],
    ]);
    const only2 = await call(app.api, "GET", "/certificates?vault=vault2");
    assert.deepEqual(
      only2.body.certificates.map((c: { vault: string }) => c.vault),
      ["vault2"],
    );
    const got = await call(app.api, "GET", "/certificates/shared?vault=vault2");
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.vault, "vault2");
    assert.deepEqual(got.body.current.dnsNames, ["two.example.com"]);
    assert.equal(got.body.lastOperation.id, "kv-acme-vault-vault2--certificate-shared");
    const plain = await call(app.api, "GET", "/certificates/shared");
    assert.deepEqual([plain.body.vault, plain.body.current.dnsNames], ["default", ["one.example.com"]]);
    const schedule = await call(app.api, "GET", "/renewals?name=shared");
    assert.deepEqual(schedule.body.renewals.map((r: { vault: string; rule: string }) => [r.vault, r.rule]).sort(), [
      ["default", "percent"],
      ["vault2", "percent"],
    ]);
    // The CLI prints the same schedule, the other vault's certificate as vault2/shared.
    let out = "";
    const code = await runCli(["--endpoint", origin, "--function-key", KEY, "renewals"], {
      stdout: (t) => void (out += t),
      stderr: () => undefined,
      env: {},
    });
    assert.equal(code, 0, out);
    assert.match(out, /^shared\s/m);
    assert.match(out, /^vault2\/shared\s/m);
  });

  it("refuses an unknown or malformed vault with 400 before anything is written", async () => {
    const state = async () => `${await snapshot(app.stack)}\n${(await versions("vault2", "shared")).join(" ")}`;
    const before = await state();
    const issue = await call(app.api, "POST", "/certificates", { body: { dnsNames: ["x.example.com"], vault: "nope" } });
    assertProblem(issue, 400, ["vault"]);
    assert.match(issue.body.errors[0].message, /no vault "nope" is configured \(vaults: default, vault2\)/);
    assertProblem(await call(app.api, "POST", "/certificates", { body: { dnsNames: ["x.example.com"], vault: "a--b" } }), 400, ["vault"]);
    assertProblem(await call(app.api, "GET", "/certificates/shared?vault=nope"), 400, ["vault"]);
    assertProblem(await call(app.api, "POST", "/certificates/shared/renew?vault=nope"), 400, ["vault"]);
    assertProblem(await call(app.api, "GET", "/renewals?vault=nope"), 400, ["vault"]);
    assert.equal(await state(), before, "nothing written");
  });

  it("renews and revokes in the second vault without touching the default one", { timeout: 180_000 }, async () => {
    const defaultBefore = await versions("default", "shared");
    const renew = await call(app.api, "POST", "/certificates/shared/renew?vault=vault2");
    assert.equal(renew.status, 202, renew.text);
    const renewed = await completed(renew.headers.get("location")!);
    assert.equal(renewed.vault, "vault2");
    assert.equal((await versions("vault2", "shared")).length, 2);
    assert.deepEqual(await versions("default", "shared"), defaultBefore);

    const revoke = await call(app.api, "POST", "/certificates/shared/revoke?vault=vault2", { body: { reason: "superseded" } });
    assert.equal(revoke.status, 202, revoke.text);
    assert.equal(revoke.body.vault, "vault2", revoke.text);
    const output = await completed(revoke.headers.get("location")!);
    assert.equal(output.vault, "vault2");
    assert.equal(output.version, renewed.version);
    const revoked = events("certificate.revoked");
    assert.deepEqual(
      revoked.map((e) => [e.data.vault, e.data.version]),
      [["vault2", renewed.version]],
    );
  });

  it("the timer's renewal run renews the due certificates of both vaults", { timeout: 240_000 }, async () => {
    await clock.jump(3500); // 1 % of 300 s: both are due
    await app.host.fireTimer("renewalTimer");
    const status = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 180_000);
    assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
    const summary = status.output as RenewalSummary;
    assert.equal(summary.checked, 2, JSON.stringify(summary));
    assert.deepEqual(
      summary.renewed.map((r) => r.certificateName),
      ["shared", "vault2/shared"],
      JSON.stringify(summary),
    );
    assert.equal((await versions("vault2", "shared")).length, 3);
    assert.equal((await versions("default", "shared")).length, 2);
    const renewedEvents = events("certificate.renewed").map((e) => e.data.vault);
    assert.ok(renewedEvents.includes("default") && renewedEvents.includes("vault2"), renewedEvents.join(", "));
  });

  it("a vault that is down does not stop renewals in the other; the run names it as skipped", { timeout: 240_000 }, async () => {
    await app.stack.keyVaults.vault2?.close();
    await clock.jump(3500); // "shared" (renewed by the previous run) is due again
    await app.host.fireTimer("renewalTimer");
    const status = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 180_000);
    assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
    const summary = status.output as RenewalSummary;
    assert.deepEqual(
      summary.renewed.map((r) => r.certificateName),
      ["shared"],
    );
    assert.equal(summary.skipped.length, 1, JSON.stringify(summary.skipped));
    assert.equal(summary.skipped[0]?.certificateName, "vault2/*");
    assert.match(summary.skipped[0]?.reason ?? "", /^vault not listed: /);
    assert.equal((await versions("default", "shared")).length, 3);
    // Listings carry on with the vault that answers and name the one that does not.
    const list = await call(app.api, "GET", "/certificates");
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(
      list.body.unavailableVaults.map((v: { vault: string }) => v.vault),
      ["vault2"],
    );
  });
});
