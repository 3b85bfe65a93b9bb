/**
 * Timing a whole external process (how users run certbot and lego) and sampling its peak RSS from /proc:
 * VmHWM is the kernel's high-water mark of the process's resident set, so the last sample before exit is (within
 * one sampling interval) the peak. Hook processes the tool spawns are not counted.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

export interface TimedRun {
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Peak resident set of the process itself, MB (undefined when /proc could not be read). */
  peakRssMb?: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface TimedRunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** How often /proc/<pid>/status is read, default 20 ms. */
  sampleEveryMs?: number;
}

/** Spawns `command args`, resolves when it exits with the wall time from spawn to exit. Never rejects on exit codes. */
export function runTimed(command: string, args: string[], options: TimedRunOptions = {}): Promise<TimedRun> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout = keepTail(stdout + c.toString("utf8"))));
    child.stderr.on("data", (c: Buffer) => (stderr = keepTail(stderr + c.toString("utf8"))));
    let peakKb: number | undefined;
    const sample = () => {
      if (child.pid === undefined) return;
      const kb = readVmHwmKb(child.pid);
      if (kb !== undefined) peakKb = Math.max(peakKb ?? 0, kb);
    };
    const sampler = setInterval(sample, options.sampleEveryMs ?? 20);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? 300_000);
    let spawnError: Error | undefined;
    child.on("error", (err) => (spawnError = err));
    child.on("close", (code, signal) => {
      const ms = performance.now() - started;
      clearInterval(sampler);
      clearTimeout(timer);
      if (spawnError) stderr += `\n${spawnError.message}`;
      resolve({ ms, code, signal, peakRssMb: peakKb === undefined ? undefined : peakKb / 1024, stdout, stderr, timedOut });
    });
  });
}

/** VmHWM of a live process in kB, or undefined (gone, or not Linux). */
export function readVmHwmKb(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A short description of a failed run: exit status and the last lines of its output. */
export function describeFailure(run: TimedRun, lines = 12): string {
  const status = run.timedOut ? "timed out" : run.signal ? `killed by ${run.signal}` : `exit code ${run.code}`;
  const tail = `${run.stderr}\n${run.stdout}`
    .split("\n")
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-lines)
    .join("\n");
  return `${status}${tail ? `: ${tail}` : ""}`;
}

function keepTail(s: string, max = 64 * 1024): string {
  return s.length > max ? s.slice(-max) : s;
}
