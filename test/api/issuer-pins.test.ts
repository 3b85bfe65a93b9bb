/**
 * Issuer pins and the recorded issuer through the real routes on the local Functions host (durable orchestrations):
 * GET/PUT /certificates/{name}/issuer-pins (validated, 400 problems write nothing, 409 for certificates kv-acme does not
 * manage), issuerPins on POST /certificates, the issuer and pins in the inventory, and a renewal whose issuer is not
 * pinned failing with IssuerNotPinned while the pinned version stays the newest issued one and no pending operation
 * is left.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getPending } from "../../src/keyvault/certificates";
import { latestIssuedVersion } from "../../src/keyvault/versions";
import { clients } from "../integration/helpers";
import { startTestApp, type TestApp } from "../support/app";
import { assertProblem, call, pollOperation, snapshot } from "./support";

const OTHER = "0123456789ABCDEF0123456789ABCDEF01234567";
let app: TestApp;

before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app?.close();
});

async function run(r: Awaited<ReturnType<typeof call>>) {
  assert.equal(r.status, 202, r.text);
  return (await pollOperation(app.api.replace(/\/api$/, ""), r.headers.get("location") ?? "")).final;
}

describe("issuer pins", () => {
  it("bad pins get 400 problems and write nothing", async () => {
    const initial = await snapshot(app.stack);
    assertProblem(
      await call(app.api, "POST", "/certificates", { body: { dnsNames: ["p.example.com"], issuerPins: ["nope", OTHER] } }),
      400,
      ["issuerPins[0]"],
    );
    assertProblem(await call(app.api, "POST", "/certificates", { body: { dnsNames: ["p.example.com"], issuerPins: "x" } }), 400, [
      "issuerPins",
    ]);
    assertProblem(await call(app.api, "PUT", "/certificates/p-example-com/issuer-pins", { body: {} }), 400, ["issuerPins"]);
    assertProblem(await call(app.api, "PUT", "/certificates/p-example-com/issuer-pins", { body: { issuerPins: ["A".repeat(64)] } }), 400, [
      "issuerPins[0]",
    ]);
    assertProblem(await call(app.api, "PUT", "/certificates/p-example-com/issuer-pins", { body: { issuerPins: [], extra: 1 } }), 400, [
      "extra",
    ]);
    assertProblem(await call(app.api, "GET", "/certificates/nothing-here/issuer-pins"), 404);
    assert.equal(await snapshot(app.stack), initial, "a refused request wrote to the vault or DNS");
  });

  it("records the issuer, pins it, carries the pins on, and refuses a renewal from an unpinned issuer", { timeout: 240_000 }, async () => {
    const issued = await run(
      await call(app.api, "POST", "/certificates", { body: { dnsNames: ["pinned.example.com"], certificateName: "pinned" } }),
    );
    assert.equal(issued.body.status, "Completed", issued.text);
    const shown = await call(app.api, "GET", "/certificates/pinned/issuer-pins");
    assert.equal(shown.status, 200, shown.text);
    assert.deepEqual(shown.body.issuerPins, []);
    const thumbprint = shown.body.issuer?.thumbprint as string;
    assert.match(thumbprint, /^[0-9A-F]{40}$/, "the issuing intermediate is recorded on the version");
    assert.deepEqual(issued.body.output.issuer, shown.body.issuer);

    const set = await call(app.api, "PUT", "/certificates/pinned/issuer-pins", { body: { issuerPins: [thumbprint.toLowerCase(), OTHER] } });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(set.body.issuerPins, [thumbprint, OTHER]);
    const list = await call(app.api, "GET", "/certificates");
    const item = (list.body.certificates as { name: string; issuingCa?: { thumbprint?: string }; issuerPins?: string[] }[]).find(
      (c) => c.name === "pinned",
    );
    assert.equal(item?.issuingCa?.thumbprint, thumbprint);
    assert.deepEqual(item?.issuerPins, [thumbprint, OTHER]);

    // The same CA: pinned, merged, pins carried on to the new version.
    const renewed = await run(await call(app.api, "POST", "/certificates/pinned/renew"));
    assert.equal(renewed.body.status, "Completed", renewed.text);
    assert.deepEqual((await call(app.api, "GET", "/certificates/pinned/issuer-pins")).body.issuerPins, [thumbprint, OTHER]);

    // Pinned to another issuer only: the renewal is refused before its merge.
    assert.equal((await call(app.api, "PUT", "/certificates/pinned/issuer-pins", { body: { issuerPins: [OTHER] } })).status, 200);
    const { certificates } = clients(app.stack);
    const before = await latestIssuedVersion(certificates, "pinned");
    const refused = await run(await call(app.api, "POST", "/certificates/pinned/renew"));
    assert.equal(refused.body.status, "Failed", refused.text);
    assert.match(JSON.stringify(refused.body), /not in its issuer pins/);
    const afterRefusal = await latestIssuedVersion(certificates, "pinned");
    assert.equal(afterRefusal?.version, before?.version, "the old version stays the newest issued one");
    assert.equal(afterRefusal?.version, renewed.body.output.version);
    assert.equal((await getPending(certificates, "pinned"))?.status ?? "none", "none", "the pending operation was abandoned");
    assert.equal(afterRefusal?.tags["kv-acme-renewal-failures"]?.split(";")[0], "1", "the refusal counts as a failed renewal");

    // Clearing the pins lets the next renewal merge.
    assert.deepEqual((await call(app.api, "PUT", "/certificates/pinned/issuer-pins", { body: { issuerPins: [] } })).body.issuerPins, []);
    const again = await run(await call(app.api, "POST", "/certificates/pinned/renew"));
    assert.equal(again.body.status, "Completed", again.text);
  });

  it("PUT on a certificate kv-acme does not manage: 409 CertificateNotManaged", async () => {
    const { certificates } = clients(app.stack);
    const poller = await certificates.beginCreateCertificate(
      "foreign-pins",
      { issuerName: "Self", subject: "CN=f.example.com", subjectAlternativeNames: { dnsNames: ["f.example.com"] }, validityInMonths: 12 },
      { tags: { owner: "someone" } },
    );
    await poller.pollUntilDone();
    const r = await call(app.api, "PUT", "/certificates/foreign-pins/issuer-pins", { body: { issuerPins: [OTHER] } });
    assertProblem(r, 409);
    assert.equal(r.body.code, "CertificateNotManaged");
    assert.deepEqual((await certificates.getCertificate("foreign-pins")).properties.tags, { owner: "someone" });
  });
});
