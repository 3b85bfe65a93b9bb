import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, it } from "node:test";

/** The host's master key (KVACME_MASTER_KEY), sent on the durable webhooks as on Azure. */
const MASTER_KEY = randomBytes(32).toString("base64url");
const MASTER = { "x-functions-key": MASTER_KEY };
const root = path.resolve(__dirname, "..", "..");
const main = path.join(root, "src", "local", "host", "main.ts");
const app = path.join(__dirname, "host-fixtures", "crash-app.ts");

interface Running {
  child: ChildProcess;
  url: string;
  exited: Promise<NodeJS.Signals | number | null>;
}

async function launch(stateDir: string, crashDir: string, killAt: string): Promise<Running> {
  const child = spawn(process.execPath, ["--import", "tsx", main, "--module", app, "--port", "0", "--state", stateDir, "--no-timers"], {
    cwd: root,
    env: { ...process.env, CRASH_DIR: crashDir, KILL_AT: killAt, KVACME_MASTER_KEY: MASTER_KEY },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    void exited.then((s) => reject(new Error(`host exited (${String(s)}) before listening: ${stderr}`)));
  });
  return { child, url, exited };
}

async function status(
  url: string,
  id: string,
): Promise<{ runtimeStatus: string; customStatus: unknown; output: unknown; historyEvents?: { EventType: string }[] } | undefined> {
  try {
    const r = await fetch(`${url}/runtime/webhooks/durabletask/instances/${id}?showHistory=true`, { headers: MASTER });
    return r.status === 404 ? undefined : ((await r.json()) as never);
  } catch {
    return undefined; // the host died under us
  }
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

it("a host killed with SIGKILL at five points resumes and completes the orchestration exactly once", { timeout: 120_000 }, async () => {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), "kvacme-crash-state-"));
  const crashDir = await mkdtemp(path.join(os.tmpdir(), "kvacme-crash-fx-"));
  dirs.push(stateDir, crashDir);
  // In-process kill points: after an activity's side effect (before its completion is journalled), in the
  // middle of the fan-out, inside an orchestrator episode (before its history is persisted), in the
  // sub-orchestration's activity. The test adds one kill from outside while the durable timer waits.
  const killAt = "after-a,after-f3,orchestrator-after-fan,after-c1";
  const id = "crash-1";
  let run = await launch(stateDir, crashDir, killAt);
  const start = await fetch(`${run.url}/runtime/webhooks/durabletask/orchestrators/crashFlow/${id}`, { method: "POST", headers: MASTER });
  assert.equal(start.status, 202);

  let kills = 0;
  let externalKillDone = false;
  let final: Awaited<ReturnType<typeof status>>;
  const deadline = Date.now() + 100_000;
  for (;;) {
    assert.ok(Date.now() < deadline, "orchestration did not finish in time");
    const s = await status(run.url, id);
    if (s?.runtimeStatus === "Completed" || s?.runtimeStatus === "Failed") {
      final = s;
      break;
    }
    if (!externalKillDone && s?.customStatus === "sleeping") {
      externalKillDone = true;
      run.child.kill("SIGKILL");
    }
    const exited = await Promise.race([run.exited, new Promise((r) => setTimeout(() => r("alive"), 25))]);
    if (exited !== "alive") {
      assert.equal(exited, "SIGKILL");
      kills++;
      run = await launch(stateDir, crashDir, killAt);
    }
  }
  run.child.kill("SIGTERM");
  await run.exited;

  assert.equal(kills, 5, "four in-process kill points plus one external kill");
  assert.equal(final!.runtimeStatus, "Completed");
  assert.deepEqual(final!.output, { a: "a", fan: "f0,f1,f2,f3,f4,f5,f6,f7,f8,f9", child: "c1", b: "b" });
  assert.equal(final!.historyEvents!.filter((e) => e.EventType === "ExecutionCompleted").length, 1, "completed exactly once");

  const effects = (await readFile(path.join(crashDir, "effects.log"), "utf8")).trim().split("\n");
  assert.deepEqual(
    [...effects].sort(),
    ["a", "b", "c1", "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"],
    "each side effect exactly once",
  );
  const attempts = (await readFile(path.join(crashDir, "attempts.log"), "utf8")).trim().split("\n");
  const count = (k: string) => attempts.filter((a) => a === k).length;
  assert.equal(count("a"), 2, "the activity killed after its effect ran again (at least once), absorbed by its key");
  assert.equal(count("c1"), 2);
  assert.ok(count("f3") >= 2);
  assert.equal(count("b"), 1, "activities whose completion was journalled are not re-run");
});
