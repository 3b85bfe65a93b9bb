/** HAProxy runtime API with a real HAProxy (own instance), the command hook environment, and agentMain's exit codes. */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import tls from "node:tls";
import { agentMain } from "../../src/agent/index";
import { parseSecretMaterial } from "../../src/agent/material";
import { createInstaller, hookEnvironment } from "../../src/agent/reload";
import { parseAgentSettings } from "../../src/agent/settings";
import { createLinuxStore } from "../../src/agent/stores/linux";
import { makeChain, makeLeaf, pemSecret, type TestChain } from "./helpers";

let dir: string;
let chain: TestChain;
let haproxy: ChildProcess | undefined;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-agent-reload-"));
  chain = await makeChain();
});
after(async () => {
  if (haproxy && haproxy.exitCode === null) {
    haproxy.kill("SIGTERM");
    await new Promise((r) => haproxy!.once("exit", r));
  }
  await fs.rm(dir, { recursive: true, force: true });
});

function observed(store: string) {
  return parseAgentSettings(
    {
      secretsManagementSettings: {
        observedCertificates: [{ url: "https://kv1.vault.azure.net/secrets/api", certificateStoreLocation: store }],
      },
    },
    { platform: "linux" },
  ).settings.observedCertificates[0];
}

async function serialAt(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, servername: "api.example.test", ca: chain.root.pem }, () => {
      resolve(s.getPeerCertificate().serialNumber.toUpperCase());
      s.end();
    });
    s.on("error", reject);
  });
}

test("HAProxy: set ssl cert + commit swaps the served certificate without a restart", async () => {
  // Never skipped: without HAProxy the test fails and says why (scripts/test.sh installs it).
  assert.ok(existsSync("/usr/sbin/haproxy"), "HAProxy is not installed (Debian package haproxy): run the tests with scripts/test.sh");
  const store = path.join(dir, "store");
  const cert = observed(store);
  const linux = createLinuxStore({ aclEnabled: false });
  const l1 = await makeLeaf(chain, ["api.example.test"]);
  const r1 = await linux.install(cert, "a".repeat(32), parseSecretMaterial(pemSecret(l1, chain)));
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  const sock = path.join(dir, "admin.sock");
  const cfg = path.join(dir, "haproxy.cfg");
  await fs.writeFile(
    cfg,
    `global\n  stats socket ${sock} mode 600 level admin\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\nfrontend fe\n  bind 127.0.0.1:${port} ssl crt ${r1.linkPath}\n  http-request return status 200 content-type text/plain string ok\n`,
  );
  haproxy = spawn("/usr/sbin/haproxy", ["-db", "-f", cfg], { stdio: "ignore" });
  for (let i = 0; i < 50 && !(await exists(sock)); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await serialAt(port), l1.serialHex);

  const l2 = await makeLeaf(chain, ["api.example.test"]);
  const m2 = parseSecretMaterial(pemSecret(l2, chain));
  const r2 = await linux.install(cert, "b".repeat(32), m2);
  const inst = createInstaller({ type: "haproxy", certificates: [], socket: sock }, { env: {} });
  assert.deepEqual(await inst.apply({ cert, version: "b".repeat(32), material: m2, result: r2 }), [`haproxy:${r2.linkPath}`]);
  assert.equal(await serialAt(port), l2.serialHex);

  // A certificate HAProxy does not know is refused with its message, and nothing is committed.
  const stray = createInstaller({ type: "haproxy", certificates: [], socket: sock, certFile: path.join(dir, "unknown.pem") }, { env: {} });
  await assert.rejects(stray.apply({ cert, version: "c".repeat(32), material: m2, result: r2 }), /HAProxy refused the certificate/);
  assert.equal(await serialAt(port), l2.serialHex);
});

