/** Function app for the strict-host tests: orchestrators that Azure's Durable extension treats differently from a lax host. */
import * as df from "durable-functions";
import { HISTORY_PURGE_SCHEDULE, purgeOldHistory } from "../../../src/orchestrations/history-purge";

interface StrictState {
  version: number;
}
const g = globalThis as unknown as { __strictFixture?: StrictState };
const state: StrictState = (g.__strictFixture ??= { version: 1 });

df.app.activity("stepA", { handler: () => "A" });
df.app.activity("stepB", { handler: () => "B" });
df.app.activity("explode", {
  handler: () => {
    throw new Error("activity exploded");
  },
});
df.app.activity("slow", { handler: async (ms: number) => new Promise((r) => setTimeout(() => r("slow done"), ms)) });

// Version 1 of the code calls stepA first; "version 2" (after the instance started) calls stepB there.
df.app.orchestration("changing", function* (ctx) {
  const first = yield ctx.df.callActivity(state.version === 1 ? "stepA" : "stepB");
  const go = yield ctx.df.waitForExternalEvent("go");
  return { first, go };
});

df.app.orchestration("catchShape", function* (ctx) {
  try {
    yield ctx.df.callActivity("explode");
    return "no error";
  } catch (err) {
    const e = err as Error & { failureDetails?: unknown };
    return {
      message: e.message,
      isTaskFailedError: err instanceof df.TaskFailedError,
      hasFailureDetails: e.failureDetails !== undefined,
    };
  }
});

df.app.orchestration("throws", function* (ctx) {
  yield ctx.df.callActivity("stepA");
  throw new Error("orchestrator gave up");
});

df.app.orchestration("childThrows", function* () {
  yield* [];
  throw new Error("child gave up");
});

df.app.orchestration("catchChild", function* (ctx) {
  try {
    yield ctx.df.callSubOrchestrator("childThrows", undefined, `${ctx.df.instanceId}-child`);
    return "no error";
  } catch (err) {
    return (err as Error).message;
  }
});

// Races an activity against a one-hour timer and returns when the activity wins, leaving the timer pending.
df.app.orchestration("leavesTimer", function* (ctx) {
  const timer = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 3600_000));
  yield ctx.df.Task.any([ctx.df.callActivity("stepA"), timer]);
  return "returned";
});

df.app.orchestration("cancelsTimer", function* (ctx) {
  const timer = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 3600_000));
  yield ctx.df.Task.any([ctx.df.callActivity("stepA"), timer]);
  timer.cancel();
  return "returned";
});

df.app.orchestration("waitsForGo", function* (ctx) {
  return yield ctx.df.waitForExternalEvent("go");
});

// Returns when an activity beats the sub-orchestration it started, which still waits for its event.
df.app.orchestration("leavesChild", function* (ctx) {
  yield ctx.df.Task.any([ctx.df.callSubOrchestrator("waitsForGo", undefined, `${ctx.df.instanceId}-child`), ctx.df.callActivity("stepA")]);
  return "returned";
});

df.app.orchestration("usesCallHttp", function* (ctx) {
  return yield ctx.df.callHttp({ method: "GET", url: "https://example.com/" });
});

df.app.orchestration("runsSlow", function* (ctx) {
  return yield ctx.df.callActivity("slow", ctx.df.getInput() as number);
});

// The product's purge logic behind a timer, as functions/timer.ts registers it (without the app's settings).
df.app.client.timer("purgeHistory", {
  schedule: HISTORY_PURGE_SCHEDULE,
  handler: async (_timer, client) => {
    await purgeOldHistory(client, new Date(), 30);
  },
});
