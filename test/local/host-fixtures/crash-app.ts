/**
 * Function app for the crash test. The `effect` activity appends its key to effects.log once (deduplicated by
 * key, the idempotency contract of real activities) and every attempt to attempts.log. KILL_AT names points
 * where the process SIGKILLs itself once (a marker file keeps it from doing so again after the restart).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync, openSync, fsyncSync, closeSync } from "node:fs";
import path from "node:path";
import * as df from "durable-functions";

const dir = process.env.CRASH_DIR ?? "";
const killAt = new Set((process.env.KILL_AT ?? "").split(",").filter(Boolean));

function durableAppend(file: string, line: string): void {
  appendFileSync(file, line);
  const fd = openSync(file, "r");
  fsyncSync(fd);
  closeSync(fd);
}

function maybeDie(point: string): void {
  const marker = path.join(dir, `killed-${point}`);
  if (killAt.has(point) && !existsSync(marker)) {
    writeFileSync(marker, "1");
    process.kill(process.pid, "SIGKILL");
  }
}

df.app.activity("effect", {
  handler: (input: { key: string }) => {
    durableAppend(path.join(dir, "attempts.log"), `${input.key}\n`);
    const file = path.join(dir, "effects.log");
    const done = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
    if (!done.includes(input.key)) durableAppend(file, `${input.key}\n`);
    maybeDie(`after-${input.key}`);
    return input.key;
  },
});

df.app.orchestration("crashFlow", function* (ctx) {
  const a = yield ctx.df.callActivity("effect", { key: "a" });
  const fan = (yield ctx.df.Task.all(Array.from({ length: 10 }, (_, i) => ctx.df.callActivity("effect", { key: `f${i}` })))) as string[];
  if (!ctx.df.isReplaying) maybeDie("orchestrator-after-fan");
  ctx.df.setCustomStatus("sleeping");
  yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 1500));
  ctx.df.setCustomStatus("child");
  const child = yield ctx.df.callSubOrchestrator("crashChild", { key: "c1" }, `${ctx.df.instanceId}-child`);
  const b = yield ctx.df.callActivity("effect", { key: "b" });
  return { a, fan: fan.join(","), child, b };
});

df.app.orchestration("crashChild", function* (ctx) {
  const { key } = ctx.df.getInput() as { key: string };
  return yield ctx.df.callActivity("effect", { key });
});
