/**
 * The local Azure Functions host: loads function modules with the registrations captured (see core-api.ts), answers
 * App Service Authentication's /.auth/me for the local principal when given (authMe),
 * serves HTTP functions under /api, the Durable Functions webhooks under /runtime/webhooks/durabletask and
 * the admin API, runs timer triggers on their schedules, and runs orchestrations with durable-functions' own
 * replay engine with history persisted under `stateDir`. A development and test harness only: nothing in
 * src/ outside src/local may import it.
 */
import { listen, urlHost } from "../net";
import "./core-api";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { realClock, type Clock } from "./clock";
import { loadFunctionModules, type FunctionRegistry, type RegisteredFunction } from "./core-api";
import { DurableEngine, type InstanceStatus } from "./durable";
import { loadHostJson, parseHostJson, type HostJson } from "./host-json";
import { buildRoutes, DEFAULT_MAX_REQUEST_BODY_BYTES, handleRequest } from "./http";

export { DEFAULT_MAX_REQUEST_BODY_BYTES };
import { invokeFunction, runAppStartHooks, runAppTerminateHooks } from "./invoke";
import { parseSchedule, resolveAppSettings, TimerScheduler } from "./timers";

export { JumpingClock, VirtualClock, realClock, type Clock } from "./clock";
export { InstanceConflictError, type InstanceStatus } from "./durable";
export type { RegisteredFunction } from "./core-api";

/** Options of {@link startLocalHost}. */
export interface LocalHostOptions {
  /** Absolute paths of the function modules to import. */
  modules: string[];
  /** Directory for durable state (history and queues). */
  stateDir: string;
  /** Port; default 7071, 0 picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Clock for durable timers, timer triggers and orchestration timestamps; default the wall clock. */
  clock?: Clock;
  /** App settings, applied to process.env before the modules load (like local.settings.json Values). */
  env?: Record<string, string>;
  /** Keys accepted for authLevel "function" routes (`code` query or `x-functions-key` header). */
  functionKeys?: string[];
  /** Master key: accepted everywhere, required for authLevel "admin" routes and /admin/*; default a random one. */
  masterKey?: string;
  /** Largest request body accepted, in bytes (default 100 MB, as Azure Functions); larger ones get 413. */
  maxRequestBodyBytes?: number;
  /** Run timer triggers on their schedules (default true); false leaves them to fireTimer / the admin API. */
  timers?: boolean;
  /** Activities run at once, across all instances (default 16). */
  activityConcurrency?: number;
  /** Task hub name reported to durable clients (default: host.json's extensions.durableTask.hubName). */
  taskHubName?: string;
  /**
   * host.json: a path, or its content as an object; default the host.json next to the first module or in the
   * nearest parent directory. Hub name, routePrefix, functionTimeout and overridableExistingInstanceStates apply.
   */
  hostJson?: string | Record<string, unknown>;
  /** Where host diagnostics go (default stderr). */
  log?: (message: string) => void;
  /** The body of /.auth/me (as App Service Authentication answers it) for the local principal; absent: 404, as with it off. */
  authMe?: () => unknown;
}

/** A running local host. */
export interface LocalHost {
  /** Base URL, e.g. http://127.0.0.1:7071 */
  url: string;
  /** The master key (/admin/*, admin-level routes, and everything else). */
  masterKey: string;
  /** The durable extension's system key (/runtime/webhooks/durabletask/*), also in the management URLs as `code`. */
  systemKey: string;
  /** Captured registrations by function name. */
  functions: ReadonlyMap<string, RegisteredFunction>;
  /** Runs a timer function now (awaits the run; a run already in progress is awaited instead). */
  fireTimer(name: string): Promise<void>;
  /** Resolves with the final status of an orchestration instance; rejects after timeoutMs. */
  waitForInstance(instanceId: string, timeoutMs: number): Promise<InstanceStatus>;
  /** Current status of an instance (with history when asked), or undefined. */
  getStatus(instanceId: string, opts?: { showHistory?: boolean }): InstanceStatus | undefined;
  /** Resolves when no timer function, episode or activity is running or queued (durable timers may still wait). */
  whenQuiet(): Promise<void>;
  /** The durable engine (start, raise, terminate without HTTP). */
  durable: DurableEngine;
  /** The host.json settings in effect. */
  hostJson: HostJson;
  /** Stops listening, stops timers and the engine; in-flight work resumes on the next start. */
  close(): Promise<void>;
}

