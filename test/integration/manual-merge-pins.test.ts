/**
 * The manual `pending merge` (CLI, POST /api/certificates/{name}/pending/merge) is held to the issuer pins as the
 * flow's merge is (src/issuance/merge-guard.ts): a chain from an unpinned issuer is refused with IssuerNotPinned,
 * nothing is merged and the pending operation stays; once that issuer is pinned the merge goes through and the new
 * version carries the pins on.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createPendingWithPolicy, issueCertificate, mergePendingOperation, setIssuerPins } from "../../src/issuance";
import { getPending } from "../../src/keyvault/certificates";
import { latestIssuedVersion } from "../../src/keyvault/versions";
import { formatIssuerPins, readManagedTags, TAG_ISSUER_PINS } from "../../src/keyvault/tags";
import { ConflictError } from "../../src/shared/errors";
import { signCsrOutOfBand } from "../api/support";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackDeps } from "./helpers";

describe("the manual pending merge and the issuer pins", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.close());

  it("refuses a chain from an unpinned issuer (nothing merged, the pending operation stays), merges once it is pinned", async () => {
    const deps = stackDeps(stack);
    const { certificates } = clients(stack);
    const first = await issueCertificate({ dnsNames: ["manual.example.com"], certificateName: "manual" }, deps);
    const pebbleIssuer = readManagedTags((await latestIssuedVersion(certificates, "manual"))?.tags).issuer?.thumbprint;
    assert.ok(pebbleIssuer, "the issued version records its issuer");
    await setIssuerPins("manual", [pebbleIssuer], deps);

    const op = await createPendingWithPolicy({ certificateName: "manual", dnsNames: ["manual.example.com"] }, deps);
    const outOfBand = await signCsrOutOfBand(op.csrPem, ["manual.example.com"]);
    const chain = `${outOfBand.leafPem}\n${outOfBand.caPem}`;
    const err = await mergePendingOperation("manual", chain, deps).then(
      () => assert.fail("merged a chain from an unpinned issuer"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConflictError && err.code === "IssuerNotPinned", String(err));
    assert.match(err.message, /not in its issuer pins/);
    assert.equal((await latestIssuedVersion(certificates, "manual"))?.version, first.version, "nothing was merged");
    assert.equal((await getPending(certificates, "manual"))?.status, "inProgress", "the pending operation stays");

    const caThumbprint = createHash("sha1").update(outOfBand.caDer).digest("hex").toUpperCase();
    await setIssuerPins("manual", [pebbleIssuer, caThumbprint], deps);
    const merged = await mergePendingOperation("manual", chain, deps);
    assert.equal(merged.thumbprint, createHash("sha1").update(outOfBand.leafDer).digest("hex").toUpperCase());
    const tags = (await certificates.getCertificateVersion("manual", merged.version)).properties.tags;
    assert.equal(tags?.[TAG_ISSUER_PINS], formatIssuerPins([pebbleIssuer, caThumbprint]), "the pins carry on");
  });
});
