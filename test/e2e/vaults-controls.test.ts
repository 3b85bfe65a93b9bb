/**
 * Controls across several vaults, on a stack with two Key Vault stand-ins plus a third vault configured at a port where
 * nothing listens. The doctor checks every configured vault, each named: `GET /api/health` (the app's own clients)
 * and `kv-acme doctor` (direct mode) report list, get and create for each of the two as passing under their names,
 * and the third's list check as failing with its URL and a fix, without stopping the others. The issuer-pins answer
 * (API and CLI) names the certificate's vault.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { CheckResult } from "../../src/doctor";
import { freePort } from "../../src/local/net";
import { startTestApp, type TestApp } from "../support/app";
import { runCliProcess } from "../support/cli";
import { call, pollOperation } from "../api/support";

let app: TestApp;
let home: string;
let goneUrl = "";
const env: Record<string, string> = {};

before(async () => {
  goneUrl = `https://127.0.0.1:${await freePort()}`;
  env.KvAcme__Vaults__gone__Url = goneUrl;
  app = await startTestApp({ stack: { vaults: 2 }, env });
  home = await mkdtemp(path.join(os.tmpdir(), "kv-acme-doctor-vaults-"));
});
after(async () => {
  await app?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

function assertEveryVault(checks: CheckResult[]): void {
  const [first, second] = app.stack.info.vaults;
  assert.ok(first && second, "two vault stand-ins");
  const byId = new Map(checks.map((c) => [c.id, c]));
  for (const [suffix, vault] of [
    ["", first],
    [`.${second.name}`, second],
  ] as const) {
    for (const check of ["list", "get", "create"]) {
      const c = byId.get(`keyvault.${check}${suffix}`);
      assert.equal(c?.status, "pass", `keyvault.${check}${suffix}: ${JSON.stringify(c)}`);
      assert.match(c.title, new RegExp(`^Key Vault ${vault.name}: `));
    }
    assert.match(byId.get(`keyvault.list${suffix}`)?.detail ?? "", new RegExp(vault.url.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")));
  }
  const gone = byId.get("keyvault.list.gone");
  assert.equal(gone?.status, "fail", JSON.stringify(gone));
  assert.ok(gone.detail.startsWith(goneUrl), gone.detail);
  assert.match(gone.fix ?? "", /reachable/);
  assert.equal(gone.title, "Key Vault gone: list certificates");
  assert.equal(byId.get("keyvault.get.gone"), undefined, "a vault that cannot be listed is not probed further");
  assert.equal(byId.get("keyvault.secrets")?.status, "pass");
}

describe("doctor over several vaults", () => {
  it("GET /api/health checks each vault under its name", { timeout: 120_000 }, async () => {
    const r = await call(app.api, "GET", "/health");
    assert.equal(r.status, 503, r.text);
    assertEveryVault(r.body.checks as CheckResult[]);
  });

  it("kv-acme doctor (direct mode) checks each vault under its name", { timeout: 120_000 }, async () => {
    const r = await runCliProcess(["--json", "doctor"], { ...process.env, ...app.stack.env, ...env, KVACME_HOME: home });
    assert.equal(r.code, 1, r.stderr);
    assertEveryVault((JSON.parse(r.stdout) as { checks: CheckResult[] }).checks);
  });
});

describe("issuer pins name their vault", () => {
  it("GET/PUT .../issuer-pins?vault= and kv-acme issuer-pins show V/N answer the vault", { timeout: 120_000 }, async () => {
    const second = app.stack.info.vaults[1]?.name ?? "";
    const started = await call(app.api, "POST", "/certificates", {
      body: { dnsNames: ["pins-vault.example.com"], certificateName: "pins-vault", vault: second },
    });
    assert.equal(started.status, 202, started.text);
    const { final } = await pollOperation(app.host.url, started.headers.get("location") ?? "", {}, 120_000);
    assert.equal(final.body.status, "Completed", final.text);
    const shown = await call(app.api, "GET", `/certificates/pins-vault/issuer-pins?vault=${second}`);
    assert.equal(shown.status, 200, shown.text);
    assert.equal(shown.body.vault, second);
    const set = await call(app.api, "PUT", `/certificates/pins-vault/issuer-pins?vault=${second}`, { body: { issuerPins: [] } });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.body.vault, second);
    const cli = await runCliProcess(["--json", "issuer-pins", "show", `${second}/pins-vault`], {
      ...process.env,
      ...app.stack.env,
      ...env,
      KVACME_HOME: home,
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((JSON.parse(cli.stdout) as { vault: string }).vault, second);
  });
});
