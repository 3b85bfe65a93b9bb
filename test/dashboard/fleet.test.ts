/**
 * The dashboard's Fleet page in Chromium against the real GET /api/fleet of the local host (Azurite behind it): one
 * host where the real agent installed the vault's current version, one host that reported an older version about to
 * expire. The page shows the summary, which host is stale and why (the finding's message), current / not current per
 * certificate, and passes axe-core.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { runAgent } from "../../src/agent";
import { parseAgentSettings } from "../../src/agent/settings";
import { createSdkVaultReader } from "../../src/agent/vault";
import { call } from "../api/support";
import { clients } from "../integration/helpers";
import { startTestApp, type TestApp } from "../support/app";
import { launchChromium, screenshotDir, seriousViolations, type TestBrowser } from "../support/browser";

let app: TestApp;
let chrome: TestBrowser;
let page: Page;
let dir: string;

before(async () => {
  app = await startTestApp({ stack: { tables: true } });
  dir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-dashboard-fleet-"));
  const poller = await clients(app.stack).certificates.beginCreateCertificate(
    "web",
    { issuerName: "Self", subject: "CN=web.example.com", contentType: "application/x-pem-file" },
    { intervalInMs: 10 },
  );
  await poller.pollUntilDone();
  chrome = await launchChromium({ baseURL: app.host.url, viewport: { width: 1280, height: 860 } });
  page = await chrome.context.newPage();
});
after(async () => {
  await chrome?.close();
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("dashboard Fleet page", { concurrency: false }, () => {
  it("shows each host's certificates, current or not, and the stale host with its finding", async () => {
    const settings = parseAgentSettings(
      {
        secretsManagementSettings: {
          pollingIntervalInS: "3600",
          observedCertificates: [{ url: `${app.stack.info.keyVaultUrl}/secrets/web`, certificateStoreLocation: path.join(dir, "store") }],
        },
        kvAcme: { hostId: "vm-current", stateFile: path.join(dir, "state.json"), report: { url: `${app.api}/agents/reports` } },
      },
      { platform: "linux" },
    ).settings;
    const quiet = { info: () => {}, warn: () => {}, error: (m: string, d?: unknown) => console.error(m, d) };
    assert.equal(
      await runAgent(settings, { once: true, logger: quiet, vault: createSdkVaultReader({ credential: app.stack.credential }) }),
      0,
    );
    const old = await call(app.api, "POST", "/agents/reports", {
      body: {
        hostId: "vm-old",
        agentVersion: "0.1.0",
        pollingIntervalInS: 3600,
        certificates: [
          {
            name: "web",
            vaultUrl: app.stack.info.keyVaultUrl.replace(/\/$/, ""),
            installedVersion: "0123456789abcdef0123456789abcdef",
            thumbprint: "A".repeat(40),
            notAfter: new Date(Date.now() + 2 * 86400_000).toISOString(),
          },
        ],
      },
    });
    assert.equal(old.status, 202, old.text);

    await page.goto("/dashboard/#/fleet");
    await page.getByTestId("fleet-summary").waitFor();
    assert.equal(await page.getByTestId("fleet-summary").innerText(), "2 hosts, 1 stale");
    const rows = page.getByTestId("fleet-host");
    assert.equal(await rows.count(), 2);
    const current = rows.filter({ hasText: "vm-current" });
    const stale = rows.filter({ hasText: "vm-old" });
    assert.equal(await current.getAttribute("data-stale"), "false");
    assert.match(await current.getByTestId("fleet-certificate").innerText(), /^web [0-9a-f]{32} current$/);
    assert.equal(await stale.getAttribute("data-stale"), "true");
    assert.match(await stale.locator("th").innerText(), /vm-old\s+stale/);
    assert.match(await stale.getByTestId("fleet-certificate").innerText(), /^web 0123456789abcdef0123456789abcdef not current expiring$/);
    assert.match(
      await stale.getByTestId("fleet-findings").innerText(),
      /^expiring: web: the installed certificate expires \d{4}-.* within \d+ days$/,
    );
    assert.deepEqual(await seriousViolations(page), []);
    await page.screenshot({ path: path.join(screenshotDir(), "fleet.png"), fullPage: true });
  });
});
