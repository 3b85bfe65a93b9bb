/**
 * bench/fleet-scale (npm run bench:fleet-scale): the fleet at scale, in two parts, on a private local stack.
 *
 * 1. Reports: `--hosts` simulated agents (default 10,000) each send one report through the real report path: the
 *    handler's validation (parseAgentReport) and the Table Storage store's saveReport into Azurite (one read of the
 *    host's partition, one entity-group transaction), as POST /api/agents/reports does; `--concurrency` at a time.
 *    Measured: reports/s, p50/p99 report latency. Then the fleet at that size: listHosts (every entity of the table)
 *    + fleetView (the stale rules), what GET /api/fleet computes besides its one listing of the vaults; median of
 *    `--reads` reads.
 * 2. Key Vault polling: `--agents` agents (the real Poller with the SDK vault reader and the Linux store, one observed
 *    certificate each) against the Key Vault stand-in with its throttling limiter (src/local/keyvault/throttle.ts), the
 *    budget for "other" transactions scaled to the agents simulated (4,000 per 10 s x agents / 10,000), and optionally
 *    `--throttle` percent of random injected 429s; `--cycles` steady-state cycles, all agents at once (a thundering
 *    herd: every agent in the same 10 s): wire requests per agent per cycle (429s and their retries included), the
 *    limiter's 429s, and every cycle must end with every certificate in service (each 429 honoured, no failure).
 *    Extrapolated: requests per agent per hour at the default polling interval (3600 s) and the share of the vault's
 *    budget (limits.md §3.1) a 10,000-agent fleet uses, next to the Key Vault VM extension's polling.
 *
 * 3. `--part sim` (./fleet-sim.ts): `--sim-agents` real agents (default 10,000) on a simulated clock against the
 *    stand-in at Key Vault's published limits (`--sim-other` replaces the 4,000 "other" per 10 s, to provoke 429s),
 *    `--intervals` polling intervals with a renewal: the budget used, the
 *    busiest 10-s window against the mean, the 429s and whether each was honoured, the renewal's spread.
 * 4. `--part model` (./lib/poll-model.ts, also in the `sim` output): the same fleet without the network, the agent's
 *    real waits, 5 seeds: the busiest window against the steady state's mean for the agent's policy (download at the
 *    poll that sees the new version), the evenest spread of the downloads any uncoordinated fleet can reach inside the
 *    propagation goal, and the VM extension's secret GET on every poll. Seconds; `--sim-agents`, `--intervals`.
 *
 * Prints one JSON line. Short run: `npm run bench:fleet-scale -- --hosts 1000 --agents 50 --cycles 3`; one part only:
 * `--part reports` or `--part polling` (no Azurite).
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { promises as fs, readFileSync, readdirSync } from "node:fs";
import type { ClientRequest } from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { Poller } from "../src/agent/poller";
import { parseAgentSettings } from "../src/agent/settings";
import { createLinuxStore } from "../src/agent/stores/linux";
import { createSdkVaultReader } from "../src/agent/vault";
import { allFleetPages, type FleetPage } from "../src/fleet/pages";
import { parseAgentReport } from "../src/fleet/report";
import { fleetView, vaultCertificateKey, type CurrentVersion } from "../src/fleet/stale";
import { createTableFleetStore } from "../src/fleet/store";
import { createRuntime, setRuntime } from "../src/app/runtime";
import { startLocalHost } from "../src/local/host";
import { buildPem, createSelfSigned, generateKey } from "../src/local/keyvault/crypto";
import { startStack, stackVaultName } from "../src/local/stack";
import { functionModules } from "../src/local/start";
import { parseBenchArgs } from "./lib/args";
import { readVmHwmKb } from "./lib/process";
import { median, percentile } from "./lib/stats";
import { SkipAheadClock, simulatedPolling } from "./fleet-sim";
import { pollModelSummary } from "./lib/poll-model";

const values = parseBenchArgs(
  process.argv.slice(2),
  {
    hosts: { type: "number", default: 10000 },
    concurrency: { type: "number", default: 32 },
    reads: { type: "number", default: 3 },
    agents: { type: "number", default: 100 },
    cycles: { type: "number", default: 3 },
    throttle: { type: "number", default: 0 },
    part: { type: "string", default: "both", choices: ["reports", "polling", "both", "sim", "model"] },
    "sim-agents": { type: "count", default: 10000, min: 1 },
    "sim-certificates": { type: "count", default: 10, min: 1 },
    intervals: { type: "number", default: 3 },
    "in-flight": { type: "count", default: 200, min: 1 },
    "sim-other": { type: "count", default: 4000, min: 1 },
  },
  "usage: npm run bench:fleet-scale [-- --part reports|polling|both|sim|model --hosts N --concurrency N --reads N --agents N --cycles N --throttle N --sim-agents N --sim-certificates N --intervals N --in-flight N --sim-other N]",
);
const HOSTS = values.hosts;
const CONCURRENCY = values.concurrency;
const READS = values.reads;
const AGENTS = values.agents;
const CYCLES = values.cycles;
const THROTTLE = values.throttle;
/** `reports`, `polling`, `both` (default) or `sim` (the simulated-clock polling run, ./fleet-sim.ts). */
const PART = values.part;
if ((PART === "sim" || PART === "model") && !(values.intervals >= 2.5))
  throw new Error("--intervals must be at least 2.5 (the renewal is 1.25 intervals before the end)");

