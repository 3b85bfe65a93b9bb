/**
 * bench:fleet-scale `--part sim`: the fleet's Key Vault polling on a simulated clock. `--agents` real agents
 * (runAgent: the start-up cycle, the jittered waits of pollDelayMs, the Poller with the SDK vault reader and the Linux
 * store) against the Key Vault stand-in with Key Vault's published limits (src/local/keyvault/throttle.ts, on the same
 * clock), for `--intervals` default polling intervals (3600 s, at least 2.5), with a renewal of every certificate
 * 1.25 intervals before the end.
 *
 * The clock is a skip-ahead clock: it runs with real time while any agent works (so the SDK's Retry-After waits
 * and the limiter's windows are real on it) and jumps to the next agent's wake-up when every agent sleeps. The
 * agents' `sleep` is this clock's; every agent starts at once (a fleet booted together), at most `--in-flight`
 * of them busy at a time (this process is the whole fleet).
 *
 * Measured on the wire (node:http's diagnostics channel, each request tied to its agent with AsyncLocalStorage):
 * requests per 10-s window (admitted = not 429) against the vault's 4,000; the busiest window against the mean after
 * the start-up; every 429 and whether that agent's next request waited its Retry-After; after the renewal, how long
 * until every agent runs the new version.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { setMaxListeners } from "node:events";
import type { ClientRequest, IncomingMessage } from "node:http";
import path from "node:path";
import { runAgent } from "../src/agent/index";
import { POLL_JITTER_FRACTION } from "../src/agent/poller";
import { parseAgentSettings } from "../src/agent/settings";
import { createLinuxStore } from "../src/agent/stores/linux";
import { createSdkVaultReader } from "../src/agent/vault";
import { buildPem, createSelfSigned, generateKey } from "../src/local/keyvault/crypto";
import { KEY_VAULT_LIMITS, THROTTLE_WINDOW_MS } from "../src/local/keyvault/throttle";
import { pollModelSummary } from "./lib/poll-model";
import type { startStack } from "../src/local/stack";
import { rng } from "./lib/rng";

type Stack = Awaited<ReturnType<typeof startStack>>;

/** Real time while anything runs; `jumpTo` skips ahead when nothing does. Milliseconds since the epoch. */
export class SkipAheadClock {
  #offset = 0;
  now(): number {
    return performance.timeOrigin + performance.now() + this.#offset;
  }
  jumpTo(t: number): void {
    const d = t - this.now();
    if (d > 0) this.#offset += d;
  }
}

