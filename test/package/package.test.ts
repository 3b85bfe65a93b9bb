/**
 * `npm run package` (issue 19): the Function App zip carries product code and production dependencies only, and
 * loads from an unpacked copy with nothing from the repository; the agent tarball runs with the system's Node,
 * installs a certificate from a real Key Vault stand-in, and installs itself with install.sh.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { promises as fs, existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { startAgentStack, type AgentStack } from "../agent/stack";

const REPO = path.resolve(__dirname, "../..");
const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
};

interface Artifact {
  file: string;
  sha256: string;
  files: number;
}

let tmp: string;
let app: string;
let agentDir: string;
let artifacts: Artifact[];

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-package-test-"));
  const out = execFileSync(process.execPath, ["--import", "tsx", "scripts/package/build.ts", "--out", path.join(tmp, "out"), "--json"], {
    cwd: REPO,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  artifacts = (JSON.parse(out.trim().split("\n").pop()!) as { artifacts: Artifact[] }).artifacts;
  app = path.join(tmp, "app");
  await fs.mkdir(app);
  execFileSync("unzip", ["-q", artifacts[0]!.file, "-d", app]);
  agentDir = path.join(tmp, "agent");
  await fs.mkdir(agentDir);
  execFileSync("tar", ["-xzf", artifacts[1]!.file, "-C", agentDir]);
});

after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

test("both artifacts are named by version and carry a matching sha256 file", async () => {
  assert.deepEqual(
    artifacts.map((a) => path.basename(a.file)),
    [`kv-acme-functionapp-${pkg.version}.zip`, `kv-acme-agent-${pkg.version}.tar.gz`],
  );
  for (const a of artifacts) {
    const digest = createHash("sha256")
      .update(await fs.readFile(a.file))
      .digest("hex");
    assert.equal(await fs.readFile(`${a.file}.sha256`, "utf8"), `${digest}  ${path.basename(a.file)}\n`);
    assert.equal(a.sha256, digest);
  }
  execFileSync("unzip", ["-tq", artifacts[0]!.file]);
});

test("the Function App zip holds host.json, a deployed package.json whose main is the app bundle, and the dashboard bundle", async () => {
  assert.equal(await fs.readFile(path.join(app, "host.json"), "utf8"), await fs.readFile(path.join(REPO, "host.json"), "utf8"));
  const deployed = JSON.parse(await fs.readFile(path.join(app, "package.json"), "utf8")) as Record<string, unknown>;
  assert.equal(deployed.main, "dist/app.js");
  assert.deepEqual(deployed.dependencies, pkg.dependencies);
  assert.equal(deployed.devDependencies, undefined);
  assert.equal(deployed.scripts, undefined);
  const top = (await fs.readdir(app)).sort();
  assert.deepEqual(top, ["dist", "host.json", "node_modules", "package.json"]);
  assert.deepEqual((await fs.readdir(path.join(app, "dist"))).sort(), ["app.js", "dashboard-bundle"]);
  const manifest = JSON.parse(await fs.readFile(path.join(app, "dist", "dashboard-bundle", "manifest.json"), "utf8")) as {
    assets: string[];
  };
  assert.deepEqual((await fs.readdir(path.join(app, "dist", "dashboard-bundle", "assets"))).sort(), [...manifest.assets].sort());
  // The bundle names every source file it carries in a comment: no local stack, CLI, test or benchmark code.
  const bundle = await fs.readFile(path.join(app, "dist", "app.js"), "utf8");
  for (const f of (await fs.readdir(path.join(REPO, "functions"))).filter((f) => f.endsWith(".ts")))
    assert.ok(bundle.includes(`// functions/${f}\n`), `functions/${f} is in the bundle`);
  assert.deepEqual(bundle.match(/^\/\/ (src\/(local|cli)|test|bench|scripts)\/.*$/gm), null);
  // No TypeScript, source map or test file anywhere in the package.
  const files = execFileSync("unzip", ["-Z1", artifacts[0]!.file], { encoding: "utf8", maxBuffer: 1 << 28 })
    .trim()
    .split("\n");
  assert.equal(files.length, artifacts[0]!.files);
  assert.deepEqual(
    files.filter((f) => /\.(d\.)?[cm]?ts$|\.map$/.test(f)),
    [],
  );
  assert.deepEqual(
    files.filter((f) => f.startsWith("dist/") && /(^|\/)(test|bench|local)\//.test(f)),
    [],
  );
});

test("node_modules has the locked production dependencies and no development-only package", async () => {
  const lock = JSON.parse(await fs.readFile(path.join(REPO, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string; dev?: boolean }>;
  };
  const installed = JSON.parse(await fs.readFile(path.join(app, "node_modules", "durable-functions", "package.json"), "utf8")) as {
    version: string;
  };
  assert.equal(installed.version, lock.packages["node_modules/durable-functions"]!.version);
  const devOnly = Object.entries(lock.packages)
    .filter(([key, p]) => key.startsWith("node_modules/") && p.dev)
    .map(([key]) => key);
  assert.ok(devOnly.includes("node_modules/typescript"));
  assert.deepEqual(
    devOnly.filter((key) => existsSync(path.join(app, key))),
    [],
  );
  for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(path.join(app, "node_modules", dep, "package.json")), dep);
});

test("the app bundle (package.json main) and every production dependency load from the unpacked package with nothing from the repository", async () => {
  // The worker's @azure/functions-core is provided by the local host's core-api module, compiled on its own
  // (it imports node builtins only), so the child process runs plain node and loads nothing else of the repository.
  const esbuild = (await import("esbuild")) as typeof import("esbuild");
  const core = path.join(tmp, "core-api.js");
  await esbuild.build({
    entryPoints: [path.join(REPO, "src/local/host/core-api.ts")],
    outfile: core,
    bundle: true,
    platform: "node",
    format: "cjs",
    logLevel: "error",
  });
  const child = `
    const path = require("node:path");
    const [core, app, depsJson] = process.argv.slice(1);
    const { loadFunctionModules } = require(core);
    const main = JSON.parse(require("node:fs").readFileSync(path.join(app, "package.json"), "utf8")).main;
    const registry = loadFunctionModules([path.join(app, main)]);
    for (const dep of JSON.parse(depsJson)) require(require.resolve(dep, { paths: [app] }));
    process.stdout.write(JSON.stringify({ functions: [...registry.functions.keys()], loaded: Object.keys(require.cache) }));
  `;
  const r = spawnSync(process.execPath, ["-e", child, core, app, JSON.stringify(Object.keys(pkg.dependencies))], {
    cwd: tmp,
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: tmp },
    maxBuffer: 1 << 28,
  });
  assert.equal(r.status, 0, r.stderr);
  const { functions, loaded } = JSON.parse(r.stdout) as { functions: string[]; loaded: string[] };
  for (const name of ["issueCertificate", "renewCertificates", "renewalTimer"]) assert.ok(functions.includes(name), `${name} registered`);
  assert.deepEqual(
    loaded.filter((f) => f !== core && !f.startsWith(app + path.sep)),
    [],
    "modules loaded from outside the unpacked package",
  );
  assert.ok(loaded.some((f) => f.includes(`${path.sep}node_modules${path.sep}acme-client${path.sep}`)));
});

test("the agent tarball prints its version and installs a certificate from a Key Vault with the system's Node", async () => {
  const root = path.join(agentDir, `kv-acme-agent-${pkg.version}`);
  assert.deepEqual((await fs.readdir(root)).sort(), [
    "README.md",
    "bin",
    "install-windows-service.ps1",
    "install.sh",
    "kv-acme-agent.service",
    "lib",
    "package.json",
  ]);
  const entry = path.join(root, "bin", "kv-acme-agent.js");
  const version = spawnSync(entry, ["--version"], {
    encoding: "utf8",
    env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` },
  });
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout, `kv-acme-agent ${pkg.version}\n`);

  let stack: AgentStack | undefined;
  try {
    stack = await startAgentStack();
    const { serialHex } = await stack.putVersion("packaged", ["packaged.example.com"]);
    const work = path.join(tmp, "agent-run");
    const store = path.join(work, "store");
    const settingsFile = path.join(work, "agent.settings");
    await fs.mkdir(work);
    await fs.writeFile(
      settingsFile,
      JSON.stringify({
        secretsManagementSettings: {
          pollingIntervalInS: "3600",
          observedCertificates: [{ url: `${stack.kv.url}/secrets/packaged`, certificateStoreLocation: store }],
        },
        authenticationSettings: { msiEndpoint: stack.imdsEndpoint },
        kvAcme: { stateFile: path.join(work, "state.json"), statusFile: path.join(work, "status.json") },
      }),
    );
    // Asynchronously: the vault stand-in answers from this process.
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [entry, "--settings", settingsFile, "--once"], {
        cwd: work,
        env: { PATH: process.env.PATH, HOME: work, NODE_EXTRA_CA_CERTS: path.join(REPO, ".local", "ca", "ca.pem") },
        stdio: ["ignore", "ignore", "pipe"],
        timeout: 60_000,
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stderr }));
    });
    assert.equal(run.code, 0, run.stderr);
    const links = (await fs.readdir(store, { withFileTypes: true })).filter((e) => e.isSymbolicLink());
    assert.equal(links.length, 1, "one current-version link in the store");
    const pem = await fs.readFile(path.join(store, links[0]!.name), "utf8");
    assert.match(pem, /-----BEGIN CERTIFICATE-----/);
    const { X509Certificate } = await import("node:crypto");
    assert.equal(new X509Certificate(pem).serialNumber.toLowerCase().replace(/^0+/, ""), serialHex.toLowerCase().replace(/^0+/, ""));
  } finally {
    await stack?.close();
  }
});

test("install.sh installs the unpacked agent beside earlier versions and switches `current` with a rename", async () => {
  const root = path.join(agentDir, `kv-acme-agent-${pkg.version}`);
  const prefix = path.join(tmp, "opt");
  const bin = path.join(tmp, "bin");
  const env = { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, KVACME_ETC: path.join(tmp, "etc"), KVACME_BIN_DIR: bin };
  await fs.mkdir(path.join(prefix, "0.0.9"), { recursive: true });
  await fs.symlink("0.0.9", path.join(prefix, "current"));
  const r = spawnSync("sh", [path.join(root, "install.sh"), "--prefix", prefix, "--no-systemd"], { encoding: "utf8", env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(await fs.readlink(path.join(prefix, "current")), pkg.version);
  assert.ok(existsSync(path.join(prefix, "0.0.9")), "the earlier version stays for a rollback");
  const v = spawnSync(path.join(bin, "kv-acme-agent"), ["--version"], { encoding: "utf8", env });
  assert.equal(v.stdout, `kv-acme-agent ${pkg.version}\n`);
  assert.equal(((await fs.stat(path.join(tmp, "etc"))).mode & 0o777).toString(8), "700");
  const bad = spawnSync("sh", [path.join(root, "install.sh"), "--prefix", "relative/dir", "--no-systemd"], { encoding: "utf8", env });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /an absolute path is needed/);
});
