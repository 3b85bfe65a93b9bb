/**
 * The Function App as the Functions host loads it: every module of functions/ with everything it imports bundled by
 * esbuild into one CommonJS file, `dist/app.js` (package.json `main`). Loading one file instead of ~490 is what keeps
 * the cold start within budget (bench/cold-start.ts, docs/benchmarks.md); `npm run package` ships exactly this file,
 * and the local host (`npm start`, `npm run demo`) loads it too.
 *
 * Left outside the bundle, required from node_modules at run time:
 * - `@azure/functions-core`: the Node worker provides it (the local host's core-api.ts stands in for it);
 * - every other production dependency but the two the cold start needs (@azure/functions, durable-functions): the
 *   Azure SDKs, acme-client, Application Insights, jose, node-forge, … are reached only through `lazyModule` (loaded on
 *   a function's first call), so bundling them would only add text the worker parses at every start.
 * kv-acme's own modules behind `lazyModule(() => require("…"))` are in the bundle and still run on first use only.
 *
 *   node --import tsx scripts/package/app-bundle.ts [--out FILE]
 */
import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";

const ROOT = path.resolve(__dirname, "..", "..");
const PACKAGE = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { main: string; dependencies: Record<string, string> };

/** The bundle's path in the app (package.json `main`, what the Functions host loads): dist/app.js. */
export const APP_MAIN = PACKAGE.main;

/** Where the bundle is written by default: the repository's package.json `main`. */
export const APP_BUNDLE = path.join(ROOT, APP_MAIN);

/** The production dependencies the bundle carries: what registering the functions needs at start. */
export const BUNDLED_DEPENDENCIES = ["@azure/functions", "durable-functions"];

/** Source folders that may not reach the Function App (dev-only code, tests, benchmarks). */
const NOT_IN_APP = ["src/local/", "src/cli/", "test/", "bench/", "scripts/"];

/** The modules required from node_modules at run time (each also with its subpaths). */
export function appExternals(): string[] {
  const lazy = Object.keys(PACKAGE.dependencies).filter((d) => !BUNDLED_DEPENDENCIES.includes(d));
  return ["@azure/functions-core", ...lazy.flatMap((d) => [d, `${d}/*`])];
}

export interface AppBundle {
  file: string;
  bytes: number;
  /** Source files in the bundle (relative to the repository). */
  inputs: string[];
}

/** Bundles functions/*.ts into `outfile`; throws when dev-only code (src/local, src/cli, …) would be in it. */
export async function buildAppBundle(options: { outfile?: string; sourcemap?: boolean } = {}): Promise<AppBundle> {
  const outfile = options.outfile ?? APP_BUNDLE;
  const modules = (await readdir(path.join(ROOT, "functions"))).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).sort();
  const esbuild = (await import("esbuild")) as typeof import("esbuild");
  const result = await esbuild.build({
    stdin: {
      contents: modules.map((f) => `require(${JSON.stringify(`./functions/${f.replace(/\.ts$/, "")}`)});`).join("\n") + "\n",
      resolveDir: ROOT,
      sourcefile: "functions/(every module).js",
      loader: "js",
    },
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: appExternals(),
    sourcemap: options.sourcemap ?? false,
    legalComments: "inline",
    metafile: true,
    logLevel: "warning",
    absWorkingDir: ROOT,
  });
  const inputs = Object.keys(result.metafile.inputs);
  const leaked = inputs.filter((f) => NOT_IN_APP.some((dir) => f.startsWith(dir)));
  if (leaked.length > 0) throw new Error(`product code imports ${leaked.join(", ")}: the Function App may not contain it`);
  const output = result.metafile.outputs[path.relative(ROOT, outfile)];
  return { file: outfile, bytes: output?.bytes ?? 0, inputs };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  const bundle = await buildAppBundle({ outfile: values.out ? path.resolve(values.out) : undefined, sourcemap: true });
  process.stderr.write(
    `${path.relative(process.cwd(), bundle.file)}: ${(bundle.bytes / 1024).toFixed(0)} KB, ${bundle.inputs.length} source files\n`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`app bundle: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
