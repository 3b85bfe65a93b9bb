/** Pending-operation lifecycle of the Key Vault stand-in, driven through the real SDK clients. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, webcrypto } from "node:crypto";
import forge from "node-forge";
import { CertificatePolicy, KnownCertificateKeyCurveNames } from "@azure/keyvault-certificates";
import { x509, pemBlocks } from "../../src/shared/x509";
import { kvFetch, startVault, type Vault } from "./support-keyvault";

/** A throwaway CA made in the test, which signs CSRs the way an ACME CA would. */
async function testCa() {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=kv-acme test CA",
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return {
    cert,
    async sign(csrB64: string, days = 30): Promise<x509.X509Certificate> {
      const csr = new x509.Pkcs10CertificateRequest(Buffer.from(csrB64, "base64"));
      assert.equal(await csr.verify(), true, "CSR self-signature verifies");
      const san = ext(csr, x509.SubjectAlternativeNameExtension, "2.5.29.17");
      return x509.X509CertificateGenerator.create({
        serialNumber: randomBytes(8).toString("hex").replace(/^./, "4"),
        subject: csr.subject,
        issuer: cert.subject,
        notBefore: new Date(Date.now() - 1000),
        notAfter: new Date(Date.now() + days * 86_400_000),
        publicKey: csr.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: alg,
        extensions: san ? [san] : [],
      });
    },
  };
}

interface Operation {
  status?: string;
  statusDetails?: string;
  csr?: Uint8Array;
  cancellationRequested?: boolean;
}
/** The CertificateOperation a poller last saw (the SDK keeps it in the operation state; getOperationState() hides it). */
function opOf(poller: unknown): Operation {
  const op = (poller as { operation: { state: { certificateOperation?: Operation } } }).operation.state.certificateOperation;
  assert.ok(op, "the poller has seen the operation");
  return op;
}

/** An extension of a CSR or certificate, decoded with the given class. */
function ext<T>(holder: { extensions: x509.Extension[] }, Cls: new (raw: ArrayBuffer) => T, oid: string): T | undefined {
  const found = holder.extensions.find((e) => e.type === oid);
  return found ? new Cls(found.rawData) : undefined;
}

const b64 = (c: x509.X509Certificate) => Buffer.from(c.rawData).toString("base64");
const b64Pem = (c: x509.X509Certificate) => Buffer.from(c.toString("pem")).toString("base64");

function policy(extra: Partial<CertificatePolicy> = {}): CertificatePolicy {
  return {
    issuerName: "Unknown",
    subject: "CN=www.example.com",
    subjectAlternativeNames: { dnsNames: ["www.example.com", "example.com"] },
    ...extra,
  } as CertificatePolicy;
}

function publicJwk(key: Parameters<typeof createPublicKey>[0]) {
  const jwk = createPublicKey(key).export({ format: "jwk" });
  return [jwk.n, jwk.x, jwk.y].join("|");
}

