/** The renewal timer's schedule binding and its singleton start (a client double stands in for the durable client). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ORCHESTRATIONS, RENEW_ALL_INSTANCE_ID } from "../../src/orchestrations/ids";
import { DEFAULT_RENEWAL_SCHEDULE, renewalScheduleBinding, startRenewalRun } from "../../src/orchestrations/renewal-timer";
import { resolveAppSettings } from "../../src/local/host/timers";

describe("renewal timer", () => {
  it("binds the app setting when it exists, else the daily default", () => {
    assert.equal(renewalScheduleBinding({}), DEFAULT_RENEWAL_SCHEDULE);
    assert.equal(renewalScheduleBinding({ KvAcme__RenewalSchedule: "  " }), DEFAULT_RENEWAL_SCHEDULE);
    assert.equal(renewalScheduleBinding({ KvAcme__RenewalSchedule: "0 */5 * * * *" }), "%KvAcme:RenewalSchedule%");
    assert.equal(renewalScheduleBinding({ "KvAcme:RenewalSchedule": "0 0 4 * * *" }), "%KvAcme:RenewalSchedule%");
    // The local host resolves the binding from either spelling, like Azure's configuration does.
    assert.equal(resolveAppSettings("%KvAcme:RenewalSchedule%", { KvAcme__RenewalSchedule: "0 */5 * * * *" }), "0 */5 * * * *");
  });

  function client(status: string | "missing" | "error", startError?: string) {
    const calls: { started: unknown[] } = { started: [] };
    return {
      calls,
      getStatus: async (id: string) => {
        assert.equal(id, RENEW_ALL_INSTANCE_ID);
        if (status === "missing") throw new Error("DurableClient error: Durable Functions extension replied with HTTP 404 response.");
        if (status === "error") throw new Error("DurableClient error: HTTP 500");
        return { runtimeStatus: status } as never;
      },
      startNew: async (name: string, options?: { instanceId?: string; input?: unknown }) => {
        calls.started.push({ name, ...options });
        if (startError) throw new Error(startError);
        return options?.instanceId ?? "";
      },
    };
  }

  it("starts the singleton run when none ran or the last one finished", async () => {
    for (const status of ["missing", "Completed", "Failed", "Terminated"]) {
      const c = client(status);
      assert.deepEqual(await startRenewalRun(c as never), { started: true, instanceId: RENEW_ALL_INSTANCE_ID });
      const operationId = (c.calls.started[0] as { input?: { operationId?: string } } | undefined)?.input?.operationId;
      assert.match(operationId ?? "", /^[0-9a-f]{32}$/, "each run gets its own operation id");
      assert.deepEqual(c.calls.started, [{ name: ORCHESTRATIONS.renewAll, instanceId: RENEW_ALL_INSTANCE_ID, input: { operationId } }]);
    }
  });

  it("skips while a run is pending or running, and when the start loses a race", async () => {
    for (const status of ["Running", "Pending"]) {
      const c = client(status);
      const r = await startRenewalRun(c as never);
      assert.equal(r.started, false);
      assert.match((r as { reason: string }).reason, new RegExp(status));
      assert.equal(c.calls.started.length, 0);
    }
    const raced = await startRenewalRun(
      client("missing", "An orchestration instance with id 'kv-acme-renew-all' is already pending or running.") as never,
    );
    assert.equal(raced.started, false);
    await assert.rejects(startRenewalRun(client("error") as never), /HTTP 500/);
  });
});
