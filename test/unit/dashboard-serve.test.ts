/** Serving the dashboard bundle (src/dashboard/serve.ts) built for real by dashboard/build.ts into a temp dir. */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { buildDashboard, JS_GZIP_BUDGET_BYTES } from "../../dashboard/build";
import { DASHBOARD_CSP, DashboardBundle, IMMUTABLE_CACHE, serveDashboard } from "../../src/dashboard/serve";

const headers = (h: Record<string, string> = {}) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });
let dir: string;
let bundle: DashboardBundle;
let js: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-bundle-"));
  const manifest = await buildDashboard(dir);
  js = manifest.assets.find((a) => a.endsWith(".js"))!;
  bundle = DashboardBundle.load(dir)!;
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("dashboard serving", () => {
  it("builds one hashed script and stylesheet under the 150 KB gzipped first-load budget", async () => {
    const manifest = JSON.parse(await (await import("node:fs/promises")).readFile(path.join(dir, "manifest.json"), "utf8"));
    assert.equal(manifest.assets.length, 2);
    assert.match(js, /^app-[A-Z0-9]{8}\.js$/);
    assert.ok(manifest.jsGzipBytes > 1000 && manifest.jsGzipBytes <= JS_GZIP_BUDGET_BYTES, String(manifest.jsGzipBytes));
  });

  it("redirects / and /dashboard to /dashboard/", () => {
    const root = serveDashboard(bundle, "/", headers());
    assert.equal(root.status, 302);
    assert.equal(root.headers.location, "/dashboard/");
    assert.equal(serveDashboard(bundle, "/dashboard", headers()).headers.location, "/dashboard/");
  });

  it("serves index.html revalidated and assets immutable, with CSP, nosniff and frame-ancestors 'none' on each", () => {
    const index = serveDashboard(bundle, "/dashboard/", headers());
    assert.equal(index.status, 200);
    assert.equal(index.headers["cache-control"], "no-cache");
    assert.match(String(Buffer.from(index.body as Uint8Array)), new RegExp(`/dashboard/assets/${js}`));
    const asset = serveDashboard(bundle, `/dashboard/assets/${js}`, headers());
    assert.equal(asset.headers["cache-control"], IMMUTABLE_CACHE);
    assert.equal(asset.headers["content-type"], "text/javascript; charset=utf-8");
    for (const r of [index, asset]) {
      assert.equal(r.headers["content-security-policy"], DASHBOARD_CSP);
      assert.equal(r.headers["x-content-type-options"], "nosniff");
    }
    assert.match(DASHBOARD_CSP, /^default-src 'self'; script-src 'self';/);
    assert.match(DASHBOARD_CSP, /frame-ancestors 'none'/);
    assert.doesNotMatch(DASHBOARD_CSP, /unsafe/);
  });

  it("sends gzip only to clients that accept it (q=0 refuses)", () => {
    const plain = serveDashboard(bundle, `/dashboard/assets/${js}`, headers({ "accept-encoding": "br, gzip;q=0" }));
    assert.equal(plain.headers["content-encoding"], undefined);
    const gz = serveDashboard(bundle, `/dashboard/assets/${js}`, headers({ "accept-encoding": "br, gzip" }));
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.equal(gz.headers.vary, "accept-encoding");
    assert.deepEqual(gunzipSync(gz.body as Uint8Array), plain.body);
  });

  it("answers 404 problems for anything outside the bundle's file list, and 503 when it was not built", () => {
    for (const p of [
      "/dashboard/assets/../manifest.json",
      "/dashboard/manifest.json",
      "/dashboard/assets/x.js",
      "/api/nothing",
      "/etc/passwd",
    ]) {
      const r = serveDashboard(bundle, p, headers());
      assert.equal(r.status, 404, p);
      assert.equal(r.headers["content-type"], "application/problem+json");
    }
    assert.equal(DashboardBundle.load(path.join(dir, "missing")), undefined);
    const unbuilt = serveDashboard(undefined, "/dashboard/", headers());
    assert.equal(unbuilt.status, 503);
    assert.match(String(unbuilt.body), /npm run build/);
  });
});
