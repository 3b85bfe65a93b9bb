import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startLocalHost, VirtualClock, type LocalHost } from "../../src/local/host";
import { parseHostJson, parseTimeSpan } from "../../src/local/host/host-json";

/** The durable webhooks need the system (or master) key, as on Azure. */
const sysKey = (h: LocalHost) => ({ "x-functions-key": h.systemKey });

const fixture = path.join(__dirname, "host-fixtures", "strict-app.ts");
const strictState = (): { version: number } => (globalThis as unknown as { __strictFixture: { version: number } }).__strictFixture;

describe("local host as strict as the Durable extension", () => {
  let host: LocalHost;
  let dir: string;
  const clock = new VirtualClock(Date.UTC(2025, 0, 1));
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "kvacme-strict-"));
    host = await startLocalHost({
      modules: [fixture],
      stateDir: dir,
      port: 0,
      clock,
      hostJson: {
        version: "2.0",
        functionTimeout: "00:00:01",
        extensions: { durableTask: { hubName: "StrictHub" }, http: { routePrefix: "" } },
      },
      log: () => {},
    });
  });
  after(async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("fails an instance whose replay schedules a different activity at a recorded sequence number", async () => {
    strictState().version = 1;
    const id = await host.durable.startNew("changing", undefined, "nd-1");
    await host.whenQuiet();
    assert.equal(host.getStatus(id)?.runtimeStatus, "Running");
    strictState().version = 2; // the code changed while the instance waits
    await host.durable.raiseEvent(id, "go", 1);
    const s = await host.waitForInstance(id, 5000);
    strictState().version = 1;
    assert.equal(s.runtimeStatus, "Failed");
    assert.match(
      String(s.output),
      /^Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an activity task with sequence number 0 named 'stepA', but the current orchestration replay instead scheduled an activity task named 'stepB'/,
    );
  });

  it("an unchanged replay of the same orchestrator completes", async () => {
    const id = await host.durable.startNew("changing", undefined, "nd-2");
    await host.whenQuiet();
    await host.durable.raiseEvent(id, "go", 2);
    const s = await host.waitForInstance(id, 5000);
    assert.deepEqual(s.output, { first: "A", go: 2 });
  });

  it("a failed activity reaches the orchestrator as a plain Error with Reason and Details, no failureDetails", async () => {
    const s = await host.waitForInstance(await host.durable.startNew("catchShape", undefined), 5000);
    const out = s.output as { message: string; isTaskFailedError: boolean; hasFailureDetails: boolean };
    assert.match(
      out.message,
      /^Activity function 'explode' failed: activity exploded \n Result: Failure\nException: activity exploded\nStack: /,
    );
    assert.equal(out.isTaskFailedError, false);
    assert.equal(out.hasFailureDetails, false);
  });

  it("a failed orchestration's output carries the extension's 'Orchestrator function ... failed:' prefix, also as a sub-orchestration", async () => {
    const s = await host.waitForInstance(await host.durable.startNew("throws", undefined), 5000);
    assert.equal(s.runtimeStatus, "Failed");
    assert.equal(s.output, "Orchestrator function 'throws' failed: orchestrator gave up");
    const parent = await host.waitForInstance(await host.durable.startNew("catchChild", undefined, "cc"), 5000);
    assert.match(String(parent.output), /^Orchestrator function 'childThrows' failed: child gave up/);
  });

  it("an orchestrator that returns with a pending timer stays Running until the timer fires", async () => {
    const id = await host.durable.startNew("leavesTimer", undefined, "lt");
    await host.whenQuiet();
    assert.equal(host.getStatus(id)?.runtimeStatus, "Running");
    await clock.advance(3600_000);
    const s = await host.waitForInstance(id, 5000);
    assert.equal(s.runtimeStatus, "Completed");
    assert.equal(s.output, "returned");
  });

  it("a cancelled timer does not hold the instance open", async () => {
    const s = await host.waitForInstance(await host.durable.startNew("cancelsTimer", undefined), 5000);
    assert.equal(s.output, "returned");
  });

  it("an orchestrator that returns while its sub-orchestration runs stays Running until the child finishes", async () => {
    const id = await host.durable.startNew("leavesChild", undefined, "lc");
    await host.whenQuiet();
    assert.equal(host.getStatus(id)?.runtimeStatus, "Running");
    await host.durable.raiseEvent("lc-child", "go", "now");
    assert.equal((await host.waitForInstance(id, 5000)).output, "returned");
  });

  it("callHttp fails the instance with a message naming the unsupported API", async () => {
    const s = await host.waitForInstance(await host.durable.startNew("usesCallHttp", undefined), 5000);
    assert.equal(s.runtimeStatus, "Failed");
    assert.match(String(s.output), /does not support callHttp/);
  });

  it("suspend, resume, rewind and restart answer 501 with a message, not 404", async () => {
    const id = await host.durable.startNew("waitsForGo", undefined, "ops");
    await host.whenQuiet();
    for (const op of ["suspend", "resume", "rewind", "restart"]) {
      const r = await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}/${op}?reason=x`, {
        method: "POST",
        headers: sysKey(host),
      });
      assert.equal(r.status, 501, op);
      const body = (await r.json()) as { detail: string };
      assert.match(body.detail, /not supported by the local host/);
    }
    await host.durable.terminate(id, "done");
  });

  it("host.json: hub name, routePrefix and functionTimeout apply", async () => {
    assert.equal(host.hostJson.hubName, "StrictHub");
    const r = await fetch(`${host.url}/runtime/webhooks/durabletask/instances/none`, { headers: sysKey(host) });
    assert.equal(r.status, 404);
    const s = await host.waitForInstance(await host.durable.startNew("runsSlow", 3000), 10_000);
    assert.equal(s.runtimeStatus, "Failed");
    assert.match(String(s.output), /Timeout value of 00:00:01 exceeded by function 'Functions\.slow'/);
  });

  it("status with history has the extension's shape: historyEvents, no scheduling events, FunctionName and ScheduledTime", async () => {
    const id = await host.durable.startNew("changing", undefined, "hist");
    await host.whenQuiet();
    await host.durable.raiseEvent(id, "go", { n: 1 });
    await host.waitForInstance(id, 5000);
    const r = await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}?showHistory=true`, { headers: sysKey(host) });
    const body = (await r.json()) as { history?: unknown; historyEvents: Record<string, unknown>[] };
    assert.equal(body.history, undefined, "durable-js reads `history`; the extension sends historyEvents only");
    const types = body.historyEvents.map((e) => e.EventType);
    assert.deepEqual(types, ["ExecutionStarted", "TaskCompleted", "EventRaised", "ExecutionCompleted"]);
    const done = body.historyEvents[1]!;
    assert.equal(done.FunctionName, "stepA");
    assert.equal(typeof done.ScheduledTime, "string");
    assert.equal(done.Result, undefined, "Result only with showHistoryOutput");
    const withOutput = (await (
      await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}?showHistory=true&showHistoryOutput=true`, {
        headers: sysKey(host),
      })
    ).json()) as { historyEvents: Record<string, unknown>[] };
    assert.equal(withOutput.historyEvents[1]!.Result, "A");
  });
});

describe("history purge", () => {
  it("purges finished instances created more than 30 days ago and keeps running and recent ones", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "kvacme-purge-"));
    const DAY = 24 * 3600 * 1000;
    const clock = new VirtualClock(Date.now() - 40 * DAY);
    const host = await startLocalHost({ modules: [fixture], stateDir: dir, port: 0, clock, timers: false, log: () => {} });
    try {
      await host.waitForInstance(await host.durable.startNew("throws", undefined, "old-failed"), 5000);
      await host.durable.startNew("waitsForGo", undefined, "old-running");
      await host.durable.startNew("waitsForGo", undefined, "old-terminated");
      await host.whenQuiet();
      await host.durable.terminate("old-terminated", "stop");
      await clock.advance(20 * DAY);
      await host.waitForInstance(await host.durable.startNew("cancelsTimer", undefined, "recent"), 5000);
      await host.fireTimer("purgeHistory");
      assert.equal(host.getStatus("old-failed"), undefined);
      assert.equal(host.getStatus("old-terminated"), undefined);
      assert.equal(host.getStatus("old-running")?.runtimeStatus, "Running");
      assert.equal(host.getStatus("recent")?.runtimeStatus, "Completed");
    } finally {
      await host.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("host.json and registration checks", () => {
  it("parses TimeSpans and refuses bad host.json values", () => {
    assert.equal(parseTimeSpan("00:10:00"), 600_000);
    assert.equal(parseTimeSpan("1.00:00:00"), 86_400_000);
    assert.equal(parseTimeSpan("-1"), undefined);
    assert.throws(() => parseTimeSpan("10 minutes"), /TimeSpan/);
    assert.throws(() => parseHostJson({ extensions: { durableTask: { hubName: "a-b" } } }), /hubName/);
    assert.throws(() => parseHostJson({ extensions: { durableTask: { overridableExistingInstanceStates: "Sometimes" } } }), /AnyState/);
    assert.equal(parseHostJson({}).routePrefix, "api");
  });

  it("refuses a durable entity at registration", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "kvacme-entity-"));
    try {
      await assert.rejects(
        startLocalHost({ modules: [path.join(__dirname, "host-fixtures", "entity-app.ts")], stateDir: dir, port: 0, log: () => {} }),
        /durable entity/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("overridableExistingInstanceStates AnyState lets a start replace a running instance", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "kvacme-any-"));
    const host = await startLocalHost({
      modules: [fixture],
      stateDir: dir,
      port: 0,
      hostJson: { extensions: { durableTask: { overridableExistingInstanceStates: "AnyState" } } },
      log: () => {},
    });
    try {
      await host.durable.startNew("waitsForGo", undefined, "same");
      await host.whenQuiet();
      await host.durable.startNew("waitsForGo", undefined, "same");
      await host.whenQuiet();
      await host.durable.raiseEvent("same", "go", "second");
      assert.equal((await host.waitForInstance("same", 5000)).output, "second");
    } finally {
      await host.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