/** The Key Vault VM extension's default polling interval (pollingIntervalInS "3600"), the agent's too. */
const DEFAULT_POLL_S = 3600;
/** Key Vault: 4,000 secret/vault operations (other than creates) per vault per 10 s (limits.md §3.1). */
const VAULT_BUDGET_PER_10S = 4000;
const FLEET = 10_000;

/** Counts the HTTP requests this process sends to `hostPort` (node:http's diagnostics channel: every SDK request). */
function requestCounter(hostPort: string): { readonly count: number; stop(): void } {
  let count = 0;
  const onStart = (message: unknown) => {
    if ((message as { request: ClientRequest }).request.getHeader("host") === hostPort) count++;
  };
  subscribe("http.client.request.start", onStart);
  return {
    get count() {
      return count;
    },
    stop: () => unsubscribe("http.client.request.start", onStart),
  };
}

/** Peak resident set (VmHWM) of the Azurite process of this bench's stack, MB: the one whose command line names `dir`. */
function azuritePeakRssMb(dir: string): number | undefined {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (!cmdline.includes("azurite") || !cmdline.includes(dir)) continue;
    const kb = readVmHwmKb(Number(pid));
    return kb === undefined ? undefined : Math.round(kb / 1024);
  }
  return undefined;
}

const mb = (bytes: number) => Math.round(bytes / 1048576);

async function reports(stack: Awaited<ReturnType<typeof startStack>>, dir: string) {
  const tableEndpoint = stack.info.tableEndpoint!;
  const tableName = "fleetbench";
  const store = createTableFleetStore({ endpoint: tableEndpoint, tableName, credential: stack.credential });
  const vaultUrl = "https://bench.vault.azure.net";
  const thumb = (i: number) => (i % 10 === 0 ? "A" : "B").repeat(40);
  const body = (i: number) => ({
    hostId: `vm-${String(i).padStart(5, "0")}`,
    agentVersion: "0.1.0",
    pollingIntervalInS: DEFAULT_POLL_S,
    certificates: [
      {
        name: "web",
        vaultUrl,
        installedVersion: i % 10 === 0 ? "0a".repeat(16) : "0b".repeat(16),
        thumbprint: thumb(i),
        notAfter: new Date(Date.now() + 60 * 86400_000).toISOString(),
        location: `/var/lib/waagent/Microsoft.Azure.KeyVault.Store/bench.web.${i}`,
        bindingsUpdated: ["nginx:/etc/nginx/nginx.conf"],
      },
    ],
  });
  await store.saveReport(parseAgentReport(body(0)), new Date()); // the first report creates the table
  const tableRequests = requestCounter(new URL(tableEndpoint).host);
  const latencies: number[] = [];
  let next = 1;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < HOSTS) {
        const i = next++;
        const s = performance.now();
        await store.saveReport(parseAgentReport(body(i)), new Date());
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const reportRequests = tableRequests.count;
  // The fleet view at HOSTS hosts: one in ten on the older version, current since two days (outdated after 24 h).
  const current = new Map<string, CurrentVersion>([
    [
      vaultCertificateKey(vaultUrl, "web"),
      { name: "web", thumbprint: "B".repeat(40), since: new Date(Date.now() - 48 * 3600_000).toISOString() },
    ],
  ]);
  const readMs: number[] = [];
  let stale = 0;
  let listed = 0;
  const beforeReads = tableRequests.count;
  for (let r = 0; r < READS; r++) {
    const s = performance.now();
    const hosts = await store.listHosts();
    const view = fleetView(hosts, { byKey: current, defaultVaultUrl: vaultUrl }, new Date(), {
      staleAfterHours: 24,
      missedIntervals: 3,
      expiryWarningDays: 30,
    });
    readMs.push(performance.now() - s);
    stale = view.filter((h) => h.stale).length;
    listed = view.length;
  }
  const listRequests = (tableRequests.count - beforeReads) / READS;
  const api = await fleetApi(stack, dir, tableName);
  tableRequests.stop();
  return {
    hosts: HOSTS,
    concurrency: CONCURRENCY,
    reportsPerSecond: Math.round((HOSTS - 1) / seconds),
    reportLatencyMs: { p50: Math.round(median(latencies)), p99: Math.round(percentile(latencies, 99)) },
    tableRequestsPerReport: Math.round((reportRequests / (HOSTS - 1)) * 100) / 100,
    fleetRead: {
      hostsListed: listed,
      staleHosts: stale,
      tableRequestsPerListing: listRequests,
      medianMs: Math.round(median(readMs)),
      runsMs: readMs.map(Math.round),
    },
    getFleet: api,
    memoryMb: { benchPeakRss: Math.round((readVmHwmKb(process.pid) ?? 0) / 1024), azuritePeakRss: azuritePeakRssMb(dir) },
  };
}

