/**
 * `npm run package`: the release artifacts (docs/deploy.md, docs/agent.md).
 *
 *   artifacts/kv-acme-functionapp-<version>.zip      host.json, package.json, the app bundle dist/app.js (functions/
 *                                                    and product src/ with @azure/functions and durable-functions,
 *                                                    ./app-bundle.ts; no src/local, src/cli, test/, bench/), the
 *                                                    dashboard bundle (dist/dashboard-bundle), production node_modules
 *                                                    (the dependencies the bundle requires on first use)
 *   artifacts/kv-acme-agent-<version>.tar.gz         the VM agent bundled into one file, its systemd unit, the Windows
 *                                                    install script and install.sh
 *   artifacts/<artifact>.sha256                      `sha256sum -c` format
 *
 * Options: --out DIR (default artifacts/), --only functionapp|agent, --verify-reproducible (build everything twice
 * from scratch and compare the bytes). Both artifacts are reproducible: every timestamp is the last commit's time
 * (SOURCE_DATE_EPOCH when set), entries are sorted, owners and modes are normalised and node_modules comes from
 * `npm ci` of the committed lock file with install scripts off.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildDashboard } from "../../dashboard/build";
import { APP_MAIN, buildAppBundle } from "./app-bundle";
import { writeDeterministicZip, listFiles } from "./zip";

const ROOT = path.resolve(__dirname, "..", "..");

/** Files of the agent package besides the bundle, copied from the repository: [source, name in the package]. */
const AGENT_FILES: [string, string][] = [
  ["infra/agent/kv-acme-agent.service", "kv-acme-agent.service"],
  ["infra/agent/install-windows-service.ps1", "install-windows-service.ps1"],
  ["scripts/package/install.sh", "install.sh"],
  ["docs/agent.md", "README.md"],
];

interface PackageJson {
  name: string;
  version: string;
  description?: string;
  license?: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [key: string]: unknown;
}

export interface Artifact {
  file: string;
  sha256: string;
  bytes: number;
  files: number;
  unpackedBytes: number;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  execFileSync(cmd, args, { cwd, env, stdio: ["ignore", "ignore", "inherit"] });
}

/** The timestamp written into every archive entry: SOURCE_DATE_EPOCH, else the last commit's time. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  if (env.SOURCE_DATE_EPOCH && /^\d+$/.test(env.SOURCE_DATE_EPOCH)) return Number(env.SOURCE_DATE_EPOCH);
  try {
    return Number(execFileSync("git", ["log", "-1", "--format=%ct"], { cwd: ROOT, encoding: "utf8" }).trim());
  } catch {
    throw new Error("no SOURCE_DATE_EPOCH and no git history to take the artifacts' timestamp from");
  }
}

async function sha256File(file: string): Promise<string> {
  return createHash("sha256")
    .update(await fs.readFile(file))
    .digest("hex");
}

async function writeChecksum(file: string): Promise<string> {
  const digest = await sha256File(file);
  await fs.writeFile(`${file}.sha256`, `${digest}  ${path.basename(file)}\n`);
  return digest;
}

async function dirStats(dir: string): Promise<{ files: number; bytes: number }> {
  const files = await listFiles(dir);
  let bytes = 0;
  for (const f of files) bytes += (await fs.stat(path.join(dir, f))).size;
  return { files: files.length, bytes };
}

/** package.json as deployed: what the Functions host and npm need, no scripts and no development dependencies. */
function deployedPackageJson(pkg: PackageJson): PackageJson {
  return {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    license: pkg.license,
    private: true,
    type: "commonjs",
    main: APP_MAIN,
    engines: pkg.engines,
    dependencies: pkg.dependencies,
  };
}

/**
 * Files in node_modules that Node never loads at run time: type declarations, source maps, TypeScript sources and
 * markdown. Licence files stay.
 */
const NOT_LOADED = /(\.d\.[cm]?ts|\.[cm]?ts|\.map|\.md|\.markdown)$/i;
const KEPT = /^(licen[cs]e|copying|notice)/i;

async function pruneNodeModules(dir: string): Promise<void> {
  for (const rel of await listFiles(dir)) {
    const base = path.posix.basename(rel);
    if (NOT_LOADED.test(base) && !KEPT.test(base)) await fs.rm(path.join(dir, rel));
  }
}

/** Builds the Function App zip from a clean staging folder. */
async function buildFunctionApp(pkg: PackageJson, outDir: string, work: string, epoch: number): Promise<Artifact> {
  const stage = path.join(work, "functionapp");
  await fs.mkdir(stage, { recursive: true });
  // The one file the Functions host loads; it refuses dev-only code (src/local, src/cli, tests, benchmarks).
  await buildAppBundle({ outfile: path.join(stage, APP_MAIN) });
  const deployed = JSON.stringify(deployedPackageJson(pkg), null, 2) + "\n";
  // The dashboard's static bundle (served by functions/dashboard.ts from dist/dashboard-bundle).
  await buildDashboard(path.join(stage, "dist", "dashboard-bundle"));
  await fs.copyFile(path.join(ROOT, "host.json"), path.join(stage, "host.json"));
  // npm ci against the committed lock file: exactly the locked production dependencies, no install scripts.
  await fs.copyFile(path.join(ROOT, "package.json"), path.join(stage, "package.json"));
  await fs.copyFile(path.join(ROOT, "package-lock.json"), path.join(stage, "package-lock.json"));
  run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], stage, {
    ...process.env,
    npm_config_update_notifier: "false",
  });
  await fs.rm(path.join(stage, "package-lock.json"));
  // npm's own bookkeeping records the install folder's absolute path in places: not part of the app.
  await fs.rm(path.join(stage, "node_modules", ".package-lock.json"), { force: true });
  await fs.rm(path.join(stage, "node_modules", ".bin"), { recursive: true, force: true });
  await fs.writeFile(path.join(stage, "package.json"), deployed);
  await pruneNodeModules(path.join(stage, "node_modules"));
  const file = path.join(outDir, `kv-acme-functionapp-${pkg.version}.zip`);
  const files = await writeDeterministicZip(stage, file, epoch);
  const stats = await dirStats(stage);
  return { file, sha256: await writeChecksum(file), bytes: (await fs.stat(file)).size, files, unpackedBytes: stats.bytes };
}

