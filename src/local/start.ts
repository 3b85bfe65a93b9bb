/**
 * `npm start`: the local stack (Pebble, Key Vault and Azure DNS stand-ins, token endpoint, DNS server) plus the local
 * Functions host on http://localhost:7071 running the function app as Azure loads it (the bundle dist/app.js, built
 * afresh at every start by scripts/package/app-bundle.ts), in ONE process. The app gets the stack's settings as its
 * app settings (its managed identity is the stack's token endpoint: IDENTITY_ENDPOINT / IDENTITY_HEADER) and the
 * documented local principal (KvAcme__Auth__Mode=local: every role); the automation
 * routes (/api/automation/*) take the function key printed at start. Writes .local/stack.json with functionsHostUrl.
 * Ctrl-C (SIGINT) or SIGTERM stops everything.
 *
 *   tsx src/local/start.ts [--port 7071] [--function-key K] [--ephemeral] [--no-timers] [--state DIR] [--vaults N]
 *
 * Node reads NODE_EXTRA_CA_CERTS only at start-up, so when it does not point at the local CA this process runs
 * itself again with it (TLS verification is never switched off).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { parseArgs } from "node:util";
import { localCaller } from "../api/auth";
import { loadSettings } from "../config/settings";
import { DASHBOARD_PATH } from "../dashboard/serve";
import { writeFileAtomic } from "../shared/fs";
import { localAuthMe } from "./auth-me";
import { ensureLocalCa } from "./ca";
import { startLocalHost } from "./host";
import { kvAcmeHome } from "./paths";
import { assertPortsFree } from "./net";
import { MAX_STACK_VAULTS, startStack } from "./stack";
import { errorMessage } from "../shared/errors";
import { buildAppBundle } from "../../scripts/package/app-bundle";

const say = (text: string): void => void process.stderr.write(`${text}\n`);

export interface StartOptions {
  port: number;
  functionKey: string;
  ephemeral: boolean;
  timers: boolean;
  stateDir: string;
  /** Key Vault stand-ins (the default vault, then vault2, ...). */
  vaults: number;
}

/** Parses the command line; throws with a message on bad input. */
export function parseStartArgs(argv: string[], env: Record<string, string | undefined> = {}): StartOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      "function-key": { type: "string" },
      ephemeral: { type: "boolean", default: false },
      "no-timers": { type: "boolean", default: false },
      state: { type: "string" },
      vaults: { type: "string" },
    },
    strict: true,
  });
  const port = values.port === undefined ? 7071 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be an integer from 0 to 65535, got "${values.port}"`);
  const vaults = values.vaults === undefined ? 1 : Number(values.vaults);
  if (!Number.isInteger(vaults) || vaults < 1 || vaults > MAX_STACK_VAULTS)
    throw new Error(`--vaults must be an integer from 1 to ${MAX_STACK_VAULTS}, got "${values.vaults}"`);
  const functionKey = values["function-key"] ?? env.KVACME_FUNCTION_KEY ?? randomBytes(24).toString("base64url");
  if (functionKey.length < 16) throw new Error("the function key must be at least 16 characters");
  return {
    port,
    functionKey,
    ephemeral: values.ephemeral,
    timers: !values["no-timers"],
    stateDir: path.resolve(values.state ?? path.join(kvAcmeHome(), "functions-host")),
    vaults,
  };
}

/** The function app as Azure loads it (package.json `main`): the bundle dist/app.js, built afresh. */
export async function functionModules(): Promise<string[]> {
  return [(await buildAppBundle({ sourcemap: true })).file];
}

async function reexecTrustingCa(caFile: string): Promise<never> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
  });
  // Ctrl-C reaches the whole process group: the child stops itself; forward SIGTERM, which only we may get.
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  const code = await new Promise<number>((resolve) => child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  process.exit(code);
}

async function main(): Promise<void> {
  let options: StartOptions;
  try {
    options = parseStartArgs(process.argv.slice(2), process.env);
  } catch (err) {
    say(
      `kv-acme start: ${(err as Error).message}\nusage: npm start -- [--port 7071] [--function-key K] [--ephemeral] [--no-timers] [--state DIR] [--vaults N]`,
    );
    process.exit(2);
  }
  const ca = await ensureLocalCa();
  if (process.env.NODE_EXTRA_CA_CERTS !== ca.caFile) await reexecTrustingCa(ca.caFile);

  const t0 = Date.now();
  if (!options.ephemeral) {
    await assertPortsFree(
      [{ part: "the local Functions host", port: options.port, flag: "--port N" }],
      "start this one on free ports with --ephemeral (and --port 0)",
    );
  }
  const stack = await startStack({ ephemeral: options.ephemeral, writeStackJson: true, vaults: options.vaults });
  const env: Record<string, string> = { ...stack.env, KvAcme__Auth__Mode: "local" };
  // The host's own view of the settings, for /.auth/me; the bundled app reads its settings from the environment.
  const settings = loadSettings({ ...process.env, ...env });
  let host;
  try {
    host = await startLocalHost({
      modules: await functionModules(),
      stateDir: options.stateDir,
      port: options.port,
      env,
      functionKeys: [options.functionKey],
      ...(process.env.KVACME_MASTER_KEY ? { masterKey: process.env.KVACME_MASTER_KEY } : {}),
      timers: options.timers,
      authMe: () => localAuthMe(settings.auth),
    });
  } catch (err) {
    await stack.close();
    throw err;
  }
  if (stack.stackJsonPath) {
    await writeFileAtomic(stack.stackJsonPath, JSON.stringify({ ...stack.info, functionsHostUrl: host.url }, null, 2) + "\n", 0o600);
  }
  const http = [...host.functions.values()].filter((f) => f.trigger.type === "httpTrigger").length;
  say(`kv-acme: local stack + Functions host up in ${Date.now() - t0} ms`);
  say(`  dashboard      ${host.url}${DASHBOARD_PATH}`);
  say(`  HTTP API       ${host.url}/api   (local principal: roles ${localCaller(settings.auth).roles.join(", ")})`);
  say(`  automation     ${host.url}/api/automation/...   x-functions-key: ${options.functionKey}`);
  say(`  master key     ${host.masterKey}   (/admin/*, /runtime/webhooks/durabletask/*; set it with KVACME_MASTER_KEY)`);
  say(`  functions      ${host.functions.size} (${http} HTTP), durable state in ${options.stateDir}`);
  say(`  Key Vault      ${stack.info.keyVaultUrl}`);
  say(`  ACME (Pebble)  ${stack.info.acmeDirectoryUrl}`);
  say(`  DNS            ${stack.info.dnsServer}, zones ${stack.info.zones.join(", ")}`);
  say(`  stack.json     ${stack.stackJsonPath ?? "(not written)"}`);
  say(`Try: npx kv-acme --endpoint ${host.url} issue --dns-names www.${stack.info.zones[0] ?? "example.com"}`);
  say("Ctrl-C stops everything.");

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping the Functions host and the local stack`);
    void (async () => {
      await host.close().catch((err: unknown) => say(`host: ${String(err)}`));
      await stack.close().catch((err: unknown) => say(`stack: ${String(err)}`));
      process.exit(0);
    })();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    // Expected failures (a port in use, bad settings) are one message; KVACME_DEBUG=1 adds the stack trace.
    say(`kv-acme start: ${process.env.KVACME_DEBUG ? ((err as Error).stack ?? String(err)) : errorMessage(err)}`);
    process.exit(1);
  });
}