/** Starts the local host. Returns once modules are loaded, persisted instances resumed and the port listens. */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const log = options.log ?? ((m: string) => console.error(`[local-host] ${m}`));
  const clock = options.clock ?? realClock;
  const host = options.host ?? "127.0.0.1";
  for (const [k, v] of Object.entries(options.env ?? {})) process.env[k] = v;

  const hostJson: HostJson =
    typeof options.hostJson === "object"
      ? parseHostJson(options.hostJson)
      : typeof options.hostJson === "string"
        ? loadHostJson(path.dirname(path.resolve(options.hostJson)))
        : loadHostJson(path.dirname(path.resolve(options.modules[0] ?? ".")));
  const registry: FunctionRegistry = loadFunctionModules(options.modules.map((m) => path.resolve(m)));
  registry.functionTimeoutMs = hostJson.functionTimeoutMs;
  await runAppStartHooks(registry, path.dirname(path.resolve(options.modules[0] ?? ".")));
  const routes = buildRoutes(registry);

  const server: Server = createServer();
  const port = await listen(server, options.port ?? 7071, host);
  const url = `http://${urlHost(host)}:${port}`;
  // Core Tools sets WEBSITE_HOSTNAME to the local origin; durable-functions' getClient otherwise rewrites
  // management URLs to http://localhost:7071.
  process.env.WEBSITE_HOSTNAME = options.env?.WEBSITE_HOSTNAME ?? `${host}:${port}`;

  const taskHub = options.taskHubName ?? hostJson.hubName;
  const newKey = () => randomBytes(32).toString("base64url");
  const masterKey = options.masterKey ?? newKey();
  const systemKey = newKey();
  const rpcPath = `/runtime/rpc/${newKey()}/`;
  const clientData = (): Record<string, unknown> => {
    const base = `${url}/runtime/webhooks/durabletask`;
    const q = `taskHub=${taskHub}&connection=Storage&code=${systemKey}`;
    const inst = `${base}/instances/INSTANCEID`;
    return {
      taskHubName: taskHub,
      creationUrls: {
        createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?${q}`,
        createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${q}`,
      },
      managementUrls: {
        id: "INSTANCEID",
        statusQueryGetUri: `${inst}?${q}`,
        sendEventPostUri: `${inst}/raiseEvent/{eventName}?${q}`,
        terminatePostUri: `${inst}/terminate?reason={text}&${q}`,
        rewindPostUri: `${inst}/rewind?reason={text}&${q}`,
        purgeHistoryDeleteUri: `${inst}?${q}`,
        restartPostUri: `${inst}/restart?${q}`,
        suspendPostUri: `${inst}/suspend?reason={text}&${q}`,
        resumePostUri: `${inst}/resume?reason={text}&${q}`,
      },
      baseUrl: base,
      requiredQueryStringParameters: q,
      rpcBaseUrl: `${url}${rpcPath}`,
      httpBaseUrl: base,
    };
  };

  const clientInput = (binding: { type: string }) =>
    binding.type === "durableClient" || binding.type === "orchestrationClient" ? { string: JSON.stringify(clientData()) } : undefined;
  const engine = new DurableEngine({
    registry,
    stateDir: options.stateDir,
    clock,
    activityConcurrency: options.activityConcurrency,
    overridableExistingInstanceStates: hostJson.overridableExistingInstanceStates,
    extraInput: clientInput,
    log,
  });

  const runNonHttp = async (fn: RegisteredFunction, trigger: { json: string } | undefined): Promise<void> => {
    const outcome = await invokeFunction(registry, fn, {
      trigger,
      extraInput: clientInput,
      log: (level, category, message) => {
        if (level === "error" || level === "critical") log(`${fn.name} [${category}]: ${message}`);
      },
    });
    if (outcome.error !== undefined) {
      const e = outcome.error;
      throw e instanceof Error ? e : new Error(String(e));
    }
  };

  const scheduler = new TimerScheduler(clock, async (name, status) => {
    const fn = registry.functions.get(name)!;
    const iso = (t?: number) => new Date(t ?? clock.now()).toISOString();
    const payload = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: { Last: iso(status.last), Next: iso(status.next), LastUpdated: iso() },
      IsPastDue: status.isPastDue,
    };
    try {
      await runNonHttp(fn, { json: JSON.stringify(payload) });
    } catch (err) {
      log(`timer ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  });

  const fireFunction = async (name: string, input: unknown): Promise<void> => {
    const fn = registry.functions.get(name);
    if (!fn) throw new Error(`No function named '${name}'.`);
    if (fn.trigger.type === "timerTrigger") return scheduler.fire(name);
    if (fn.trigger.type === "orchestrationTrigger") {
      await engine.startNew(name, input);
      return;
    }
    await runNonHttp(fn, input === undefined ? undefined : { json: JSON.stringify(input) });
  };

  const ctx = {
    registry,
    engine,
    routes,
    routePrefix: hostJson.routePrefix,
    authMe: options.authMe,
    baseUrl: () => url,
    functionKeys: options.functionKeys ?? [],
    masterKey,
    systemKey,
    rpcPath,
    maxRequestBodyBytes: options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES,
    clientData,
    fireFunction,
    log,
  };
  server.on("request", (req, res) => void handleRequest(ctx, req, res));

  const stop = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await scheduler.close();
    engine.close();
  };
  try {
    await engine.init();
    for (const fn of registry.byTrigger("timerTrigger")) {
      const schedule = parseSchedule(resolveAppSettings(String(fn.trigger.schedule), process.env));
      scheduler.add(fn.name, schedule, options.timers !== false);
      if (options.timers !== false && fn.trigger.runOnStartup === true) void scheduler.fire(fn.name);
    }
  } catch (err) {
    // A start that fails (unreadable state, a bad timer schedule) leaves no port listening and no timer armed.
    await stop();
    throw err;
  }

  let closed = false;
  return {
    url,
    masterKey,
    systemKey,
    functions: registry.functions,
    fireTimer: (name) => scheduler.fire(name),
    waitForInstance: (id, timeoutMs) => engine.waitForInstance(id, timeoutMs),
    getStatus: (id, opts) => engine.getStatus(id, { showHistory: opts?.showHistory, showInput: true }),
    async whenQuiet() {
      do {
        await scheduler.whenIdle();
        await engine.whenQuiet();
      } while (!engine.isQuiet() || [...scheduler.timers.values()].some((t) => t.running));
    },
    durable: engine,
    hostJson,
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      await runAppTerminateHooks(registry);
    },
  };
}
