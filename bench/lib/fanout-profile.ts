/**
 * Where the time of a renewal fan-out goes, from what the run itself recorded (no sampling profiler needed):
 *
 * - per step: the issueCertificate histories' timestamps. For each activity, `TaskScheduled -> completion` is the
 *   activity's time (queue wait in the host's activity pool + the work itself); `completion -> next scheduling` is the
 *   host's share (journal the completion, replay the episode, persist the new history); durable timers are reported
 *   apart (`timer:*`). Medians and totals across every child instance of the run.
 * - CPU: user+system seconds of this process (app, local host and the Key Vault / ARM / DNS / token stand-ins all
 *   run in it) and of the Pebble child process, over the measured interval, against the wall time and core count.
 */
import { readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import type { HistoryEvent } from "../../src/local/host/store";
import { median } from "./stats";

/** Per-step durations of a set of orchestration histories. */
export interface StepBreakdown {
  /** Step name -> { count, medianMs, totalMs } (activities by name, "host:episode" for the host's share, "timer" for durable timers). */
  steps: Record<string, { count: number; medianMs: number; totalMs: number }>;
  /** Sum over instances of first event -> last event. */
  instanceMs: number;
}

const SCHEDULED = new Set([4, 7, 10]);
const COMPLETION: Record<number, string> = {
  5: "TaskScheduledId",
  6: "TaskScheduledId",
  8: "TaskScheduledId",
  9: "TaskScheduledId",
  11: "TimerId",
};

/** Breaks the histories down per step (see the module comment). */
export function stepBreakdown(histories: HistoryEvent[][]): StepBreakdown {
  const samples = new Map<string, number[]>();
  const add = (k: string, ms: number) => {
    const list = samples.get(k) ?? [];
    list.push(ms);
    samples.set(k, list);
  };
  let instanceMs = 0;
  for (const history of histories) {
    if (history.length === 0) continue;
    const t = (e: HistoryEvent) => Date.parse(e.Timestamp);
    instanceMs += t(history[history.length - 1] as HistoryEvent) - t(history[0] as HistoryEvent);
    const scheduled = new Map<number, HistoryEvent>();
    for (const e of history) if (SCHEDULED.has(e.EventType)) scheduled.set(e.EventId, e);
    for (let i = 0; i < history.length; i++) {
      const e = history[i] as HistoryEvent;
      const field = COMPLETION[e.EventType];
      if (!field) continue;
      const s = scheduled.get(Number(e[field]));
      if (!s) continue;
      add(s.EventType === 10 ? "timer" : String(s.Name), t(e) - t(s));
      // The host's share: from this completion to the next thing the orchestrator scheduled (or finished).
      const next = history.slice(i + 1).find((n) => SCHEDULED.has(n.EventType) || n.EventType === 1);
      if (next) add("host:episode", t(next) - t(e));
    }
  }
  const steps: StepBreakdown["steps"] = {};
  for (const [k, list] of [...samples].sort((a, b) => b[1].reduce((x, y) => x + y, 0) - a[1].reduce((x, y) => x + y, 0))) {
    steps[k] = { count: list.length, medianMs: Math.round(median(list)), totalMs: list.reduce((x, y) => x + y, 0) };
  }
  return { steps, instanceMs };
}

/** CPU seconds (user + system) of a process from /proc (Linux), or undefined. */
function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/** Child processes of this process named `comm`. */
function childPids(comm: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const c = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (c === comm && ppid === process.pid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU used by this process and by Pebble between start() and stop(). */
export function cpuMeter(): {
  stop(): {
    wallMs: number;
    nodeCpuS: number;
    pebbleCpuS: number | null;
    cores: number;
    nodeShareOfOneCore: number;
    busyShareOfMachine: number;
  };
} {
  const started = performance.now();
  const node0 = process.cpuUsage();
  const pebble = childPids("pebble");
  const pebble0 = pebble.map(procCpuSeconds);
  return {
    stop() {
      const wallMs = performance.now() - started;
      const node = process.cpuUsage(node0);
      const nodeCpuS = (node.user + node.system) / 1e6;
      const pebble1 = pebble.map(procCpuSeconds);
      const pebbleCpuS = pebble.length ? pebble1.reduce<number>((s, v, i) => s + (v ?? 0) - (pebble0[i] ?? 0), 0) : null;
      const cores = os.cpus().length;
      const round = (v: number) => Math.round(v * 100) / 100;
      return {
        wallMs: Math.round(wallMs),
        nodeCpuS: round(nodeCpuS),
        pebbleCpuS: pebbleCpuS === null ? null : round(pebbleCpuS),
        cores,
        nodeShareOfOneCore: round(nodeCpuS / (wallMs / 1000)),
        busyShareOfMachine: round((nodeCpuS + (pebbleCpuS ?? 0)) / ((wallMs / 1000) * cores)),
      };
    },
  };
}