/**
 * GET /api/fleet over HTTP from the local Functions host (the app's route, handler and JSON, local auth) against the
 * reports just stored, every page followed: median of `--reads` full reads, the first page's time, sizes, what it lists.
 */
async function fleetApi(stack: Awaited<ReturnType<typeof startStack>>, dir: string, tableName: string) {
  const env: Record<string, string> = { ...stack.env, KvAcme__Auth__Mode: "local", KvAcme__Fleet__TableName: tableName };
  const runtime = createRuntime({ ...process.env, ...env }, { credential: stack.credential });
  setRuntime(runtime);
  const host = await startLocalHost({
    modules: await functionModules(),
    stateDir: path.join(dir, "functions-host"),
    port: 0,
    env,
    timers: false,
    log: () => undefined,
  });
  try {
    // GET /api/fleet pages (default 1,000 hosts): every page of the fleet, as the CLI and the dashboard read it.
    const runs: number[] = [];
    const firstPageMs: number[] = [];
    let bytes = 0;
    let firstPageBytes = 0;
    let pages = 0;
    let hosts = 0;
    let staleHosts = 0;
    for (let r = 0; r < READS; r++) {
      const s = performance.now();
      bytes = 0;
      pages = 0;
      const all = await allFleetPages(async (p) => {
        const t = performance.now();
        const res = await fetch(`${host.url}/api/${p}`);
        const text = await res.text();
        if (res.status !== 200) throw new Error(`GET /api/${p} answered ${res.status}: ${text.slice(0, 300)}`);
        if (pages === 0) {
          firstPageMs.push(performance.now() - t);
          firstPageBytes = Buffer.byteLength(text);
        }
        pages++;
        bytes += Buffer.byteLength(text);
        return JSON.parse(text) as FleetPage<unknown>;
      });
      runs.push(performance.now() - s);
      hosts = all.hosts.length;
      staleHosts = all.staleHosts;
    }
    return {
      hostsListed: hosts,
      staleHosts,
      pages,
      firstPage: { bytes: firstPageBytes, medianMs: Math.round(median(firstPageMs)) },
      allPages: { bytes, mb: Math.round((bytes / 1048576) * 100) / 100, medianMs: Math.round(median(runs)), runsMs: runs.map(Math.round) },
      benchRssMb: mb(process.memoryUsage().rss),
    };
  } finally {
    await host.close().catch(() => undefined);
    await runtime.telemetry.shutdown().catch(() => undefined);
  }
}

