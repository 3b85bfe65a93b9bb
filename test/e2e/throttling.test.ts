/**
 * Key Vault and ARM throttling (429 + Retry-After) through the real function app on the local host, with the stand-ins'
 * fault injector: the SDK clients do not sleep through the Retry-After, the activity fails carrying it in the failure
 * shape the strict host gives a Node orchestrator on Azure (Reason text only), the durable driver waits that long in a
 * durable timer (at least the backoff of the attempt) and runs the activity again, and the issuance completes. The CLI's in-process driver sleeps it instead.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { issueCertificate } from "../../src/issuance";
import { backoffMs } from "../../src/issuance/retry-policy";
import { retryAfterFromMessage } from "../../src/shared/errors";
import { certificateInstanceId } from "../../src/orchestrations/ids";
import { call, pollOperation } from "../api/support";
import { stackDeps } from "../integration/helpers";
import { startTestApp, type TestApp } from "../support/app";

type Event = { EventType: number; Timestamp: string; Reason?: string; FireAt?: string; TaskScheduledId?: number };
const TASK_FAILED = 6;
const TIMER_CREATED = 10;

describe("Key Vault and ARM 429 + Retry-After wait in durable timers", () => {
  let app: TestApp;
  const rule = (target: string) => {
    const r = app.stack.faults?.plan.rules.find((x) => x.target === target);
    assert.ok(r, `a ${target} rule`);
    return r;
  };

  before(async () => {
    // One 429 each (the *1), switched on once the orchestration runs; Key Vault asks for 3 s, ARM for 2 s.
    app = await startTestApp({ stack: { faults: "keyvault=429/3:0%*1,arm=429/2:0%*1" } });
  });
  after(async () => app?.close());

  it(
    "the issuance completes; each throttled activity failed once and was retried after a timer of its Retry-After",
    { timeout: 120_000 },
    async () => {
      const started = await call(app.api, "POST", "/certificates", {
        body: { dnsNames: ["throttled.example.com"], certificateName: "throttled" },
      });
      assert.equal(started.status, 202, started.text);
      rule("keyvault").probability = 1;
      rule("arm").probability = 1;
      const { final } = await pollOperation(app.host.url, started.headers.get("location")!);
      assert.equal(final.body.status, "Completed", final.text);
      assert.equal(app.stack.faults?.counts["keyvault:429"], 1, "Key Vault throttled one request");
      assert.equal(app.stack.faults?.counts["arm:429"], 1, "ARM throttled one request");

      const history = (app.host.durable.getRecord(certificateInstanceId("throttled"))?.history ?? []) as Event[];
      const throttled = history.filter((e) => e.EventType === TASK_FAILED && retryAfterFromMessage(e.Reason ?? "") !== undefined);
      assert.equal(throttled.length, 2, `one failed activity per throttled request: ${JSON.stringify(throttled.map((e) => e.Reason))}`);
      const services = throttled
        .map((e) => (/^Activity function '\w+' failed: (Key Vault|DNS provider "azure")/.exec(e.Reason ?? "") ?? [])[1])
        .sort();
      assert.deepEqual(
        services,
        ['DNS provider "azure"', "Key Vault"],
        `each failure names its service: ${throttled.map((e) => e.Reason).join(" | ")}`,
      );
      // Both failed in validateRequest, one after the other: attempt n waits max(Retry-After, backoff of attempt n).
      for (const [i, failed] of throttled.entries()) {
        const retryAfterMs = retryAfterFromMessage(failed.Reason ?? "") ?? 0;
        assert.equal(retryAfterMs, /Key Vault/.test(failed.Reason ?? "") ? 3_000 : 2_000);
        const waitMs = Math.max(retryAfterMs, backoffMs(i + 1));
        const timer = history.find((e) => e.EventType === TIMER_CREATED && Date.parse(e.Timestamp) >= Date.parse(failed.Timestamp));
        assert.ok(timer?.FireAt, "a durable timer follows the failure");
        const delay = Date.parse(timer.FireAt) - Date.parse(failed.Timestamp);
        assert.ok(delay >= waitMs && delay < waitMs + 2_000, `the timer waits at least the Retry-After (${delay} ms for ${waitMs} ms)`);
      }
    },
  );

  it("the CLI's in-process driver waits the Retry-After and completes too", { timeout: 120_000 }, async () => {
    rule("keyvault").limit = 2; // one more 429 (the rule fired once above)
    const progress: string[] = [];
    const deps = { ...stackDeps(app.stack), progress: (step: string, message: string) => void progress.push(`${step}: ${message}`) };
    const result = await issueCertificate({ dnsNames: ["cli-throttled.example.com"], certificateName: "cli-throttled" }, deps);
    assert.equal(result.certificateName, "cli-throttled");
    assert.equal(app.stack.faults?.counts["keyvault:429"], 2);
    assert.ok(
      progress.some((p) => /throttled, next in 3000 ms: Key Vault: .*\(Retry-After: 3 s\)/.test(p)),
      progress.join("\n"),
    );
  });
});
