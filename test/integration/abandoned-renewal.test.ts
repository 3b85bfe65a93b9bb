/**
 * An abandoned renewal (refused by the issuer pins: the pending operation is cancelled and deleted) leaves its
 * disabled, unissued version as the certificate's latest in the Key Vault stand-in, as the service does; the list
 * item of such a certificate has no x5t. The timer's renewal scan still finds the certificate, decides on its newest
 * issued version and renews it, reading the versions of that certificate only (an issued one costs its list page);
 * the inventory (GET /api/certificates) shows the newest issued version, marked.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Runtime } from "../../src/app/runtime";
import { list } from "../../src/api/handlers";
import type { CertificateSummary } from "../../src/api/views";
import type { Settings } from "../../src/config/settings";
import { createIssuanceDeps, issueCertificate, renewAllDue, renewCertificate, setIssuerPins } from "../../src/issuance";
import { getPending } from "../../src/keyvault/certificates";
import { latestIssuedVersion } from "../../src/keyvault/versions";
import { decideForItem, scanInventory } from "../../src/renewal/scan";
import { createTelemetry } from "../../src/telemetry";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackSettings } from "./helpers";

describe("a certificate whose latest version an abandoned renewal left unissued", () => {
  let stack: TestStack;
  before(async () => {
    // 5-minute certificates; renewing at 1 % of the lifetime makes them due 3 s after issuance.
    stack = await startTestStack({ pebble: { validityPeriodSeconds: 300 } });
  });
  after(async () => stack?.close());

  it("is found by the renewal scan, decided on its newest issued version and renewed by the run", { timeout: 240_000 }, async () => {
    const settings = stackSettings(stack, { renewAtPercentOfLifetime: 1 }) as unknown as Settings;
    const deps = createIssuanceDeps(settings, stack.credential);
    const { certificates } = clients(stack);
    const issued = await issueCertificate({ dnsNames: ["abandoned.example.com"], certificateName: "abandoned" }, deps);
    await issueCertificate({ dnsNames: ["steady.example.com"], certificateName: "steady" }, deps);

    // A renewal refused by the pins: its pending operation is cancelled and deleted, its version stays the latest.
    await setIssuerPins("abandoned", ["AB".repeat(20)], deps);
    await assert.rejects(renewCertificate("abandoned", deps), /not in its issuer pins/);
    await setIssuerPins("abandoned", [], deps);
    assert.equal(await getPending(certificates, "abandoned"), undefined, "the pending operation was deleted");
    const latest = await certificates.getCertificate("abandoned");
    assert.equal(latest.properties.enabled, false, "the latest version is the disabled one");
    assert.equal(latest.cer?.length ?? 0, 0, "the latest version is unissued");
    const listed: { name?: string; x5t: number }[] = [];
    for await (const p of certificates.listPropertiesOfCertificates({ includePending: true }))
      listed.push({ name: p.name, x5t: p.x509Thumbprint?.length ?? 0 });
    assert.deepEqual(listed.find((p) => p.name === "abandoned")?.x5t, 0, "its list item has no x5t");

    const scan = await scanInventory(deps, settings);
    const candidate = scan.items.find((i) => i.name === "abandoned");
    assert.ok(candidate, `the scan finds it: ${scan.items.map((i) => i.name).join(", ")}`);
    assert.equal(candidate.expiresOn, issued.notAfter, "decided on the newest issued version");
    assert.ok(
      scan.items.some((i) => i.name === "steady"),
      "the issued certificate is listed too",
    );
    assert.equal(scan.versionReads, 1, "only the certificate with the unissued latest version had its versions read");

    const reply = await list(
      { method: "GET", url: "/api/certificates", params: {}, query: new URLSearchParams(), headers: new Headers(), body: new Uint8Array() },
      {
        runtime: { deps } as unknown as Runtime,
        caller: { kind: "anonymous" } as never,
      },
    );
    const shown = (JSON.parse(reply.body ?? "") as { certificates: CertificateSummary[] }).certificates.find((c) => c.name === "abandoned");
    assert.equal(shown?.pending, false, "the inventory does not show it as pending");
    assert.equal(shown?.thumbprint, issued.thumbprint);
    assert.equal(shown?.expiresOn, issued.notAfter);
    assert.equal(shown?.latestVersionUnissued, true);

    // Due 3 s after its NotBefore (1 % of 5 minutes; the refusal's failure backoff ends an hour before expiry).
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(candidate.notBefore ?? "") + 4_000 - Date.now())));
    const decided = await decideForItem(candidate, deps, new Date());
    assert.equal(decided?.decision.due, true, JSON.stringify(decided));
    const summary = await renewAllDue({ deps, settings, telemetry: createTelemetry({ roleName: settings.telemetryRoleName }) });
    const renewed = summary.renewed.find((r) => r.certificateName === "abandoned");
    assert.ok(renewed, `the run renews it: ${JSON.stringify(summary)}`);
    const now = await latestIssuedVersion(certificates, "abandoned");
    assert.equal(now?.version, renewed.version);
    assert.notEqual(now?.thumbprint, issued.thumbprint);
    assert.equal((await certificates.getCertificate("abandoned")).properties.version, renewed.version, "the renewal is the latest again");
  });
});