async function polling(stack: Awaited<ReturnType<typeof startStack>>, dir: string) {
  const names = Array.from({ length: AGENTS }, (_, i) => `fleet-${i}`);
  const { CertificateClient } = await import("@azure/keyvault-certificates");
  const certificates = new CertificateClient(stack.info.keyVaultUrl, stack.credential, { disableChallengeResourceVerification: true });
  // Imported (a secret create each, 300 per 10 s) rather than created in the vault (a key create each, 20 per 10 s):
  // the setup is not what is measured.
  const keyPem = await generateKey({ kty: "EC", crv: "P-256" });
  for (let i = 0; i < names.length; i += 10)
    await Promise.all(
      names.slice(i, i + 10).map(async (n) => {
        const der = await createSelfSigned(
          keyPem,
          {
            subject: `CN=${n}.example.test`,
            sans: { dns_names: [`${n}.example.test`] },
            ekus: ["1.3.6.1.5.5.7.3.1"],
            keyUsage: ["digitalSignature"],
          },
          3,
        );
        await certificates.importCertificate(n, Buffer.from(buildPem(keyPem, [der])), {
          policy: { contentType: "application/x-pem-file" },
        });
      }),
    );
  const logger = { info: () => {}, warn: () => {}, error: () => {} };
  const agents = names.map((n, i) => {
    const settings = parseAgentSettings(
      {
        secretsManagementSettings: {
          pollingIntervalInS: String(DEFAULT_POLL_S),
          observedCertificates: [
            { url: `${stack.info.keyVaultUrl.replace(/\/$/, "")}/secrets/${n}`, certificateStoreLocation: path.join(dir, `a${i}`) },
          ],
        },
        kvAcme: { stateFile: path.join(dir, `a${i}.state.json`) },
      },
      { platform: "linux" },
    ).settings;
    const vault = createSdkVaultReader({ credential: stack.credential });
    return {
      vault,
      poller: new Poller(settings, { vault, store: createLinuxStore({ aclEnabled: false }), logger, host: `vm-${i}`, env: {} }),
    };
  });
  // First cycle installs; the stand-in's throttling is on for every cycle (it starts with the stack).
  for (const a of agents) await a.poller.cycle();
  const throttle = stack.keyVaults[stackVaultName(1)]?.throttle;
  const throttledBefore = throttle?.throttled.other ?? 0;
  const injectedBefore = stack.faults?.total() ?? 0;
  const perCycle: number[] = [];
  const admittedPerCycle: number[] = [];
  let failures = 0;
  let installs = 0;
  const t0 = performance.now();
  for (let c = 0; c < CYCLES; c++) {
    const before = agents.reduce((s, a) => s + a.vault.stats.requests, 0);
    const throttledAtStart = throttle?.throttled.other ?? 0;
    const results = await Promise.all(agents.map((a) => a.poller.cycle()));
    failures += results.filter((r) => !r.allInstalled).length;
    installs += results.reduce((s, r) => s + r.installed.length, 0);
    const wire = agents.reduce((s, a) => s + a.vault.stats.requests, 0) - before;
    perCycle.push(wire / AGENTS);
    // What the vault counts against its budget: a request that got 429 does not count (overview-throttling).
    admittedPerCycle.push((wire - ((throttle?.throttled.other ?? 0) - throttledAtStart)) / AGENTS);
  }
  const requestsPerAgentCycle = median(perCycle);
  const admittedPerAgentCycle = median(admittedPerCycle);
  const bytes = await responseBytes(stack, names[0]!);
  // The budget share counts what the vault counts: admitted requests (a 429 does not count toward the limit).
  const perHour = admittedPerAgentCycle * (3600 / DEFAULT_POLL_S);
  const fleetPer10s = (FLEET * perHour) / 360;
  return {
    agents: AGENTS,
    cycles: CYCLES,
    injectedThrottlePercent: THROTTLE,
    injected429s: (stack.faults?.total() ?? 0) - injectedBefore,
    limiter: { otherPer10s: throttle?.limits.other, throttled429s: (throttle?.throttled.other ?? 0) - throttledBefore },
    cycleSeconds: Math.round((performance.now() - t0) / CYCLES) / 1000,
    requestsPerAgentCycle: perCycle,
    admittedRequestsPerAgentCycle: admittedPerCycle,
    failedCycles: failures,
    unexpectedInstalls: installs,
    keyVault: {
      kvAcmeAgent: { admittedRequestsPerCertificatePerHour: perHour, fleetRequestsPer10s: Math.round(fleetPer10s * 10) / 10 },
      vaultBudgetPer10s: VAULT_BUDGET_PER_10S,
      fleetShareOfBudgetPercent: Math.round((fleetPer10s / VAULT_BUDGET_PER_10S) * 10000) / 100,
    },
    // The Key Vault VM extension does not publish its request count: a model from its documented behaviour
    // (shared/reference/vm-agent.md), next to the agent's measured admitted requests per cycle.
    vmExtensionSideBySide: {
      extensionModel: {
        basis:
          "observes the versionless secret URL /secrets/{name}; per observed certificate per pollingIntervalInS it reads that secret (the only read of a secret's current version, and it carries the value): 1 GET",
        requestsPerCertificatePerPoll: VM_EXTENSION_REQUESTS_PER_POLL,
        responseBytesPerPoll: bytes.secret,
        fleetRequestsPer10s: Math.round(((FLEET * VM_EXTENSION_REQUESTS_PER_POLL) / 360) * 10) / 10,
      },
      kvAcmeAgentMeasured: {
        admittedRequestsPerCertificatePerPoll: admittedPerAgentCycle,
        wireRequestsPerCertificatePerPoll: requestsPerAgentCycle,
        responseBytesPerPoll: bytes.certificate,
      },
      ratioAgentToExtension: Math.round((admittedPerAgentCycle / VM_EXTENSION_REQUESTS_PER_POLL) * 100) / 100,
      bytesRatioAgentToExtension: Math.round((bytes.certificate / bytes.secret) * 100) / 100,
    },
  };
}

