/**
 * The issuer guards against two real Pebble CAs (each generates its own intermediate at start, as public CAs rotate
 * theirs): every version records its issuing intermediate; a renewal from the other CA is reported as
 * `certificate.issuer_changed` (and, with a shorter validity, `certificate.lifetime_shortened` plus the tag); with
 * issuer pins that do not list the new intermediate the renewal is not merged, the pending operation is abandoned, the
 * old version stays the newest issued one, and `certificate.issuer_rejected` says why.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Settings } from "../../src/config/settings";
import { createIssuanceDeps, getIssuerPins, runIssuance, setIssuerPins } from "../../src/issuance";
import { getPending } from "../../src/keyvault/certificates";
import { latestIssuedVersion } from "../../src/keyvault/versions";
import { readManagedTags, TAG_ISSUER, TAG_LIFETIME_SHORTENED } from "../../src/keyvault/tags";
import { ensureLocalCa } from "../../src/local/ca";
import { freePort } from "../../src/local/net";
import { startPebble, type Pebble } from "../../src/local/pebble";
import { CLOUDEVENT_TYPE_PREFIX } from "../../src/notify";
import { createTelemetry } from "../../src/telemetry";
import { startReceiver, type Receiver } from "../notify/receiver";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackSettings, txtRecords } from "./helpers";

describe("issuer record, issuer change, issuer pins and shorter lifetime (two Pebble CAs)", () => {
  let stack: TestStack;
  let other: Pebble;
  let hooks: Receiver;

  before(async () => {
    hooks = await startReceiver([], { status: 204 }, "/events");
    stack = await startTestStack();
    const ca = await ensureLocalCa();
    // A second CA with its own intermediate, issuing 30-day certificates (the stack's issues 90-day ones).
    other = await startPebble({
      dir: path.join(stack.stateDir, "pebble-other"),
      tls: await ca.issueServerCertificate(["localhost", "127.0.0.1", "::1"]),
      caCertPem: ca.caCertPem,
      dnsServer: stack.info.dnsServer,
      acmePort: await freePort(),
      managementPort: await freePort(),
      validityPeriodSeconds: 30 * 86400,
    });
  });
  after(async () => {
    await other?.stop();
    await stack?.close();
    await hooks?.close();
  });

  const settingsFor = (acmeDirectoryUrl: string) =>
    ({
      ...stackSettings(stack, { acmeDirectoryUrl }),
      webhooks: [{ url: hooks.url, format: "generic", events: ["*"] }],
    }) as unknown as Settings;
  const run = (acmeDirectoryUrl: string, input: Parameters<typeof runIssuance>[0]) => {
    const settings = settingsFor(acmeDirectoryUrl);
    return runIssuance(input, createIssuanceDeps(settings, stack.credential), {
      settings,
      telemetry: createTelemetry({ roleName: settings.telemetryRoleName }),
    });
  };
  const events = (type: string) =>
    hooks.received
      .map((r) => JSON.parse(r.rawBody.toString("utf8")) as { type: string; subject: string; data: Record<string, unknown> })
      .filter((e) => e.type === `${CLOUDEVENT_TYPE_PREFIX}${type}`);

  it("records the issuer, reports a change and a shorter lifetime, and refuses an unpinned issuer", { timeout: 240_000 }, async () => {
    const { certificates } = clients(stack);
    const name = "cluster";

    const first = await run(stack.info.acmeDirectoryUrl, { dnsNames: ["cluster.example.com"], certificateName: name, reason: "issue" });
    const v1 = await latestIssuedVersion(certificates, name);
    const issuer1 = readManagedTags(v1?.tags).issuer;
    assert.ok(issuer1?.thumbprint && issuer1.keyId, `kv-acme-issuer recorded: ${v1?.tags[TAG_ISSUER]}`);
    assert.deepEqual(first.issuer, issuer1);
    assert.match(issuer1.subject, /Pebble Intermediate/);

    // Renewal by the other CA: another intermediate, and 30 days instead of 90.
    const second = await run(other.directoryUrl, { certificateName: name, reason: "renew" });
    const v2 = await latestIssuedVersion(certificates, name);
    assert.equal(v2?.version, second.version);
    const issuer2 = readManagedTags(v2?.tags).issuer;
    assert.ok(issuer2?.thumbprint && issuer2.thumbprint !== issuer1.thumbprint, "a different intermediate");
    const changed = events("certificate.issuer_changed");
    assert.equal(changed.length, 1);
    assert.deepEqual(changed[0]?.data.issuer, issuer2);
    assert.deepEqual(changed[0]?.data.previousIssuer, issuer1);
    assert.equal(changed[0]?.data.previousVersion, first.version);
    const shortened = events("certificate.lifetime_shortened");
    assert.equal(shortened.length, 1);
    assert.equal(shortened[0]?.data.previousNotAfter, first.notAfter);
    assert.equal(v2?.tags[TAG_LIFETIME_SHORTENED], `${first.notAfter};${first.version}`);
    assert.ok(second.warnings?.some((w) => w.includes("before the previous version")));

    // Pin the current (second) intermediate; a renewal by the first CA is then refused before its merge.
    await assert.rejects(
      setIssuerPins(name, ["not-a-thumbprint"], createIssuanceDeps(settingsFor(other.directoryUrl), stack.credential)),
      /40 hex/,
    );
    const deps = createIssuanceDeps(settingsFor(other.directoryUrl), stack.credential);
    await setIssuerPins(name, [issuer2.thumbprint.toLowerCase().replace(/(..)/g, "$1:").slice(0, -1)], deps);
    assert.deepEqual((await getIssuerPins(name, deps)).issuerPins, [issuer2.thumbprint]);
    await assert.rejects(run(stack.info.acmeDirectoryUrl, { certificateName: name, reason: "renew" }), (err: Error) => {
      assert.match(err.message, /not in its issuer pins/);
      assert.ok(err.message.includes(issuer1.thumbprint as string), err.message);
      return true;
    });
    const v3 = await latestIssuedVersion(certificates, name);
    assert.equal(v3?.version, second.version, "the pinned version stays the newest issued one");
    assert.equal((await getPending(certificates, name))?.status ?? "none", "none", "the pending operation was abandoned");
    assert.deepEqual(await txtRecords(stack), {}, "no TXT values left");
    const rejected = events("certificate.issuer_rejected");
    assert.equal(rejected.length, 1);
    assert.deepEqual(rejected[0]?.data.issuer, issuer1);
    assert.deepEqual(rejected[0]?.data.issuerPins, [issuer2.thumbprint]);
    assert.equal(rejected[0]?.data.currentVersion, second.version);
    assert.equal(events("certificate.renewal_failed").length, 1, "the renewal counts as failed");

    // A renewal from the pinned CA merges and carries the pins on.
    const fourth = await run(other.directoryUrl, { certificateName: name, reason: "renew" });
    const v4 = await latestIssuedVersion(certificates, name);
    assert.equal(v4?.version, fourth.version);
    assert.deepEqual(readManagedTags(v4?.tags).issuerPins, [issuer2.thumbprint]);
    assert.equal(events("certificate.issuer_changed").length, 1, "same issuer: no new change event");
  });
});
