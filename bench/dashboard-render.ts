/**
 * Dashboard render benchmark: how long the Certificates page takes to show N certificates (default 1,000, target
 * ≤ 500 ms), in Debian's Chromium, from the moment the list data is in hand to the DOM committed and to the next frame
 * painted (user-timing entries the page records). The page is the real built bundle served by src/dashboard/serve.ts;
 * /api/certificates and /api/dns-zones answer N synthetic certificates over 50 zones (this measures rendering, not the
 * vault), with every badge kind present. Median of several runs, each a fresh page load.
 *
 *   npm run bench:dashboard -- [--certs 1000] [--runs 5]
 */
import { createServer } from "node:http";
import { parseBenchArgs } from "./lib/args";
import { DashboardBundle, serveDashboard } from "../src/dashboard/serve";
import { listen } from "../src/local/net";
import { launchChromium } from "../test/support/browser";

const DAY = 86_400_000;

function certificates(n: number, zones: string[]) {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => {
    const zone = zones[i % zones.length];
    const lifetime = i % 7 === 0 ? 6 : 90;
    const notBefore = now - ((i * 13) % lifetime) * DAY;
    const status = i % 17 === 0 ? "Failed" : i % 11 === 0 ? "Running" : "Completed";
    return {
      name: `cert-${i}`,
      dnsNames: [`www${i}.${zone}`, `*.www${i}.${zone}`],
      enabled: true,
      pending: i % 23 === 0,
      notBefore: new Date(notBefore).toISOString(),
      expiresOn: new Date(notBefore + lifetime * DAY).toISOString(),
      issuer: i % 5 === 0 ? "acme.other-ca.example" : "acme-v02.api.letsencrypt.org",
      managedBy: i % 9 === 0 ? "unmanaged" : i % 4 === 0 ? "acmebot" : "kv-acme",
      lastOperation: {
        id: `kv-acme-certificate-cert-${i}`,
        reason: i % 2 ? "renew" : "issue",
        status,
        lastUpdatedTime: new Date(now).toISOString(),
      },
    };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const { certs: n, runs } = parseBenchArgs(
    process.argv.slice(2),
    { certs: { type: "number", default: 1000 }, runs: { type: "number", default: 5 } },
    "usage: npm run bench:dashboard [-- --certs N --runs N]",
  );
  const bundle = DashboardBundle.load();
  if (!bundle) throw new Error("the dashboard is not built: run npm run build (scripts/bench.sh builds it)");
  const zones = Array.from({ length: 50 }, (_, i) => `zone${i}.example.com`);
  const body = {
    "/api/certificates": JSON.stringify({ certificates: certificates(n, zones) }),
    "/api/dns-zones": JSON.stringify({ zones: zones.map((name) => ({ name, provider: "azure" })) }),
    "/.auth/me": JSON.stringify([{ provider_name: "bench", user_id: "bench", user_claims: [{ typ: "roles", val: "KvAcme.Issue" }] }]),
  } as Record<string, string>;
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://x").pathname;
    if (body[pathname]) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body[pathname]);
      return;
    }
    const r = serveDashboard(bundle, pathname, { get: (h) => (req.headers[h.toLowerCase()] as string | undefined) ?? null });
    res.writeHead(r.status, r.headers);
    res.end(r.body);
  });
  const port = await listen(server, 0, "127.0.0.1");
  const chrome = await launchChromium({ viewport: { width: 1280, height: 900 } });
  const render: number[] = [];
  const painted: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const page = await chrome.context.newPage();
      await page.goto(`http://127.0.0.1:${port}/dashboard/#/certificates`);
      await page.getByText(`${n} of ${n} certificates`).waitFor({ timeout: 60_000 });
      const m = await page.waitForFunction(
        () => {
          // (No named functions in here: tsx would wrap them in a helper the page does not have.)
          const [r, p] = ["kv-acme:certificates-render", "kv-acme:certificates-painted"].map(
            (n) => performance.getEntriesByName(n).at(-1)?.duration,
          );
          return r !== undefined && p !== undefined ? { r, p } : false;
        },
        undefined,
        { timeout: 60_000 },
      );
      const { r, p } = (await m.jsonValue()) as { r: number; p: number };
      render.push(r);
      painted.push(p);
      await page.close();
    }
  } finally {
    await chrome.close();
    server.close();
  }
  const out = {
    certificates: n,
    runs,
    renderMsMedian: Math.round(median(render)),
    paintedMsMedian: Math.round(median(painted)),
    renderMs: render.map(Math.round),
    paintedMs: painted.map(Math.round),
    jsGzipBytes: bundle.manifest.jsGzipBytes,
  };
  console.log(JSON.stringify(out));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
