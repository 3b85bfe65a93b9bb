/**
 * A stale pending operation is reused only when its CSR states the usages kv-acme's policy asks for: the extended key
 * usage (serverAuth, plus clientAuth when asked) and the key usage per key type. Read from Key Vault's own CSR (the
 * recorded merge-unknown-issuer traffic: RSA 2048, serverAuth + clientAuth) and from generated ones.
 */
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { before, describe, it } from "node:test";
import { CLIENT_AUTH_EKU, SERVER_AUTH_EKU, describeCsr, parseKeyOptions, pendingOperationMatches } from "../../src/keyvault/policy";
import { x509 } from "../../src/shared/x509";

/** The recorded Key Vault traffic, where test/local/keyvault-conformance.test.ts reads it too (outside the repository). */
const CONFORMANCE_DIR = "/work/shared/conformance/keyvault";

const recording = JSON.parse(readFileSync(path.join(CONFORMANCE_DIR, "merge-unknown-issuer.json"), "utf8")) as {
  Entries: { ResponseBody?: { csr?: string } }[];
};
const vaultCsr = recording.Entries.map((e) => e.ResponseBody?.csr).find((c) => typeof c === "string") as string;

async function ecCsr(extensions: x509.Extension[]): Promise<string> {
  const alg = { name: "ECDSA", namedCurve: "P-256" };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=a.example.com",
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "a.example.com" }]), ...extensions],
  });
  return Buffer.from(csr.rawData).toString("base64");
}

describe("a pending operation's usages decide its reuse", () => {
  it("Key Vault's CSR states its EKUs and key usage", () => {
    const d = describeCsr(vaultCsr);
    assert.deepEqual(d.ekus, [SERVER_AUTH_EKU, CLIENT_AUTH_EKU].sort());
    assert.deepEqual(d.keyUsage, ["digitalSignature", "keyEncipherment"]);
  });
  it("reused for a request with clientAuth, not for one without it (the EKU differs)", () => {
    const d = describeCsr(vaultCsr);
    assert.equal(pendingOperationMatches(d, d.names, parseKeyOptions({ keyType: "RSA-2048", clientAuth: true })).reuse, true);
    const without = pendingOperationMatches(d, d.names, parseKeyOptions({ keyType: "RSA-2048" }));
    assert.equal(without.reuse, false);
    assert.match(
      without.reason,
      /extended key usage 1\.3\.6\.1\.5\.5\.7\.3\.1, 1\.3\.6\.1\.5\.5\.7\.3\.2, the request wants 1\.3\.6\.1\.5\.5\.7\.3\.1$/,
    );
  });

  let serverOnly: string;
  let wrongUsage: string;
  before(async () => {
    const ku = (flags: number) => new x509.KeyUsagesExtension(flags, true);
    serverOnly = await ecCsr([ku(x509.KeyUsageFlags.digitalSignature), new x509.ExtendedKeyUsageExtension([SERVER_AUTH_EKU])]);
    wrongUsage = await ecCsr([
      ku(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment),
      new x509.ExtendedKeyUsageExtension([SERVER_AUTH_EKU]),
    ]);
  });
  it("a serverAuth-only operation is not reused for a request asking for clientAuth", () => {
    const d = describeCsr(serverOnly);
    assert.equal(pendingOperationMatches(d, ["a.example.com"], parseKeyOptions({ keyType: "EC-P256" })).reuse, true);
    const r = pendingOperationMatches(d, ["a.example.com"], parseKeyOptions({ keyType: "EC-P256", clientAuth: true }));
    assert.equal(r.reuse, false);
    assert.match(r.reason, /extended key usage/);
  });
  it("an EC operation whose key usage is not kv-acme's (keyEncipherment) is not reused", () => {
    const r = pendingOperationMatches(describeCsr(wrongUsage), ["a.example.com"], parseKeyOptions({ keyType: "EC-P256" }));
    assert.equal(r.reuse, false);
    assert.match(r.reason, /key usage digitalSignature, keyEncipherment, the request wants digitalSignature/);
  });
});
