/**
 * GET /api/account against a private stack whose Pebble requires External Account Binding: before the first use the
 * configured directory is `not-registered` (and nothing is registered by asking); after it, the account URL, the
 * contacts and `valid` as Pebble reports them, the EAB key id it was bound with, and when it was created; an account
 * of another directory that does not answer is listed with its error. The key never appears in the answer.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { SecretClient } from "@azure/keyvault-secrets";
import { TAG_ACCOUNT_DIRECTORY, TAG_ACCOUNT_URL } from "../../src/keyvault/account-key";
import { startTestApp, type TestApp } from "../support/app";
import { call } from "./support";

// A key generated at run time for the stale account (never committed).
const TEST_KEY_PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;

let app: TestApp;

before(async () => {
  app = await startTestApp({ stack: { pebble: { eab: true } }, env: { KvAcme__Contacts: "ops@example.com" } });
});
after(async () => {
  await app?.close();
});

describe("GET /api/account", { concurrency: false }, () => {
  it("names the configured directory not-registered before first use, and asking registers nothing", async () => {
    const r = await call(app.api, "GET", "/account");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.accounts, [
      { directoryUrl: app.stack.info.acmeDirectoryUrl, current: true, status: "not-registered", contacts: [], eabBound: false },
    ]);
    const again = await call(app.api, "GET", "/account");
    assert.equal(again.body.accounts[0].status, "not-registered");
  });

  it("after first use: account URL, contacts, status valid at the CA, EAB bound with the key id, created; never the key", async () => {
    const session = await app.runtime.deps.acme();
    // A stale account of a directory that no longer answers (port 9 on loopback: nothing listens).
    const secrets = new SecretClient(app.stack.info.keyVaultUrl, app.stack.credential, { disableChallengeResourceVerification: true });
    await secrets.setSecret("acme-account-127-0-0-1-9", TEST_KEY_PEM, {
      tags: { [TAG_ACCOUNT_DIRECTORY]: "https://127.0.0.1:9/dir", [TAG_ACCOUNT_URL]: "https://127.0.0.1:9/acct/1" },
    });
    const r = await call(app.api, "GET", "/account");
    assert.equal(r.status, 200, r.text);
    const [mine, stale] = r.body.accounts;
    assert.equal(r.body.accounts.length, 2, r.text);
    assert.equal(mine.directoryUrl, app.stack.info.acmeDirectoryUrl);
    assert.equal(mine.current, true);
    assert.equal(mine.accountUrl, session.accountUrl);
    assert.equal(mine.status, "valid");
    assert.deepEqual(mine.contacts, ["mailto:ops@example.com"]);
    assert.equal(mine.eabBound, true);
    assert.equal(mine.eabKeyId, app.stack.info.eab?.keyId);
    assert.ok(Math.abs(Date.parse(mine.createdOn) - Date.now()) < 600_000, mine.createdOn);
    assert.equal(mine.error, undefined);
    assert.equal(stale.directoryUrl, "https://127.0.0.1:9/dir");
    assert.equal(stale.current, false);
    assert.equal(stale.status, "unknown");
    assert.equal(typeof stale.error, "string");
    assert.doesNotMatch(r.text, /PRIVATE KEY/);
    const key = (await secrets.getSecret(`acme-account-${new URL(app.stack.info.acmeDirectoryUrl).host.replace(/[^a-z0-9]+/gi, "-")}`))
      .value;
    assert.ok(key && key.length > 100);
    for (const line of key.split("\n").filter((l) => l.length > 20)) assert.ok(!r.text.includes(line), "no part of the key");
  });
});
