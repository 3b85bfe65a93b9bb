/**
 * Under Key Vault throttling a step is not given up after five 1 s Retry-Afters (the soak's "throttled ... gave up
 * after 5 attempts"): throttled attempts are counted against the throttling time budget, each waiting at least the
 * backoff (src/issuance/retry-policy.ts). Six 429s in a row on one step, through the real function app on the local
 * host (the durable driver's timers, the host's clock jumped instead of waiting) and through the CLI's in-process
 * driver (its sleeps recorded instead of slept).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { directClock, runDirect, type DirectClock } from "../../src/issuance/direct";
import { issuanceFlow } from "../../src/issuance/flow";
import { backoffMs } from "../../src/issuance/retry-policy";
import { JumpingClock } from "../../src/local/host";
import { certificateInstanceId } from "../../src/orchestrations/ids";
import { retryAfterFromMessage } from "../../src/shared/errors";
import { call } from "../api/support";
import { stackDeps } from "../integration/helpers";
import { startTestApp, type TestApp } from "../support/app";

type Event = { EventType: number; Timestamp: string; Reason?: string; FireAt?: string };
const TASK_FAILED = 6;
const TIMER_CREATED = 10;
const ORCHESTRATOR_STARTED = 12;
const THROTTLES = 6;

describe("throttling does not use up a step's attempts", () => {
  let app: TestApp;
  const clock = new JumpingClock();
  const rule = () => {
    const r = app.stack.faults?.plan.rules.find((x) => x.target === "keyvault");
    assert.ok(r, "a keyvault rule");
    return r;
  };

  before(async () => {
    // Key Vault's 1 s Retry-After, switched on once the orchestration runs: the next six requests are throttled.
    app = await startTestApp({ stack: { faults: `keyvault=429/1:0%*${THROTTLES}` }, host: { clock } });
  });
  after(async () => app?.close());

  it(
    `six 429s in a row on one activity: retried after timers of max(Retry-After, backoff), then Completed`,
    { timeout: 120_000 },
    async () => {
      const started = await call(app.api, "POST", "/certificates", {
        body: { dnsNames: ["budget.example.com"], certificateName: "budget" },
      });
      assert.equal(started.status, 202, started.text);
      rule().probability = 1;
      const location = started.headers.get("location")!;
      let final;
      for (const deadline = Date.now() + 100_000; ;) {
        const r = await call(app.host.url, "GET", location);
        if (r.status === 200) {
          final = r;
          break;
        }
        assert.ok(Date.now() < deadline, `still running: ${r.text}`);
        await new Promise((resolve) => setTimeout(resolve, 150));
        await clock.jump(30_000); // the durable timers fire without the test waiting for them
      }
      assert.equal(final.body.status, "Completed", final.text);
      assert.equal(app.stack.faults?.counts["keyvault:429"], THROTTLES);

      const history = (app.host.durable.getRecord(certificateInstanceId("budget"))?.history ?? []) as Event[];
      const throttled = history.filter((e) => e.EventType === TASK_FAILED && retryAfterFromMessage(e.Reason ?? "") === 1_000);
      assert.equal(throttled.length, THROTTLES, `one failed activity per 429: ${throttled.map((e) => e.Reason).join(" | ")}`);
      throttled.forEach((failed, i) => {
        assert.match(failed.Reason ?? "", /failed: Key Vault: .*429/);
        const at = history.indexOf(failed);
        const timerAt = history.findIndex((e, j) => j > at && e.EventType === TIMER_CREATED);
        const timer = history[timerAt];
        assert.ok(timer?.FireAt, "a durable timer follows each failure");
        // The delay the orchestrator chose: FireAt minus the time of the episode that created the timer (its
        // currentUtcDateTime), not minus the failure's time: the test jumps the clock 30 s every 150 ms, and a jump
        // between the failure and that episode once made it look 30 s longer (32048 ms for 2000 ms).
        const episode = history
          .slice(0, timerAt)
          .reverse()
          .find((e) => e.EventType === ORCHESTRATOR_STARTED);
        assert.ok(episode, "the episode that created the timer");
        const delay = Date.parse(timer.FireAt) - Date.parse(episode.Timestamp);
        const floor = Math.max(1_000, backoffMs(i + 1));
        assert.ok(
          delay >= floor && delay < floor + 2_000,
          `attempt ${i + 1}: the timer waits the backoff over the 1 s Retry-After (${delay} ms for ${floor} ms)`,
        );
      });
    },
  );

  it(
    "the CLI's in-process driver does the same: six throttled attempts, sleeps of the backoff, then issued",
    { timeout: 120_000 },
    async () => {
      const r = rule();
      r.limit = 2 * THROTTLES; // six more
      const slept: number[] = [];
      const fast: DirectClock = { ...directClock, sleep: async (ms) => void slept.push(ms) };
      const progress: string[] = [];
      const deps = { ...stackDeps(app.stack), progress: (step: string, message: string) => void progress.push(`${step}: ${message}`) };
      const out = await runDirect(
        issuanceFlow({ dnsNames: ["cli-budget.example.com"], certificateName: "cli-budget" }, fast),
        { deps },
        fast,
      );
      assert.equal(out.certificateName, "cli-budget");
      assert.equal(app.stack.faults?.counts["keyvault:429"], 2 * THROTTLES);
      assert.deepEqual(
        slept,
        Array.from({ length: THROTTLES }, (_, i) => Math.max(1_000, backoffMs(i + 1))),
        progress.join("\n"),
      );
    },
  );
});
