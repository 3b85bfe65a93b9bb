import { randomBytes } from "node:crypto";
/**
 * Crash test of a real issuance: the local Functions host runs as a CHILD process (src/local/host/main.ts with every
 * functions/*.ts module) against a local stack running in this process. The host is SIGKILLed at seven points of the
 * issuance and restarted on the same state directory each time: once the CA has created the order but before its
 * answer reaches the host (a proxy in front of Pebble holds it back, test/support/held-order-proxy.ts), then at six
 * steps observed through the durable status route (ordering, presenting TXT values, waiting for the CA, creating the
 * vault's pending operation, finalizing, merging). Afterwards: the orchestration completed exactly once, the vault
 * holds exactly one version, no TXT value and no pending operation is left, and at the CA (the account's orders list)
 * the one order created (the retried order step carried it on) is valid with no authorization left pending.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, it } from "node:test";
import { getPending } from "../../src/keyvault/certificates";
import { ISSUE_STEPS } from "../../src/orchestrations/activity-names";
import { ORCHESTRATIONS, certificateInstanceId } from "../../src/orchestrations/ids";
import { clients, stackDeps, txtRecords } from "../integration/helpers";
import { caOrders } from "../support/ca-orders";
import { startHeldOrderProxy, type HeldOrderProxy } from "../support/held-order-proxy";
import { startTestStack, type TestStack } from "../support/stack";

/** The host's master key (KVACME_MASTER_KEY), sent on the durable webhooks as on Azure. */
const MASTER_KEY = randomBytes(32).toString("base64url");
const MASTER = { "x-functions-key": MASTER_KEY };
const root = path.resolve(__dirname, "..", "..");
const main = path.join(root, "src", "local", "host", "main.ts");

interface Running {
  child: ChildProcess;
  url: string;
  exited: Promise<NodeJS.Signals | number | null>;
}

let stack: TestStack;
let proxy: HeldOrderProxy;
const pebbleLines: string[] = [];
const dirs: string[] = [];
before(async () => {
  // Every Key Vault request takes 150 ms, so the short steps (finalize, merge) last long enough for the status
  // polling to see each of the six kill points however loaded the machine is.
  stack = await startTestStack({
    pebble: { log: (line) => pebbleLines.push(line) },
    faults: { rules: [], latency: { keyvault: { minMs: 150, maxMs: 150 } } },
  });
  proxy = await startHeldOrderProxy(stack.info.acmeDirectoryUrl);
});
after(async () => {
  await proxy?.close();
  await stack?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function launch(stateDir: string): Promise<Running> {
  const modules = (await readdir(path.join(root, "functions")))
    .filter((f) => f.endsWith(".ts"))
    .sort()
    .flatMap((f) => ["--module", path.join(root, "functions", f)]);
  const child = spawn(process.execPath, ["--import", "tsx", main, ...modules, "--port", "0", "--state", stateDir, "--no-timers"], {
    cwd: root,
    env: {
      ...process.env,
      ...stack.env,
      KvAcme__AcmeDirectoryUrl: proxy.directoryUrl,
      KvAcme__Auth__Mode: "local",
      KVACME_MASTER_KEY: MASTER_KEY,
    },
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
      if (m) resolve(m[1] as string);
    });
    void exited.then((s) => reject(new Error(`host exited (${String(s)}) before listening: ${stderr}`)));
  });
  return { child, url, exited };
}

interface Status {
  runtimeStatus: string;
  customStatus: { step?: string } | null;
  output: unknown;
  historyEvents?: { EventType: string; FunctionName?: string }[];
}

async function status(url: string, id: string): Promise<Status | undefined> {
  try {
    const r = await fetch(`${url}/runtime/webhooks/durabletask/instances/${id}?showHistory=true`, { headers: MASTER });
    return r.status === 404 ? undefined : ((await r.json()) as Status);
  } catch {
    return undefined; // the host died under us
  }
}

/** Highest "There are now N orders in the db" Pebble logged. */
function pebbleOrders(): number {
  let n = 0;
  for (const line of pebbleLines) {
    const m = /There are now (\d+) orders in the db/.exec(line);
    if (m) n = Math.max(n, Number(m[1]));
  }
  return n;
}

