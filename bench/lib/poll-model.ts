/**
 * A network-free model of a fleet's Key Vault requests per 10-s window with the agent's real waits (pollDelayMs):
 * every host starts at 0 (its start-up cycle), then polls after its first wait and every jittered wait after it; at
 * `renewAtS` a new version of the observed certificate appears. What each policy sends:
 * - `asBuilt`: the agent (src/agent/poller.ts): one metadata request per poll, and the poll that first sees the new
 *   version also downloads it (the reference's "detect a new version; download it only then").
 * - `idealSpread`: one metadata request per poll, and each host's one download at an independent uniform moment of the
 *   propagation goal after the renewal (one interval + jitter): the most evenly an uncoordinated fleet can spread the
 *   downloads inside that goal, however the agent times them.
 * - `secretEveryPoll`: the Key Vault VM extension's policy, one secret GET per poll (the key material on every poll).
 * - `noRenewal`: polls only.
 * Reported: the steady state (windows after the start-up cycle, to the end) mean and busiest window, as
 * bench/fleet-sim.ts reports the simulation's.
 */
import { POLL_JITTER_FRACTION, pollDelayMs } from "../../src/agent/poller";
import { rng } from "./rng";

export type PollPolicy = "asBuilt" | "idealSpread" | "secretEveryPoll" | "noRenewal";
export const POLL_POLICIES: readonly PollPolicy[] = ["asBuilt", "idealSpread", "secretEveryPoll", "noRenewal"];

export interface PollModelOptions {
  hosts: number;
  intervalS: number;
  /** Length of the run, seconds. */
  endS: number;
  renewAtS: number;
  seed: number;
  windowS?: number;
}

export interface PollModelResult {
  /** Requests in the steady state's windows. */
  requests: number;
  meanPer10s: number;
  busiest: number;
  busiestToMean: number;
}

/** One seeded run of one policy (pure). */
export function pollModel(policy: PollPolicy, o: PollModelOptions): PollModelResult {
  const windowS = o.windowS ?? 10;
  const random = rng(o.seed);
  // The ideal spread's download moments from their own stream: every policy sees the very same polls.
  const spread = rng(o.seed + 0x9e3779b9);
  const counts = new Float64Array(Math.ceil(o.endS / windowS));
  const add = (t: number) => {
    if (t < o.endS) counts[Math.floor(t / windowS)]++;
  };
  for (let h = 0; h < o.hosts; h++) {
    let t = pollDelayMs(o.intervalS, true, random()) / 1000;
    let seen = false;
    while (t < o.endS) {
      add(t);
      if (policy === "asBuilt" && !seen && t >= o.renewAtS) add(t);
      if (t >= o.renewAtS) seen = true;
      t += pollDelayMs(o.intervalS, false, random()) / 1000;
    }
    if (policy === "idealSpread") add(o.renewAtS + spread() * o.intervalS * (1 + POLL_JITTER_FRACTION));
  }
  // The start-up cycle is at 0 and not modelled; the steady state starts with the second window, as in the simulation.
  const steady = Array.from(counts.subarray(1));
  const requests = steady.reduce((s, x) => s + x, 0);
  const mean = requests / Math.max(1, steady.length);
  const busiest = Math.max(0, ...steady);
  return { requests, meanPer10s: Math.round(mean * 100) / 100, busiest, busiestToMean: Math.round((busiest / mean) * 100) / 100 };
}

/** Each policy's busiest-window-to-mean ratio over `seeds` seeded runs: median, lowest, highest. */
export function pollModelSummary(
  o: Omit<PollModelOptions, "seed">,
  seeds = 5,
): Record<PollPolicy, { median: number; min: number; max: number }> {
  const out = {} as Record<PollPolicy, { median: number; min: number; max: number }>;
  for (const policy of POLL_POLICIES) {
    const ratios = Array.from({ length: seeds }, (_, i) => pollModel(policy, { ...o, seed: i + 1 }).busiestToMean).sort((a, b) => a - b);
    out[policy] = { median: ratios[Math.floor(ratios.length / 2)], min: ratios[0], max: ratios[ratios.length - 1] };
  }
  return out;
}
