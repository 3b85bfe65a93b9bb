/** Test helper: runs the kv-acme CLI as a user does (bin/kv-acme.js in a child process) and collects its output. */
import { spawn } from "node:child_process";
import path from "node:path";

export const CLI_BIN = path.resolve(__dirname, "..", "..", "bin", "kv-acme.js");

export function runCliProcess(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
