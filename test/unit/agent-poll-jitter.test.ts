/**
 * Poll jitter (src/agent/poller.ts pollDelayMs, wired in runAgent): the first wait after start is drawn from the
 * stationary distribution of the jittered waits (so a fleet started together polls at a flat rate), later waits
 * stay within the interval +/- POLL_JITTER_FRACTION, and runAgent sleeps what it computes.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { rng } from "../../bench/lib/rng";
import { runAgent } from "../../src/agent/index";
import { POLL_JITTER_FRACTION, pollDelayMs } from "../../src/agent/poller";
import { parseAgentSettings } from "../../src/agent/settings";
import type { CertificateStore } from "../../src/agent/stores/types";
import type { VaultReader } from "../../src/agent/vault";

describe("pollDelayMs", () => {
  it("keeps every later wait within the interval +/- the jitter fraction, and reaches both ends", () => {
    assert.equal(POLL_JITTER_FRACTION, 0.1);
    assert.equal(pollDelayMs(3600, false, 0), 3_240_000);
    assert.equal(pollDelayMs(3600, false, 0.5), 3_600_000);
    assert.equal(pollDelayMs(3600, false, 1), 3_960_000);
    const rnd = rng(1);
    const waits = Array.from({ length: 10_000 }, () => pollDelayMs(3600, false, rnd()));
    assert.ok(waits.every((w) => w >= 3_240_000 && w <= 3_960_000));
    // Spread: the draws cover the whole band, not one value (no jitter would give 3,600,000 every time).
    assert.ok(Math.min(...waits) < 3_260_000, `min ${Math.min(...waits)}`);
    assert.ok(Math.max(...waits) > 3_940_000, `max ${Math.max(...waits)}`);
  });

  it("draws the first wait from the stationary distribution: flat up to 0.9 intervals, falling to zero at 1.1", () => {
    assert.equal(pollDelayMs(3600, true, 0), 1000, "never below one second");
    assert.equal(pollDelayMs(3600, true, 0.25), 900_000);
    assert.equal(pollDelayMs(3600, true, 0.9), 3_240_000);
    // Inverse of the falling part: F(x) = 0.9 + (s - s^2 / (0.4 I)) / I at x = 0.9 I + s; F = 0.975 at s = 0.1 I.
    assert.equal(pollDelayMs(3600, true, 0.975), 3_600_000);
    assert.equal(pollDelayMs(3600, true, 1), 3_960_000);
    const rnd = rng(2);
    const buckets = new Array<number>(40).fill(0); // 100-s buckets up to 4,000 s
    for (let i = 0; i < 40_000; i++) {
      const w = pollDelayMs(3600, true, rnd());
      assert.ok(w >= 1000 && w <= 3_960_000);
      buckets[Math.floor(w / 100_000)]++;
    }
    // Flat part: 40,000 / 36 intervals' worth = 1,111 per bucket; the band 3,240-3,960 s holds a tenth, falling.
    const flat = buckets.slice(0, 32);
    assert.ok(Math.max(...flat) <= 1250 && Math.min(...flat) >= 975, `flat part ${Math.min(...flat)}..${Math.max(...flat)}`);
    const band = buckets.slice(33, 39).reduce((s, x) => s + x, 0) + buckets[32] * 0.6 + buckets[39] * 0.6;
    assert.ok(Math.abs(band - 4000) < 400, `band ${band} of 4,000`);
    assert.ok(buckets[33] > buckets[36] && buckets[36] > buckets[39], "the density falls across the band");
  });

  it("keeps a fleet started together at a flat polling rate: no 100-s bucket above 1.2x the mean over 3 intervals", () => {
    // 20,000 hosts whose start-up cycles end within 53 s (the sim's start-up herd), then the real waits.
    // With a uniform first wait over one interval, the hosts with a short first wait poll again while the ones
    // with a long one have not polled yet: about 1.45x the mean around one interval after the start.
    const hosts = 20_000;
    const intervalS = 3600;
    const endMs = 3 * intervalS * 1000;
    const buckets = new Array<number>(endMs / 100_000).fill(0);
    for (let h = 0; h < hosts; h++) {
      const rnd = rng(1000 + h);
      let t = (h / hosts) * 53_000;
      for (let first = true; ; first = false) {
        t += pollDelayMs(intervalS, first, rnd());
        if (t >= endMs) break;
        buckets[Math.floor(t / 100_000)]++;
      }
    }
    const steady = buckets.slice(1); // the first bucket holds the start-up
    const mean = steady.reduce((s, x) => s + x, 0) / steady.length;
    assert.ok(Math.abs(mean - (hosts * 100) / intervalS) < 0.02 * mean, `mean ${mean}`);
    const busiest = Math.max(...steady);
    assert.ok(busiest <= 1.2 * mean, `busiest 100-s bucket ${busiest} = ${(busiest / mean).toFixed(2)}x the mean ${mean.toFixed(1)}`);
  });

  it("clamps out-of-range draws and never waits less than a second", () => {
    assert.equal(pollDelayMs(3600, false, -1), 3_240_000);
    assert.equal(pollDelayMs(3600, false, 2), 3_960_000);
    assert.equal(pollDelayMs(1, false, 0), 1000);
  });
});

describe("runAgent polling waits", () => {
  let dir: string | undefined;
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("sleeps the jittered delays: a spread first wait, then interval +/- the fraction", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-jitter-"));
    const settings = parseAgentSettings(
      {
        secretsManagementSettings: {
          pollingIntervalInS: "600",
          observedCertificates: [{ url: "https://unreachable.vault.azure.net/secrets/web", certificateStoreLocation: dir }],
        },
        kvAcme: {
          stateFile: path.join(dir, "state.json"),
          statusFile: path.join(dir, "status.json"),
          statusFolder: path.join(dir, "status"),
        },
      },
      { platform: "linux" },
    ).settings;
    // The vault is unreachable: every cycle fails fast, which is all the waits between cycles need.
    const vault: VaultReader = {
      currentVersion: () => Promise.reject(new Error("vault unreachable")),
      getSecret: () => Promise.reject(new Error("vault unreachable")),
    };
    const draws = [0.25, 0, 1, 0.5];
    const sleeps: number[] = [];
    const controller = new AbortController();
    let cycles = 0;
    await runAgent(settings, {
      once: false,
      signal: controller.signal,
      logger: { info: () => {}, warn: () => {}, error: () => {} },
      vault,
      store: {} as CertificateStore,
      random: () => draws[sleeps.length],
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length >= draws.length) controller.abort();
      },
      onCycle: () => void cycles++,
    });
    assert.deepEqual(sleeps, [150_000, 540_000, 660_000, 600_000]);
    assert.equal(cycles, 4, "the start-up cycle and one after each wait but the aborted last");
  });
});
