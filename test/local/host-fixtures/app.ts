/** Function app used by the local host tests: registered with the real `app` and `df.app` APIs. */
import { app, type HttpRequest, type InvocationContext, type Timer } from "@azure/functions";
import * as df from "durable-functions";

interface FixtureState {
  ticks: { isPastDue: boolean; at: number }[];
  flaky: Map<string, number>;
  tickRunning: number;
  maxTickOverlap: number;
  hooks: string[];
  nightlyRefusals: string[];
}
const g = globalThis as unknown as { __hostFixture?: FixtureState };
const state: FixtureState = (g.__hostFixture ??= {
  ticks: [],
  flaky: new Map(),
  tickRunning: 0,
  maxTickOverlap: 0,
  hooks: [],
  nightlyRefusals: [],
});

app.hook.appStart(() => {
  state.hooks.push("appStart");
});
app.hook.preInvocation((ctx) => {
  if (ctx.invocationContext.functionName === "hello") state.hooks.push("pre:hello");
});

// ---- plain HTTP functions ----
app.http("hello", {
  route: "hello/{name:alpha}",
  methods: ["GET"],
  authLevel: "anonymous",
  handler: (req: HttpRequest, ctx: InvocationContext) => ({
    jsonBody: { hello: req.params.name, x: req.query.get("x"), fn: ctx.functionName },
  }),
});
app.http("items", {
  route: "items/{id:int?}",
  methods: ["GET"],
  authLevel: "anonymous",
  handler: (req: HttpRequest) => ({ jsonBody: { id: req.params.id ?? null } }),
});
app.http("echo", {
  methods: ["POST"],
  authLevel: "anonymous",
  handler: async (req: HttpRequest) => ({
    status: 201,
    jsonBody: { got: await req.json(), contentType: req.headers.get("content-type") },
    headers: { "x-echo": "1" },
    cookies: [{ name: "session", value: "abc", httpOnly: true, path: "/" }],
  }),
});
app.http("secret", { route: "secret", methods: ["GET"], authLevel: "function", handler: () => ({ body: "the secret" }) });
app.http("boom", {
  route: "boom",
  authLevel: "anonymous",
  handler: () => {
    throw new Error("handler exploded");
  },
});

// ---- durable client HTTP functions ----
df.app.client.http("startOrchestration", {
  route: "orchestrators/{name}/{id?}",
  methods: ["POST"],
  authLevel: "anonymous",
  handler: async (req, client) => {
    const text = await req.text();
    try {
      const id = await client.startNew(req.params.name, { instanceId: req.params.id, input: text ? JSON.parse(text) : undefined });
      return client.createCheckStatusResponse(req, id);
    } catch (err) {
      return { status: 409, jsonBody: { error: (err as Error).message } };
    }
  },
});
df.app.client.http("runAndWait", {
  route: "run/{name}",
  methods: ["POST"],
  authLevel: "anonymous",
  handler: async (req, client) => {
    const text = await req.text();
    const id = await client.startNew(req.params.name, { input: text ? JSON.parse(text) : undefined });
    return client.waitForCompletionOrCreateCheckStatusResponse(req, id, { timeoutInMilliseconds: 20000, retryIntervalInMilliseconds: 20 });
  },
});
df.app.client.http("instanceOps", {
  route: "ops/{id}/{op}",
  methods: ["GET", "POST"],
  authLevel: "anonymous",
  handler: async (req, client) => {
    const { id, op } = req.params;
    if (op === "status") {
      const s = await client.getStatus(id, { showHistory: req.query.get("history") === "1" });
      return { jsonBody: s };
    }
    if (op === "raise") {
      await client.raiseEvent(id, "approval", await req.json());
      return { status: 202 };
    }
    if (op === "terminate") {
      await client.terminate(id, "stopped by test");
      return { status: 202 };
    }
    if (op === "payload") return { jsonBody: client.createHttpManagementPayload(id) };
    return { status: 400 };
  },
});

// ---- activities ----
df.app.activity("double", { handler: (n: number) => n * 2 });
df.app.activity("greet", { handler: (name: string) => `hi ${name}` });
df.app.activity("when", { handler: () => new Date(0) });
df.app.activity("flaky", {
  handler: (input: { key: string; failTimes: number }) => {
    const count = (state.flaky.get(input.key) ?? 0) + 1;
    state.flaky.set(input.key, count);
    if (count <= input.failTimes) throw new Error(`flaky failure ${count}`);
    return { attempts: count };
  },
});

df.app.activity("instanceStatus", {
  extraInputs: [df.input.durableClient()],
  handler: async (instanceId: string, ctx: InvocationContext) => {
    try {
      return (await df.getClient(ctx).getStatus(instanceId)).runtimeStatus;
    } catch (err) {
      return `error: ${(err as Error).message}`;
    }
  },
});

