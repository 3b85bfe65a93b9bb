/**
 * The VM companion agent: `runAgent` (long-lived service or one-shot) and `agentMain` (the `kv-acme agent` CLI).
 * Behaviour and settings: docs/agent.md.
 */
import { webhookReporter } from "./report";
import { appReportBody, appReporter, resolveHostId } from "./app-report";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { errorMessage, ValidationError } from "../shared/errors";
import { sleep } from "../shared/time";
import { createAgentCredential, identityEndpointProblem } from "./identity";
import { createSystemdNotifier, type ServiceNotifier } from "./sd-notify";
import { initialSyncDelayMs, overallStatus, pollDelayMs, Poller, type AgentEvent, type AgentLogger, type CycleResult } from "./poller";
import { parseAgentSettings, type AgentSettings } from "./settings";
import { writeStatus, type AgentStatus, type HandlerStatus } from "./state";
import { createLinuxStore } from "./stores/linux";
import type { CertificateStore } from "./stores/types";
import { createPowerShellExecutor, createWindowsStore } from "./stores/windows";
import { createSdkVaultReader, type VaultReader } from "./vault";

export type { AgentEvent, AgentLogger } from "./poller";
export { parseAgentSettings } from "./settings";

export const INITIAL_SYNC_ATTEMPTS = 25;

export interface RunAgentOptions {
  /** One cycle, then return (cron / scheduled task). */
  once: boolean;
  signal?: AbortSignal;
  logger: AgentLogger;
  report?: (event: AgentEvent) => void | Promise<void>;
  /** Injected for tests and benchmarks; defaults: the SDK reader with the managed identity, the platform's store. */
  vault?: VaultReader;
  store?: CertificateStore;
  /** Waits `ms` or until the signal aborts (default: a real timer). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Environment for the credential and hooks (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** fetch for the report to the app (default: the global fetch). */
  fetch?: typeof fetch;
  /** Draws from [0, 1) for the polling jitter (default Math.random). */
  random?: () => number;
  /** Called after every cycle (tests, metrics). */
  onCycle?: (result: CycleResult) => void;
  /** The service manager's readiness channel (default: systemd's `$NOTIFY_SOCKET` when set, see ./sd-notify). */
  notifier?: ServiceNotifier;
}

/**
 * Runs the agent. Returns the exit code: 0 when every observed certificate is in service, 1 otherwise
 * (after the one cycle with `once`, after the initial sync gave up, or when stopped while some failed).
 */
export async function runAgent(settings: AgentSettings, options: RunAgentOptions): Promise<number> {
  const env = options.env ?? process.env;
  const sleep = options.sleep ?? abortableSleep;
  const vault =
    options.vault ??
    createSdkVaultReader({
      credential: createAgentCredential(settings.authenticationSettings, env),
      changeDetection: settings.kvAcme.changeDetection,
    });
  const store =
    options.store ??
    (settings.platform === "linux"
      ? createLinuxStore({ aclEnabled: settings.aclEnabled, keepVersions: settings.kvAcme.keepVersions })
      : createWindowsStore({
          executor: createPowerShellExecutor(),
          linkOnRenewal: settings.linkOnRenewal,
          keepVersions: settings.kvAcme.keepVersions,
        }));
  const poller = new Poller(settings, {
    vault,
    store,
    logger: options.logger,
    host: settings.kvAcme.host ?? os.hostname(),
    env,
    report: options.report,
  });
  const status = async (s: HandlerStatus, message: string, result: CycleResult | undefined, operation: string) => {
    const doc: AgentStatus = { status: s, message, timestampUTC: new Date().toISOString(), certificates: result?.statuses ?? [] };
    try {
      await writeStatus(settings.kvAcme, doc, operation);
    } catch (err) {
      options.logger.error("writing status failed", { error: errorMessage(err) });
    }
  };
  const report = settings.kvAcme.report;
  const toApp = report
    ? appReporter({
        report,
        logger: options.logger,
        credential: () => createAgentCredential(settings.authenticationSettings, env),
        fetch: options.fetch,
      })
    : undefined;
  const hostId = toApp ? await resolveHostId(settings) : "";
  const cycle = async () => {
    const result = await poller.cycle(options.signal);
    if (toApp)
      await toApp(
        appReportBody(
          settings,
          hostId,
          result,
          (u) => poller.installed(u),
          (u) => poller.bindingsUpdated(u),
        ),
      );
    return result;
  };

  // READY=1 once the first sync is done (with requireInitialSync: every observed certificate installed).
  const notifier =
    options.notifier ??
    createSystemdNotifier({ env, onError: (message) => options.logger.error("service notification failed", { message }) });
  let ready = false;
  /** READY=1 with the first call, STATUS= only after that. */
  const readyWith = async (message: string) => {
    if (ready) return notifier?.status(message);
    ready = true;
    await notifier?.ready(message);
  };

  let last: CycleResult | undefined;
  if (options.once) {
    last = await cycle();
    const o = overallStatus(last.statuses, "polling");
    await status(o.status, o.message, last, "Poll");
    options.onCycle?.(last);
    return last.allInstalled ? 0 : 1;
  }

  if (settings.requireInitialSync) {
    let synced = false;
    for (let attempt = 1; attempt <= INITIAL_SYNC_ATTEMPTS && !options.signal?.aborted; attempt++) {
      await status("transitioning", `initial sync attempt ${attempt} of ${INITIAL_SYNC_ATTEMPTS}`, last, "InitialSync");
      await notifier?.status(`initial sync attempt ${attempt} of ${INITIAL_SYNC_ATTEMPTS}`);
      last = await cycle();
      if (last.allInstalled) {
        synced = true;
        break;
      }
      const o = overallStatus(last.statuses, "initialSync");
      await status(
        attempt < INITIAL_SYNC_ATTEMPTS ? "transitioning" : "error",
        `${o.message} (attempt ${attempt} of ${INITIAL_SYNC_ATTEMPTS})`,
        last,
        "InitialSync",
      );
      options.onCycle?.(last);
      if (attempt < INITIAL_SYNC_ATTEMPTS) await sleep(initialSyncDelayMs(attempt), options.signal);
    }
    if (!synced) {
      const o = last ? overallStatus(last.statuses, "polling") : { message: "stopped" };
      await status("error", `initial sync failed after ${INITIAL_SYNC_ATTEMPTS} attempts: ${o.message}`, last, "InitialSync");
      if (options.signal?.aborted) return 1;
      // Not ready: units that Require= the agent do not start on missing certificates (the unit's start times out).
      await notifier?.status(`initial sync failed after ${INITIAL_SYNC_ATTEMPTS} attempts; not ready: ${o.message}`);
      options.logger.error("initial sync failed; polling continues", {});
    } else {
      const message = overallStatus(last!.statuses, "polling").message;
      await status("success", message, last, "InitialSync");
      await readyWith(message);
      options.onCycle?.(last!);
    }
  } else {
    await status("success", "polling started", undefined, "Poll");
    last = await cycle();
    const o = overallStatus(last.statuses, "polling");
    await status(o.status, o.message, last, "Poll");
    await readyWith(o.message);
    options.onCycle?.(last);
  }

  const random = options.random ?? Math.random;
  for (let first = true; !options.signal?.aborted; first = false) {
    await sleep(pollDelayMs(settings.pollingIntervalInS, first, random()), options.signal);
    if (options.signal?.aborted) break;
    last = await cycle();
    const o = overallStatus(last.statuses, "polling");
    await status(o.status, o.message, last, "Poll");
    // After a failed initial sync, ready once every certificate is installed.
    if (ready || last.allInstalled) await readyWith(o.message);
    else await notifier?.status(`not ready: ${o.message}`);
    options.onCycle?.(last);
  }
  await notifier?.stopping();
  return last?.allInstalled ? 0 : 1;
}

