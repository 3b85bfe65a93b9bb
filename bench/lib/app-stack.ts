/**
 * The real function app on a private local stack for the renewal benchmarks (bench/renewal-fanout.ts, bench/scale.ts):
 * a stack on ephemeral ports whose Pebble issues certificates of a short validity, the local Functions host running
 * every module in functions/ in this process, and the app runtime built from the stack's settings. Also the two steps
 * both benchmarks take before a renewal run: issue certificates through the issuance orchestration, then wait until
 * they are all due.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createRuntime, setRuntime, type Runtime } from "../../src/app/runtime";
import { startLocalHost, type LocalHost } from "../../src/local/host";
import { startStack, type Stack } from "../../src/local/stack";
import { ORCHESTRATIONS, certificateInstanceId } from "../../src/orchestrations/ids";

export interface BenchApp {
  stack: Stack;
  host: LocalHost;
  /** The app runtime the host's functions use (set as the process runtime). */
  runtime: Runtime;
  /** The app settings the host and the runtime got: the stack's plus local auth plus the bench's own. */
  env: Record<string, string>;
  /** Stops the host and the stack and removes their state. */
  close(): Promise<void>;
}

export interface BenchAppOptions {
  /** Names the temporary state folder (kv-acme-bench-<name>-…). */
  name: string;
  /** Validity of the certificates Pebble issues. */
  validitySeconds: number;
  /** Settings on top of the stack's and `KvAcme__Auth__Mode: local`. */
  env: Record<string, string>;
  /** Builds the app runtime (default: from the settings with the stack's credential). */
  runtime?: (stack: Stack, env: Record<string, string>) => Runtime;
  /** The host's log lines (default: dropped). */
  log?: (message: string) => void;
}

export async function startBenchApp(options: BenchAppOptions): Promise<BenchApp> {
  const root = path.resolve(__dirname, "..", "..");
  const tmp = await mkdtemp(path.join(os.tmpdir(), `kv-acme-bench-${options.name}-`));
  const stack = await startStack({
    ephemeral: true,
    stateDir: path.join(tmp, "stack"),
    writeStackJson: false,
    pebble: { validityPeriodSeconds: options.validitySeconds },
  });
  const env: Record<string, string> = { ...stack.env, KvAcme__Auth__Mode: "local", ...options.env };
  let host: LocalHost;
  let runtime: Runtime;
  try {
    runtime = options.runtime ? options.runtime(stack, env) : createRuntime(env, { credential: stack.credential });
    setRuntime(runtime);
    const modules = (await readdir(path.join(root, "functions")))
      .filter((f) => f.endsWith(".ts"))
      .sort()
      .map((f) => path.join(root, "functions", f));
    host = await startLocalHost({
      modules,
      stateDir: path.join(tmp, "host"),
      port: 0,
      env,
      timers: false,
      log: options.log ?? (() => undefined),
    });
  } catch (err) {
    await stack.close();
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return {
    stack,
    host,
    runtime,
    env,
    async close() {
      await host.close();
      await stack.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * Issues one certificate per name (`<name>.example.org`) through the issuance orchestration, `batch` starts at a
 * time, waits for every one and throws unless all completed; then waits until all of them are due (the bench sets
 * `KvAcme__RenewAtPercentOfLifetime: 1`: due 1 % into a lifetime of `validitySeconds`). Returns the time the
 * issuances took.
 */
export async function issueAndWaitUntilDue(
  host: LocalHost,
  names: string[],
  options: { validitySeconds: number; batch: number; timeoutMs: number },
): Promise<{ issueMs: number }> {
  const started = performance.now();
  for (let i = 0; i < names.length; i += options.batch)
    await Promise.all(
      names
        .slice(i, i + options.batch)
        .map((n) =>
          host.durable.startNew(ORCHESTRATIONS.issue, { dnsNames: [`${n}.example.org`], certificateName: n }, certificateInstanceId(n)),
        ),
    );
  const issued = await Promise.all(names.map((n) => host.waitForInstance(certificateInstanceId(n), options.timeoutMs)));
  const failed = issued.filter((s) => s.runtimeStatus !== "Completed");
  if (failed.length > 0) throw new Error(`${failed.length} issuances failed: ${JSON.stringify(failed[0]?.output)}`);
  const issueMs = Math.round(performance.now() - started);
  const dueAt =
    Math.max(...issued.map((s) => Date.parse((s.output as { notBefore: string }).notBefore))) + options.validitySeconds * 10 + 1000;
  if (dueAt > Date.now()) await new Promise((r) => setTimeout(r, dueAt - Date.now()));
  return { issueMs };
}
