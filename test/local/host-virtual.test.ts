import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startLocalHost, VirtualClock, type LocalHost } from "../../src/local/host";

const fixture = path.join(__dirname, "host-fixtures", "app.ts");
const DAY = 24 * 3600 * 1000;
interface FixtureState {
  ticks: unknown[];
  nightlyRefusals: string[];
}
const fixtureState = (): FixtureState => (globalThis as unknown as { __hostFixture: FixtureState }).__hostFixture;
const ticks = (): number => fixtureState().ticks.length;
const refused = (): number => fixtureState().nightlyRefusals.length;

describe("local host with a virtual clock", () => {
  let host: LocalHost;
  let dir: string;
  const clock = new VirtualClock(Date.UTC(2025, 0, 1));
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "kvacme-hostv-"));
    host = await startLocalHost({ modules: [fixture], stateDir: dir, port: 0, clock, env: { TickSchedule: "0 0 * * * *" }, log: () => {} });
  });
  after(async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("completes a 3-day durable timer as soon as the clock gets there", async () => {
    const id = await host.durable.startNew("sleeper", undefined, "sleepy");
    await host.whenQuiet();
    assert.equal(host.getStatus(id)?.runtimeStatus, "Running");
    await clock.advance(DAY);
    await host.whenQuiet();
    assert.equal(host.getStatus(id)?.runtimeStatus, "Running", "one day in, still sleeping");
    await clock.advance(2 * DAY);
    const s = await host.waitForInstance(id, 5000);
    assert.equal(s.runtimeStatus, "Completed");
    assert.deepEqual(s.output, { start: "2025-01-01T00:00:00.000Z", end: "2025-01-04T00:00:00.000Z" });
    const history = host.durable.getRecord(id)!.history;
    const started = history.filter((e) => e.EventType === 12).map((e) => e.Timestamp);
    assert.deepEqual(started, ["2025-01-01T00:00:00.000Z", "2025-01-04T00:00:00.000Z"], "episode timestamps come from the clock");
  });

  it("a timer wins a race against an event that never comes", async () => {
    const id = await host.durable.startNew("timeoutRace", undefined);
    await host.whenQuiet();
    await clock.advance(3600 * 1000);
    assert.equal((await host.waitForInstance(id, 5000)).output, "timeout");
  });

  it("retry timers follow the clock: firstRetryInterval then the next attempt", async () => {
    const id = await host.durable.startNew("everything", { tag: "v" }, "virt-everything");
    // Retry intervals of 5 ms and the 1 h race timer are clock-driven; step until the approval wait.
    for (let i = 0; i < 20 && (host.getStatus(id)?.customStatus as { step?: string } | null)?.step !== "awaiting-approval"; i++) {
      await host.whenQuiet();
      await clock.advance(10);
    }
    assert.deepEqual(host.getStatus(id)?.customStatus, { step: "awaiting-approval" });
    await host.durable.raiseEvent(id, "approval", "yes");
    for (let i = 0; i < 20 && host.getStatus(id)?.runtimeStatus === "Running"; i++) {
      await host.whenQuiet();
      await clock.advance(50);
    }
    const s = await host.waitForInstance(id, 5000);
    assert.equal((s.output as { approval: string }).approval, "yes");
    assert.deepEqual((s.output as { retried: unknown }).retried, { attempts: 3 });
  });
});

describe("timer triggers on a virtual clock", () => {
  let host: LocalHost;
  let dir: string;
  const clock = new VirtualClock(Date.UTC(2025, 0, 1));
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "kvacme-hostt-"));
    host = await startLocalHost({ modules: [fixture], stateDir: dir, port: 0, clock, env: { TickSchedule: "0 0 * * * *" }, log: () => {} });
  });
  after(async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("runs schedules on the clock and keeps the singleton renewal from overlapping", async () => {
    await host.whenQuiet();
    const before = ticks();
    for (let h = 0; h < 3; h++) {
      await clock.advance(3600 * 1000); // 01:00, 02:00, 03:00: three ticks, and the nightly run at 03:00
      await host.whenQuiet();
    }
    assert.equal(ticks() - before, 3);
    const first = host.getStatus("nightly-singleton");
    assert.equal(first?.runtimeStatus, "Running");
    assert.equal(first.createdTime, "2025-01-01T03:00:00.000Z");
    const refusals = refused();
    await clock.advance(DAY); // next 03:00: the singleton still sleeps (71 h), so the start is refused
    await host.whenQuiet();
    assert.equal(refused(), refusals + 1, "the second nightly start was refused");
    assert.equal(host.getStatus("nightly-singleton")!.createdTime, first.createdTime);
    assert.equal(host.getStatus("nightly-singleton")!.runtimeStatus, "Running");
    await clock.advance(2 * DAY - 3600 * 1000 - 60_000); // 01:59 on day 4 (day 3's start refused too): 71 h not yet over
    await host.whenQuiet();
    assert.equal(refused(), refusals + 2, "day 3's nightly start was refused too");
    assert.equal(host.getStatus("nightly-singleton")!.runtimeStatus, "Running");
    await clock.advance(60_000); // 02:00: the sleeper's timer fires
    await host.whenQuiet();
    const done = host.getStatus("nightly-singleton")!;
    assert.equal(done.runtimeStatus, "Completed");
    assert.equal(done.createdTime, first.createdTime);
    assert.deepEqual(done.output, { start: "2025-01-01T03:00:00.000Z", end: "2025-01-04T02:00:00.000Z" });
    await clock.advance(3600 * 1000); // 03:00: nothing runs, so the nightly start is a new run
    await host.whenQuiet();
    const next = host.getStatus("nightly-singleton")!;
    assert.equal(next.runtimeStatus, "Running");
    assert.equal(next.createdTime, "2025-01-04T03:00:00.000Z");
    assert.equal(refused(), refusals + 2, "no refusal when nothing runs");
  });
});
