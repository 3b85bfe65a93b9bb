/**
 * The Linux store under a concurrent reader: a worker thread reads the certificate through the symlink as fast as it
 * can while 100 versions are installed (and pruned to 3). Every read must succeed (never ENOENT: the link is
 * switched by renaming a temp symlink over it, never removed first) and return one installed bundle exactly (never a
 * partial file: each version is written to a temp file and renamed). Also: pruning never removes the version in
 * service, even when it is not among the newest files.
 */
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { Worker } from "node:worker_threads";
import { parseSecretMaterial, toPemBundle } from "../../src/agent/material";
import { parseAgentSettings, type ObservedCertificate } from "../../src/agent/settings";
import { createLinuxStore, versionFileName } from "../../src/agent/stores/linux";
import { makeChain, makeLeaf, pemSecret, type TestChain, type TestLeaf } from "./helpers";

let chain: TestChain;
let leaves: TestLeaf[];
let tmp: string;

before(async () => {
  chain = await makeChain("ec");
  leaves = await Promise.all([0, 1, 2].map((i) => makeLeaf(chain, [`v${i}.example.test`])));
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-store-atomic-"));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function observed(dir: string): ObservedCertificate {
  return parseAgentSettings(
    {
      secretsManagementSettings: {
        observedCertificates: [{ url: "https://myvault.vault.azure.net/secrets/web", certificateStoreLocation: dir }],
      },
    },
    { platform: "linux" },
  ).settings.observedCertificates[0]!;
}

const version = (i: number) => i.toString(16).padStart(32, "0");

/** A worker that reads `link` in a loop until told to stop; reports the reads, failures and distinct contents. */
const READER = `
const { parentPort, workerData } = require("node:worker_threads");
const { readFileSync } = require("node:fs");
let stop = false;
parentPort.on("message", () => (stop = true));
const seen = new Map();
const failures = [];
let reads = 0;
parentPort.postMessage({ ready: true });
(function loop() {
  for (let i = 0; i < 200; i++) {
    reads++;
    try {
      const text = readFileSync(workerData.link, "utf8");
      seen.set(text, (seen.get(text) || 0) + 1);
    } catch (err) {
      if (failures.length < 10) failures.push(String(err && err.code || err));
    }
  }
  if (stop) parentPort.postMessage({ reads, failures, contents: [...seen.keys()] });
  else setImmediate(loop);
})();
`;

test("a reader hammering the symlink during 100 installs never sees a missing or partial file", async () => {
  const dir = path.join(tmp, "hammered");
  const cert = observed(dir);
  const store = createLinuxStore({ aclEnabled: false, keepVersions: 3 });
  const bundles = leaves.map((leaf) => toPemBundle(parseSecretMaterial(pemSecret(leaf, chain))));
  const first = await store.install(cert, version(0), parseSecretMaterial(pemSecret(leaves[0]!, chain)));
  await first.commit();

  const worker = new Worker(READER, { eval: true, workerData: { link: path.join(dir, cert.linkName) } });
  const result = new Promise<{ reads: number; failures: string[]; contents: string[] }>((resolve, reject) => {
    worker.on("message", (m: { ready?: boolean; reads?: number }) => {
      if (!m.ready) resolve(m as { reads: number; failures: string[]; contents: string[] });
    });
    worker.on("error", reject);
  });
  await new Promise<void>((resolve) => worker.once("message", () => resolve()));
  for (let i = 1; i <= 100; i++) {
    const r = await store.install(cert, version(i), parseSecretMaterial(pemSecret(leaves[i % 3]!, chain)));
    await r.commit();
  }
  worker.postMessage("stop");
  const { reads, failures, contents } = await result;
  await worker.terminate();

  assert.deepEqual(failures, [], `reads failed (of ${reads})`);
  assert.ok(reads > 100, `the reader read ${reads} times`);
  for (const c of contents) assert.ok(bundles.includes(c), `a read returned a partial or foreign file (${c.length} bytes)`);
  assert.ok(contents.length >= 2, "the reader saw the link switch between versions");
  // Pruned to 3 versions, no temp files or temp links left.
  const names = (await fs.readdir(dir)).sort();
  assert.deepEqual(names, [cert.linkName, ...[98, 99, 100].map((i) => versionFileName(cert, version(i)))].sort());
  assert.equal(await fs.readlink(path.join(dir, cert.linkName)), versionFileName(cert, version(100)));
});

test("pruning keeps the version in service even when newer files exist (keepVersions 1)", async () => {
  const dir = path.join(tmp, "pruned");
  const cert = observed(dir);
  const store = createLinuxStore({ aclEnabled: false, keepVersions: 1 });
  const material = parseSecretMaterial(pemSecret(leaves[0]!, chain));
  for (const i of [1, 2]) await (await store.install(cert, version(i), material)).commit();
  const current = await store.install(cert, version(3), material);
  // The version in service is older on disk than version 2 (a clock step back, a restored file): newest-first
  // pruning alone would keep version 2 and delete the one the link points at.
  const old = new Date(Date.now() - 86_400_000);
  await fs.utimes(current.location, old, old);
  await current.commit();
  const link = path.join(dir, cert.linkName);
  assert.equal(await fs.readlink(link), versionFileName(cert, version(3)));
  assert.equal(await fs.readFile(link, "utf8"), toPemBundle(material), "the link still resolves");
  assert.deepEqual(
    (await fs.readdir(dir)).sort(),
    [cert.linkName, versionFileName(cert, version(2)), versionFileName(cert, version(3))].sort(),
  );
});
