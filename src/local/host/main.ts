/**
 * CLI of the local Functions host:
 *   tsx src/local/host/main.ts --module <file> [--module <file>...] [--port 7071] [--state <dir>]
 *        [--host 127.0.0.1] [--key <function key>...] [--no-timers]
 * The master key comes from KVACME_MASTER_KEY (not the command line, which `ps` shows) or is generated; it is
 * printed at start, as Core Tools prints the function URLs. Runs until SIGINT/SIGTERM. In-flight orchestrations persist under --state (default .local/functions-host)
 * and resume on the next start.
 */
import path from "node:path";
import { kvAcmeHome } from "../paths";
import { startLocalHost } from "./index";

/** Parsed command line. */
export interface HostArgs {
  modules: string[];
  port: number;
  host: string;
  stateDir: string;
  functionKeys: string[];
  timers: boolean;
}

/** Parses the command line; throws with a usage message on bad input. */
export function parseHostArgs(argv: string[]): HostArgs {
  const args: HostArgs = {
    modules: [],
    port: 7071,
    host: "127.0.0.1",
    stateDir: path.join(kvAcmeHome(), "functions-host"),
    functionKeys: [],
    timers: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--module" || a === "-m") args.modules.push(path.resolve(value()));
    else if (a === "--port" || a === "-p") {
      args.port = Number(value());
      if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new Error("--port must be 0..65535");
    } else if (a === "--state") args.stateDir = path.resolve(value());
    else if (a === "--host") args.host = value();
    else if (a === "--key") args.functionKeys.push(value());
    else if (a === "--no-timers") args.timers = false;
    else throw new Error(`unknown option ${a}`);
  }
  if (args.modules.length === 0) throw new Error("at least one --module is required");
  return args;
}

async function main(): Promise<void> {
  let args: HostArgs;
  try {
    args = parseHostArgs(process.argv.slice(2));
  } catch (err) {
    console.error(
      `error: ${(err as Error).message}\nusage: main.ts --module <file> [--module <file>...] [--port 7071] [--state <dir>] [--host 127.0.0.1] [--key <key>] [--no-timers]`,
    );
    process.exit(2);
  }
  const t0 = performance.now();
  const host = await startLocalHost({
    modules: args.modules,
    stateDir: args.stateDir,
    port: args.port,
    host: args.host,
    functionKeys: args.functionKeys,
    ...(process.env.KVACME_MASTER_KEY ? { masterKey: process.env.KVACME_MASTER_KEY } : {}),
    timers: args.timers,
  });
  console.log(
    `Functions host listening on ${host.url} (${[...host.functions.keys()].length} functions, started in ${(performance.now() - t0).toFixed(0)} ms)`,
  );
  console.log(`  master key: ${host.masterKey} (x-functions-key for /admin/* and /runtime/webhooks/durabletask/*)`);
  for (const fn of host.functions.values()) {
    const t = fn.trigger;
    const where =
      t.type === "httpTrigger"
        ? ` ${((t.methods as string[] | undefined) ?? ["*"]).join(",")} ${host.url}/${[host.hostJson.routePrefix, String(t.route ?? fn.name)].filter(Boolean).join("/")}`
        : t.type === "timerTrigger"
          ? ` ${String(t.schedule)}`
          : "";
    console.log(`  ${fn.name}: ${t.type}${where}`);
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void host.close().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (require.main === module) void main();
