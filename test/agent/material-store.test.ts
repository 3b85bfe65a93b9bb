import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import {
  CertificateMaterialError,
  parseSecretMaterial,
  PEM_CONTENT_TYPE,
  PKCS12_CONTENT_TYPE,
  toPemBundle,
} from "../../src/agent/material";
import { parseAgentSettings, type ObservedCertificate } from "../../src/agent/settings";
import { createLinuxStore, versionFileName } from "../../src/agent/stores/linux";
import { pemBlocks } from "../../src/shared/x509";
import { makeChain, makeLeaf, pemSecret, pkcs12Secret, type TestChain, type TestLeaf } from "./helpers";

let ecChain: TestChain;
let rsaChain: TestChain;
let ecLeaf: TestLeaf;
let rsaLeaf: TestLeaf;
let tmp: string;

before(async () => {
  [ecChain, rsaChain] = await Promise.all([makeChain("ec"), makeChain("rsa")]);
  ecLeaf = await makeLeaf(ecChain, ["www.example.test", "example.test"]);
  rsaLeaf = await makeLeaf(rsaChain, ["rsa.example.test"], { keyType: "rsa" });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-agent-store-"));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

test("PEM secret (Key Vault layout: key first) parses into leaf, chain, key", () => {
  const m = parseSecretMaterial(pemSecret(ecLeaf, ecChain), PEM_CONTENT_TYPE);
  assert.equal(m.serialNumber, ecLeaf.serialHex);
  assert.deepEqual(m.dnsNames, ["www.example.test", "example.test"]);
  assert.equal(m.chainPems.length, 1);
  assert.equal(m.includesRoot, false);
  assert.match(m.thumbprint, /^[0-9A-F]{40}$/);
  const bundle = toPemBundle(m);
  assert.equal(pemBlocks(bundle).length, 2);
  assert.ok(bundle.trimEnd().endsWith("-----END PRIVATE KEY-----"), "key last");
  assert.ok(bundle.startsWith(m.leafPem), "leaf first");
});

test("PEM with root orders leaf, intermediate, root even when shuffled", () => {
  const shuffled = ecChain.root.pem + ecLeaf.keyPem + ecChain.intermediate.pem + ecLeaf.leafPem;
  const m = parseSecretMaterial(shuffled);
  assert.equal(m.chainPems.length, 2);
  assert.equal(m.includesRoot, true);
  assert.equal(m.chainPems[1].trim(), ecChain.root.pem.trim());
});

test("PKCS#12 secret with an empty password parses; original bytes kept", () => {
  const value = pkcs12Secret(rsaLeaf, rsaChain);
  const m = parseSecretMaterial(value, PKCS12_CONTENT_TYPE);
  assert.equal(m.serialNumber, rsaLeaf.serialHex);
  assert.equal(m.chainPems.length, 1);
  assert.equal(m.pfx?.toString("base64"), value);
});

const bad: Array<[string, () => [string, string | undefined], RegExp]> = [
  ["empty", () => ["", PEM_CONTENT_TYPE], /empty/],
  [
    "truncated PKCS#12",
    () => [pkcs12Secret(rsaLeaf, rsaChain).slice(0, 400), PKCS12_CONTENT_TYPE],
    /PKCS#12 secret is corrupt or truncated/,
  ],
  ["not base64", () => ["%%%", PKCS12_CONTENT_TYPE], /not base64/],
  ["PEM without key", () => [ecLeaf.leafPem + ecChain.intermediate.pem, PEM_CONTENT_TYPE], /no private key/],
  ["PEM without certificate", () => [ecLeaf.keyPem, PEM_CONTENT_TYPE], /no certificate/],
  ["key not matching", () => [rsaLeaf.keyPem + ecLeaf.leafPem + ecChain.intermediate.pem, PEM_CONTENT_TYPE], /does not match/],
  ["no chain", () => [ecLeaf.keyPem + ecLeaf.leafPem, PEM_CONTENT_TYPE], /no chain/],
  [
    "corrupt certificate",
    () => [ecLeaf.keyPem + ecLeaf.leafPem.replace(/[A-Za-z]{20}\n/, "AAAAAAAAAAAAAAAAAAAA\n"), PEM_CONTENT_TYPE],
    /corrupt|does not match/,
  ],
];
for (const [name, make, re] of bad) {
  test(`rejects secret: ${name}`, () => {
    const [value, ct] = make();
    assert.throws(
      () => parseSecretMaterial(value, ct),
      (err: unknown) => err instanceof CertificateMaterialError && re.test(err.message),
    );
  });
}

function observed(dir: string, extra: Record<string, unknown> = {}): ObservedCertificate {
  return parseAgentSettings(
    {
      secretsManagementSettings: {
        observedCertificates: [{ url: "https://myvault.vault.azure.net/secrets/web", certificateStoreLocation: dir, ...extra }],
      },
    },
    { platform: "linux" },
  ).settings.observedCertificates[0];
}

const v1 = "0".repeat(31) + "1";
const v2 = "0".repeat(31) + "2";
const v3 = "0".repeat(31) + "3";

test("Linux store: 0600 file per version, 0700 dir, symlink switched, old kept, rollback restores", async () => {
  const dir = path.join(tmp, "store1");
  const cert = observed(dir);
  const store = createLinuxStore({ aclEnabled: false });
  const m1 = parseSecretMaterial(pemSecret(ecLeaf, ecChain));
  const r1 = await store.install(cert, v1, m1);
  assert.equal(r1.location, path.join(dir, versionFileName(cert, v1)));
  assert.equal(r1.previous, undefined);
  assert.equal((await fs.stat(dir)).mode & 0o777, 0o700);
  assert.equal((await fs.stat(r1.location)).mode & 0o777, 0o600);
  const link = path.join(dir, "myvault.web");
  assert.equal(await fs.readlink(link), path.basename(r1.location), "relative link target");
  assert.equal(await fs.readFile(link, "utf8"), toPemBundle(m1));
  assert.equal(await store.isInstalled(cert, r1.location), true);

  const leaf2 = await makeLeaf(ecChain, ["www.example.test"]);
  const m2 = parseSecretMaterial(pemSecret(leaf2, ecChain));
  const r2 = await store.install(cert, v2, m2);
  assert.equal(r2.previous, r1.location);
  assert.equal(await fs.readFile(link, "utf8"), toPemBundle(m2));
  assert.equal(await store.isInstalled(cert, r1.location), false);
  await r2.rollback();
  assert.equal(await fs.readFile(link, "utf8"), toPemBundle(m1), "previous version back in service");
  await assert.rejects(fs.stat(r2.location), /ENOENT/);
  const names = (await fs.readdir(dir)).sort();
  assert.deepEqual(names, [path.basename(r1.location), "myvault.web"].sort(), "no temp files left");
});

test("Linux store: keepVersions prunes older versions, never the current one", async () => {
  const dir = path.join(tmp, "store2");
  const cert = observed(dir, { customSymbolicLinkName: "app1Cert" });
  const store = createLinuxStore({ aclEnabled: false, keepVersions: 2 });
  const m = parseSecretMaterial(pemSecret(ecLeaf, ecChain));
  for (const v of [v1, v2, v3]) {
    const r = await store.install(cert, v, m);
    await r.commit();
    await new Promise((res) => setTimeout(res, 15));
  }
  const names = (await fs.readdir(dir)).sort();
  assert.deepEqual(names, ["app1Cert", versionFileName(cert, v2), versionFileName(cert, v3)].sort());
  assert.equal(await fs.readlink(path.join(dir, "app1Cert")), versionFileName(cert, v3));
});

test("Linux store: unwritable directory leaves nothing half-written and the link untouched", async () => {
  const dir = path.join(tmp, "store3");
  const cert = observed(dir);
  const store = createLinuxStore({ aclEnabled: false });
  const m = parseSecretMaterial(pemSecret(ecLeaf, ecChain));
  const r1 = await store.install(cert, v1, m);
  // Make the directory immutable: even root cannot create files in it (chattr +i), else read-only for non-root.
  const immutable = setImmutable(dir, true);
  if (!immutable) await fs.chmod(dir, 0o500);
  try {
    await assert.rejects(store.install(cert, v2, m), /EACCES|EPERM|EROFS/);
  } finally {
    if (immutable) setImmutable(dir, false);
    await fs.chmod(dir, 0o700);
  }
  assert.deepEqual((await fs.readdir(dir)).sort(), [path.basename(r1.location), "myvault.web"].sort());
  assert.equal(await fs.readlink(path.join(dir, "myvault.web")), path.basename(r1.location));
});

test("Linux store: a regular file where the link should be is refused", async () => {
  const dir = path.join(tmp, "store4");
  await fs.mkdir(dir, { mode: 0o700 });
  await fs.writeFile(path.join(dir, "myvault.web"), "operator's own file");
  const store = createLinuxStore({ aclEnabled: false });
  await assert.rejects(store.install(observed(dir), v1, parseSecretMaterial(pemSecret(ecLeaf, ecChain))), /not a symlink/);
  assert.deepEqual(await fs.readdir(dir), ["myvault.web"]);
});

test("Linux store: acls grant read on the file and traverse on the directory", async () => {
  // Never skipped: without setfacl the test fails and says why (scripts/test.sh installs it).
  assert.ok(hasSetfacl(), "setfacl is not installed (Debian package acl): run the tests with scripts/test.sh, which installs it");
  const dir = path.join(tmp, "store5");
  const cert = observed(dir, { acls: [{ user: "nobody", group: "nogroup" }] });
  const store = createLinuxStore({ aclEnabled: true });
  const r = await store.install(cert, v1, parseSecretMaterial(pemSecret(ecLeaf, ecChain)));
  const fileAcl = execFileSync("getfacl", ["-cp", r.location], { encoding: "utf8" });
  assert.match(fileAcl, /^user:nobody:r--$/m);
  assert.match(fileAcl, /^group:nogroup:r--$/m);
  assert.match(fileAcl, /^other::---$/m);
  const dirAcl = execFileSync("getfacl", ["-cp", dir], { encoding: "utf8" });
  assert.match(dirAcl, /^user:nobody:--x$/m);
  // nobody can read the certificate through the symlink (the test's temp root must be traversable).
  await fs.chmod(tmp, 0o711);
  const out = execFileSync("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "cat", path.join(dir, "myvault.web")], {
    encoding: "utf8",
  });
  assert.ok(out.includes("BEGIN PRIVATE KEY"));
  // Without aclEnabled the same acls are not applied.
  const dir2 = path.join(tmp, "store6");
  const r2 = await createLinuxStore({ aclEnabled: false }).install(
    observed(dir2, { acls: [{ user: "nobody" }] }),
    v1,
    parseSecretMaterial(pemSecret(ecLeaf, ecChain)),
  );
  assert.doesNotMatch(execFileSync("getfacl", ["-cp", r2.location], { encoding: "utf8" }), /user:nobody/);
});

function hasSetfacl(): boolean {
  try {
    execFileSync("setfacl", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function setImmutable(target: string, on: boolean): boolean {
  try {
    execFileSync("chattr", [on ? "+i" : "-i", target], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
