/**
 * Issuance against the local stack (Pebble validating through the stack's authoritative DNS, Key Vault stand-in):
 * apex + wildcard, EC and RSA, PEM and PKCS#12, 100 names, renewal, stale pending operations, concurrent orders.
 */
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { after, before, describe, it } from "node:test";
import forge from "node-forge";
import { startTestStack, type TestStack } from "../support/stack";
import { issueCertificate, renewCertificate, type IssuanceDeps } from "../../src/issuance";
import { createPending, getPending } from "../../src/keyvault/certificates";
import { buildCertificatePolicy, parseKeyOptions } from "../../src/keyvault/policy";
import { readManagedTags } from "../../src/keyvault/tags";
import { clients, pebbleRoot, pemBlocks, sanNames, stackDeps, txtRecords, verifyChain, x509 } from "./helpers";

let stack: TestStack;
let deps: IssuanceDeps;
let root: string;

before(async () => {
  stack = await startTestStack();
  deps = stackDeps(stack);
  root = await pebbleRoot(stack);
});
after(async () => {
  await stack?.close();
});

function spki(keyPem: string): Buffer {
  return createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" });
}

describe("issuance on the local stack", () => {
  it("issues apex + wildcard with an EC key as PEM: chain to the Pebble root, names, key in the vault matches", async () => {
    const result = await issueCertificate(
      { dnsNames: ["example.com", "*.example.com"], keyOptions: { keyType: "EC-P256", contentType: "pem" } },
      deps,
    );
    assert.equal(result.certificateName, "example-com");
    assert.deepEqual(result.dnsNames, ["example.com", "*.example.com"]);
    assert.match(result.version, /^[0-9a-f]{32}$/);
    assert.equal(result.pendingAction, "created");

    const { secrets, certificates } = clients(stack);
    const secret = await secrets.getSecret("example-com");
    assert.equal(secret.properties.contentType, "application/x-pem-file");
    const keyPem = pemBlocks(secret.value ?? "", "PRIVATE KEY")[0];
    assert.ok(keyPem, "the PEM secret holds a private key");
    const chain = pemBlocks(secret.value ?? "");
    assert.ok(chain.length >= 2, "leaf + intermediate");
    const certs = await verifyChain(chain, root);
    const leaf = certs[0]!;
    assert.deepEqual(sanNames(leaf), ["*.example.com", "example.com"]);
    assert.deepEqual(Buffer.from(leaf.publicKey.rawData), spki(keyPem), "private key in vault matches the leaf");
    assert.equal(leaf.publicKey.algorithm.name, "ECDSA");

    const cert = await certificates.getCertificate("example-com");
    assert.equal(cert.properties.version, result.version);
    const tags = readManagedTags(cert.properties.tags);
    assert.equal(tags.managed, true);
    assert.equal(tags.acmeDirectoryUrl, stack.info.acmeDirectoryUrl);
    assert.deepEqual(tags.dnsNames, ["example.com", "*.example.com"]);
    assert.ok(tags.ariCertId && tags.ariCertId.includes("."), "ARI certificate id tagged");
    assert.deepEqual(await txtRecords(stack), {}, "no TXT values left behind");
    assert.equal(await getPending(certificates, "example-com").then((p) => p?.status), "completed");
    console.error(`# apex+wildcard EC issuance: ${result.durationMs} ms`);
  });

  it("issues an RSA-2048 certificate as PKCS#12 whose key matches the leaf", async () => {
    const result = await issueCertificate(
      { dnsNames: "rsa.example.org", certificateName: "rsa-pfx", keyOptions: { keyType: "RSA-2048", contentType: "pkcs12" } },
      deps,
    );
    const { secrets } = clients(stack);
    const secret = await secrets.getSecret("rsa-pfx");
    assert.equal(secret.properties.contentType, "application/x-pkcs12");
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(Buffer.from(secret.value ?? "", "base64").toString("binary")), "");
    const keyBag = (p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? [])[0];
    const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
    assert.ok(keyBag?.key, "PFX has a key");
    const keyPem = forge.pki.privateKeyToPem(keyBag.key);
    const leafPems = certBags.map((b) => forge.pki.certificateToPem(b.cert!));
    const leaf = leafPems.map((p) => new x509.X509Certificate(p)).find((c) => c.subject === "CN=rsa.example.org");
    assert.ok(leaf, "PFX holds the leaf");
    assert.deepEqual(Buffer.from(leaf.publicKey.rawData), spki(keyPem));
    assert.equal(result.notAfter > result.notBefore, true);
  });

  // The tests below issue into the vault the first test filled with example.com + *.example.com (and rsa.example.org):
  // they are about renewal, reuse and concurrency, so they allow the overlap (its guard: test/api/ownership.test.ts).
  it("renews: a new version under the same name, same names and key type", async () => {
    const first = await issueCertificate(
      { dnsNames: ["renew.example.com"], keyOptions: { keyType: "EC-P384" }, allowNameOverlap: true },
      deps,
    );
    const second = await renewCertificate(first.certificateName, deps);
    assert.equal(second.certificateName, first.certificateName);
    assert.notEqual(second.version, first.version);
    assert.notEqual(second.thumbprint, first.thumbprint);
    assert.deepEqual(second.dnsNames, ["renew.example.com"]);
    const { certificates } = clients(stack);
    const cert = await certificates.getCertificate(first.certificateName);
    assert.equal(cert.properties.version, second.version);
    assert.equal(cert.policy?.keyCurveName, "P-384");
    const versions: string[] = [];
    for await (const v of certificates.listPropertiesOfCertificateVersions(first.certificateName)) versions.push(v.version ?? "");
    assert.ok(versions.includes(first.version) && versions.includes(second.version));
  });

  it("reuses a matching stale pending operation and replaces one whose names differ", async () => {
    const { certificates } = clients(stack);
    const ec = parseKeyOptions({ keyType: "EC-P256" });
    const same = await createPending(certificates, "stale-same", buildCertificatePolicy(["same.example.com"], ec));
    const reused = await issueCertificate(
      { dnsNames: ["same.example.com"], certificateName: "stale-same", keyOptions: { keyType: "EC-P256" }, allowNameOverlap: true },
      deps,
    );
    assert.equal(reused.pendingAction, "reused");
    assert.equal((await getPending(certificates, "stale-same"))?.requestId, same.requestId);

    const old = await createPending(certificates, "stale-diff", buildCertificatePolicy(["old.example.com"], ec));
    const replaced = await issueCertificate(
      {
        dnsNames: ["new.example.com", "www.new.example.com"],
        certificateName: "stale-diff",
        keyOptions: { keyType: "EC-P256" },
        allowNameOverlap: true,
      },
      deps,
    );
    assert.equal(replaced.pendingAction, "replaced");
    assert.notEqual((await getPending(certificates, "stale-diff"))?.requestId, old.requestId);
    assert.deepEqual(replaced.dnsNames, ["new.example.com", "www.new.example.com"]);
  });

  it("concurrent apex and wildcard orders sharing _acme-challenge both succeed", async () => {
    const [a, b] = await Promise.all([
      issueCertificate(
        { dnsNames: ["example.org"], certificateName: "conc-apex", keyOptions: { keyType: "EC-P256" }, allowNameOverlap: true },
        deps,
      ),
      issueCertificate(
        { dnsNames: ["*.example.org"], certificateName: "conc-wild", keyOptions: { keyType: "EC-P256" }, allowNameOverlap: true },
        deps,
      ),
    ]);
    assert.deepEqual(a.dnsNames, ["example.org"]);
    assert.deepEqual(b.dnsNames, ["*.example.org"]);
    assert.deepEqual(await txtRecords(stack), {});
  });

  it("issues a 100-name certificate", async () => {
    const names = Array.from({ length: 100 }, (_, i) => `h${i}.many.example.com`);
    const result = await issueCertificate({ dnsNames: names, certificateName: "hundred", keyOptions: { keyType: "EC-P256" } }, deps);
    const { certificates } = clients(stack);
    const cert = await certificates.getCertificate("hundred");
    const leaf = new x509.X509Certificate(Buffer.from(cert.cer!));
    assert.equal(sanNames(leaf).length, 100);
    assert.deepEqual(await txtRecords(stack), {});
    console.error(`# 100-name issuance: ${result.durationMs} ms`);
  });
});
