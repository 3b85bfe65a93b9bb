/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the local Functions host running
 * the real function app on a private local stack: serving headers, issuing from the form and following the operation to
 * done, search, renew, revoke, the pending-operation lifecycle (CSR, cancel, delete, merge of a chain from a file), the
 * API's validation errors inline, axe-core on every page, screenshots light and dark, and a 360 px wide viewport.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { call, signCsrOutOfBand } from "../api/support";
import { startTestApp, type TestApp } from "../support/app";
import { launchChromium, screenshotDir, seriousViolations, type TestBrowser } from "../support/browser";

let app: TestApp;
let chrome: TestBrowser;
let page: Page;
let tmp: string;
const pageErrors: string[] = [];
const OP_TIMEOUT = 60_000;

before(async () => {
  app = await startTestApp();
  tmp = await mkdtemp(path.join(os.tmpdir(), "kv-acme-dashboard-"));
  await mkdir(screenshotDir(), { recursive: true });
  chrome = await launchChromium({ baseURL: app.host.url, viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  page = await chrome.context.newPage();
  // CSP violations and script errors surface as console errors: none may happen on any page.
  // (A refused request, such as the 404 of an optional API or a 400 the page shows, is logged too: not an error here.)
  page.on("console", (m) => void (m.type() === "error" && !m.text().startsWith("Failed to load resource") && pageErrors.push(m.text())));
  page.on("pageerror", (e) => void pageErrors.push(e.message));
});
after(async () => {
  await chrome?.close();
  await app?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const dashboard = (hash: string) => `/dashboard/#/${hash}`;

async function open(hash: string): Promise<void> {
  await page.goto(dashboard(hash));
  await page.locator("main h1").first().waitFor();
}

async function waitForOperation(status: "Completed" | "Failed"): Promise<void> {
  await page
    .getByTestId("operation-status")
    .filter({ hasText: /^(Completed|Failed)$|: (Completed|Failed)$/ })
    .first()
    .waitFor({ timeout: OP_TIMEOUT });
  const text = await page.getByTestId("operation-status").first().textContent();
  assert.ok(text?.endsWith(status), `operation ended ${text}; page: ${await page.locator("main").innerText()}`);
}

describe("dashboard in Chromium", { concurrency: false }, () => {
  it("serves / as a redirect to /dashboard/, with a strict CSP, nosniff, frame-ancestors 'none' and immutable hashed assets", async () => {
    const root = await fetch(`${app.host.url}/`, { redirect: "manual" });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get("location"), "/dashboard/");
    const index = await fetch(`${app.host.url}/dashboard/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get("content-type") ?? "", /^text\/html/);
    const csp = index.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/, "no 'unsafe-inline' or other sources for scripts");
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(index.headers.get("x-content-type-options"), "nosniff");
    assert.equal(index.headers.get("cache-control"), "no-cache");
    const html = await index.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
    const assets = [...html.matchAll(/\/dashboard\/assets\/[\w.-]+/g)].map((m) => m[0]);
    assert.equal(assets.length, 2, html);
    for (const asset of assets) {
      assert.match(asset, /-[A-Z0-9]{8}\.(js|css)$/, "content hash in the name");
      const r = await fetch(`${app.host.url}${asset}`, { headers: { "accept-encoding": "gzip" } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assert.equal(r.headers.get("x-content-type-options"), "nosniff");
      assert.equal(r.headers.get("content-encoding"), "gzip");
    }
    const missing = await call(app.host.url, "GET", "/dashboard/assets/nope.js");
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("content-type"), "application/problem+json");
    const me = await call(app.host.url, "GET", "/.auth/me");
    assert.equal(me.status, 200);
    const roles = me.body[0].user_claims.filter((c: { typ: string }) => c.typ === "roles").map((c: { val: string }) => c.val);
    assert.deepEqual(roles, ["KvAcme.Read", "KvAcme.Issue", "KvAcme.Revoke", "KvAcme.Agent"]);
    // The API is still where it was.
    assert.equal((await call(app.api, "GET", "/dns-zones")).status, 200);
  });

  it("issues a certificate from the form (zone picked with the keyboard) and shows each step live until done", async () => {
    await page.goto("/");
    await page.waitForURL(/\/dashboard\/#?/);
    await page.getByRole("link", { name: "Issue" }).click();
    const zone = page.getByRole("combobox", { name: "DNS zone" });
    await zone.focus();
    await page.keyboard.type("example.c");
    await page.getByRole("option", { name: /^example\.com/ }).waitFor();
    await page.keyboard.press("Enter");
    assert.equal(await zone.inputValue(), "example.com");
    await page.getByLabel("the zone apex").uncheck();
    await page.getByLabel("Names under the zone").fill("www dash");
    await page.getByLabel(/^Certificate name/).fill("dash-www");
    assert.equal(await page.getByTestId("names").textContent(), "www.example.com, dash.example.com");
    await page.getByRole("button", { name: "Issue", exact: true }).click();
    await waitForOperation("Completed");
    const steps = await page.locator(".steps li").allTextContents();
    for (const s of ["validate", "order", "propagation", "finalize", "merge", "done"])
      assert.ok(steps.includes(`${s} ✓`), steps.join(", "));
    const seen = ((await page.locator(".steps").getAttribute("data-seen")) ?? "").split(" ");
    // Live: the page showed at least one in-flight step before "done" (how many depends on the machine's speed).
    assert.ok(seen.length >= 2 && seen[0] !== "done" && seen.at(-1) === "done", `steps observed while it ran: ${seen.join(", ")}`);
    assert.equal(seen.at(-1), "done");
    await page.screenshot({ path: path.join(screenshotDir(), "issue-progress.png"), fullPage: true });
  });

  it("finds the issued certificate in the list by search, grouped under its zone with its badges", async () => {
    await open("certificates");
    await page.getByRole("searchbox", { name: "Search" }).fill("dash.example");
    const row = page.getByRole("row", { name: /dash-www/ });
    await row.waitFor();
    assert.equal(
      await page
        .getByRole("row")
        .filter({ has: page.getByRole("link") })
        .count(),
      1,
    );
    assert.equal(await page.locator(".zone-group h2").first().innerText(), "example.com (1)");
    const badges = await row.locator(".badge").allTextContents();
    assert.ok(
      badges.some((b) => /^\d+ d$/.test(b)),
      badges.join(" | "),
    );
    assert.ok(badges.includes("issue: completed"), badges.join(" | "));
  });

  it("renews from the detail page: a second version appears in the timeline", async () => {
    await page.getByRole("link", { name: "dash-www" }).click();
    await page.getByTestId("versions").locator("li").first().waitFor();
    assert.equal(await page.getByTestId("versions").locator("li").count(), 1);
    assert.match((await page.getByTestId("renew-at").textContent()) ?? "", /\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    await page.getByRole("button", { name: "Renew now" }).click();
    await waitForOperation("Completed");
    await page.getByTestId("versions").locator("li").nth(1).waitFor();
    assert.equal(await page.getByTestId("versions").locator("li").count(), 2);
  });

  it("edits the names from the detail page: a new version with the new names, the old ones kept", async () => {
    await page.getByLabel("DNS names (comma-separated)").fill("www.example.com, shop.example.com");
    await page.getByRole("button", { name: "Re-issue with these names" }).click();
    await waitForOperation("Completed");
    await page.getByTestId("versions").locator("li").nth(2).waitFor();
    assert.equal(await page.getByTestId("versions").locator("li").count(), 3);
    const got = await call(app.api, "GET", "/certificates/dash-www");
    assert.deepEqual([...got.body.current.dnsNames].sort(), ["shop.example.com", "www.example.com"]);
  });

  it("revokes with a reason after a confirmation dialog", async () => {
    await page.getByLabel("Revocation reason").selectOption("superseded");
    await page.getByRole("button", { name: "Revoke…" }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke dash-www?" });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /superseded/);
    await dialog.getByRole("button", { name: "Revoke" }).click();
    await waitForOperation("Completed");
    const revoked = await call(app.api, "GET", "/operations/kv-acme-revoke-dash-www");
    assert.equal(revoked.body.status, "Completed", revoked.text);
    assert.equal(revoked.body.output.reason, "superseded");
  });

  it("creates a pending operation with a CSR, downloads the CSR, cancels it and deletes it", async () => {
    await open("issue");
    await page.getByLabel("Other full names").fill("pending.example.org");
    await page.getByLabel("the zone apex").uncheck();
    await page.getByLabel(/^Certificate name/).fill("dash-pending");
    await page.getByLabel(/create a CSR for another CA/).check();
    await page.getByRole("button", { name: "Create CSR" }).click();
    await page.getByRole("heading", { name: "Pending operation" }).waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download CSR" }).click()]);
    const csr = await readFile((await download.path())!, "utf8");
    assert.match(csr, /^-----BEGIN CERTIFICATE REQUEST-----/);
    assert.equal(download.suggestedFilename(), "dash-pending.csr");
    await page.getByRole("button", { name: "Cancel operation" }).click();
    await page.getByText("Cancellation requested.").waitFor();
    assert.equal((await call(app.api, "GET", "/certificates/dash-pending/pending")).body.cancellationRequested, true);
    await page.getByRole("button", { name: "Delete operation" }).click();
    await page.getByRole("heading", { name: "Pending operation" }).waitFor({ state: "detached" });
    assert.equal((await call(app.api, "GET", "/certificates/dash-pending/pending")).status, 404);
  });

  it("merges a chain signed out of band, uploaded from a file; the note stays once the ended operation's section is gone", async () => {
    const created = await call(app.api, "POST", "/certificates/dash-merge/pending", {
      body: { dnsNames: ["merge.example.org"], keyType: "EC-P256" },
    });
    assert.equal(created.status, 201, created.text);
    const chain = await signCsrOutOfBand(created.body.csrPem, ["merge.example.org"]);
    const file = path.join(tmp, "chain.pem");
    await writeFile(file, `${chain.leafPem}\n${chain.caPem}`);
    await open("certificates/dash-merge");
    await page.getByLabel("PEM file (leaf first)").setInputFiles(file);
    await page.getByRole("button", { name: "Merge", exact: true }).click();
    await page.getByTestId("versions").locator("li").first().waitFor();
    // The merge ends the operation: the reload removes its section, and the note must outlive it (it used to live
    // inside that section and was shown only for the ~50 ms of the reload, too briefly to be read or waited for).
    await page.getByRole("heading", { name: "Pending operation" }).waitFor({ state: "detached" });
    assert.ok(await page.getByText("Chain merged.").isVisible(), await page.locator("main").innerText());
    const one = await call(app.api, "GET", "/certificates/dash-merge");
    assert.equal(one.body.versions.length, 1, one.text);
    assert.deepEqual(one.body.current.dnsNames, ["merge.example.org"]);
  });

  it("shows the API's validation error next to the names for a name outside every zone; nothing is started", async () => {
    await open("issue");
    await page.getByLabel("the zone apex").uncheck();
    await page.getByLabel("Other full names").fill("www.not-a-zone.test");
    await page.getByRole("button", { name: "Issue", exact: true }).click();
    const err = page.locator("#names-error");
    await err.waitFor();
    assert.match(await err.innerText(), /not-a-zone\.test/);
    assert.equal(await page.getByLabel("Other full names").getAttribute("aria-invalid"), "true");
    assert.equal(await page.getByTestId("operation-status").count(), 0);
  });

  const PAGES = ["certificates", "certificates/dash-www", "issue", "renewals", "zones", "account"];

  it("has no serious or critical axe-core violations on any page, light or dark, and saves screenshots", async () => {
    const dir = screenshotDir();
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const p of PAGES) {
        await open(p);
        await page.waitForLoadState("networkidle");
        const violations = await seriousViolations(page);
        assert.deepEqual(violations, [], `${p} (${scheme}): ${JSON.stringify(violations, null, 1)}`);
        await page.screenshot({ path: path.join(dir, `${p.replace(/\//g, "-")}-${scheme}.png`), fullPage: true });
      }
    }
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("stays readable at 360 px: no page scrolls sideways", async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    for (const p of PAGES) {
      await open(p);
      await page.waitForLoadState("networkidle");
      const width = await page.evaluate(
        () => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth,
      );
      // On failure, name the elements that reach past the viewport (the innermost first), so the cause is in the message.
      const wide = width <= 360 ? [] : await page.$$eval("body *", overflowing);
      assert.ok(width <= 360, `${p} is ${width} px wide at a 360 px viewport; past it: ${wide.join("; ")}`);
      await page.screenshot({ path: path.join(screenshotDir(), `${p.replace(/\//g, "-")}-360.png`) });
    }
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it("switches theme from the header (dark over a light system preference) and keeps the choice across loads", async () => {
    type Dom = { document: { body: unknown }; getComputedStyle: (e: unknown) => { backgroundColor: string } };
    const background = (want: string) =>
      page.waitForFunction(
        (w) => (globalThis as unknown as Dom).getComputedStyle((globalThis as unknown as Dom).document.body).backgroundColor === w,
        want,
        { timeout: 5000 },
      );
    const light = "rgb(255, 255, 255)";
    const dark = "rgb(15, 19, 23)";
    await page.emulateMedia({ colorScheme: "light" });
    await open("zones");
    await background(light);
    await page.getByLabel("Theme").selectOption("dark");
    await background(dark);
    await open("certificates");
    await background(dark);
    await page.getByLabel("Theme").selectOption("system");
    await background(light);
  });

  it("ran every page without a script error or CSP violation", () => {
    assert.deepEqual(pageErrors, []);
  });
});

/** The elements whose right edge is past the viewport, innermost last-listed first: tag.class "text" right-edge. */
function overflowing(els: unknown[]): string[] {
  type El = { tagName: string; className: unknown; textContent: string | null; getBoundingClientRect(): { right: number } };
  const innerWidth = (globalThis as unknown as { innerWidth: number }).innerWidth;
  return (els as El[])
    .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5)
    .reverse()
    .slice(0, 5)
    .map(
      (e) =>
        `${e.tagName.toLowerCase()}.${String(e.className)} "${(e.textContent ?? "").trim().slice(0, 40)}" ${Math.round(e.getBoundingClientRect().right)}`,
    );
}
