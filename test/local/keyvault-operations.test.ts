/** Other Key Vault stand-in operations through the real SDKs: list paging at scale, properties, import, delete/purge/recover, secrets. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey } from "node:crypto";
import type { CertificatePolicy } from "@azure/keyvault-certificates";
import { pemBlocks } from "../../src/shared/x509";
import { kvFetch, startVault, type Vault } from "./support-keyvault";

const SELF_EC = { issuerName: "Self", subject: "CN=ops.example.com", keyType: "EC", keyCurveName: "P-256" } as CertificatePolicy;

describe("Key Vault stand-in: operations", () => {
  let vault: Vault;
  before(async () => {
    vault = await startVault();
  });
  after(async () => vault.close());

  it("update properties and tags (versionless and by version); list items carry attributes, tags and x5t", async () => {
    const cert = await (await vault.certificates.beginCreateCertificate("tagged", SELF_EC, { intervalInMs: 10 })).pollUntilDone();
    const updated = await vault.certificates.updateCertificateProperties("tagged", "", { tags: { owner: "kv-acme", renew: "auto" } });
    assert.deepEqual(updated.properties.tags, { owner: "kv-acme", renew: "auto" });
    const disabled = await vault.certificates.updateCertificateProperties("tagged", cert.properties.version!, { enabled: false });
    assert.equal(disabled.properties.enabled, false);
    const items = [];
    for await (const p of vault.certificates.listPropertiesOfCertificates()) items.push(p);
    const item = items.find((p) => p.name === "tagged")!;
    assert.deepEqual(item.tags, { owner: "kv-acme", renew: "auto" });
    assert.equal(item.enabled, false);
    assert.ok(item.expiresOn && item.notBefore && item.createdOn && item.updatedOn);
    assert.deepEqual(Buffer.from(item.x509Thumbprint!), Buffer.from(cert.properties.x509Thumbprint!));
    const versions = [];
    for await (const v of vault.certificates.listPropertiesOfCertificateVersions("tagged")) versions.push(v.version);
    assert.deepEqual(versions, [cert.properties.version]);
  });

  it("import PEM and PFX; policy derived from the certificate", async () => {
    const source = await (
      await vault.certificates.beginCreateCertificate(
        "import-src",
        {
          issuerName: "Self",
          subject: "CN=imp.example.com",
          subjectAlternativeNames: { dnsNames: ["imp.example.com"] },
          contentType: "application/x-pem-file",
        },
        { intervalInMs: 10 },
      )
    ).pollUntilDone();
    const pem = (await vault.secrets.getSecret("import-src")).value!;
    const fromPem = await vault.certificates.importCertificate("import-pem", Buffer.from(pem), {
      policy: { contentType: "application/x-pem-file" } as CertificatePolicy,
    });
    assert.deepEqual(Buffer.from(fromPem.cer!), Buffer.from(source.cer!));
    assert.deepEqual(fromPem.policy?.subjectAlternativeNames?.dnsNames, ["imp.example.com"]);
    const pemAgain = (await vault.secrets.getSecret("import-pem")).value!;
    assert.equal(
      createPublicKey(createPrivateKey(pemBlocks(pemAgain, "PRIVATE KEY")[0])).export({ format: "jwk" }).n,
      createPublicKey(createPrivateKey(pemBlocks(pem, "PRIVATE KEY")[0])).export({ format: "jwk" }).n,
    );
    await vault.certificates.updateCertificatePolicy("import-src", { contentType: "application/x-pkcs12" } as CertificatePolicy);
    await (
      await vault.certificates.beginCreateCertificate(
        "import-src",
        { issuerName: "Self", subject: "CN=imp.example.com" },
        { intervalInMs: 10 },
      )
    ).pollUntilDone();
    const pfx = (await vault.secrets.getSecret("import-src")).value!;
    const fromPfx = await vault.certificates.importCertificate("import-pfx", Buffer.from(pfx, "base64"));
    assert.equal(fromPfx.policy?.contentType, "application/x-pkcs12");
    assert.equal(fromPfx.properties.enabled, true);
  });

  it("delete (soft) -> get deleted -> recover; delete -> purge 204; name reuse blocked while deleted", async () => {
    await (await vault.certificates.beginCreateCertificate("doomed", SELF_EC, { intervalInMs: 10 })).pollUntilDone();
    const deleted = await (await vault.certificates.beginDeleteCertificate("doomed", { intervalInMs: 10 })).pollUntilDone();
    assert.ok(deleted.recoveryId && deleted.deletedOn && deleted.scheduledPurgeDate);
    await assert.rejects(vault.certificates.getCertificate("doomed"), (e: { statusCode?: number }) => e.statusCode === 404);
    assert.equal(
      (
        await kvFetch(vault, "POST", "/certificates/doomed/create", {
          policy: { x509_props: { subject: "CN=x" }, issuer: { name: "Self" } },
        })
      ).status,
      409,
    );
    await (await vault.certificates.beginRecoverDeletedCertificate("doomed", { intervalInMs: 10 })).pollUntilDone();
    assert.equal((await vault.certificates.getCertificate("doomed")).properties.enabled, true);
    await (await vault.certificates.beginDeleteCertificate("doomed", { intervalInMs: 10 })).pollUntilDone();
    const purge = await kvFetch(vault, "DELETE", "/deletedcertificates/doomed");
    assert.equal(purge.status, 204);
    assert.equal((await kvFetch(vault, "GET", "/deletedcertificates/doomed")).status, 404);
  });

  it("plain secrets: set, versions, list, update, delete", async () => {
    const a = await vault.secrets.setSecret("acme-account", "key-v1", { contentType: "application/jwk+json", tags: { kind: "acme" } });
    const b = await vault.secrets.setSecret("acme-account", "key-v2");
    assert.match(a.properties.version!, /^[0-9a-f]{32}$/);
    assert.equal((await vault.secrets.getSecret("acme-account")).value, "key-v2");
    assert.equal((await vault.secrets.getSecret("acme-account", { version: a.properties.version })).value, "key-v1");
    const versions = [];
    for await (const v of vault.secrets.listPropertiesOfSecretVersions("acme-account")) versions.push(v.version);
    assert.deepEqual(versions.sort(), [a.properties.version, b.properties.version].sort());
    const names = [];
    for await (const s of vault.secrets.listPropertiesOfSecrets()) names.push(s.name);
    assert.ok(names.includes("acme-account"));
    const upd = await vault.secrets.updateSecretProperties("acme-account", b.properties.version!, { tags: { kind: "acme", v: "2" } });
    assert.deepEqual(upd.tags, { kind: "acme", v: "2" });
    await (await vault.secrets.beginDeleteSecret("acme-account", { intervalInMs: 10 })).pollUntilDone();
    await assert.rejects(
      vault.secrets.getSecret("acme-account"),
      (e: { statusCode?: number; code?: string }) => e.statusCode === 404 && e.code === "SecretNotFound",
    );
    await vault.secrets.purgeDeletedSecret("acme-account");
  });

  it("lists 1,000 certificates in pages of at most 25, each with its expiry, thumbprint and tags", async () => {
    // Seed state files directly (key generation for 1,000 certificates would dominate), then restart to load them.
    const { promises: fs } = await import("node:fs");
    const path = await import("node:path");
    const template = JSON.parse(await fs.readFile(path.join(vault.stateDir, "certificates", "tagged.json"), "utf8")) as { name: string };
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => {
        const name = `bulk-${String(i).padStart(4, "0")}`;
        return fs.writeFile(path.join(vault.stateDir, "certificates", `${name}.json`), JSON.stringify({ ...template, name }));
      }),
    );
    await vault.restart();
    vault.renewClients();
    let count = 0;
    let pages = 0;
    for await (const page of vault.certificates.listPropertiesOfCertificates().byPage({ maxPageSize: 25 })) {
      pages++;
      assert.ok(page.length <= 25);
      for (const item of page) {
        if (item.name!.startsWith("bulk-")) {
          count++;
          assert.ok(item.expiresOn && item.x509Thumbprint && item.tags);
        }
      }
    }
    assert.equal(count, 1000);
    assert.ok(pages >= 40);
  });
});