/** Modelled: the extension's requests per observed certificate per poll (one GET of the observed secret URL). */
const VM_EXTENSION_REQUESTS_PER_POLL = 1;

/**
 * Bytes of the two answers compared, from the stand-in: the agent's change detection (GET /certificates/{name}/,
 * metadata) and the extension's modelled poll (GET /secrets/{name}, the PEM or PFX value included).
 */
async function responseBytes(stack: Awaited<ReturnType<typeof startStack>>, name: string) {
  const token = (await stack.credential.getToken("https://vault.azure.net/.default"))?.token ?? "";
  const ca = await fs.readFile(stack.info.caFile, "utf8");
  const once = (p: string) =>
    new Promise<{ status: number; bytes: number; retryAfter: number }>((resolve, reject) => {
      const req = https.get(
        `${stack.info.keyVaultUrl.replace(/\/$/, "")}${p}?api-version=7.5`,
        { ca, headers: { authorization: `Bearer ${token}` } },
        (res) => {
          let bytes = 0;
          res.on("data", (c: Buffer) => (bytes += c.length));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes, retryAfter: Number(res.headers["retry-after"] ?? 1) }));
        },
      );
      req.on("error", reject);
    });
  const get = async (p: string): Promise<number> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await once(p);
      if (r.status === 200) return r.bytes;
      if (r.status !== 429) throw new Error(`GET ${p}: HTTP ${r.status}`);
      await new Promise((resolve) => setTimeout(resolve, r.retryAfter * 1000)); // the limiter's Retry-After
    }
    throw new Error(`GET ${p}: still throttled after 5 attempts`);
  };
  return { certificate: await get(`/certificates/${name}/`), secret: await get(`/secrets/${name}`) };
}

async function main() {
  if (PART === "model") {
    const intervals = values.intervals;
    const o = {
      hosts: values["sim-agents"],
      intervalS: DEFAULT_POLL_S,
      endS: intervals * DEFAULT_POLL_S,
      renewAtS: (intervals - 1.25) * DEFAULT_POLL_S,
    };
    console.log(JSON.stringify({ bench: "fleet-scale", part: "model", ...o, busiestToMean: pollModelSummary(o) }));
    return;
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-fleet-scale-"));
  const clock = new SkipAheadClock();
  const stack = await startStack({
    ephemeral: true,
    stateDir: path.join(dir, "stack"),
    writeStackJson: false,
    tables: PART === "reports" || PART === "both",
    keyVaultTiming: "instant",
    ...(THROTTLE > 0 ? { faults: `keyvault=429/1:${THROTTLE}%` } : {}),
    // The vault's budget for "other" transactions scaled to the agents simulated: AGENTS agents polling in one burst
    // press on it as 10,000 would on the published 4,000 per 10 s. The simulated run: the published limits, its clock.
    ...(PART === "sim"
      ? { keyVaultLimits: { other: values["sim-other"] }, keyVaultNow: () => clock.now() }
      : { keyVaultLimits: { other: Math.max(1, Math.round((VAULT_BUDGET_PER_10S * AGENTS) / FLEET)) } }),
  });
  try {
    const sim =
      PART === "sim"
        ? await simulatedPolling(stack, dir, clock, {
            agents: values["sim-agents"],
            certificates: values["sim-certificates"],
            intervals: values.intervals,
            intervalS: DEFAULT_POLL_S,
            inFlight: values["in-flight"],
            otherLimit: values["sim-other"],
          })
        : undefined;
    const report = PART === "polling" || PART === "sim" ? undefined : await reports(stack, dir);
    const poll = PART === "reports" || PART === "sim" ? undefined : await polling(stack, dir);
    const load = (await fs.readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");
    console.log(JSON.stringify({ bench: "fleet-scale", loadavg: load, reports: report, polling: poll, simulated: sim }));
  } finally {
    await stack.close();
    await fs.rm(dir, { recursive: true, force: true, maxRetries: 5 }).catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
