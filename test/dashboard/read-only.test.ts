/**
 * A read-only user (local principal with only KvAcme.Read) in Chromium: the dashboard shows no issue, renew or revoke
 * controls, and the API still refuses the calls those controls would make.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { clients } from "../integration/helpers";
import { startTestApp, type TestApp } from "../support/app";
import { launchChromium, seriousViolations, type TestBrowser } from "../support/browser";

let app: TestApp;
let chrome: TestBrowser;
let page: Page;

before(async () => {
  app = await startTestApp({ env: { KvAcme__Auth__LocalRoles: "KvAcme.Read" } });
  // A certificate to look at, created in the vault directly (the read-only API cannot).
  const poller = await clients(app.stack).certificates.beginCreateCertificate("ro-cert", {
    issuerName: "Self",
    subject: "CN=ro.example.com",
    subjectAlternativeNames: { dnsNames: ["ro.example.com"] },
  });
  await poller.pollUntilDone();
  chrome = await launchChromium({ baseURL: app.host.url, viewport: { width: 1280, height: 860 } });
  page = await chrome.context.newPage();
});
after(async () => {
  await chrome?.close();
  await app?.close();
});

describe("dashboard for a read-only user", { concurrency: false }, () => {
  it("shows the user's only role and no Issue page in the navigation", async () => {
    await page.goto("/dashboard/#/certificates");
    await page.getByRole("link", { name: "ro-cert" }).waitFor();
    assert.match(await page.locator(".who").innerText(), /local developer\s+Read$/);
    assert.equal(await page.getByRole("navigation").getByRole("link", { name: "Issue" }).count(), 0);
    assert.deepEqual(await seriousViolations(page), []);
  });

  it("shows a certificate without renew or revoke controls", async () => {
    await page.getByRole("link", { name: "ro-cert" }).click();
    await page.getByTestId("versions").locator("li").first().waitFor();
    assert.equal(await page.getByRole("button", { name: "Renew now" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: /Revoke/ }).count(), 0);
    assert.equal(await page.getByLabel("Revocation reason").count(), 0);
    assert.equal(await page.getByRole("heading", { name: "Actions" }).count(), 0);
  });

  it("opened directly, the Issue page says which role is missing and offers no form", async () => {
    await page.goto("/dashboard/#/issue");
    await page.getByText("Issuing needs the app role KvAcme.Issue").waitFor();
    assert.equal(await page.getByRole("button", { name: "Issue", exact: true }).count(), 0);
    assert.equal(await page.getByRole("combobox", { name: "DNS zone" }).count(), 0);
  });

  it("the API still enforces the roles: issue and revoke from the page's origin are 403", async () => {
    // (No named functions inside evaluate: tsx would wrap them in a helper the page does not have.)
    const statuses = await page.evaluate(async () =>
      Promise.all(
        [
          ["/api/certificates", { dnsNames: ["x.example.com"] }],
          ["/api/certificates/ro-cert/revoke", {}],
        ].map(([path, body]) =>
          fetch(path as string, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(
            (r) => r.status,
          ),
        ),
      ),
    );
    assert.deepEqual(statuses, [403, 403]);
  });
});
