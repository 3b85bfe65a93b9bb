/**
 * bench/cold-start (issue 4): time to load the function app's module graph — every compiled dist/functions/*.js with
 * its imports and registrations — in a fresh node process, as the Functions worker does at a cold start (the worker
 * provides @azure/functions-core; here the local host's core-api module provides it and is loaded before the timer
 * starts, since the worker has it built in). Target: median ≤ 500 ms.
 *
 *   node --import tsx bench/cold-start.ts [--runs N (default 7, at least 5)] [--no-build] [--package ZIP|DIR]
 *
 * With --package, the function modules are loaded from a Function App package built by `npm run package` (the zip,
 * unpacked into a temporary folder, or a folder it was unpacked into) instead of the repository's dist/.
 *
 * Compiles first (npx tsc -p tsconfig.json) unless --no-build. Each run also reports whether a heavy SDK (Key Vault,
 * identity, ARM DNS, acme-client, Application Insights) was loaded at start-up: they must load lazily, on first use.
 * Prints one JSON line.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { buildSync } from "esbuild";

const TARGET_MS = 500;
const HEAVY = [
  "@azure/keyvault-certificates",
  "@azure/keyvault-secrets",
  "@azure/identity",
  "@azure/arm-dns",
  "acme-client",
  "applicationinsights",
  "node-forge",
  "jose",
];

const CHILD = `
const path = require("node:path");
const [core, heavyJson, ...files] = process.argv.slice(1);
const { loadFunctionModules } = require(core);
const t0 = performance.now();
const registry = loadFunctionModules(files);
const ms = performance.now() - t0;
const loaded = Object.keys(require.cache);
const heavy = JSON.parse(heavyJson).filter((m) => loaded.some((f) => f.includes("/node_modules/" + m + "/")));
process.stdout.write(JSON.stringify({ ms, functions: registry.functions.size, modules: loaded.length, heavy }) + "\\n");
`;

interface Run {
  ms: number;
  functions: number;
  modules: number;
  heavy: string[];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function main(): void {
  const { values } = parseArgs({
    options: { runs: { type: "string", default: "7" }, "no-build": { type: "boolean", default: false }, package: { type: "string" } },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 5) throw new Error("--runs must be an integer ≥ 5");
  const root = path.resolve(__dirname, "..");
  let dist = path.join(root, "dist");
  let core = path.join(dist, "src/local/host/core-api.js");
  if (values.package) {
    // The package has no local host: its @azure/functions-core stand-in is compiled on its own (node builtins only).
    let appDir = path.resolve(values.package);
    const tmp = mkdtempSync(path.join(os.tmpdir(), "kvacme-cold-start-"));
    if (appDir.endsWith(".zip")) {
      execFileSync("unzip", ["-q", appDir, "-d", path.join(tmp, "app")]);
      appDir = path.join(tmp, "app");
    }
    dist = path.join(appDir, "dist");
    core = path.join(tmp, "core-api.js");
    buildSync({
      entryPoints: [path.join(root, "src/local/host/core-api.ts")],
      outfile: core,
      bundle: true,
      platform: "node",
      format: "cjs",
      logLevel: "error",
    });
  } else if (!values["no-build"]) {
    try {
      execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      // tsc still emits when some file has type errors; measure what was built and say so.
      const out = String((err as { stdout?: Buffer }).stdout ?? "");
      process.stderr.write(`cold-start: tsc reported errors (output still emitted):\n${out.split("\n").slice(0, 10).join("\n")}\n`);
    }
  }
  const fnDir = path.join(dist, "functions");
  if (!existsSync(fnDir)) throw new Error(`${fnDir} is missing: build first (npm run build)`);
  const files = readdirSync(fnDir)
    .filter((f) => f.endsWith(".js"))
    .sort()
    .map((f) => path.join(fnDir, f));
  const results: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ["-e", CHILD, core, JSON.stringify(HEAVY), ...files], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    results.push(JSON.parse(out.trim().split("\n").pop() as string) as Run);
  }
  const times = results.map((r) => Math.round(r.ms * 10) / 10);
  const medianMs = Math.round(median(times) * 10) / 10;
  const heavy = [...new Set(results.flatMap((r) => r.heavy))];
  process.stdout.write(
    JSON.stringify({
      bench: "cold-start",
      runs,
      medianMs,
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      timesMs: times,
      targetMs: TARGET_MS,
      pass: medianMs <= TARGET_MS && heavy.length === 0,
      package: values.package,
      functionModules: files.map((f) => path.relative(root, f)),
      functions: results[0]?.functions,
      modulesLoaded: results[0]?.modules,
      heavySdksLoadedAtStartup: heavy,
      node: process.version,
    }) + "\n",
  );
}

main();
