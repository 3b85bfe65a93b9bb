/**
 * Serves the dashboard's prebuilt static bundle (dist/dashboard-bundle, made by `npm run build` from dashboard/): `/` redirects
 * to /dashboard/, index.html is revalidated on every load, hashed assets are cached for a year (immutable), and every
 * answer carries a strict Content-Security-Policy (no inline script, nothing from another origin), nosniff and
 * frame-ancestors 'none'. Paths outside the bundle's file list are 404 problems; nothing is read from user input.
 */
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import type { ApiResponse } from "../api/http";
import { problem } from "../api/problem";
import { PROBLEM_CONTENT_TYPE } from "../api/problem";
import { findAppRoot } from "../shared/app-root";

/** Where the dashboard is served. */
export const DASHBOARD_PATH = "/dashboard/";

/** The Content-Security-Policy of every dashboard answer. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

/** Hashed assets never change under their name. */
export const IMMUTABLE_CACHE = "public, max-age=31536000, immutable";
/** index.html names the current assets, so it is revalidated on every load. */
export const REVALIDATE_CACHE = "no-cache";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json; charset=utf-8",
};

/** What `npm run build` writes next to the bundle (dist/dashboard-bundle/manifest.json). */
export interface DashboardManifest {
  /** Files under assets/, content-hashed. */
  assets: string[];
  /** First-load JavaScript, gzip-compressed bytes (measured at build time). */
  jsGzipBytes: number;
}

interface BundleFile {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  cache: string;
}

/** The bundle, read once per process: index.html plus the assets the manifest lists. */
export class DashboardBundle {
  private constructor(
    readonly dir: string,
    readonly manifest: DashboardManifest,
    private readonly files: Map<string, BundleFile>,
  ) {}

  /** Loads dist/dashboard-bundle (or `dir`); undefined when it has not been built. */
  static load(dir: string = path.join(findAppRoot(), "dist", "dashboard-bundle")): DashboardBundle | undefined {
    let manifest: DashboardManifest;
    try {
      manifest = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as DashboardManifest;
    } catch {
      return undefined;
    }
    const files = new Map<string, BundleFile>();
    const add = (rel: string, cache: string) => {
      const body = readFileSync(path.join(dir, rel));
      const type = TYPES[path.extname(rel)] ?? "application/octet-stream";
      const compressible = type.startsWith("text/") || type.startsWith("application/json") || type === "image/svg+xml";
      files.set(rel, { body, type, cache, ...(compressible ? { gzip: gzipSync(body, { level: 9 }) } : {}) });
    };
    add("index.html", REVALIDATE_CACHE);
    for (const asset of manifest.assets) add(`assets/${asset}`, IMMUTABLE_CACHE);
    return new DashboardBundle(dir, manifest, files);
  }

  /** The file served for a path below /dashboard/ ("" is index.html), or undefined. */
  file(rel: string): BundleFile | undefined {
    return this.files.get(rel === "" ? "index.html" : rel);
  }
}

/** A response whose body may be bytes (the Functions worker takes Uint8Array bodies). */
export type StaticResponse = Omit<ApiResponse, "body"> & { body?: string | Uint8Array };

function notFound(pathname: string): StaticResponse {
  const p = problem(404, "NotFound", `Nothing is served at ${pathname}. The dashboard is at ${DASHBOARD_PATH}.`, { instance: pathname });
  return { status: 404, headers: { ...SECURITY_HEADERS, "content-type": PROBLEM_CONTENT_TYPE }, body: JSON.stringify(p) };
}

function accepts(header: string | null, encoding: string): boolean {
  return (header ?? "").split(",").some((part) => {
    const [name, ...params] = part.trim().split(";");
    const q = params.map((x) => x.trim()).find((x) => x.startsWith("q="));
    return name?.trim().toLowerCase() === encoding && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/**
 * Answers GET/HEAD `pathname` (the request path, routePrefix ""): `/` -> 302 /dashboard/, `/dashboard` -> 301
 * /dashboard/, files of the bundle, 404 otherwise; 503 when the bundle has not been built.
 */
export function serveDashboard(
  bundle: DashboardBundle | undefined,
  pathname: string,
  headers: { get(name: string): string | null },
): StaticResponse {
  if (pathname === "/") return { status: 302, headers: { ...SECURITY_HEADERS, location: DASHBOARD_PATH, "cache-control": "no-cache" } };
  if (pathname === "/dashboard") return { status: 301, headers: { ...SECURITY_HEADERS, location: DASHBOARD_PATH } };
  if (!pathname.startsWith(DASHBOARD_PATH)) return notFound(pathname);
  if (!bundle) {
    const p = problem(503, "DashboardNotBuilt", "The dashboard bundle is missing: run `npm run build` (it writes dist/dashboard-bundle).", {
      instance: pathname,
    });
    return { status: 503, headers: { ...SECURITY_HEADERS, "content-type": PROBLEM_CONTENT_TYPE }, body: JSON.stringify(p) };
  }
  const file = bundle.file(pathname.slice(DASHBOARD_PATH.length));
  if (!file) return notFound(pathname);
  const out: Record<string, string> = { ...SECURITY_HEADERS, "content-type": file.type, "cache-control": file.cache };
  if (file.gzip) {
    out.vary = "accept-encoding";
    if (accepts(headers.get("accept-encoding"), "gzip"))
      return { status: 200, headers: { ...out, "content-encoding": "gzip" }, body: file.gzip };
  }
  return { status: 200, headers: out, body: file.body };
}
