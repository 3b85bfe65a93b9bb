/**
 * The fleet store against Azurite (the real storage emulator, started by the local stack) through @azure/data-tables
 * with the stack's managed identity tokens: reports are stored per host, replaced by the next report, certificates no
 * longer reported disappear, stale notices are remembered; Azurite refuses a caller without a valid token.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTableFleetStore, type FleetStore } from "../../src/fleet/store";
import type { AgentReport } from "../../src/fleet/report";
import { startTestStack, type TestStack } from "../support/stack";

const THUMB_A = "A".repeat(40);
const THUMB_B = "B".repeat(40);

function report(hostId: string, certificates: AgentReport["certificates"]): AgentReport {
  return { hostId, agentVersion: "0.1.0", pollingIntervalInS: 3600, certificates };
}

describe("fleet store in Azurite", () => {
  let stack: TestStack;
  let store: FleetStore;
  before(async () => {
    stack = await startTestStack({ tables: true });
    assert.ok(stack.info.tableEndpoint, "the stack lists Azurite's table endpoint");
    store = createTableFleetStore({ endpoint: stack.info.tableEndpoint, tableName: "fleettest", credential: stack.credential });
  });
  after(async () => stack?.close());

  it("stores one host per report and lists it with its certificates", async () => {
    await store.saveReport(
      report("vm-1", [
        { name: "web", installedVersion: "v1", thumbprint: THUMB_A, notAfter: "2027-03-01T00:00:00.000Z", bindingsUpdated: ["nginx"] },
        { name: "api", bindingsUpdated: [], lastError: "no installable version yet" },
      ]),
      new Date("2026-12-01T10:00:00Z"),
    );
    await store.saveReport(
      report("vm-2", [{ name: "web", installedVersion: "v1", thumbprint: THUMB_A, bindingsUpdated: [] }]),
      new Date("2026-12-01T10:01:00Z"),
    );
    const hosts = await store.listHosts();
    assert.deepEqual(
      hosts.map((h) => h.hostId),
      ["vm-1", "vm-2"],
    );
    const vm1 = hosts[0]!;
    assert.equal(vm1.lastSeen, "2026-12-01T10:00:00.000Z");
    assert.equal(vm1.pollingIntervalInS, 3600);
    const web = vm1.certificates.find((c) => c.name === "web");
    assert.deepEqual(web, {
      name: "web",
      installedVersion: "v1",
      thumbprint: THUMB_A,
      notAfter: "2027-03-01T00:00:00.000Z",
      bindingsUpdated: ["nginx"],
      reportedAt: "2026-12-01T10:00:00.000Z",
    });
    assert.equal(vm1.certificates.find((c) => c.name === "api")?.lastError, "no installable version yet");
  });

  it("the next report replaces the host's certificates and drops the ones no longer observed", async () => {
    await store.saveReport(
      report("vm-1", [{ name: "web", installedVersion: "v2", thumbprint: THUMB_B, bindingsUpdated: [] }]),
      new Date("2026-12-01T11:00:00Z"),
    );
    const vm1 = (await store.listHosts()).find((h) => h.hostId === "vm-1")!;
    assert.equal(vm1.lastSeen, "2026-12-01T11:00:00.000Z");
    assert.deepEqual(
      vm1.certificates.map((c) => [c.name, c.installedVersion, c.lastError]),
      [["web", "v2", undefined]],
    );
  });

  it("remembers the stale notices sent, and a later report keeps them", async () => {
    await store.markNotified("vm-2", ["outdated:web:" + THUMB_B]);
    await store.markNotified("vm-2", ["unseen:2026-12-01T10:01:00.000Z"]);
    await store.saveReport(report("vm-2", [{ name: "web", bindingsUpdated: [] }]), new Date("2026-12-01T12:00:00Z"));
    const vm2 = (await store.listHosts()).find((h) => h.hostId === "vm-2")!;
    assert.deepEqual(vm2.notified, ["outdated:web:" + THUMB_B, "unseen:2026-12-01T10:01:00.000Z"]);
  });

  it("Azurite refuses a caller whose token is not for Azure Storage", async () => {
    const wrong = createTableFleetStore({
      endpoint: stack.info.tableEndpoint!,
      tableName: "fleettest",
      credential: { getToken: () => stack.credential.getToken("https://vault.azure.net/.default") },
    });
    await assert.rejects(() => wrong.listHosts(), /Table Storage: .*failed/);
  });
});