/** Builds the agent tarball: one bundled JavaScript file (no node_modules to install on the VM) plus service files. */
async function buildAgent(pkg: PackageJson, outDir: string, work: string, epoch: number): Promise<Artifact> {
  const name = `kv-acme-agent-${pkg.version}`;
  const stage = path.join(work, "agent", name);
  await fs.mkdir(path.join(stage, "bin"), { recursive: true });
  await fs.mkdir(path.join(stage, "lib"), { recursive: true });
  const esbuild = (await import("esbuild")) as typeof import("esbuild");
  await esbuild.build({
    entryPoints: [path.join(ROOT, "src", "agent", "main.ts")],
    outfile: path.join(stage, "lib", "kv-acme-agent.js"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    keepNames: true,
    legalComments: "linked",
    logLevel: "warning",
    absWorkingDir: ROOT,
  });
  const entry = [
    "#!/usr/bin/env node",
    "// kv-acme agent: see README.md beside this folder. Needs Node.js 20 or later.",
    '"use strict";',
    'const { main } = require("../lib/kv-acme-agent.js");',
    "main(process.argv.slice(2)).then(",
    "  (code) => (process.exitCode = code),",
    "  (err) => {",
    '    process.stderr.write("kv-acme-agent: " + (err && err.message ? err.message : String(err)) + "\\n");',
    "    process.exitCode = 1;",
    "  },",
    ");",
    "",
  ].join("\n");
  await fs.writeFile(path.join(stage, "bin", "kv-acme-agent.js"), entry, { mode: 0o755 });
  for (const [from, to] of AGENT_FILES) await fs.copyFile(path.join(ROOT, from), path.join(stage, to));
  await fs.chmod(path.join(stage, "install.sh"), 0o755);
  await fs.writeFile(
    path.join(stage, "package.json"),
    JSON.stringify({ name: "kv-acme-agent", version: pkg.version, license: pkg.license, private: true, engines: pkg.engines }, null, 2) +
      "\n",
  );
  const file = path.join(outDir, `${name}.tar.gz`);
  // GNU tar with sorted names, one timestamp, numeric root ownership and normalised modes; gzip without name or time.
  const tarArgs = [
    "--sort=name",
    `--mtime=@${epoch}`,
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--mode=u+rw,go+r,go-w",
    "--format=gnu",
  ];
  const tar = execFileSync("tar", [...tarArgs, "-cf", "-", name], { cwd: path.dirname(stage), maxBuffer: 1 << 30 });
  const gz = execFileSync("gzip", ["-n", "-9"], { input: tar, maxBuffer: 1 << 30 });
  await fs.writeFile(file, gz);
  const stats = await dirStats(stage);
  return { file, sha256: await writeChecksum(file), bytes: gz.length, files: stats.files, unpackedBytes: stats.bytes };
}

export async function buildArtifacts(options: { outDir: string; only?: "functionapp" | "agent" }): Promise<Artifact[]> {
  const pkg = JSON.parse(await fs.readFile(path.join(ROOT, "package.json"), "utf8")) as PackageJson;
  const epoch = sourceDateEpoch();
  await fs.mkdir(options.outDir, { recursive: true });
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-package-"));
  try {
    const out: Artifact[] = [];
    if (options.only !== "agent") out.push(await buildFunctionApp(pkg, options.outDir, work, epoch));
    if (options.only !== "functionapp") out.push(await buildAgent(pkg, options.outDir, work, epoch));
    return out;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

function describe(a: Artifact): string {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${path.relative(process.cwd(), a.file)}: ${mb(a.bytes)}, ${a.files} files (${mb(a.unpackedBytes)} unpacked), sha256 ${a.sha256}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: path.join(ROOT, "artifacts") },
      only: { type: "string" },
      "verify-reproducible": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const only = values.only;
  if (only !== undefined && only !== "functionapp" && only !== "agent") throw new Error("--only takes functionapp or agent");
  const outDir = path.resolve(values.out);
  const artifacts = await buildArtifacts({ outDir, only });
  for (const a of artifacts) process.stderr.write(describe(a) + "\n");
  let reproducible: boolean | undefined;
  if (values["verify-reproducible"]) {
    const again = await buildArtifacts({ outDir: await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-package-again-")), only });
    reproducible = artifacts.every((a, i) => a.sha256 === again[i]?.sha256);
    for (const [i, a] of artifacts.entries()) {
      process.stderr.write(
        `${path.basename(a.file)}: ${a.sha256 === again[i]?.sha256 ? "same bytes on a second build" : "DIFFERENT bytes on a second build"}\n`,
      );
    }
  }
  if (values.json) process.stdout.write(JSON.stringify({ artifacts, reproducible }) + "\n");
  if (reproducible === false) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`npm run package: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