test("command hook gets the documented environment; a failing hook is an error with its output", async () => {
  const store = path.join(dir, "store-cmd");
  const cert = observed(store);
  const leaf = await makeLeaf(chain, ["api.example.test", "www.example.test"]);
  const m = parseSecretMaterial(pemSecret(leaf, chain));
  const r = await createLinuxStore({ aclEnabled: false }).install(cert, "d".repeat(32), m);
  const env = hookEnvironment({ cert, version: "d".repeat(32), material: m, result: r });
  assert.deepEqual(
    { ...env, KVACME_CERT_NOT_AFTER: undefined },
    {
      KVACME_CERT_PATH: path.join(store, "kv1.api"),
      KVACME_CERT_FILE: path.join(store, `kv1.api.${"d".repeat(32)}.pem`),
      KVACME_CERT_NAME: "api",
      KVACME_CERT_VERSION: "d".repeat(32),
      KVACME_CERT_THUMBPRINT: m.thumbprint,
      KVACME_CERT_SERIAL: leaf.serialHex,
      KVACME_CERT_NOT_AFTER: undefined,
      KVACME_DOMAINS: "api.example.test www.example.test",
      KVACME_VAULT_URL: "https://kv1.vault.azure.net",
      KVACME_SECRET_URL: "https://kv1.vault.azure.net/secrets/api",
      KVACME_PREVIOUS_PATH: "",
      RENEWED_LINEAGE: store,
      RENEWED_DOMAINS: "api.example.test www.example.test",
    },
  );
  const out = path.join(dir, "hook.out");
  const hook = createInstaller(
    { type: "command", certificates: [], command: ["/bin/sh", "-c", `env | grep -E '^(KVACME|RENEWED)_' | sort > ${out}`], timeoutInS: 10 },
    { env: { PATH: "/usr/bin:/bin" } },
  );
  assert.deepEqual(await hook.apply({ cert, version: "d".repeat(32), material: m, result: r }), ["command:sh"]);
  assert.match(await fs.readFile(out, "utf8"), new RegExp(`^KVACME_CERT_THUMBPRINT=${m.thumbprint}$`, "m"));
  // Only a minimal environment reaches the hook: never the agent's identity endpoint secret or other credentials.
  const all = path.join(dir, "hook-all.out");
  const leaky = createInstaller(
    { type: "command", certificates: [], command: ["/bin/sh", "-c", `env > ${all}`], timeoutInS: 10 },
    {
      env: {
        PATH: "/usr/bin:/bin",
        LANG: "C.UTF-8",
        IDENTITY_ENDPOINT: "http://127.0.0.1:42356/msi/token",
        IDENTITY_HEADER: "identity-header-secret",
        AZURE_CLIENT_SECRET: "client-secret-value",
        KVACME_FUNCTION_KEY: "function-key-value",
        AWS_SECRET_ACCESS_KEY: "aws-secret",
      },
    },
  );
  await leaky.apply({ cert, version: "d".repeat(32), material: m, result: r });
  const seen = await fs.readFile(all, "utf8");
  for (const secret of ["identity-header-secret", "client-secret-value", "function-key-value", "aws-secret", "IDENTITY_ENDPOINT"])
    assert.ok(!seen.includes(secret), `${secret} reached the hook:\n${seen}`);
  assert.match(seen, /^PATH=\/usr\/bin:\/bin$/m);
  assert.match(seen, /^LANG=C\.UTF-8$/m);
  assert.match(seen, /^KVACME_CERT_NAME=api$/m);
  const failing = createInstaller(
    { type: "command", certificates: [], command: ["/bin/sh", "-c", "echo cannot deploy >&2; exit 3"], timeoutInS: 10 },
    { env: {} },
  );
  await assert.rejects(failing.apply({ cert, version: "d".repeat(32), material: m, result: r }), /failed \(exit 3\): cannot deploy/);
});

test("agentMain: usage errors exit 2, invalid settings exit 78 naming the field", async () => {
  const write = process.stderr.write.bind(process.stderr);
  let err = "";
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    assert.equal(await agentMain([]), 2);
    assert.equal(await agentMain(["--bogus"]), 2);
    const bad = path.join(dir, "3.settings");
    await fs.writeFile(
      bad,
      JSON.stringify({
        secretsManagementSettings: { pollingIntervalInS: "soon", observedCertificates: ["https://v.vault.azure.net/certificates/x"] },
      }),
    );
    assert.equal(await agentMain(["--settings", bad, "--once"]), 78);
    const escaped = path.join(dir, "4.settings");
    await fs.writeFile(escaped, '{\\"secretsManagementSettings\\": {}}');
    assert.equal(await agentMain(["--settings", escaped]), 78);
  } finally {
    process.stderr.write = write;
  }
  assert.match(err, /--settings FILE is required/);
  assert.match(err, /secretsManagementSettings\.pollingIntervalInS: must be a whole number/);
  assert.match(err, /observedCertificates\[0\]\.url: must be a secret URL/);
  assert.match(err, /backslash-escaped quotes/);
});

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}