/** setTimeout that resolves early when the signal aborts. */
/** Waits `ms`; an abort (shutdown) ends the wait early without an error. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, signal).catch(() => undefined);
}

const USAGE = "usage: kv-acme agent --settings FILE [--once] [--status-folder DIR]";

/** A logger that writes one JSON line per message to stderr. */
export function stderrLogger(): AgentLogger {
  const line = (level: string) => (message: string, data?: Record<string, unknown>) =>
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, message, ...data }) + "\n");
  return { info: line("info"), warn: line("warn"), error: line("error") };
}

/**
 * `kv-acme agent --settings FILE [--once] [--status-folder DIR]`. Returns the exit code:
 * 0 ok, 1 some certificate not in service, 2 usage error, 78 invalid settings.
 */
export async function agentMain(
  argv: string[],
  io: { env?: NodeJS.ProcessEnv; logger?: AgentLogger; report?: RunAgentOptions["report"] } = {},
): Promise<number> {
  let file: string | undefined;
  let once = false;
  let statusFolder: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--settings" || a === "--status-folder") {
      const v = argv[++i];
      if (!v || v.startsWith("--")) return usage(`${a} needs a value`);
      if (a === "--settings") file = v;
      else statusFolder = v;
    } else if (a.startsWith("--settings=")) file = a.slice("--settings=".length);
    else if (a.startsWith("--status-folder=")) statusFolder = a.slice("--status-folder=".length);
    else if (a === "--once") once = true;
    else if (a === "--help" || a === "-h") {
      process.stderr.write(USAGE + "\n");
      return 0;
    } else return usage(`unknown argument ${a}`);
  }
  if (!file) return usage("--settings FILE is required");
  const logger = io.logger ?? stderrLogger();
  let settings: AgentSettings;
  try {
    const text = await fs.readFile(file, "utf8");
    const parsed = parseAgentSettings(text);
    settings = parsed.settings;
    for (const w of parsed.warnings) logger.warn(w);
    // Azure handler layout: <configFolder>/<seq>.settings gives the status sequence number.
    const seq = /^(\d+)\.settings$/.exec(path.basename(file));
    if (seq && !/"sequenceNumber"/.test(text)) settings.kvAcme.sequenceNumber = Number(seq[1]);
    if (statusFolder) settings.kvAcme.statusFolder = path.resolve(statusFolder);
  } catch (err) {
    const msg =
      err instanceof ValidationError ? err.problems.map((p) => `  ${p.field}: ${p.message}`).join("\n") : `  ${errorMessage(err)}`;
    process.stderr.write(`kv-acme agent: invalid settings in ${file}:\n${msg}\n`);
    return 78;
  }
  const identityProblem = await identityEndpointProblem(settings.authenticationSettings);
  if (identityProblem) {
    process.stderr.write(`kv-acme agent: ${identityProblem}\n`);
    return 78;
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const report = io.report ?? (settings.kvAcme.webhooks.length > 0 ? webhookReporter(settings.kvAcme.webhooks, logger) : undefined);
    return await runAgent(settings, { once, signal: controller.signal, logger, report, env: io.env });
  } catch (err) {
    logger.error("agent failed", { error: errorMessage(err) });
    return 1;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

function usage(message: string): number {
  process.stderr.write(`kv-acme agent: ${message}\n${USAGE}\n`);
  return 2;
}