describe("Key Vault stand-in: pending lifecycle", () => {
  let vault: Vault;
  let ca: Awaited<ReturnType<typeof testCa>>;
  before(async () => {
    vault = await startVault();
    ca = await testCa();
  });
  after(async () => vault.close());

  it("create(Unknown) -> CSR with SANs -> cancel -> cancelled -> delete -> 404", async () => {
    const poller = await vault.certificates.beginCreateCertificate("cancel-me", policy());
    const op = opOf(poller);
    assert.equal(op.status, "inProgress");
    assert.equal(op.statusDetails, "Pending certificate created. Please Perform Merge to complete the request.");
    const csr = new x509.Pkcs10CertificateRequest(Buffer.from(op.csr!));
    assert.equal(await csr.verify(), true);
    assert.equal(csr.subject, "CN=www.example.com");
    const san = ext(csr, x509.SubjectAlternativeNameExtension, "2.5.29.17");
    assert.deepEqual(
      san?.names.items.map((n) => n.value),
      ["www.example.com", "example.com"],
    );
    const eku = ext(csr, x509.ExtendedKeyUsageExtension, "2.5.29.37");
    assert.deepEqual([...(eku?.usages ?? [])].map(String), ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    const bc = ext(csr, x509.BasicConstraintsExtension, "2.5.29.19");
    assert.equal(bc?.ca, false);
    const ku = ext(csr, x509.KeyUsagesExtension, "2.5.29.15");
    assert.equal(ku?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);

    const pendingCert = await vault.certificates.getCertificate("cancel-me");
    assert.equal(pendingCert.properties.enabled, false);
    assert.equal(pendingCert.cer, undefined);

    await poller.cancelOperation();
    assert.equal(opOf(poller).cancellationRequested, true);
    assert.equal(opOf(poller).status, "inProgress");
    const after = await vault.certificates.getCertificateOperation("cancel-me");
    assert.equal(opOf(after).status, "cancelled");
    const again = await kvFetch(vault, "PATCH", "/certificates/cancel-me/pending", { cancellation_requested: true });
    assert.equal(again.status, 403);
    assert.equal(again.json.error?.message, "Pending status must be in progress to allow update.");
    await vault.certificates.deleteCertificateOperation("cancel-me");
    await assert.rejects(
      vault.certificates.getCertificateOperation("cancel-me"),
      (e: { statusCode?: number; code?: string }) => e.statusCode === 404 && e.code === "PendingCertificateNotFound",
    );
  });

  it("create -> 409 while inProgress -> merge chain -> enabled, secrets in PKCS#12 and PEM", async () => {
    const poller = await vault.certificates.beginCreateCertificate("merged", policy({ contentType: "application/x-pkcs12" }));
    const csr = opOf(poller).csr!;
    await assert.rejects(
      vault.certificates.beginCreateCertificate("merged", policy()),
      (e: { statusCode?: number; message?: string }) =>
        e.statusCode === 409 && /pending key vault certificate's status is inProgress/.test(String(e.message)),
    );
    // A chain signed for another key is refused and changes nothing.
    const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const otherCsr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: "CN=www.example.com",
      keys: {
        privateKey: await webcrypto.subtle.importKey(
          "pkcs8",
          otherKey.privateKey.export({ type: "pkcs8", format: "der" }),
          { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
          false,
          ["sign"],
        ),
        publicKey: await webcrypto.subtle.importKey(
          "spki",
          otherKey.publicKey.export({ type: "spki", format: "der" }),
          { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
          true,
          ["verify"],
        ),
      },
      signingAlgorithm: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    });
    const wrong = await ca.sign(Buffer.from(otherCsr.rawData).toString("base64"));
    await assert.rejects(
      vault.certificates.mergeCertificate("merged", [Buffer.from(b64(wrong), "base64")]),
      (e: { statusCode?: number; message?: string }) => e.statusCode === 400 && /doesn't match/.test(String(e.message)),
    );
    assert.equal(opOf(await vault.certificates.getCertificateOperation("merged")).status, "inProgress");

    const leaf = await ca.sign(Buffer.from(csr).toString("base64"));
    // x5c as base64 of PEM text (the SDK sample's way) for the leaf and base64 DER for the CA.
    const merged = await vault.certificates.mergeCertificate("merged", [
      Buffer.from(b64Pem(leaf), "base64"),
      Buffer.from(b64(ca.cert), "base64"),
    ]);
    assert.equal(merged.properties.enabled, true);
    assert.match(merged.properties.version!, /^[0-9a-f]{32}$/);
    assert.equal(merged.keyId!.split("/").pop(), merged.properties.version);
    assert.equal(merged.secretId!.split("/").pop(), merged.properties.version);
    assert.deepEqual(Buffer.from(merged.cer!), Buffer.from(leaf.rawData));
    assert.equal(
      Buffer.from(merged.properties.x509Thumbprint!).toString("hex"),
      Buffer.from(await leaf.getThumbprint("SHA-1")).toString("hex"),
    );
    assert.equal(merged.properties.expiresOn!.getTime(), leaf.notAfter.getTime());
    const op = await vault.certificates.getCertificateOperation("merged");
    assert.equal(opOf(op).status, "completed");

    const secret = await vault.secrets.getSecret("merged");
    assert.equal(secret.properties.contentType, "application/x-pkcs12");
    assert.equal(secret.properties.managed, true);
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.decode64(secret.value!)), "");
    const keyBag = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag]![0];
    const certBags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag]!;
    assert.equal(certBags.length, 2, "PFX carries the leaf and the CA");
    const pfxKeyPem = forge.pki.privateKeyToPem(keyBag.key!);
    assert.equal(
      publicJwk(createPrivateKey(pfxKeyPem)),
      publicJwk({ key: Buffer.from(leaf.publicKey.rawData), format: "der", type: "spki" }),
    );

    // Switch the content type to PEM; the next issued version is served as PEM.
    await vault.certificates.updateCertificatePolicy("merged", { contentType: "application/x-pem-file" } as CertificatePolicy);
    const again = await vault.certificates.beginCreateCertificate("merged", policy());
    const leaf2 = await ca.sign(Buffer.from(opOf(again).csr!).toString("base64"));
    await vault.certificates.mergeCertificate("merged", [Buffer.from(b64(leaf2), "base64"), Buffer.from(b64(ca.cert), "base64")]);
    const pem = await vault.secrets.getSecret("merged");
    assert.equal(pem.properties.contentType, "application/x-pem-file");
    const [keyPem] = pemBlocks(pem.value!, "PRIVATE KEY");
    const certs = pemBlocks(pem.value!);
    assert.equal(certs.length, 2);
    assert.ok(pem.value!.endsWith("-----END CERTIFICATE-----\n"));
    assert.equal(
      publicJwk(createPrivateKey(keyPem)),
      publicJwk({ key: Buffer.from(leaf2.publicKey.rawData), format: "der", type: "spki" }),
    );
    // reuse_key=false: a new key for the second create.
    assert.notEqual(
      publicJwk({ key: Buffer.from(leaf2.publicKey.rawData), format: "der", type: "spki" }),
      publicJwk({ key: Buffer.from(leaf.publicKey.rawData), format: "der", type: "spki" }),
    );
    // The first version's secret is still served by version.
    const old = await vault.secrets.getSecret("merged", { version: merged.properties.version });
    assert.equal(old.properties.contentType, "application/x-pkcs12");
  });

  it("Self issuer completes with a self-signed EC certificate; non-exportable keys stay in the vault", async () => {
    const poller = await vault.certificates.beginCreateCertificate(
      "self-ec",
      {
        issuerName: "Self",
        subject: "CN=self.example.com",
        keyType: "EC",
        keyCurveName: KnownCertificateKeyCurveNames.P384,
        exportable: false,
        contentType: "application/x-pem-file",
      },
      { intervalInMs: 20 },
    );
    const cert = await poller.pollUntilDone();
    assert.equal(cert.properties.enabled, true);
    const parsed = new x509.X509Certificate(Buffer.from(cert.cer!));
    assert.equal(parsed.subject, "CN=self.example.com");
    assert.equal(await parsed.verify({ signatureOnly: true }), true);
    assert.equal((parsed.publicKey.algorithm as EcKeyAlgorithm).namedCurve, "P-384");
    const secret = await vault.secrets.getSecret("self-ec");
    assert.equal(pemBlocks(secret.value!, "PRIVATE KEY").length, 0, "no private key for a non-exportable certificate");
    assert.equal(pemBlocks(secret.value!).length, 1);
  });

  it("state survives a restart", async () => {
    const before = await vault.certificates.getCertificate("merged");
    await vault.certificates.beginCreateCertificate("pending-across-restart", policy());
    await vault.secrets.setSecret(
      "acme-account-key",
      generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string,
      { contentType: "application/x-pem-file" },
    );
    await vault.restart();
    const afterCert = await vault.certificates.getCertificate("merged");
    assert.deepEqual(afterCert.cer, before.cer);
    assert.equal(afterCert.properties.version, before.properties.version);
    const op = await vault.certificates.getCertificateOperation("pending-across-restart");
    assert.equal(opOf(op).status, "inProgress");
    assert.equal((await vault.secrets.getSecret("acme-account-key")).properties.contentType, "application/x-pem-file");
    assert.equal((await vault.secrets.getSecret("merged")).properties.contentType, "application/x-pem-file");
  });

  it("a disabled secret version answers 403 'Operation get is not allowed on a disabled secret.', plain or certificate-backed", async () => {
    const isDisabled = (e: { statusCode?: number; message?: string }) =>
      e.statusCode === 403 && e.message === "Operation get is not allowed on a disabled secret.";
    const plain = await vault.secrets.setSecret("plain-disabled", "v1");
    await vault.secrets.updateSecretProperties("plain-disabled", plain.properties.version!, { enabled: false });
    await assert.rejects(vault.secrets.getSecret("plain-disabled", { version: plain.properties.version }), isDisabled);
    await assert.rejects(vault.secrets.getSecret("plain-disabled"), isDisabled, "latest version disabled");

    const poller = await vault.certificates.beginCreateCertificate("cert-disabled", policy());
    const leaf = await ca.sign(Buffer.from(opOf(poller).csr!).toString("base64"));
    const merged = await vault.certificates.mergeCertificate("cert-disabled", [Buffer.from(b64(leaf), "base64")]);
    await vault.certificates.updateCertificateProperties("cert-disabled", merged.properties.version!, { enabled: false });
    await assert.rejects(vault.secrets.getSecret("cert-disabled", { version: merged.properties.version }), isDisabled);
  });

  it("listing versions of a name that does not exist is an empty page, not a 404", async () => {
    const certVersions = [];
    for await (const v of vault.certificates.listPropertiesOfCertificateVersions("never-existed")) certVersions.push(v);
    assert.deepEqual(certVersions, []);
    const secretVersions = [];
    for await (const v of vault.secrets.listPropertiesOfSecretVersions("never-existed")) secretVersions.push(v);
    assert.deepEqual(secretVersions, []);
  });

  it("a missing pending operation says 'Pending certificate not found: NAME' (lower-case c)", async () => {
    await vault.certificates.beginCreateCertificate("no-such-pending", policy());
    await vault.certificates.deleteCertificateOperation("no-such-pending");
    const r = await kvFetch(vault, "GET", "/certificates/no-such-pending/pending");
    assert.equal(r.status, 404);
    assert.equal(r.json.error?.message, "Pending certificate not found: no-such-pending");
  });

  it("merge accepts x5c entries that are base64 of the PEM body text", async () => {
    const poller = await vault.certificates.beginCreateCertificate("body-text", policy());
    const leaf = await ca.sign(Buffer.from(opOf(poller).csr!).toString("base64"));
    const body = leaf
      .toString("pem")
      .split("\n")
      .filter((l) => l && !l.startsWith("-----"))
      .join("\n");
    const merged = await vault.certificates.mergeCertificate("body-text", [Buffer.from(body)]);
    assert.deepEqual(Buffer.from(merged.cer!), Buffer.from(leaf.rawData));
  });
});

interface EcKeyAlgorithm {
  namedCurve: string;
}
