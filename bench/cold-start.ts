/**
 * bench/cold-start (issues 4 and 9): time to load the function app in a fresh node process, as the Functions worker
 * does at a cold start: package.json `main`, the one bundled file `dist/app.js` (scripts/package/app-bundle.ts), with
 * its registrations (the worker provides @azure/functions-core; here the local host's core-api module provides it and
 * is loaded before the timer starts, since the worker has it built in). Target (issue 9): median ≤ 150 ms.
 *
 *   node --import tsx bench/cold-start.ts [--runs N (default 7, at least 5)] [--no-build] [--side-by-side] [--package ZIP|DIR]
 *
 * Bundles first unless --no-build. --side-by-side also compiles with tsc and loads the unbundled modules
 * (dist/functions/*.js and the ~490 files they require) in the same run, alternating with the bundle, so both medians
 * come from the same machine load. With --package, the app is loaded from a Function App package built by
 * `npm run package` (the zip, unpacked into a temporary folder, or a folder it was unpacked into), through its
 * package.json `main`.
 *
 * Each run also reports whether a heavy SDK (Key Vault, identity, ARM DNS, acme-client, Application Insights) was
 * loaded at start-up: they must load lazily, on first use. Prints one JSON line.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildSync } from "esbuild";
import { APP_BUNDLE, buildAppBundle } from "../scripts/package/app-bundle";
import { parseBenchArgs } from "./lib/args";

const TARGET_MS = 150;
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

/** One variant's runs summarised. */
function summary(results: Run[], root: string, files: string[]) {
  const times = results.map((r) => Math.round(r.ms * 10) / 10);
  const heavy = [...new Set(results.flatMap((r) => r.heavy))];
  return {
    medianMs: Math.round(median(times) * 10) / 10,
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    timesMs: times,
    loaded: files.map((f) => path.relative(root, f)),
    functions: results[0]?.functions,
    // Modules in require.cache after loading, the core-api stand-in included.
    modulesLoaded: results[0]?.modules,
    heavySdksLoadedAtStartup: heavy,
  };
}

function loadOnce(core: string, files: string[], cwd: string): Run {
  const out = execFileSync(process.execPath, ["-e", CHILD, core, JSON.stringify(HEAVY), ...files], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  return JSON.parse(out.trim().split("\n").pop() as string) as Run;
}

async function main(): Promise<void> {
  const values = parseBenchArgs(
    process.argv.slice(2),
    {
      runs: { type: "count", default: 7 },
      "no-build": { type: "flag" },
      "side-by-side": { type: "flag" },
      package: { type: "string" },
    },
    "usage: npm run bench:cold-start [-- --runs N (>= 5) --no-build --side-by-side --package ZIP|DIR]",
  );
  const runs = values.runs;
  if (runs < 5) throw new Error("--runs must be an integer ≥ 5");
  if (values.package && values["side-by-side"]) throw new Error("--side-by-side compares the repository's builds: not with --package");
  const root = path.resolve(__dirname, "..");
  // The worker's @azure/functions-core: the local host's stand-in, compiled on its own (it imports node builtins only).
  const tmp = mkdtempSync(path.join(os.tmpdir(), "kvacme-cold-start-"));
  const core = path.join(tmp, "core-api.js");
  buildSync({
    entryPoints: [path.join(root, "src/local/host/core-api.ts")],
    outfile: core,
    bundle: true,
    platform: "node",
    format: "cjs",
    logLevel: "error",
  });
  let bundle = APP_BUNDLE;
  if (values.package) {
    let appDir = path.resolve(values.package);
    if (appDir.endsWith(".zip")) {
      execFileSync("unzip", ["-q", appDir, "-d", path.join(tmp, "app")]);
      appDir = path.join(tmp, "app");
    }
    bundle = path.join(appDir, (JSON.parse(readFileSync(path.join(appDir, "package.json"), "utf8")) as { main: string }).main);
  } else if (!values["no-build"]) {
    await buildAppBundle();
  }
  if (values["side-by-side"] && !values["no-build"]) {
    try {
      execFileSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      // tsc still emits when some file has type errors; measure what was built and say so.
      const out = String((err as { stdout?: Buffer }).stdout ?? "");
      process.stderr.write(`cold-start: tsc reported errors (output still emitted):\n${out.split("\n").slice(0, 10).join("\n")}\n`);
    }
  }
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: build first (npm run build)`);
  const fnDir = path.join(root, "dist", "functions");
  const modules = values["side-by-side"]
    ? readdirSync(fnDir)
        .filter((f) => f.endsWith(".js"))
        .sort()
        .map((f) => path.join(fnDir, f))
    : [];
  const bundled: Run[] = [];
  const unbundled: Run[] = [];
  // Alternating, so both see the same machine load.
  for (let i = 0; i < runs; i++) {
    bundled.push(loadOnce(core, [bundle], root));
    if (modules.length > 0) unbundled.push(loadOnce(core, modules, root));
  }
  const result = summary(bundled, root, [bundle]);
  process.stdout.write(
    JSON.stringify({
      bench: "cold-start",
      runs,
      ...result,
      targetMs: TARGET_MS,
      pass: result.medianMs <= TARGET_MS && result.heavySdksLoadedAtStartup.length === 0,
      package: values.package,
      unbundled: modules.length > 0 ? summary(unbundled, root, modules) : undefined,
      loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
      node: process.version,
    }) + "\n",
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`cold-start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
