/** The ACME account: concurrent first uses on an empty vault converge on one account (key kept in Key Vault). */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { SecretClient } from "@azure/keyvault-secrets";
import { ensureAccount } from "../../src/acme/account";
import { accountSecretName } from "../../src/keyvault/account-key";
import { startTestStack, type TestStack } from "../support/stack";

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => stack?.close());

it("four processes' first use at once ends on a single account, the latest key version's", async () => {
  // Separate clients, as separate Function App instances would have.
  const clients = Array.from(
    { length: 4 },
    () => new SecretClient(stack.info.keyVaultUrl, stack.credential, { disableChallengeResourceVerification: true }),
  );
  const sessions = await Promise.all(clients.map((c) => ensureAccount(c, { acmeDirectoryUrl: stack.info.acmeDirectoryUrl })));
  const urls = new Set(sessions.map((s) => s.accountUrl));
  assert.equal(urls.size, 1, `one account, got ${[...urls].join(", ")}`);
  const latest = await clients[0].getSecret(accountSecretName(stack.info.acmeDirectoryUrl));
  const again = await ensureAccount(clients[0], { acmeDirectoryUrl: stack.info.acmeDirectoryUrl });
  assert.equal(again.accountUrl, sessions[0].accountUrl, "a later process loads the same account");
  assert.ok(latest.value?.includes("PRIVATE KEY"), "the key lives in the vault");
});
