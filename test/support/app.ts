/**
 * Test helper: a private local stack plus the local Functions host running the real function app (every module in
 * functions/), in this process, with the app runtime built from the stack's settings.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createRuntime, setRuntime, Runtime } from "../../src/app/runtime";
import { localAuthMe } from "../../src/local/auth-me";
import { startLocalHost, LocalHost, LocalHostOptions } from "../../src/local/host";
import type { StackOptions } from "../../src/local/stack";
import { startTestStack, TestStack } from "./stack";

export const repoRoot = path.resolve(__dirname, "..", "..");

/** Absolute paths of the function app's modules (functions/*.ts). */
export async function functionModules(): Promise<string[]> {
  const dir = path.join(repoRoot, "functions");
  return (await readdir(dir))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .sort()
    .map((f) => path.join(dir, f));
}

export interface TestApp {
  stack: TestStack;
  host: LocalHost;
  runtime: Runtime;
  /** Base URL of the app's HTTP API (…/api). */
  api: string;
  close(): Promise<void>;
}

export async function startTestApp(
  options: { stack?: Omit<StackOptions, "ephemeral" | "stateDir">; env?: Record<string, string>; host?: Partial<LocalHostOptions> } = {},
): Promise<TestApp> {
  const stack = await startTestStack(options.stack);
  const env = { ...stack.env, KvAcme__Auth__Mode: "local", ...options.env };
  const runtime = createRuntime(env, { credential: stack.credential });
  const previous = setRuntime(runtime);
  const hostState = await mkdtemp(path.join(os.tmpdir(), "kv-acme-host-"));
  let host: LocalHost;
  try {
    host = await startLocalHost({
      modules: await functionModules(),
      stateDir: hostState,
      port: 0,
      env,
      timers: false,
      authMe: () => localAuthMe(runtime.settings.auth),
      ...options.host,
    });
  } catch (err) {
    setRuntime(previous);
    await stack.close();
    throw err;
  }
  return {
    stack,
    host,
    runtime,
    api: `${host.url}/api`,
    async close() {
      await host.close();
      await runtime.telemetry.shutdown().catch(() => undefined);
      setRuntime(previous);
      await stack.close();
      await rm(hostState, { recursive: true, force: true });
    },
  };
}
