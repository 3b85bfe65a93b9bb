/**
 * A whole renewal run on a virtual clock: the local host runs the real function app with a VirtualClock, so the
 * orchestrations' time (currentUtcDateTime) is whatever the test says. Certificates issued today with a 90-day
 * lifetime are not due today nor 55 days later; 59.7 days later (virtual) the timer-started run renews them because
 * 66 % of their lifetime has passed (59.4 days), while the 30-days-before-expiry rule would wait until day 60 — no
 * waiting, real Pebble.
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
  app = await startTestApp({
    stack: { pebble: { validityPeriodSeconds: 90 * 86_400 } },
    // The renewal rules alone: the planner's look-ahead (docs/scale.md) would renew inside the window before day 59.4.
    env: { KvAcme__RenewalPlanHorizonHours: "0" },
    host: { clock },
  });
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

it("90-day certificates: not due today nor at day 55; at day 59.7 due by the 66 % lifetime rule (not the 30-day rule) and renewed by the timer", async () => {
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

  // Day 55: 35 days left and 61 % of the lifetime: neither rule.
  await clock.advance(55 * DAY);
  await app.host.fireTimer("renewalTimer");
  const day55 = (await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 60_000)).output as RenewalSummary;
  assert.deepEqual(day55.due, [], JSON.stringify(day55));

  // Day 59.7: 66 % of the lifetime has passed (day 59.4) with 30.3 days still left (the days rule waits for 30).
  await clock.advance(4.7 * DAY);
  await app.host.fireTimer("renewalTimer");
  const later = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 120_000);
  assert.equal(later.runtimeStatus, "Completed", JSON.stringify(later.output));
  const summary = later.output as RenewalSummary;
  assert.deepEqual(
    summary.due.map((d) => [d.certificateName, d.reason]).sort(),
    [
      ["vc-one", "LifetimeFractionElapsed"],
      ["vc-two", "LifetimeFractionElapsed"],
    ],
    JSON.stringify(summary.due),
  );
  assert.deepEqual(summary.renewed.map((r) => r.certificateName).sort(), ["vc-one", "vc-two"], JSON.stringify(summary));
  assert.equal(summary.failed.length, 0);
  // The run's own clock is the virtual one.
  assert.ok(Date.parse(summary.finishedAt!) >= Date.now() + 59 * DAY, `finishedAt ${summary.finishedAt}`);
});
