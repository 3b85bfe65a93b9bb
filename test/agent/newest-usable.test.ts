/**
 * A new node gets the newest usable version (certificate change detection): while the certificate's current version is
 * a pending operation (a renewal in progress) or disabled, the agent installs the newest enabled version instead of
 * nothing. Against the Key Vault stand-in with the SDK reader the agent uses.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSdkVaultReader } from "../../src/agent/vault";
import { startAgentStack, type AgentStack } from "./stack";

describe("newest usable version", () => {
  let stack: AgentStack;
  before(async () => {
    stack = await startAgentStack();
  });
  after(async () => stack?.close());

  it("with a renewal pending, the current version read is the newest enabled one, not nothing", async () => {
    const v1 = await stack.putVersion("renewing", ["renewing.example.com"]);
    await stack.certificates.beginCreateCertificate("renewing", {
      issuerName: "Unknown",
      subject: "CN=renewing.example.com",
      subjectAlternativeNames: { dnsNames: ["renewing.example.com"] },
    });
    const reader = createSdkVaultReader({ credential: { getToken: async () => stack.identityToken() } });
    const current = await reader.currentVersion(stack.kv.url, "renewing");
    assert.equal(current.version, v1.version);
    const secret = await reader.getSecret(stack.kv.url, "renewing", current.version!);
    assert.match(secret.value, /BEGIN CERTIFICATE/);
  });

  it("with the newest version disabled, the one before it is installed", async () => {
    const v1 = await stack.putVersion("disabling", ["disabling.example.com"]);
    const v2 = await stack.putVersion("disabling", ["disabling.example.com"]);
    await stack.certificates.updateCertificateProperties("disabling", v2.version, { enabled: false });
    const reader = createSdkVaultReader({ credential: { getToken: async () => stack.identityToken() } });
    const current = await reader.currentVersion(stack.kv.url, "disabling");
    assert.equal(current.version, v1.version);
    assert.match(current.reason ?? "", /newest enabled version instead/);
  });

  it("a certificate with only a pending first version still has nothing installable", async () => {
    await stack.certificates.beginCreateCertificate("first", {
      issuerName: "Unknown",
      subject: "CN=first.example.com",
      subjectAlternativeNames: { dnsNames: ["first.example.com"] },
    });
    const reader = createSdkVaultReader({ credential: { getToken: async () => stack.identityToken() } });
    const current = await reader.currentVersion(stack.kv.url, "first");
    assert.equal(current.version, undefined);
    assert.match(current.reason ?? "", /pending/);
  });
});
