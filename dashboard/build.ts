/**
 * Builds the dashboard (dashboard/src) into dist/dashboard-bundle with esbuild: one minified ES module and one stylesheet,
 * both content-hashed under assets/, an index.html that loads them (no inline script or style, so the strict CSP
 * holds), and manifest.json (the asset list the server serves, and the first-load JavaScript size gzipped).
 *
 *   tsx dashboard/build.ts [--out DIR]      (npm run build runs it)
 */
import { build } from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import type { DashboardManifest } from "../src/dashboard/serve";
import { DASHBOARD_PATH } from "../src/dashboard/serve";

/** First-load JavaScript budget, gzipped (issue 13). */
export const JS_GZIP_BUDGET_BYTES = 150 * 1024;

export async function buildDashboard(outDir: string): Promise<DashboardManifest> {
  const root = path.resolve(__dirname);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(path.join(outDir, "assets"), { recursive: true });
  const result = await build({
    entryPoints: { app: path.join(root, "src", "main.tsx") },
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    jsx: "automatic",
    jsxImportSource: "preact",
    outdir: path.join(outDir, "assets"),
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    metafile: true,
    legalComments: "none",
    logLevel: "warning",
    tsconfig: path.join(root, "tsconfig.json"),
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
  const js = outputs.find((f) => f.endsWith(".js"));
  const css = outputs.find((f) => f.endsWith(".css"));
  if (!js || !css) throw new Error(`esbuild wrote ${outputs.join(", ")}: expected one .js and one .css`);
  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light dark" />
    <title>kv-acme</title>
    <link rel="stylesheet" href="${DASHBOARD_PATH}assets/${css}" />
    <script type="module" src="${DASHBOARD_PATH}assets/${js}"></script>
  </head>
  <body>
    <div id="app"></div>
    <noscript>The kv-acme dashboard needs JavaScript. The HTTP API (docs/api.md) and the kv-acme CLI work without it.</noscript>
  </body>
</html>
`;
  await writeFile(path.join(outDir, "index.html"), html);
  const jsGzipBytes = gzipSync(await readFile(path.join(outDir, "assets", js)), { level: 9 }).byteLength;
  const manifest: DashboardManifest = { assets: outputs.filter((f) => !f.endsWith(".map")), jsGzipBytes };
  await writeFile(path.join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  if (jsGzipBytes > JS_GZIP_BUDGET_BYTES)
    throw new Error(`first-load JavaScript is ${jsGzipBytes} bytes gzipped, over ${JS_GZIP_BUDGET_BYTES}`);
  return manifest;
}

if (require.main === module) {
  const i = process.argv.indexOf("--out");
  const out = path.resolve(i > 0 ? process.argv[i + 1]! : path.join(__dirname, "..", "dist", "dashboard-bundle"));
  buildDashboard(out).then(
    (m) => console.log(`dashboard: ${m.assets.join(", ")} -> ${out} (JavaScript ${(m.jsGzipBytes / 1024).toFixed(1)} KiB gzipped)`),
    (err: unknown) => {
      console.error(`dashboard build failed: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
