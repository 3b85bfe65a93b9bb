/**
 * Stale-host detection end to end: reports in Azurite, versions in the Key Vault stand-in, a real webhook receiver.
 * The fleet timer's pass sends certificate.host_stale (valid against schema/v1.json) once per host and version, and
 * again when the vault moves on to another version.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createRuntime, type Runtime } from "../../src/app/runtime";
import { fleetStoreOf } from "../../src/fleet";
import { CLOUDEVENT_TYPE_PREFIX } from "../../src/notify";
import { detectStaleHosts } from "../../src/fleet/detect";
import { clients } from "../integration/helpers";
import { startReceiver, type Receiver } from "../notify/receiver";
import { dataValidator, errorsOf } from "../notify/schemas";
import { startTestStack, type TestStack } from "../support/stack";

const HOUR = 3600_000;

describe("fleet stale detection", () => {
  let stack: TestStack;
  let hooks: Receiver;
  let runtime: Runtime;
  const events = () => hooks.received.map((r) => JSON.parse(r.rawBody.toString("utf8")));

  const newVersion = async () => {
    const poller = await clients(stack).certificates.beginCreateCertificate(
      "web",
      { issuerName: "Self", subject: "CN=web.example.com", subjectAlternativeNames: { dnsNames: ["web.example.com"] } },
      { intervalInMs: 10 },
    );
    const cert = await poller.pollUntilDone();
    return { version: cert.properties.version!, thumbprint: Buffer.from(cert.properties.x509Thumbprint!).toString("hex").toUpperCase() };
  };

  before(async () => {
    stack = await startTestStack({ tables: true });
    hooks = await startReceiver();
    runtime = createRuntime(
      {
        ...stack.env,
        KvAcme__Webhooks__0__Url: hooks.url,
        KvAcme__Webhooks__0__Format: "generic",
        KvAcme__Webhooks__0__Events: "certificate.host_stale",
      },
      { credential: stack.credential },
    );
  });
  after(async () => {
    await runtime?.telemetry.shutdown();
    await hooks?.close();
    await stack?.close();
  });

  it("a host left on the old version a day after a renewal, and a host that stopped reporting, are each noticed once", async () => {
    const v1 = await newVersion();
    const store = fleetStoreOf(runtime);
    const week = 7 * 86400;
    const now = new Date();
    const cert = { name: "web", installedVersion: v1.version, thumbprint: v1.thumbprint, bindingsUpdated: [] };
    await store.saveReport({ hostId: "vm-current", agentVersion: "0.1.0", pollingIntervalInS: week, certificates: [cert] }, now);
    await store.saveReport({ hostId: "vm-behind", agentVersion: "0.1.0", pollingIntervalInS: week, certificates: [cert] }, now);
    await store.saveReport({ hostId: "vm-gone", agentVersion: "0.1.0", pollingIntervalInS: 3600, certificates: [cert] }, now);
    const v2 = await newVersion();
    await store.saveReport(
      {
        hostId: "vm-current",
        agentVersion: "0.1.0",
        pollingIntervalInS: week,
        certificates: [{ ...cert, installedVersion: v2.version, thumbprint: v2.thumbprint }],
      },
      now,
    );

    const soon = await detectStaleHosts(runtime, new Date(now.getTime() + 2 * HOUR));
    assert.deepEqual(soon.notified, [], "nobody is stale 2 h after the renewal");

    const later = await detectStaleHosts(runtime, new Date(now.getTime() + 25 * HOUR));
    assert.deepEqual(later.notified.map((n) => `${n.hostId}:${n.finding.reason}`).sort(), [
      "vm-behind:outdated",
      "vm-gone:outdated",
      "vm-gone:unseen",
    ]);
    assert.equal(later.staleHosts, 2);
    const received = events();
    assert.equal(received.length, 3);
    for (const e of received) {
      assert.equal(e.type, `${CLOUDEVENT_TYPE_PREFIX}certificate.host_stale`);
      const v = dataValidator(e.dataschema);
      assert.ok(v(e.data), errorsOf(v));
    }
    const behind = received.find((e) => e.data.host === "vm-behind");
    assert.equal(behind.data.reason, "outdated");
    assert.equal(behind.data.installedVersion, v1.version);

    const again = await detectStaleHosts(runtime, new Date(now.getTime() + 26 * HOUR));
    assert.deepEqual(again.notified, [], "the same findings are not sent twice");
    assert.equal(again.staleHosts, 2);
    assert.equal(events().length, 3);

    const v3 = await newVersion();
    const renewedAgain = await detectStaleHosts(runtime, new Date(Date.now() + 25 * HOUR));
    assert.ok(
      renewedAgain.notified.some((n) => n.hostId === "vm-behind" && n.finding.noticeKey === `outdated:web:${v3.thumbprint}`),
      "a newer version left behind is a new notice",
    );
  });
});
