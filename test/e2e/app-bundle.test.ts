/**
 * The function app as Azure loads it: the one-file bundle (scripts/package/app-bundle.ts, package.json `main`) on the
 * strict local host. It registers exactly what functions/*.ts register, and a certificate issues through its own
 * bundled copy of durable-functions and its own runtime (settings and managed identity from the app settings, as on
 * Azure: nothing injected by the test). The host's replay checks see the bundle's tasks: a later episode whose tasks
 * were not tracked would fail the instance as non-deterministic, so a Completed issuance also shows the checks ran.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { buildAppBundle, type AppBundle } from "../../scripts/package/app-bundle";
import { loadFunctionModules } from "../../src/local/host/core-api";
import { functionModules, repoRoot, startTestApp, type TestApp } from "../support/app";
import { txtRecords } from "../integration/helpers";
import { call, pollOperation } from "../api/support";

const EVENT_TASK_SCHEDULED = 4;

let tmp: string;
let bundle: AppBundle;
let sourceFunctions: string[];
let app: TestApp;

before(async () => {
  // Below the repository's dist/, as `npm start` builds it: host.json, node_modules (the dependencies the bundle
  // requires on first use) and dist/dashboard-bundle are found from there as from the deployed app's dist/app.js.
  await mkdir(path.join(repoRoot, "dist"), { recursive: true });
  tmp = await mkdtemp(path.join(repoRoot, "dist", "app-bundle-test-"));
  bundle = await buildAppBundle({ outfile: path.join(tmp, "app.js") });
  sourceFunctions = [...loadFunctionModules(await functionModules()).functions.keys()].sort();
  app = await startTestApp({ host: { modules: [bundle.file] } });
});
after(async () => {
  await app?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("the app bundle on the local host", { concurrency: false }, () => {
  it("is one file that registers the same functions as functions/*.ts, with no local-stack or CLI code in it", () => {
    assert.deepEqual([...app.host.functions.keys()].sort(), sourceFunctions);
    assert.ok(sourceFunctions.includes("issueCertificate") && sourceFunctions.includes("renewalTimer"));
    assert.deepEqual(
      bundle.inputs.filter((f) => /^(src\/local|src\/cli|test|bench)\//.test(f)),
      [],
    );
    assert.ok(
      bundle.inputs.some((f) => f.startsWith("node_modules/durable-functions/")),
      "durable-functions is bundled",
    );
    assert.deepEqual(
      bundle.inputs.filter((f) => /^node_modules\/(@azure\/(identity|keyvault-[a-z]+|arm-dns)|acme-client|applicationinsights)\//.test(f)),
      [],
      "the lazily loaded SDKs stay in node_modules",
    );
  });

  it("issues a certificate through the bundled orchestration and its own runtime; TXT values cleaned", async () => {
    const started = await call(app.api, "POST", "/certificates", {
      body: { dnsNames: ["bundle.example.com"], certificateName: "bundle-cert", keyType: "EC-P256" },
    });
    assert.equal(started.status, 202, started.text);
    const { final } = await pollOperation(app.host.url, started.headers.get("location")!);
    assert.equal(final.body.status, "Completed", final.text);
    assert.deepEqual(final.body.output.dnsNames, ["bundle.example.com"]);
    const history = app.host.durable.getRecord("kv-acme-certificate-bundle-cert")?.history ?? [];
    assert.ok(
      history.filter((e) => e.EventType === EVENT_TASK_SCHEDULED).length >= 5,
      "the issuance ran as activities over several episodes",
    );
    const current = await app.runtime.deps.certificates.getCertificate("bundle-cert");
    assert.equal(current.properties.tags?.["kv-acme-managed"], "true");
    assert.deepEqual(
      Object.keys(await txtRecords(app.stack)).filter((n) => n.includes("_acme-challenge")),
      [],
    );
  });
});
