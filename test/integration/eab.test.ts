/**
 * External Account Binding against Pebble configured to require it (RFC 8555 §7.3.4): provided -> account and
 * certificate; missing -> a clear ConfigurationError and nothing written (no account secret, no TXT, no certificate).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestStack, type TestStack } from "../support/stack";
import { issueCertificate } from "../../src/issuance";
import { ConfigurationError } from "../../src/shared/errors";
import { accountSecretName } from "../../src/keyvault/account-key";
import { clients, stackDeps, txtRecords } from "./helpers";

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ pebble: { eab: true } });
});
after(async () => {
  await stack?.close();
});

async function secretNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const p of clients(stack).secrets.listPropertiesOfSecrets()) names.push(p.name);
  return names;
}

describe("External Account Binding", () => {
  it("required but missing: ConfigurationError naming the settings, nothing written", async () => {
    assert.ok(stack.info.eab, "the stack generated EAB credentials");
    const deps = stackDeps(stack, { eab: undefined });
    await assert.rejects(
      issueCertificate({ dnsNames: ["eab.example.com"], keyOptions: { keyType: "EC-P256" } }, deps),
      (err: unknown) =>
        err instanceof ConfigurationError &&
        /requires External Account Binding/.test(err.message) &&
        /KvAcme__Eab__KeyId/.test(err.message),
    );
    assert.deepEqual(await secretNames(), []);
    assert.deepEqual(await txtRecords(stack), {});
  });

  it("required and provided (HS256): account created, key kept as a vault secret, certificate issued", async () => {
    const deps = stackDeps(stack);
    const result = await issueCertificate({ dnsNames: ["eab.example.com"], keyOptions: { keyType: "EC-P256" } }, deps);
    assert.equal(result.certificateName, "eab-example-com");
    const secret = await clients(stack).secrets.getSecret(accountSecretName(stack.info.acmeDirectoryUrl));
    assert.match(secret.value ?? "", /BEGIN PRIVATE KEY/);
    assert.ok(secret.properties.tags?.["kv-acme-account-url"]?.startsWith("https://"), "account URL recorded");
    // A second process reuses the stored account instead of creating another one.
    const again = await stackDeps(stack).acme();
    assert.equal(again.accountUrl, secret.properties.tags?.["kv-acme-account-url"]);
  });

  it("a wrong HMAC key is refused by the CA", async () => {
    const fresh = await startTestStack({ pebble: { eab: true } });
    try {
      const deps = stackDeps(fresh, {
        eab: { keyId: fresh.info.eab!.keyId, hmacKey: Buffer.alloc(32, 7).toString("base64url"), algorithm: "HS256" },
      });
      await assert.rejects(deps.acme(), /ACME: registering an account/);
    } finally {
      await fresh.close();
    }
  });
});
