/**
 * `npm run demo -- --fleet`, automated: the demo's own code path (runFleetDemo) with the fewest agents that show both
 * states, two: a real certificate issued and renewed through the local host, two real agent processes reporting to
 * it, one stopped before the renewal. The summary must show one host current on the new version and one stale.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runFleetDemo } from "../../src/local/demo-fleet";

describe("npm run demo -- --fleet", () => {
  it("two agents: after the renewal one host is current on the new version, the stopped one is stale", async () => {
    const lines: string[] = [];
    const summary = await runFleetDemo({ hosts: 2, log: (l) => lines.push(l) });
    assert.equal(summary.ok, true, lines.join("\n"));
    assert.equal(summary.staleHosts, 1);
    assert.equal(summary.versions.length, 2);
    assert.notEqual(summary.versions[0], summary.versions[1], "the renewal made a new version");
    const [running, stopped] = summary.hosts;
    assert.deepEqual(
      summary.hosts.map((h) => h.hostId),
      ["web-1", "web-2"],
    );
    assert.equal(running!.installedVersion, summary.versions[1]);
    assert.equal(running!.current, true);
    assert.equal(running!.stale, false);
    assert.equal(stopped!.installedVersion, summary.versions[0], "the stopped host still has the first version");
    assert.equal(stopped!.current, false);
    assert.equal(stopped!.stale, true);
    assert.ok(stopped!.reasons.includes("unseen"), `stale because unseen: ${stopped!.reasons.join(", ")}`);
    assert.ok(
      lines.some((l) => l.startsWith("$ kv-acme fleet")),
      "the fleet is printed as kv-acme fleet prints it",
    );
  });

  it("refuses fewer than two hosts", async () => {
    await assert.rejects(runFleetDemo({ hosts: 1 }), /2 or more hosts/);
  });
});