// ---- orchestrations ----
df.app.orchestration("startChildWithId", function* (ctx) {
  const input = ctx.df.getInput() as { childId: string; name: string; input?: unknown };
  const statusSeen = yield ctx.df.callActivity("instanceStatus", input.childId);
  try {
    const output = yield ctx.df.callSubOrchestrator(input.name, input.input, input.childId);
    return { statusSeen, output };
  } catch (err) {
    return { statusSeen, refused: (err as Error).message };
  }
});

df.app.orchestration("everything", function* (ctx) {
  const input = ctx.df.getInput() as { tag: string };
  ctx.df.setCustomStatus({ step: "start" });
  const doubled = yield ctx.df.callActivity("double", 21);
  const greeting = yield ctx.df.callActivity("greet", input.tag);
  const when = yield ctx.df.callActivity("when");
  const retried = yield ctx.df.callActivityWithRetry("flaky", new df.RetryOptions(5, 4), { key: ctx.df.instanceId, failTimes: 2 });
  const fan = (yield ctx.df.Task.all(Array.from({ length: 20 }, (_, i) => ctx.df.callActivity("double", i)))) as number[];
  const timer = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 3_600_000));
  const quick = ctx.df.callActivity("double", 50);
  const winner = yield ctx.df.Task.any([quick, timer]);
  const raceWinner = winner === quick ? "activity" : "timer";
  if (!timer.isCompleted) timer.cancel();
  ctx.df.setCustomStatus({ step: "awaiting-approval" });
  const approval = yield ctx.df.waitForExternalEvent("approval");
  const child = yield ctx.df.callSubOrchestrator("child", { n: 7 }, `${ctx.df.instanceId}-child`);
  yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 30));
  ctx.df.setCustomStatus({ step: "done" });
  return { doubled, greeting, when, retried, fanSum: fan.reduce((a, b) => a + b, 0), fanLength: fan.length, raceWinner, approval, child };
});

df.app.orchestration("child", function* (ctx) {
  const { n } = ctx.df.getInput() as { n: number };
  const v = yield ctx.df.callActivity("double", n);
  return { child: ctx.df.instanceId, parent: ctx.df.parentInstanceId, value: v };
});

df.app.orchestration("counter", function* (ctx) {
  const n = ctx.df.getInput() as number;
  const v = (yield ctx.df.callActivity("double", n)) as number;
  if (n < 3) {
    ctx.df.continueAsNew(n + 1);
    return undefined;
  }
  return { n, v };
});

df.app.orchestration("sleeper", function* (ctx) {
  const start = ctx.df.currentUtcDateTime.toISOString();
  const hours = (ctx.df.getInput() as { hours?: number } | undefined)?.hours ?? 72;
  yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + hours * 3600 * 1000));
  return { start, end: ctx.df.currentUtcDateTime.toISOString() };
});

df.app.orchestration("timeoutRace", function* (ctx) {
  const timer = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 3600 * 1000));
  const event = ctx.df.waitForExternalEvent("never");
  const winner = yield ctx.df.Task.any([event, timer]);
  return winner === timer ? "timeout" : "event";
});

df.app.orchestration("fanout", function* (ctx) {
  const n = ctx.df.getInput() as number;
  const results = (yield ctx.df.Task.all(Array.from({ length: n }, (_, i) => ctx.df.callActivity("double", i)))) as number[];
  return results.reduce((a, b) => a + b, 0);
});

df.app.orchestration("failing", function* (ctx) {
  ctx.df.setCustomStatus("about to fail");
  yield ctx.df.callActivityWithRetry("flaky", new df.RetryOptions(5, 2), { key: `fail-${ctx.df.instanceId}`, failTimes: 10 });
  return "unreachable";
});

df.app.orchestration("catcher", function* (ctx) {
  try {
    yield ctx.df.callActivity("flaky", { key: `catch-${ctx.df.instanceId}`, failTimes: 1 });
    return "no error";
  } catch (err) {
    return `caught: ${(err as Error).message}`;
  }
});

// ---- timers ----
app.timer("tick", {
  schedule: "%TickSchedule%",
  handler: async (timer: Timer) => {
    state.tickRunning++;
    state.maxTickOverlap = Math.max(state.maxTickOverlap, state.tickRunning);
    state.ticks.push({ isPastDue: timer.isPastDue, at: Date.now() });
    await new Promise((r) => setTimeout(r, 20));
    state.tickRunning--;
  },
});
df.app.client.timer("nightly", {
  schedule: "0 0 3 * * *",
  handler: async (_timer, client) => {
    try {
      // 71 h: the run ends an hour before a nightly start, never at the same moment (which one came first would be a race).
      await client.startNew("sleeper", { instanceId: "nightly-singleton", input: { hours: 71 } });
    } catch (err) {
      // already running: the singleton id keeps runs from overlapping
      state.nightlyRefusals.push((err as Error).message);
    }
  },
});