it(
  "an issuance survives SIGKILL of the host at seven points (one between the CA creating the order and the host hearing of it) and completes exactly once: one version, no TXT, no pending operation, one order at the CA, valid, and no authorization left pending",
  { timeout: 900_000 },
  async (t) => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), "kvacme-crash-e2e-"));
    dirs.push(stateDir);
    const certificateName = "crashproof";
    const id = certificateInstanceId(certificateName);
    const ordersBefore = pebbleOrders();

    let run = await launch(stateDir);
    const start = await fetch(`${run.url}/runtime/webhooks/durabletask/orchestrators/${ORCHESTRATIONS.issue}/${id}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...MASTER },
      body: JSON.stringify({ dnsNames: ["crash.example.com", "*.crash.example.com"], certificateName }),
    });
    assert.equal(start.status, 202, await start.text());

    // Bounded by progress, not by a total: each restart of the host costs ~20 s of compiling on a loaded machine (six
    // restarts overran a fixed 200 s deadline at load 30), so the test fails only when no step moves for 150 s.
    const STALL_MS = 150_000;
    const killedAt: string[] = [];

    // The first kill: the CA has created the order (the proxy read its answer) and the host has not heard of it.
    const heldStatus = await Promise.race([
      proxy.held,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no newOrder reached the CA in ${STALL_MS / 1000} s`)), STALL_MS).unref(),
      ),
    ]);
    assert.equal(heldStatus, 201, "the CA created the order whose answer is held back");
    killedAt.push("order-created@order");
    run.child.kill("SIGKILL");
    assert.equal(await run.exited, "SIGKILL");
    run = await launch(stateDir);

    // Then once as soon as the orchestration is at (or past) each of these steps.
    const targets = ["order", "dns-present", "validate-challenges", "pending-operation", "finalize", "merge"];
    const stepIndex = (s: string | undefined) => (s ? ISSUE_STEPS.indexOf(s as never) : -1);
    let final: Status | undefined;
    let progress = { step: undefined as string | undefined, at: Date.now() };
    for (;;) {
      const s = await status(run.url, id);
      if (s?.customStatus?.step !== progress.step) progress = { step: s?.customStatus?.step, at: Date.now() };
      assert.ok(
        Date.now() - progress.at < STALL_MS,
        `the orchestration made no progress for ${STALL_MS / 1000} s at step ${progress.step} (killed at ${killedAt.join(", ")})`,
      );
      if (s?.runtimeStatus === "Completed" || s?.runtimeStatus === "Failed") {
        final = s;
        break;
      }
      const step = s?.customStatus?.step;
      const next = targets[killedAt.length - 1];
      if (next !== undefined && s?.runtimeStatus === "Running" && stepIndex(step) >= stepIndex(next)) {
        killedAt.push(`${next}@${step}`);
        run.child.kill("SIGKILL");
        assert.equal(await run.exited, "SIGKILL");
        run = await launch(stateDir);
        progress.at = Date.now();
        continue;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    run.child.kill("SIGTERM");
    await run.exited;

    assert.equal(final.runtimeStatus, "Completed", JSON.stringify(final.output));
    assert.deepEqual(
      killedAt.map((k) => k.split("@")[0]),
      ["order-created", ...targets],
      `killed at each of the seven points: ${killedAt.join(", ")}`,
    );
    const history = final.historyEvents ?? [];
    assert.equal(history.filter((e) => e.EventType === "ExecutionCompleted").length, 1, "completed exactly once");
    const out = final.output as { version: string; dnsNames: string[] };
    assert.deepEqual(out.dnsNames, ["crash.example.com", "*.crash.example.com"]);

    const { certificates } = clients(stack);
    const versions: string[] = [];
    for await (const v of certificates.listPropertiesOfCertificateVersions(certificateName)) versions.push(v.version ?? "");
    assert.deepEqual(versions, [out.version], "exactly one version in the vault, the one reported");
    const op = await getPending(certificates, certificateName);
    assert.ok(!op || op.status === "completed", `no pending operation left (${op?.status})`);
    assert.deepEqual(await txtRecords(stack), {}, "no TXT values left");

    const orders = pebbleOrders() - ordersBefore;
    // The status API lists completions (with the FunctionName they complete), not the scheduling events.
    const attempts = history.filter((e) => e.EventType === "TaskCompleted" || e.EventType === "TaskFailed");
    const orderAttempts = attempts.filter((e) => e.FunctionName === "placeOrder").length;
    t.diagnostic(`killed at ${killedAt.join(", ")}; orders at the CA: ${orders}; activity attempts: ${attempts.length}`);
    // The order the first kill left unrecorded is the one carried on: no second order, nothing left behind.
    assert.equal(orders, 1, `orders created at the CA: ${orders} (kills: ${killedAt.join(", ")})`);
    assert.equal(proxy.newOrders(), 1, "the retried order step created no order of its own");
    assert.equal(orderAttempts, 1, "the order step was scheduled once (a re-run after a kill re-executes the same task)");

    // The CA's side, read with the host's account (its key is kept per directory URL: the proxy's): the order for the
    // names is valid and none of its authorizations is still pending.
    const account = await stackDeps(stack, { acmeDirectoryUrl: proxy.directoryUrl }).acme();
    const atCa = (await caOrders(account)).filter((o) => o.identifiers.includes("crash.example.com"));
    t.diagnostic(
      `orders at the CA for the names: ${atCa.map((o) => `${o.status} [${o.authorizations.map((a) => a.status).join(", ")}]`).join("; ")}`,
    );
    assert.equal(atCa.length, 1, "the account's orders list holds the one order the CA logged");
    assert.equal(atCa.filter((o) => o.status === "valid").length, 1, "exactly one order issued");
    assert.deepEqual(
      atCa.filter((o) => o.status !== "valid" && o.status !== "invalid").map((o) => `${o.url}: ${o.status}`),
      [],
      "no order left pending, ready or processing at the CA",
    );
    assert.deepEqual(
      atCa.flatMap((o) => o.authorizations.filter((a) => a.status === "pending").map((a) => `${a.identifier}: ${a.url}`)),
      [],
      "no authorization left pending at the CA",
    );
  },
);
