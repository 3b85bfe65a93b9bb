/**
 * bench/lib/poll-model.ts, the network-free fleet model behind `bench:fleet-scale --part model`: each policy sends
 * exactly the requests it claims (same seed, same waits), so the floor it reports is the policies' difference only.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pollModel } from "../../bench/lib/poll-model";

const O = { hosts: 500, intervalS: 3600, endS: 3 * 3600, renewAtS: 1.75 * 3600, seed: 7 };
const total = (r: { requests: number }) => r.requests;

describe("fleet polling model", () => {
  it("the agent's policy and the ideal spread each add exactly one download per host; the secret-every-poll policy adds none", () => {
    const polls = total(pollModel("noRenewal", O));
    assert.equal(total(pollModel("asBuilt", O)), polls + O.hosts);
    assert.equal(total(pollModel("idealSpread", O)), polls + O.hosts);
    assert.deepEqual(pollModel("secretEveryPoll", O), pollModel("noRenewal", O));
  });
  it("with the renewal after the end nothing is downloaded, and the same seed gives the same windows", () => {
    const late = { ...O, renewAtS: O.endS + 1 };
    assert.deepEqual(pollModel("asBuilt", late), pollModel("noRenewal", late));
    assert.deepEqual(pollModel("asBuilt", O), pollModel("asBuilt", O));
    assert.notDeepEqual(pollModel("asBuilt", O), pollModel("asBuilt", { ...O, seed: 8 }));
  });
  it("the agent's downloads land in the polls after the renewal: the hour after it has about twice the polls' rate", () => {
    const r = pollModel("asBuilt", { ...O, hosts: 5000 });
    const base = pollModel("noRenewal", { ...O, hosts: 5000 });
    assert.ok(r.busiest > base.busiest * 1.5, `${r.busiest} vs ${base.busiest}`);
  });
});
