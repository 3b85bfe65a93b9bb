/**
 * One child process of the local stack, supervised the same way for all of them (Azurite, Pebble, the DNS servers):
 * spawned with piped output and a minimal environment, its output kept as a ring of the last lines (and passed to
 * an optional sink), its exit observable, and stopped with SIGTERM, then SIGKILL when it does not exit in time.
 */
import { spawn, type ChildProcess } from "node:child_process";

/** The last `capacity` lines of output; one ring may outlive several processes (a daemon started again). */
export class LogRing {
  readonly #lines: string[] = [];
  constructor(readonly capacity: number) {}
  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.capacity) this.#lines.shift();
  }
  /** The last `count` lines (all kept by default), joined with newlines. */
  tail(count = this.capacity): string {
    return this.#lines.slice(-count).join("\n");
  }
}

export interface SuperviseOptions {
  /** The child's environment (default: PATH only). */
  env?: NodeJS.ProcessEnv;
  /** Where its lines are kept (default a new ring of 200). */
  ring?: LogRing;
  /** Every line of its stdout and stderr as it arrives. */
  onLine?: (line: string) => void;
}

export interface SupervisedChild {
  readonly process: ChildProcess;
  readonly ring: LogRing;
  /** Resolves with the exit code (null when killed by a signal or never started) once the process is gone. */
  readonly exited: Promise<number | null>;
  /** True until it exits (or failed to spawn). */
  readonly running: boolean;
  /** SIGTERM, then SIGKILL after `killAfterMs`; resolves when it is gone (at once when it already is). */
  stop(killAfterMs: number): Promise<void>;
}

export function superviseChild(command: string, args: string[], options: SuperviseOptions = {}): SupervisedChild {
  const ring = options.ring ?? new LogRing(200);
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: options.env ?? { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line) continue;
      ring.push(line);
      options.onLine?.(line);
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  let gone = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      gone = true;
      resolve(code);
    });
    child.once("error", (err) => {
      ring.push(`spawn error: ${err.message}`);
      if (child.pid === undefined) {
        gone = true;
        resolve(null);
      }
    });
  });
  return {
    process: child,
    ring,
    exited,
    get running() {
      return !gone && child.exitCode === null && child.signalCode === null;
    },
    async stop(killAfterMs) {
      if (gone || child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
