/**
 * Pending operations created by hand (`pending create`: a CSR for another CA) against the local stack: their version
 * carries kv-acme's tags, so the version merged by hand is managed (a certificate of another owner needs adopt), and
 * no renewal takes such an operation over while it is in progress and not stale (ManualPendingHoldHours): the scan
 * reports the certificate held (ManualPendingOperation), a renewal run leaves the operation and its CSR as they are,
 * and issue / renew answer 409; once stale, the run renews the certificate.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Settings } from "../../src/config/settings";
import {
  createIssuanceDeps,
  createPendingWithPolicy,
  issueCertificate,
  mergePendingOperation,
  renewAllDue,
  renewalRequest,
  type IssuanceDeps,
} from "../../src/issuance";
import { getPending } from "../../src/keyvault/certificates";
import { latestIssuedVersion } from "../../src/keyvault/versions";
import { listInventory } from "../../src/keyvault/inventory";
import { TAG_ISSUER, TAG_MANAGED, TAG_MANUAL_PENDING, readManagedTags } from "../../src/keyvault/tags";
import { decideForItem, scanInventory } from "../../src/renewal/scan";
import { ConflictError, OwnershipError } from "../../src/shared/errors";
import { createTelemetry } from "../../src/telemetry";
import { signCsrOutOfBand } from "../api/support";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackSettings } from "./helpers";

describe("pending operations created by hand", () => {
  let stack: TestStack;
  let settings: Settings;
  let deps: IssuanceDeps;
  before(async () => {
    // 5-minute certificates; renewing at 1 % of the lifetime makes them due 3 s after issuance.
    stack = await startTestStack({ pebble: { validityPeriodSeconds: 300 } });
    settings = stackSettings(stack, { renewAtPercentOfLifetime: 1 }) as unknown as Settings;
    deps = createIssuanceDeps(settings, stack.credential);
  });
  after(async () => stack?.close());

  it("write kv-acme's tags: the version merged by hand is managed, its manual mark gone and its issuer recorded", async () => {
    const { certificates } = clients(stack);
    const before = Date.now();
    const op = await createPendingWithPolicy(
      { certificateName: "byhand", dnsNames: ["byhand.example.org"], keyOptions: { keyType: "EC-P256" } },
      deps,
    );
    const pendingTags = (await certificates.getCertificate("byhand")).properties.tags ?? {};
    assert.equal(pendingTags[TAG_MANAGED], "true", JSON.stringify(pendingTags));
    assert.deepEqual(readManagedTags(pendingTags).dnsNames, ["byhand.example.org"]);
    const created = Date.parse(pendingTags[TAG_MANUAL_PENDING] ?? "");
    assert.ok(created >= before - 1000 && created <= Date.now() + 1000, `created at ${pendingTags[TAG_MANUAL_PENDING]}`);

    const chain = await signCsrOutOfBand(op.csrPem, ["byhand.example.org"]);
    const merged = await mergePendingOperation("byhand", `${chain.leafPem}\n${chain.caPem}`, deps);
    const tags = (await certificates.getCertificateVersion("byhand", merged.version)).properties.tags ?? {};
    assert.equal(tags[TAG_MANAGED], "true");
    assert.equal(tags[TAG_MANUAL_PENDING], undefined, "the mark goes with the merge");
    assert.match(tags[TAG_ISSUER] ?? "", /kv-acme test out-of-band CA/);
    const { items } = await listInventory(certificates, { managedOnly: true });
    assert.ok(
      items.some((i) => i.name === "byhand" && i.thumbprint === merged.thumbprint),
      `counted as managed: ${items.map((i) => i.name).join(", ")}`,
    );
  });

  it("on a certificate of another owner need adopt (409 CertificateNotManaged, nothing created), then make it managed", async () => {
    const { certificates } = clients(stack);
    const poller = await certificates.beginCreateCertificate("theirs", {
      issuerName: "Self",
      subject: "CN=theirs.example.org",
      subjectAlternativeNames: { dnsNames: ["theirs.example.org"] },
    });
    await poller.pollUntilDone();
    const request = { certificateName: "theirs", dnsNames: ["theirs.example.org"] };
    await assert.rejects(
      createPendingWithPolicy(request, deps),
      (err) => err instanceof OwnershipError && err.code === "CertificateNotManaged",
    );
    assert.equal((await getPending(certificates, "theirs"))?.status, "completed", "no new operation (the Self one's record stays)");
    await createPendingWithPolicy({ ...request, adopt: true }, deps);
    const tags = (await certificates.getCertificate("theirs")).properties.tags ?? {};
    assert.equal(tags[TAG_MANAGED], "true");
    assert.ok(tags[TAG_MANUAL_PENDING]);
  });

  it(
    "are left alone by renewals while in progress and not stale (held, reported, 409), and replaced once stale",
    { timeout: 240_000 },
    async () => {
      const { certificates } = clients(stack);
      const issued = await issueCertificate({ dnsNames: ["handheld.example.com"], certificateName: "handheld" }, deps);
      const manual = await createPendingWithPolicy(
        { certificateName: "handheld", dnsNames: ["handheld.example.com"], keyOptions: { keyType: "EC-P256" } },
        deps,
      );
      // Due 3 s after its NotBefore (1 % of 5 minutes).
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(issued.notBefore) + 4_000 - Date.now())));

      const scan = await scanInventory(deps, settings);
      const candidate = scan.items.find((i) => i.name === "handheld");
      assert.ok(candidate?.manualPendingAt, `the scan sees the operation: ${JSON.stringify(candidate)}`);
      const held = await decideForItem(candidate, deps, new Date());
      assert.equal(held?.decision.due, false, JSON.stringify(held));
      assert.equal(held?.decision.reason, "ManualPendingOperation");
      assert.equal(held?.manualPending?.holdUntil, new Date(Date.parse(candidate.manualPendingAt) + 72 * 3_600_000).toISOString());
      assert.match(held?.decision.message ?? "", /created by hand/);

      const telemetry = createTelemetry({ roleName: settings.telemetryRoleName });
      const summary = await renewAllDue({ deps, settings, telemetry });
      assert.ok(!summary.renewed.some((r) => r.certificateName === "handheld"), JSON.stringify(summary));
      const after = await getPending(certificates, "handheld");
      assert.equal(after?.status, "inProgress");
      assert.equal(after?.cancellationRequested, false);
      assert.equal(after?.csr, Buffer.from(manual.csr, "base64").toString("base64"), "the CSR the person took is still the operation's");
      // What POST /certificates/{name}/renew asks before it starts anything, and what issue's validation asks.
      await assert.rejects(
        renewalRequest("handheld", deps),
        (err) => err instanceof ConflictError && err.code === "ManualPendingOperation",
      );
      await assert.rejects(
        issueCertificate({ dnsNames: ["handheld.example.com"], certificateName: "handheld" }, deps),
        (err) => err instanceof ConflictError && err.code === "ManualPendingOperation" && /pending merge|pending delete/.test(err.message),
      );

      // Stale (a hold of 0 hours): the run renews it, replacing the operation (its key type differs from the policy's).
      const staleSettings = { ...settings, manualPendingHoldHours: 0 };
      const staleDeps = createIssuanceDeps(staleSettings, stack.credential);
      const stale = await renewAllDue({ deps: staleDeps, settings: staleSettings, telemetry });
      const renewed = stale.renewed.find((r) => r.certificateName === "handheld");
      assert.ok(renewed, JSON.stringify(stale));
      assert.equal((await latestIssuedVersion(certificates, "handheld"))?.version, renewed.version);
      assert.equal(
        (await certificates.getCertificate("handheld")).properties.version,
        renewed.version,
        "the renewal is the latest version",
      );
    },
  );
});
