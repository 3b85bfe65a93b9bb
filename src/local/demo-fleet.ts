/**
 * `npm run demo -- --fleet`: the fleet end to end on a private local stack with the local Functions host (Azurite
 * holding the reports). Issues a certificate through the HTTP API, runs three real agents (`kv-acme agent`, each its
 * own process, Linux file store, managed identity from the stack's token endpoint, polling every 2 s) reporting to
 * the host, waits until every host serves the current version, stops one agent, renews, and waits until the two
 * running hosts have the new version and the stopped one is stale (not seen for 3 polling intervals, not current).
 * Prints the fleet (as `kv-acme fleet` does) and, as the last line, one JSON summary with `staleHosts: 1`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createRuntime, setRuntime } from "../app/runtime";
import { fleetText, type FleetResult } from "../cli/fleet";
import { localAuthMe } from "./auth-me";
import { startLocalHost } from "./host";
import { startStack } from "./stack";
import { functionModules } from "./start";

const repo = path.resolve(__dirname, "..", "..");
/** Agents the demo runs (`web-1`..`web-N`); the last one is stopped before the renewal. */
const DEFAULT_HOSTS = 3;
const POLL_S = 2;
const WAIT_MS = 120_000;

const toStderr = (m: string): void => void process.stderr.write(`${m}\n`);

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = WAIT_MS): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The demo's last line: every host's state at the end, `staleHosts: 1` when it worked. */
export interface FleetDemoSummary {
  ok: boolean;
  certificateName: string;
  versions: string[];
  staleHosts: number;
  hosts: { hostId: string; installedVersion?: string; current: boolean; stale: boolean; reasons: string[] }[];
  totalMs: number;
}

export interface FleetDemoOptions {
  /** How many agents (2 or more: one stays current, the last goes stale); default 3. */
  hosts?: number;
  /** Progress lines (default stderr). */
  log?: (line: string) => void;
}

/** `npm run demo -- --fleet`: runs the demo, prints the fleet and the summary as the last line; exit code 0 when ok. */
export async function fleetDemo(): Promise<number> {
  const summary = await runFleetDemo();
  console.log(JSON.stringify(summary));
  return summary.ok ? 0 : 1;
}

