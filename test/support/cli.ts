/** Test helper: runs the kv-acme CLI as a user does (bin/kv-acme.js in a child process) and collects its output. */
import { spawn } from "node:child_process";
import path from "node:path";

export const CLI_BIN = path.resolve(__dirname, "..", "..", "bin", "kv-acme.js");

/** Preload for a CLI process on a test's JumpingClock: `{ clockOffsetMs }` of runCliProcess (./clock-offset.cjs). */
const CLOCK_OFFSET_PRELOAD = path.join(__dirname, "clock-offset.cjs");

/**
 * Runs the CLI; with `clockOffsetMs` its clock is the wall clock plus that much (a JumpingClock's jumps: the host's
 * `clock.now() - Date.now()`), so it sees the same due certificates as the host without anyone sleeping.
 */
export function runCliProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { clockOffsetMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const clock =
    options.clockOffsetMs === undefined
      ? { nodeArgs: [], env: {} }
      : { nodeArgs: ["--require", CLOCK_OFFSET_PRELOAD], env: { KVACME_TEST_CLOCK_OFFSET_MS: String(Math.round(options.clockOffsetMs)) } };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...clock.nodeArgs, CLI_BIN, ...args], {
      env: { ...env, ...clock.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
