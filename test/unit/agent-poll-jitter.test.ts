/**
 * Poll jitter (src/agent/poller.ts pollDelayMs, wired in runAgent): the first wait after start is spread over one
 * interval, later waits stay within the interval +/- POLL_JITTER_FRACTION, and runAgent sleeps what it computes.
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

  it("spreads the first wait uniformly over one interval: no 100 s bucket above 1.25x the mean", () => {
    assert.equal(pollDelayMs(3600, true, 0), 3_600_000);
    assert.equal(pollDelayMs(3600, true, 0.75), 900_000);
    assert.equal(pollDelayMs(3600, true, 0.9999999), 1000, "never below one second");
    const rnd = rng(2);
    const buckets = new Array<number>(36).fill(0);
    for (let i = 0; i < 36_000; i++) {
      const w = pollDelayMs(3600, true, rnd());
      assert.ok(w >= 1000 && w <= 3_600_000);
      buckets[Math.min(35, Math.floor(w / 100_000))]++;
    }
    assert.ok(Math.max(...buckets) <= 1250, `busiest bucket ${Math.max(...buckets)} of mean 1000`);
    assert.ok(Math.min(...buckets) >= 750, `emptiest bucket ${Math.min(...buckets)} of mean 1000`);
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
    assert.deepEqual(sleeps, [450_000, 540_000, 660_000, 600_000]);
    assert.equal(cycles, 4, "the start-up cycle and one after each wait but the aborted last");
  });
});
