import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { DEFAULT_MAX_REQUEST_BODY_BYTES, JumpingClock, startLocalHost, type LocalHost } from "../../src/local/host";

const fixture = path.join(__dirname, "host-fixtures", "app.ts");
interface FixtureState {
  ticks: { isPastDue: boolean }[];
  maxTickOverlap: number;
  tickRunning: number;
  hooks: string[];
  nightlyRefusals: string[];
}
const fixtureState = (): FixtureState => (globalThis as unknown as { __hostFixture: FixtureState }).__hostFixture;

async function pollStatus(
  host: LocalHost,
  id: string,
  pred: (s: { runtimeStatus: string; customStatus: unknown }) => boolean,
  timeoutMs = 10000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${host.url}/api/ops/${id}/status`);
    if (res.status === 200) {
      const s = (await res.json()) as { runtimeStatus: string; customStatus: unknown };
      if (pred(s)) return;
    }
    if (Date.now() > end) throw new Error(`timed out waiting on ${id}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until `done()` holds, checking every 20 ms for at most `ms` (the condition, not the time, is what is awaited). */
async function until(done: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("local host (real clock)", () => {
  // The wall clock, moved forward by the timer test instead of waiting for a cron tick.
  const clock = new JumpingClock();
  let host: LocalHost;
  let dir: string;
  let startMs: number;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "kvacme-host-"));
    const t0 = performance.now();
    host = await startLocalHost({
      modules: [fixture],
      stateDir: dir,
      port: 0,
      functionKeys: ["k1"],
      maxRequestBodyBytes: 64 * 1024,
      clock,
      env: { TickSchedule: "0 * * * * *" },
      log: () => {},
    });
    startMs = performance.now() - t0;
  });
  after(async () => {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("captures registrations with their trigger metadata", () => {
    console.log(`host start: ${startMs.toFixed(0)} ms`);
    const hello = host.functions.get("hello")!;
    assert.equal(hello.trigger.type, "httpTrigger");
    assert.equal(hello.trigger.route, "hello/{name:alpha}");
    assert.deepEqual(hello.trigger.methods, ["GET"]);
    assert.equal(host.functions.get("everything")!.trigger.type, "orchestrationTrigger");
    assert.equal(host.functions.get("double")!.trigger.type, "activityTrigger");
    assert.equal(host.functions.get("tick")!.trigger.schedule, "%TickSchedule%");
    const starter = host.functions.get("startOrchestration")!;
    assert.ok(Object.values(starter.metadata.bindings).some((b) => b.type === "durableClient" && b.direction === "in"));
    assert.ok(fixtureState().hooks.includes("appStart"));
  });

  it("serves HTTP routes with params, constraints, methods, cookies and hooks", async () => {
    const r = await fetch(`${host.url}/api/hello/World?x=1`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { hello: "World", x: "1", fn: "hello" });
    assert.ok(fixtureState().hooks.includes("pre:hello"));
    assert.equal((await fetch(`${host.url}/api/hello/W0rld`)).status, 404, "alpha constraint");
    assert.equal((await fetch(`${host.url}/api/hello/World`, { method: "POST" })).status, 405);
    assert.deepEqual(await (await fetch(`${host.url}/api/items`)).json(), { id: null });
    assert.deepEqual(await (await fetch(`${host.url}/api/items/12`)).json(), { id: "12" });
    assert.equal((await fetch(`${host.url}/api/items/abc`)).status, 404);
    const e = await fetch(`${host.url}/api/echo`, {
      method: "POST",
      body: JSON.stringify({ a: 1 }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(e.status, 201);
    assert.equal(e.headers.get("x-echo"), "1");
    assert.match(e.headers.get("set-cookie") ?? "", /session=abc; Path=\/; HttpOnly/);
    assert.deepEqual(await e.json(), { got: { a: 1 }, contentType: "application/json" });
    assert.equal((await fetch(`${host.url}/api/boom`)).status, 500);
  });

  it("enforces function keys (code query or x-functions-key header)", async () => {
    assert.equal((await fetch(`${host.url}/api/secret`)).status, 401);
    assert.equal((await fetch(`${host.url}/api/secret?code=wrong`)).status, 401);
    assert.equal(await (await fetch(`${host.url}/api/secret?code=k1`)).text(), "the secret");
    assert.equal((await fetch(`${host.url}/api/secret`, { headers: { "x-functions-key": "k1" } })).status, 200);
  });

  it("/admin/* needs the master key and /runtime/webhooks/durabletask/* the master or system key, as on Azure (401 otherwise)", async () => {
    assert.ok(host.masterKey.length >= 32, "a master key is generated when none is given");
    assert.ok(host.systemKey.length >= 32 && host.systemKey !== host.masterKey);
    for (const [method, p] of [
      ["POST", "/admin/functions/tick"],
      ["GET", "/admin/host/status"],
      ["GET", "/runtime/webhooks/durabletask/instances"],
      ["GET", "/runtime/webhooks/durabletask/instances/inst-1"],
      ["POST", "/runtime/webhooks/durabletask/orchestrators/timeoutRace/unkeyed-1"],
      ["POST", "/runtime/webhooks/durabletask/instances/inst-1/terminate?reason=x"],
      ["DELETE", "/runtime/webhooks/durabletask/instances"],
    ] as const) {
      for (const key of [undefined, "k1", "wrong"]) {
        const headers: Record<string, string> = key ? { "x-functions-key": key } : {};
        const r = await fetch(`${host.url}${p}`, { method, headers, body: method === "POST" ? "{}" : undefined });
        assert.equal(r.status, 401, `${method} ${p} with ${key ?? "no key"}`);
      }
    }
    assert.equal(host.getStatus("unkeyed-1"), undefined, "nothing started without a key");
    assert.equal((await fetch(`${host.url}/admin/host/status`, { headers: { "x-functions-key": host.masterKey } })).status, 200);
    assert.equal((await fetch(`${host.url}/runtime/webhooks/durabletask/instances?code=${host.systemKey}`)).status, 200);
    assert.equal((await fetch(`${host.url}/runtime/webhooks/durabletask/instances?code=${host.masterKey}`)).status, 200);
    // The system key is for the durable webhooks only.
    assert.equal((await fetch(`${host.url}/admin/host/status?code=${host.systemKey}`)).status, 401);
  });

  it("a request body over the limit gets 413 before any function runs (declared or streamed); Azure's default limit is 100 MB", async () => {
    assert.equal(DEFAULT_MAX_REQUEST_BODY_BYTES, 100 * 1024 * 1024);
    const big = "x".repeat(64 * 1024 + 1);
    const declared = await fetch(`${host.url}/api/run/fanout`, { method: "POST", body: big });
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.get("content-type"), "application/problem+json");
    // No content-length: a chunked body is counted as it arrives.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 80; i++) c.enqueue(new Uint8Array(1024).fill(120));
        c.close();
      },
    });
    const chunked = await fetch(`${host.url}/runtime/webhooks/durabletask/orchestrators/timeoutRace/big-1`, {
      method: "POST",
      body: stream,
      headers: { "x-functions-key": host.systemKey },
      duplex: "half",
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.equal(host.getStatus("big-1"), undefined, "nothing started");
    assert.equal((await fetch(`${host.url}/api/run/fanout`, { method: "POST", body: "3" })).status, 200, "the host still serves");
  });

  it("runs an orchestration with activities, retries, fan-out, any, external event, sub-orchestration and timers", async () => {
    const start = await fetch(`${host.url}/api/orchestrators/everything/inst-1`, { method: "POST", body: JSON.stringify({ tag: "bob" }) });
    assert.equal(start.status, 202);
    const links = (await start.json()) as { id: string; statusQueryGetUri: string; sendEventPostUri: string };
    assert.equal(links.id, "inst-1");
    assert.ok(links.statusQueryGetUri.startsWith(`${host.url}/runtime/webhooks/durabletask/instances/inst-1`));
    assert.match(
      links.statusQueryGetUri,
      new RegExp(`[?&]code=${host.systemKey}(&|$)`),
      "management URLs carry the system key, as on Azure",
    );
    assert.equal((await fetch(links.statusQueryGetUri)).status < 300, true);
    assert.equal(start.headers.get("location"), links.statusQueryGetUri);

    // The same id while running is refused (one run per id at a time).
    const dup = await fetch(`${host.url}/api/orchestrators/everything/inst-1`, { method: "POST", body: JSON.stringify({ tag: "x" }) });
    assert.equal(dup.status, 409);

    await pollStatus(host, "inst-1", (s) => (s.customStatus as { step?: string } | null)?.step === "awaiting-approval");
    const raised = await fetch(`${host.url}/api/ops/inst-1/raise`, { method: "POST", body: JSON.stringify({ ok: true }) });
    assert.equal(raised.status, 202);
    const final = await host.waitForInstance("inst-1", 10000);
    assert.equal(final.runtimeStatus, "Completed");
    assert.deepEqual(final.output, {
      doubled: 42,
      greeting: "hi bob",
      when: "1970-01-01T00:00:00.000Z",
      retried: { attempts: 3 },
      fanSum: 380,
      fanLength: 20,
      raceWinner: "activity",
      approval: { ok: true },
      child: { child: "inst-1-child", parent: "inst-1", value: 14 },
    });
    assert.deepEqual(final.customStatus, { step: "done" });

    // Status through the real DurableClient: as on Azure, its `history` stays empty because the extension sends
    // `historyEvents` (durable-js issue #620); the webhook shows them.
    const s = (await (await fetch(`${host.url}/api/ops/inst-1/status?history=1`)).json()) as { runtimeStatus: string; history?: unknown };
    assert.equal(s.runtimeStatus, "Completed");
    assert.equal(s.history, undefined);
    const raw = (await (
      await fetch(`${host.url}/runtime/webhooks/durabletask/instances/inst-1?showHistory=true`, {
        headers: { "x-functions-key": host.systemKey },
      })
    ).json()) as {
      historyEvents: { EventType: string }[];
    };
    const types = raw.historyEvents.map((h) => h.EventType);
    assert.equal(types.filter((t) => t === "ExecutionCompleted").length, 1);
    assert.equal(types.filter((t) => t === "TaskFailed").length, 2, "two failed attempts before success");
    assert.ok(types.includes("SubOrchestrationInstanceCompleted"));
    assert.ok(types.includes("EventRaised"));
    const child = host.getStatus("inst-1-child");
    assert.equal(child?.runtimeStatus, "Completed");

    // Management URLs built by the client point at this host (WEBSITE_HOSTNAME is set like Core Tools does).
    const payload = (await (await fetch(`${host.url}/api/ops/inst-1/payload`)).json()) as { statusQueryGetUri: string };
    assert.ok(payload.statusQueryGetUri.startsWith(`${host.url}/runtime/webhooks/durabletask/instances/inst-1?`));

    // The webhook status route answers like the Durable extension.
    const wh = await fetch(links.statusQueryGetUri);
    assert.equal(wh.status, 200);
  });

  it("waitForCompletionOrCreateCheckStatusResponse returns the output", async () => {
    const r = await fetch(`${host.url}/api/run/counter`, { method: "POST", body: "0" });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { n: 3, v: 6 }, "continueAsNew three times, then the result");
  });

  it("reports failures, caught activity errors and terminate", async () => {
    const r = await fetch(`${host.url}/api/run/failing`, { method: "POST" });
    assert.equal(r.status, 500);
    const body = (await r.json()) as { runtimeStatus: string; output: string; customStatus: string };
    assert.equal(body.runtimeStatus, "Failed");
    assert.match(body.output, /flaky failure 2/);
    assert.equal(body.customStatus, "about to fail");
    const c = await fetch(`${host.url}/api/run/catcher`, { method: "POST" });
    assert.match(String(await c.json()), /^caught: .*flaky failure 1/);

    await fetch(`${host.url}/api/orchestrators/timeoutRace/to-1`, { method: "POST" });
    await pollStatus(host, "to-1", (s) => s.runtimeStatus === "Running");
    assert.equal((await fetch(`${host.url}/api/ops/to-1/terminate`, { method: "POST" })).status, 202);
    const t = await host.waitForInstance("to-1", 5000);
    assert.equal(t.runtimeStatus, "Terminated");
    assert.equal(t.output, "stopped by test");
    // A finished id can be reused.
    assert.equal((await fetch(`${host.url}/api/orchestrators/timeoutRace/to-1`, { method: "POST" })).status, 202);
    const sys = { "x-functions-key": host.systemKey };
    await fetch(`${host.url}/runtime/webhooks/durabletask/instances/to-1/terminate?reason=again`, { method: "POST", headers: sys });
    assert.equal((await host.waitForInstance("to-1", 5000)).output, "again");
    const purge = await fetch(`${host.url}/runtime/webhooks/durabletask/instances/to-1`, { method: "DELETE", headers: sys });
    assert.deepEqual(await purge.json(), { instancesDeleted: 1 });
    assert.equal((await fetch(`${host.url}/runtime/webhooks/durabletask/instances/to-1`, { headers: sys })).status, 404);
  });

  it("gives activities the durable client; a sub-orchestration whose instance id is running is refused, not restarted", async () => {
    await fetch(`${host.url}/api/orchestrators/timeoutRace/busy-1`, { method: "POST" });
    await pollStatus(host, "busy-1", (s) => s.runtimeStatus === "Running");
    const before = host.durable.getRecord("busy-1")!;

    const r = await fetch(`${host.url}/api/run/startChildWithId`, {
      method: "POST",
      body: JSON.stringify({ childId: "busy-1", name: "timeoutRace" }),
    });
    const out = (await r.json()) as { statusSeen: string; refused?: string; output?: unknown };
    assert.equal(out.statusSeen, "Running", "the activity read the child's status through its durable client binding");
    assert.match(out.refused ?? "", /^Sub-orchestration 'timeoutRace' was not started: .*'busy-1' is already pending or running/);
    const after = host.durable.getRecord("busy-1")!;
    assert.equal(after.runtimeStatus, "Running");
    assert.equal(after.executionId, before.executionId, "the running instance was neither restarted nor joined");
    assert.equal(after.parent, undefined);

    // Once it finished, the same id starts as a sub-orchestration.
    await host.durable.terminate("busy-1", "done");
    const r2 = await fetch(`${host.url}/api/run/startChildWithId`, {
      method: "POST",
      body: JSON.stringify({ childId: "busy-1", name: "child", input: { n: 4 } }),
    });
    const out2 = (await r2.json()) as { statusSeen: string; output?: { value: number; parent: string } };
    assert.equal(out2.statusSeen, "Terminated");
    assert.equal(out2.output?.value, 8);
  });

  it("fans out 100 activities", async () => {
    const t0 = performance.now();
    const r = await fetch(`${host.url}/api/run/fanout`, { method: "POST", body: "100" });
    const ms = performance.now() - t0;
    assert.equal(await r.json(), 9900);
    console.log(`100-activity fan-out: ${ms.toFixed(0)} ms`);
  });

  it("runs a timer trigger at its next scheduled minute, on demand via the admin API, and refuses a second start of a running singleton", async () => {
    const before = fixtureState().ticks.length;
    // Every minute at second 0: jump the clock to the next one instead of waiting for it.
    const now = clock.now();
    await clock.jump(Math.ceil((now + 1) / 60_000) * 60_000 - now);
    // Until it has finished: an admin call while a run is in progress joins that run instead of starting one.
    await until(() => fixtureState().ticks.length > before && fixtureState().tickRunning === 0, "the scheduled tick ran");
    assert.equal(fixtureState().ticks.at(-1)?.isPastDue, false, "the tick ran on time");
    assert.equal(fixtureState().maxTickOverlap, 1);
    const n = fixtureState().ticks.length;
    const a = await fetch(`${host.url}/admin/functions/tick`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json", "x-functions-key": host.masterKey },
    });
    assert.equal(a.status, 202);
    // The admin route answers before the run.
    await until(() => fixtureState().ticks.length > n, "the admin route ran the timer");
    // The first start runs the singleton (unless the jump crossed its 03:00 schedule and it already runs); every
    // start while it runs is refused, and the instance is still the first one (not restarted).
    const runningBefore = host.getStatus("nightly-singleton")?.runtimeStatus === "Running";
    const refusedBefore = fixtureState().nightlyRefusals.length;
    await host.fireTimer("nightly");
    const first = host.getStatus("nightly-singleton");
    assert.equal(first?.runtimeStatus, "Running");
    await host.fireTimer("nightly");
    const second = host.getStatus("nightly-singleton");
    assert.equal(fixtureState().nightlyRefusals.length - refusedBefore, runningBefore ? 2 : 1, "the second start was refused");
    assert.equal(second?.runtimeStatus, "Running");
    assert.equal(second?.createdTime, first?.createdTime, "the running instance was not replaced by a restart");
  });
});
