/**
 * HSM key types (RSA-HSM, EC-HSM, for Premium vaults): parsed from the request, refused as exportable before
 * anything is written, sent to Key Vault as kty RSA-HSM / EC-HSM, and kept by renewals. Issuance against the local
 * stack's Key Vault stand-in, which accepts the HSM key types as Key Vault does.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { issueCertificate, renewCertificate, type IssuanceDeps } from "../../src/issuance";
import { keyOptionsFromPolicy } from "../../src/issuance/renew";
import { buildCertificatePolicy, keyTypeName, parseKeyOptions } from "../../src/keyvault/policy";
import { ValidationError } from "../../src/shared/errors";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackDeps } from "./helpers";
import { snapshot } from "../api/support";

let stack: TestStack;
let deps: IssuanceDeps;

before(async () => {
  stack = await startTestStack();
  deps = stackDeps(stack);
});
after(async () => {
  await stack?.close();
});

describe("HSM key types", () => {
  it("parses every -HSM key type (and the C# tool's bare RSA-HSM / EC-HSM), never exportable, kty with -HSM", () => {
    const table: [string, string, string][] = [
      ["RSA-HSM-2048", "RSA-HSM-2048", "RSA-HSM"],
      ["rsa-hsm-4096", "RSA-HSM-4096", "RSA-HSM"],
      ["RSA-HSM", "RSA-HSM-2048", "RSA-HSM"],
      ["EC-HSM-P384", "EC-HSM-P384", "EC-HSM"],
      ["EC-HSM", "EC-HSM-P256", "EC-HSM"],
      ["EC-P256", "EC-P256", "EC"],
    ];
    for (const [input, name, kty] of table) {
      const options = parseKeyOptions({ keyType: input });
      assert.equal(keyTypeName(options), name, input);
      assert.equal(buildCertificatePolicy(["hsm.example.com"], options).keyType, kty, input);
      assert.equal(options.exportable, kty === "EC", `${input}: exportable`);
    }
  });

  it("refuses an exportable HSM key with a 400 naming the field, before anything is written", async () => {
    assert.throws(
      () => parseKeyOptions({ keyType: "RSA-HSM-2048", exportable: true }),
      (err: unknown) => err instanceof ValidationError && err.problems.some((p) => p.field === "exportable"),
    );
    const before = await snapshot(stack);
    await assert.rejects(
      issueCertificate({ dnsNames: ["hsm-export.example.com"], keyOptions: { keyType: "EC-HSM-P256", exportable: true } }, deps),
      ValidationError,
    );
    assert.equal(await snapshot(stack), before);
  });

  it("issues an EC-HSM-P256 certificate (kty EC-HSM, not exportable) and renews it as EC-HSM", async () => {
    const first = await issueCertificate({ dnsNames: ["hsm.example.com"], keyOptions: { keyType: "EC-HSM-P256" } }, deps);
    const { certificates } = clients(stack);
    const policy = await certificates.getCertificatePolicy(first.certificateName);
    assert.equal(policy.keyType, "EC-HSM");
    assert.equal(policy.keyCurveName, "P-256");
    assert.equal(policy.exportable, false);
    assert.equal(keyOptionsFromPolicy(policy).keyType, "EC-HSM-P256");
    const second = await renewCertificate(first.certificateName, deps);
    assert.notEqual(second.version, first.version);
    const renewed = await certificates.getCertificatePolicy(first.certificateName);
    assert.equal(renewed.keyType, "EC-HSM");
    assert.equal(renewed.exportable, false);
  });
});
