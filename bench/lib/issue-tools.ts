/**
 * The contenders of bench/issue-latency.ts: the Tool shape every one implements, and kv-acme's, which runs in a child
 * process (bench/lib/kv-acme-runner.ts) compiled with tsc and run by plain node, as the Function App runs dist/.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { createInterface, type Interface } from "node:readline";
import type { Stack } from "../../src/local/stack";
import { round } from "./stats";

export const REPO = path.resolve(__dirname, "../..");
export const TOOL_NAMES = ["kvAcme", "certbot", "lego"] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export interface Sample {
  ms: number;
  peakRssMb?: number;
}

/** One contender: prepare() registers the account / issues the warm-up certificate; issue() is one timed run. */
export interface Tool {
  name: ToolName;
  prepare(): Promise<void>;
  issue(apex: string): Promise<Sample>;
  /** Peak RSS over all runs (MB) and other figures, when the tool reports them once at the end. */
  finish?(): Promise<{ peakRssMb?: number; startupRssMb?: number }>;
}

export const RUNNER_TS = path.join("bench", "lib", "kv-acme-runner.ts");

/**
 * Compiles the runner and what it imports (tsc, no type check: `npm run typecheck` does that) into outDir; returns
 * the command that runs it with plain node. node_modules are found through NODE_PATH (CommonJS).
 */
export function compileRunner(outDir: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const tsc = require.resolve("typescript/bin/tsc", { paths: [REPO] });
  const flags = [
    "--outDir",
    outDir,
    "--rootDir",
    ".",
    "--module",
    "commonjs",
    "--moduleResolution",
    "node",
    "--target",
    "ES2022",
    "--esModuleInterop",
    "--resolveJsonModule",
    "--skipLibCheck",
    "--types",
    "node",
    "--noCheck",
  ];
  execFileSync(process.execPath, [tsc, RUNNER_TS, ...flags], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  return { args: [path.join(outDir, RUNNER_TS.replace(/\.ts$/, ".js"))], env: { NODE_PATH: path.join(REPO, "node_modules") } };
}

/** kv-acme in a child process speaking the runner's line protocol. */
export function kvAcmeTool(stack: Stack, runner: () => { args: string[]; env: NodeJS.ProcessEnv }, zone: string): Tool {
  let child: ChildProcessWithoutNullStreams | undefined;
  let lines: Interface | undefined;
  let stderr = "";
  const pending: Array<(line: string) => void> = [];
  const request = (body: unknown, timeoutMs = 180_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      if (!child || child.exitCode !== null)
        return reject(new Error(`kv-acme runner is not running: ${stderr.trim().split("\n").slice(-5).join("\n")}`));
      const timer = setTimeout(() => reject(new Error("kv-acme runner did not answer in time")), timeoutMs);
      pending.push((line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, unknown>);
      });
      child.stdin.write(JSON.stringify(body) + "\n");
    });
  const issue = async (apex: string): Promise<Sample> => {
    const answer = await request({ dnsNames: [apex, `*.${apex}`], keyType: "EC-P256" });
    if (answer.ok !== true) throw new Error(String(answer.error));
    return { ms: Number(answer.ms) };
  };
  return {
    name: "kvAcme",
    async prepare() {
      const command = runner();
      child = spawn(process.execPath, command.args, {
        cwd: REPO,
        env: { ...process.env, ...stack.env, ...command.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString("utf8")).slice(-16_384)));
      child.on("exit", (code) => {
        // Fail whoever is still waiting.
        for (const p of pending.splice(0))
          p(JSON.stringify({ ok: false, error: `kv-acme runner exited (${code}): ${stderr.trim().split("\n").slice(-5).join("\n")}` }));
      });
      lines = createInterface({ input: child.stdout });
      lines.on("line", (line) => pending.shift()?.(line));
      await issue(`bench-0-kv.${zone}`); // creates the account (its key goes to the vault)
    },
    issue: (apex) => issue(apex),
    async finish() {
      if (!child || child.exitCode !== null) return {};
      const answer = await request({ exit: true }, 10_000);
      lines?.close();
      return { peakRssMb: Number(answer.maxRssMb), startupRssMb: round(Number(answer.startupRssMb)) };
    },
  };
}
