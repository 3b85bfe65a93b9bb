/**
 * Acmebot__RenewBeforeExpiry without a unit setting, against the local stack: the first renewal run reads the unit
 * from the Acmebot v5 tag of an adopted certificate and records it (a secret kv-acme owns, src/keyvault/acmebot-unit.ts);
 * that run's renewal replaces the Acmebot tags with kv-acme's, and the next run, with no Acmebot tag left anywhere and
 * still no setting, reads the recorded unit instead of stopping with a ConfigurationError. A single renewal of such a
 * certificate (`kv-acme renew`, POST .../renew) before any run records it as well.
 */
import assert from "node:assert/strict";
import { KeyObject, randomBytes, webcrypto } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { CertificatePolicy } from "@azure/keyvault-certificates";
import type { Settings } from "../../src/config/settings";
import { createIssuanceDeps, renewAllDue, renewCertificate } from "../../src/issuance";
import { ACMEBOT_UNIT_SECRET } from "../../src/keyvault/acmebot-unit";
import { readManagedTags } from "../../src/keyvault/tags";
import { x509 } from "../../src/shared/x509";
import { createTelemetry } from "../../src/telemetry";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackSettings } from "./helpers";

describe("the Acmebot RenewBeforeExpiry unit outlives the Acmebot tags", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.close());

  it("a run renews an adopted v5 certificate (unit from its tag, recorded); the next run, no Acmebot tag left, reads the record", async () => {
    const { certificates, secrets } = clients(stack);
    await importAcmebotV5(stack, "acmebot-v5");
    // Acmebot__RenewBeforeExpiry=99 (v5: renew when 99 % of the lifetime is left), no unit setting, nothing else set.
    const settings = stackSettings(stack, {
      acmebotRenewBeforeExpiry: { value: 99, explicitDays: false, explicitPercent: false },
    }) as unknown as Settings;
    const deps = createIssuanceDeps(settings, stack.credential);
    const telemetry = createTelemetry({ roleName: settings.telemetryRoleName });

    const first = await renewAllDue({ deps, settings, telemetry });
    assert.deepEqual(
      first.renewed.map((r) => r.certificateName),
      ["acmebot-v5"],
      JSON.stringify(first),
    );
    assert.equal((await secrets.getSecret(ACMEBOT_UNIT_SECRET)).value, "percent", "the unit the v5 tag told is recorded");
    const tags = (await certificates.getCertificate("acmebot-v5")).properties.tags ?? {};
    assert.equal(readManagedTags(tags).acmebotVersion, undefined, `no Acmebot tag is left: ${JSON.stringify(tags)}`);
    assert.equal(tags["Acmebot"], undefined);

    // Before the record, this run stopped: "no certificate in the vaults carries Acmebot's tags to tell which".
    const next = await renewAllDue({ deps, settings, telemetry });
    assert.deepEqual(next.failed, [], JSON.stringify(next));
    assert.equal(next.checked, 1);
  });
});

describe("the Acmebot RenewBeforeExpiry unit is recorded by a single renewal too", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.close());

  it("renewing one adopted v5 certificate before any run records the unit; the run after it, no Acmebot tag left, reads it", async () => {
    const { certificates, secrets } = clients(stack);
    await importAcmebotV5(stack, "acmebot-v5-single");
    const settings = stackSettings(stack, {
      acmebotRenewBeforeExpiry: { value: 99, explicitDays: false, explicitPercent: false },
    }) as unknown as Settings;
    const deps = createIssuanceDeps(settings, stack.credential);
    await renewCertificate("acmebot-v5-single", deps);
    assert.equal((await secrets.getSecret(ACMEBOT_UNIT_SECRET)).value, "percent");
    assert.equal(readManagedTags((await certificates.getCertificate("acmebot-v5-single")).properties.tags).acmebotVersion, undefined);
    const run = await renewAllDue({ deps, settings, telemetry: createTelemetry({ roleName: settings.telemetryRoleName }) });
    assert.deepEqual(run.failed, [], JSON.stringify(run));
    assert.equal(run.checked, 1);
  });
});

/** Imports an Acmebot v5 certificate 80 days into its 90 (Acmebot's JSON tag, no ARI id: the CA's window would decide). */
async function importAcmebotV5(stack: TestStack, name: string): Promise<void> {
  const { certificates } = clients(stack);
  const zone = stack.info.zones[0] as string;
  const host = new URL(stack.info.acmeDirectoryUrl).host;
  await certificates.importCertificate(name, Buffer.from(await pemOf(`${name}.${zone}`, 80, 10)), {
    policy: { contentType: "application/x-pem-file" } as CertificatePolicy,
    tags: { Acmebot: JSON.stringify({ endpoint: host, dnsProvider: "Azure DNS" }) },
  });
  assert.equal(readManagedTags((await certificates.getCertificate(name)).properties.tags).acmebotVersion, 5);
}

/** A self-signed EC P-256 certificate for `name` issued `agoDays` ago and valid `leftDays` more, with its key, as PEM. */
async function pemOf(name: string, agoDays: number, leftDays: number): Promise<string> {
  const alg = { name: "ECDSA", namedCurve: "P-256" } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(12).toString("hex"),
    name: `CN=${name}`,
    notBefore: new Date(now - agoDays * 86_400_000),
    notAfter: new Date(now + leftDays * 86_400_000),
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: name }])],
  });
  // The key just generated, as PKCS#8 PEM (Node writes the armour).
  const key = KeyObject.from(keys.privateKey).export({ type: "pkcs8", format: "pem" }) as string;
  return key + cert.toString("pem") + "\n";
}