/** Min-heap of sleepers by wake-up time. */
class Sleepers {
  readonly #h: { at: number; wake: () => void }[] = [];
  get size() {
    return this.#h.length;
  }
  peek() {
    return this.#h[0];
  }
  push(x: { at: number; wake: () => void }) {
    const h = this.#h;
    h.push(x);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }
  pop() {
    const h = this.#h;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].at < h[m].at) m = l;
        if (r < h.length && h[r].at < h[m].at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

export interface SimOptions {
  agents: number;
  certificates: number;
  intervals: number;
  intervalS: number;
  inFlight: number;
  /** The stand-in's "other" limit per 10 s when not Key Vault's published 4,000. */
  otherLimit?: number;
}

export async function simulatedPolling(stack: Stack, dir: string, clock: SkipAheadClock, o: SimOptions) {
  const vaultUrl = stack.info.keyVaultUrl.replace(/\/$/, "");
  const vaultHost = new URL(vaultUrl).host;
  const names = Array.from({ length: o.certificates }, (_, i) => `sim-${i}`);
  const { CertificateClient } = await import("@azure/keyvault-certificates");
  const certificates = new CertificateClient(vaultUrl, stack.credential, { disableChallengeResourceVerification: true });
  const keyPem = await generateKey({ kty: "EC", crv: "P-256" });
  /** Imports a new version of every certificate (a renewal); returns the new version ids. */
  const importAll = async (): Promise<Map<string, string>> => {
    const versions = new Map<string, string>();
    for (const n of names) {
      const der = await createSelfSigned(
        keyPem,
        {
          subject: `CN=${n}.example.test`,
          sans: { dns_names: [`${n}.example.test`] },
          ekus: ["1.3.6.1.5.5.7.3.1"],
          keyUsage: ["digitalSignature"],
        },
        3,
      );
      const c = await certificates.importCertificate(n, Buffer.from(buildPem(keyPem, [der])), {
        policy: { contentType: "application/x-pem-file" },
      });
      versions.set(n, c.properties.version!);
    }
    return versions;
  };
  await importAll();

  // Every wire request to the vault, by agent, on the simulated clock.
  const agentOf = new AsyncLocalStorage<number>();
  const requestAgent = new WeakMap<ClientRequest, { agent: number; at: number }>();
  const windows = new Map<number, { admitted: number; throttled: number }>();
  const pending429 = new Map<number, number>(); // agent -> earliest time its next request may start
  let throttled = 0;
  let honoured = 0;
  let early = 0;
  let requests = 0;
  const onStart = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    if (request.getHeader("host") !== vaultHost) return;
    const agent = agentOf.getStore();
    if (agent === undefined) return; // setup and renewal imports
    const at = clock.now();
    requests++;
    requestAgent.set(request, { agent, at });
    const notBefore = pending429.get(agent);
    if (notBefore !== undefined) {
      pending429.delete(agent);
      if (at >= notBefore) honoured++;
      else early++;
    }
  };
  const onFinish = (message: unknown) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const r = requestAgent.get(request);
    if (!r) return;
    const w = Math.floor(r.at / THROTTLE_WINDOW_MS);
    const slot = windows.get(w) ?? { admitted: 0, throttled: 0 };
    windows.set(w, slot);
    if (response.statusCode === 429) {
      slot.throttled++;
      throttled++;
      const retryAfterS = Number(response.headers["retry-after"] ?? 0);
      pending429.set(r.agent, clock.now() + retryAfterS * 1000);
    } else slot.admitted++;
  };
  subscribe("http.client.request.start", onStart);
  subscribe("http.client.response.finish", onFinish);

  const vault = createSdkVaultReader({ credential: stack.credential });
  const store = createLinuxStore({ aclEnabled: false });
  const logger = { info: () => {}, warn: () => {}, error: () => {} };
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // every agent's requests listen on the one stop signal
  const sleepers = new Sleepers();
  let busy = 0;
  let wakeLoop: () => void = () => {};
  const poke = () => wakeLoop();
  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      busy--;
      if (signal?.aborted) return resolve();
      sleepers.push({ at: clock.now() + ms, wake: resolve });
      poke();
    });

  const t0 = clock.now();
  const intervalMs = o.intervalS * 1000;
  // The renewal 1.25 intervals before the end: every agent polls at least once after it (a wait is at most 1.1 intervals).
  const renewAt = t0 + (o.intervals - 1.25) * intervalMs;
  const end = t0 + o.intervals * intervalMs;
  let renewed: Map<string, string> | undefined;
  const newVersionAt: (number | undefined)[] = new Array(o.agents).fill(undefined);
  let cycles = 0;
  let failedCycles = 0;
  let startUpDone = 0;
  let startUpEndedAt = t0;
  let maxLagMs = 0;

  const runs: Promise<number>[] = [];
  const startAgent = (i: number) => {
    const n = names[i % names.length];
    const settings = parseAgentSettings(
      {
        secretsManagementSettings: {
          pollingIntervalInS: String(o.intervalS),
          observedCertificates: [{ url: `${vaultUrl}/secrets/${n}`, certificateStoreLocation: path.join(dir, "stores", `a${i}`) }],
        },
        kvAcme: { stateFile: path.join(dir, "state", `a${i}.json`), statusFile: path.join(dir, "status", `a${i}.json`) },
      },
      { platform: "linux" },
    ).settings;
    let first = true;
    busy++;
    runs.push(
      agentOf.run(i, () =>
        runAgent(settings, {
          once: false,
          signal: controller.signal,
          logger,
          vault,
          store,
          sleep,
          random: rng(i + 1),
          onCycle: (r) => {
            cycles++;
            if (!r.allInstalled) failedCycles++;
            if (first) {
              first = false;
              startUpDone++;
              startUpEndedAt = clock.now();
            }
            if (renewed && newVersionAt[i] === undefined && r.statuses[0]?.version === renewed.get(n)) newVersionAt[i] = clock.now();
          },
        }),
      ),
    );
  };

  let next = 0;
  const wall0 = performance.now();
  for (;;) {
    const now = clock.now();
    if (!renewed && now >= renewAt) {
      renewed = await importAll();
      continue;
    }
    // Agents due first (a real host does not wait for others to boot), then the next ones to start.
    while (sleepers.size > 0 && sleepers.peek()!.at <= clock.now() && sleepers.peek()!.at < end && busy < o.inFlight) {
      const s = sleepers.pop();
      maxLagMs = Math.max(maxLagMs, clock.now() - s.at);
      busy++;
      s.wake();
    }
    while (next < o.agents && busy < o.inFlight) startAgent(next++);
    if (busy === 0 && next >= o.agents) {
      const at = Math.min(sleepers.size > 0 ? sleepers.peek()!.at : end, renewed ? end : renewAt);
      if (at >= end) break;
      clock.jumpTo(at);
      continue;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 20);
      wakeLoop = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  const wallSeconds = (performance.now() - wall0) / 1000;
  controller.abort();
  while (sleepers.size > 0) sleepers.pop().wake();
  await Promise.all(runs);
  unsubscribe("http.client.request.start", onStart);
  unsubscribe("http.client.response.finish", onFinish);

  // Windows after the start-up (every agent's first cycle done) to the end: the steady state the budget is about.
  const firstSteady = Math.floor(startUpEndedAt / THROTTLE_WINDOW_MS) + 1;
  const lastWindow = Math.floor((end - 1) / THROTTLE_WINDOW_MS);
  const steady: number[] = [];
  for (let w = firstSteady; w <= lastWindow; w++) steady.push(windows.get(w)?.admitted ?? 0);
  const steadyMean = steady.reduce((s, x) => s + x, 0) / Math.max(1, steady.length);
  const steadyMax = Math.max(0, ...steady);
  const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  const busiestAtHours = round(((firstSteady + steady.indexOf(steadyMax)) * THROTTLE_WINDOW_MS - t0) / 3_600_000, 3);
  // The steady state split at the renewal: before it each poll reads; after it each agent's next poll also downloads
  // the new version, so that part has its own, higher mean. Each part's busiest window against its own mean.
  const renewWindow = Math.floor(renewAt / THROTTLE_WINDOW_MS);
  const part = (from: number, to: number) => {
    const counts: number[] = [];
    for (let w = Math.max(from, firstSteady); w <= to; w++) counts.push(windows.get(w)?.admitted ?? 0);
    const mean = counts.reduce((sum, x) => sum + x, 0) / Math.max(1, counts.length);
    const busiest = Math.max(0, ...counts);
    return {
      windows: counts.length,
      meanAdmittedPer10s: round(mean),
      busiestAdmittedPer10s: busiest,
      busiestToMean: round(busiest / Math.max(mean, 1e-9)),
    };
  };
  const all = [...windows.values()].map((w) => w.admitted);
  const lags = newVersionAt.map((t) => (t === undefined ? undefined : (t - renewAt) / 1000));
  const missing = lags.filter((l) => l === undefined).length;
  const maxLagS = Math.max(0, ...lags.filter((l): l is number => l !== undefined));
  const budget = o.otherLimit ?? KEY_VAULT_LIMITS.other;
  return {
    agents: o.agents,
    certificates: o.certificates,
    pollingIntervalInS: o.intervalS,
    jitterFraction: POLL_JITTER_FRACTION,
    simulatedHours: round((end - t0) / 3_600_000),
    wallSeconds: Math.round(wallSeconds),
    inFlightCap: o.inFlight,
    cycles,
    failedCycles,
    wireRequests: requests,
    startUp: {
      seconds: round((startUpEndedAt - t0) / 1000, 1),
      busiestWindowAdmitted: Math.max(0, ...all),
      agentsDone: startUpDone,
    },
    steadyState: {
      windows: steady.length,
      meanAdmittedPer10s: round(steadyMean),
      busiestAdmittedPer10s: steadyMax,
      busiestToMean: round(steadyMax / Math.max(steadyMean, 1e-9)),
      busiestAtHours,
      startsAtHours: round((firstSteady * THROTTLE_WINDOW_MS - t0) / 3_600_000, 3),
      vaultBudgetPer10s: budget,
      meanShareOfBudgetPercent: round((steadyMean / budget) * 100, 3),
      busiestShareOfBudgetPercent: round((steadyMax / budget) * 100, 3),
      beforeRenewal: part(firstSteady, renewWindow - 1),
      fromRenewal: part(renewWindow, lastWindow),
      // The same fleet, waits and renewal without the network (./lib/poll-model.ts), 5 seeds: the agent's policy, the
      // evenest spread of the downloads an uncoordinated fleet can reach, the VM extension's secret-every-poll.
      modelBusiestToMean: pollModelSummary({
        hosts: o.agents,
        intervalS: o.intervalS,
        endS: (end - t0) / 1000,
        renewAtS: (renewAt - t0) / 1000,
      }),
    },
    throttled429s: throttled,
    retryAfter: { honoured, early, notRetried: pending429.size },
    maxWakeLagMs: Math.round(maxLagMs),
    renewal: {
      atHours: round((renewAt - t0) / 3_600_000),
      agentsOnNewVersion: o.agents - missing,
      agentsNotYet: missing,
      secondsUntilEveryAgent: missing === 0 ? round(maxLagS, 1) : undefined,
      goalSeconds: Math.round(o.intervalS * (1 + POLL_JITTER_FRACTION)),
    },
  };
}
