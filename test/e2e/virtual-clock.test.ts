/**
 * A whole renewal run on a virtual clock: the local host runs the real function app with a VirtualClock, so the
 * orchestrations' time (currentUtcDateTime) is whatever the test says. Certificates issued today with a 90-day
 * lifetime are not due; 61 days later (virtual) the timer-started run renews them — no waiting, real Pebble.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { ORCHESTRATIONS, RENEW_ALL_INSTANCE_ID, certificateInstanceId } from "../../src/orchestrations/ids";
import type { RenewalSummary } from "../../src/orchestrations/renew-certificates";
import { VirtualClock } from "../../src/local/host";
import { startTestApp, type TestApp } from "../support/app";

const DAY = 86_400_000;
let app: TestApp;
const clock = new VirtualClock(Date.now());

before(async () => {
  app = await startTestApp({ stack: { pebble: { validityPeriodSeconds: 90 * 86_400 } }, host: { clock } });
});
after(async () => app?.close());

async function start(name: string, id: string, input: unknown): Promise<void> {
  const res = await fetch(`${app.host.url}/runtime/webhooks/durabletask/orchestrators/${name}/${id}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-functions-key": app.host.systemKey },
    body: JSON.stringify(input),
  });
  assert.equal(res.status, 202, await res.text());
}

it("90-day certificates are not due today and are renewed by the timer 61 virtual days later", async () => {
  for (const [name, names] of [
    ["vc-one", ["vc-one.example.com"]],
    ["vc-two", ["vc-two.example.org", "*.vc-two.example.org"]],
  ] as const) {
    await start(ORCHESTRATIONS.issue, certificateInstanceId(name), {
      dnsNames: names,
      certificateName: name,
      keyOptions: { keyType: "EC-P256" },
    });
    const s = await app.host.waitForInstance(certificateInstanceId(name), 60_000);
    assert.equal(s.runtimeStatus, "Completed", JSON.stringify(s.output));
  }

  // Today: nothing is due.
  await app.host.fireTimer("renewalTimer");
  const today = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 60_000);
  assert.equal(today.runtimeStatus, "Completed", JSON.stringify(today.output));
  const todaySummary = today.output as RenewalSummary;
  assert.equal(todaySummary.renewed.length, 0, JSON.stringify(todaySummary));

  // 61 days later: both are within 30 days of expiry (and past 66 % of their lifetime).
  clock.advance(61 * DAY);
  await app.host.fireTimer("renewalTimer");
  const later = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 120_000);
  assert.equal(later.runtimeStatus, "Completed", JSON.stringify(later.output));
  const summary = later.output as RenewalSummary;
  assert.deepEqual(summary.renewed.map((r) => r.certificateName).sort(), ["vc-one", "vc-two"], JSON.stringify(summary));
  assert.equal(summary.failed.length, 0);
  // The run's own clock is the virtual one.
  assert.ok(Date.parse(summary.finishedAt!) >= Date.now() + 60 * DAY, `finishedAt ${summary.finishedAt}`);
});