/** The fleet demo's code path (the test runs it with two agents). */
export async function runFleetDemo(options: FleetDemoOptions = {}): Promise<FleetDemoSummary> {
  const count = options.hosts ?? DEFAULT_HOSTS;
  if (!Number.isInteger(count) || count < 2) throw new Error(`the fleet demo needs 2 or more hosts, not ${count}`);
  const HOSTS = Array.from({ length: count }, (_, i) => `web-${i + 1}`);
  const say = options.log ?? toStderr;
  const t0 = Date.now();
  const stateDir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-demo-fleet-"));
  const stack = await startStack({ ephemeral: true, stateDir, writeStackJson: false, tables: true });
  const env: Record<string, string> = { ...stack.env, KvAcme__Auth__Mode: "local" };
  const runtime = createRuntime({ ...process.env, ...env }, { credential: stack.credential });
  setRuntime(runtime);
  const agents = new Map<string, ChildProcess>();
  let host: Awaited<ReturnType<typeof startLocalHost>> | undefined;
  try {
    host = await startLocalHost({
      modules: await functionModules(),
      stateDir: path.join(stateDir, "functions-host"),
      port: 0,
      env,
      timers: false,
      authMe: () => localAuthMe(runtime.settings.auth),
    });
    const api = `${host.url}/api`;
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${api}${p}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, location: res.headers.get("location"), body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    const operation = async (location: string) =>
      until(`operation ${location}`, async () => {
        const r = await fetch(`${host!.url}${location}`);
        const b = (await r.json()) as { status: string; output?: { version: string }; error?: unknown };
        if (b.status === "Completed") return b.output!;
        if (["Failed", "Terminated"].includes(b.status))
          throw new Error(`operation ${location}: ${b.status} ${JSON.stringify(b.error ?? b)}`);
        return undefined;
      });
    say(`local stack + Functions host up in ${Date.now() - t0} ms (${host.url}, Azurite ${stack.info.tableEndpoint})`);

    const name = `fleet-${randomBytes(3).toString("hex")}`;
    const dnsNames = [`${name}.${stack.info.zones[0]}`];
    say(`POST /api/certificates ${JSON.stringify({ dnsNames, certificateName: name })}`);
    const issued = await call("POST", "/certificates", { dnsNames, certificateName: name, keyType: "EC-P256", contentType: "pem" });
    if (issued.status !== 202) throw new Error(`issue answered ${issued.status}: ${JSON.stringify(issued.body)}`);
    const v1 = (await operation(issued.location!)).version;
    say(`issued ${name} version ${v1}`);

    for (const hostId of HOSTS) {
      const dir = path.join(stateDir, "agents", hostId);
      await mkdir(dir, { recursive: true });
      const settingsFile = path.join(dir, "agent.settings");
      await writeFile(
        settingsFile,
        JSON.stringify({
          secretsManagementSettings: {
            pollingIntervalInS: String(POLL_S),
            requireInitialSync: true,
            observedCertificates: [
              { url: `${stack.info.keyVaultUrl.replace(/\/$/, "")}/secrets/${name}`, certificateStoreLocation: path.join(dir, "store") },
            ],
          },
          authenticationSettings: { msiEndpoint: stack.info.imdsEndpoint },
          kvAcme: {
            hostId,
            stateFile: path.join(dir, "state.json"),
            statusFile: path.join(dir, "status.json"),
            report: { url: `${api}/agents/reports` },
          },
        }),
        { mode: 0o600 },
      );
      const child = spawn(process.execPath, [path.join(repo, "bin", "kv-acme.js"), "agent", "--settings", settingsFile], {
        env: { ...process.env },
        stdio: ["ignore", "ignore", "ignore"],
      });
      agents.set(hostId, child);
      say(`agent ${hostId} started (pid ${child.pid}, polling every ${POLL_S} s, store ${path.join(dir, "store")})`);
    }
    type Fleet = FleetResult & { hosts: FleetResult["hosts"] };
    const fleetNow = async () => (await call("GET", "/fleet")).body as unknown as Fleet;
    const certOf = (f: Fleet, hostId: string) => f.hosts.find((h) => h.hostId === hostId)?.certificates.find((c) => c.name === name);
    await until("every host on the first version", async () => {
      const f = await fleetNow();
      return HOSTS.every((h) => certOf(f, h)?.installedVersion === v1 && certOf(f, h)?.current) ? f : undefined;
    });
    say(`every host reports ${name} ${v1} (current)`);

    const stopped = HOSTS[HOSTS.length - 1]!;
    agents.get(stopped)!.kill("SIGTERM");
    say(`stopped the agent of ${stopped}; POST /api/certificates/${name}/renew`);
    const renewed = await call("POST", `/certificates/${name}/renew`);
    if (renewed.status !== 202) throw new Error(`renew answered ${renewed.status}: ${JSON.stringify(renewed.body)}`);
    const v2 = (await operation(renewed.location!)).version;
    say(`renewed ${name}: version ${v2}`);
    const final = await until("the running hosts on the new version and the stopped one stale", async () => {
      const f = await fleetNow();
      const running = HOSTS.filter((h) => h !== stopped).every((h) => certOf(f, h)?.installedVersion === v2 && certOf(f, h)?.current);
      const gone = f.hosts.find((h) => h.hostId === stopped);
      return running && gone?.stale && !certOf(f, stopped)?.current ? f : undefined;
    });
    say(`$ kv-acme fleet\n${fleetText(final).trimEnd()}`);
    const hosts = final.hosts.map((h) => ({
      hostId: h.hostId,
      installedVersion: certOf(final, h.hostId)?.installedVersion,
      current: certOf(final, h.hostId)?.current === true,
      stale: h.stale,
      reasons: h.findings.map((f) => f.reason),
    }));
    const ok = final.staleHosts === 1 && hosts.filter((h) => h.current && !h.stale).length === HOSTS.length - 1;
    return { ok, certificateName: name, versions: [v1, v2], staleHosts: final.staleHosts, hosts, totalMs: Date.now() - t0 };
  } finally {
    for (const child of agents.values()) if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.all([...agents.values()].map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
    await host?.close().catch(() => undefined);
    await runtime.telemetry.shutdown().catch(() => undefined);
    await stack.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}
