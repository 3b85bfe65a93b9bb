/**
 * bench/scale: does the renewal of many certificates stay within the CA's and Azure's limits, and does its durable
 * work stay bounded? Two parts, one JSON line (docs/scale.md, docs/benchmarks.md):
 *
 *   1. Simulation (./lib/scale-sim): --certs (100,000) certificates and a day-one migration of --migration (10,000)
 *      new ones, --days (365) virtual days, kv-acme's real decision code and planner against modelled CA, Key Vault,
 *      ARM and DNS limits, side by side with the C# tool's policy (`acmebotPolicy`) on the same population.
 *   2. Real (--real 100,300,1000; --no-real skips it): for each size, that many certificates issued through the real
 *      function app on the local host (Pebble, Key Vault and ARM DNS stand-ins, durable-functions' replay engine),
 *      all due at once, then one renewal run in pages: wall time, CPU, the largest history per orchestrator, replayed
 *      events, orchestrator episodes and activities per renewal. Replay work must grow linearly.
 *
 * Usage: npx tsx bench/scale.ts [--certs N] [--migration N] [--days N] [--domains N] [--seed N] [--real 100,300 | --no-real]
 * (re-runs itself with NODE_EXTRA_CA_CERTS = the local CA, so the stack's TLS is verified).
 */
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ensureLocalCa } from "../src/local/ca";
import { ORCHESTRATIONS, RENEW_ALL_INSTANCE_ID, certificateInstanceId } from "../src/orchestrations/ids";
import type { RenewalSummary } from "../src/orchestrations/renew-certificates";
import { issueAndWaitUntilDue, startBenchApp } from "./lib/app-stack";
import { parseBenchArgs } from "./lib/args";
import { cpuMeter } from "./lib/fanout-profile";
import { simulateAcmebot, simulateKvAcme, type PolicyResult } from "./lib/scale-sim";

interface Args {
  certs: number;
  migration: number;
  days: number;
  domains: number;
  seed: number;
  real: number[];
}

const USAGE = "usage: scale.ts [--certs N] [--migration N] [--days N] [--domains N] [--seed N] [--real 100,300 | --no-real]";

function parseArgs(argv: string[]): Args {
  const o = parseBenchArgs(
    argv,
    {
      certs: { type: "count", default: 100_000 },
      migration: { type: "count", default: 10_000 },
      days: { type: "count", default: 365, min: 1 },
      domains: { type: "count", default: 2_000, min: 1 },
      seed: { type: "count", default: 42 },
      real: { type: "list", default: ["100", "300", "1000"] },
      "no-real": { type: "flag" },
    },
    USAGE,
  );
  const real = o["no-real"] ? [] : o.real.map(Number);
  if (!o["no-real"] && (real.length === 0 || real.some((n) => !Number.isInteger(n) || n < 1)))
    throw new Error(`--real needs sizes like 100,300,1000\n${USAGE}`);
  return { certs: o.certs, migration: o.migration, days: o.days, domains: o.domains, seed: o.seed, real };
}

interface RealResult {
  certificates: number;
  renewed: number;
  failed: number;
  wallMs: number;
  cpu: ReturnType<ReturnType<typeof cpuMeter>["stop"]>;
  maxOrchestrationHistory: number;
  maxHistoryByOrchestrator: Record<string, number>;
  replayedEvents: number;
  replayedEventsPerRenewal: number;
  episodesPerRenewal: number;
  activitiesPerRenewal: number;
}

/** EventType.TaskScheduled (DurableTask.Core). */
const TASK_SCHEDULED = 4;

/** `count` certificates issued through the local host, all due at once, renewed by one renewal run. */
async function realRun(count: number): Promise<RealResult> {
  const validitySeconds = Math.max(600, count * 12);
  const app = await startBenchApp({
    name: "scale",
    validitySeconds,
    // Due 1 % into the lifetime: all at once; the look-ahead off so the run renews exactly these.
    env: { KvAcme__RenewAtPercentOfLifetime: "1", KvAcme__RenewalPlanHorizonHours: "0" },
  });
  const { host } = app;
  try {
    const names = Array.from({ length: count }, (_, i) => `scale-${String(i).padStart(4, "0")}`);
    await issueAndWaitUntilDue(host, names, { validitySeconds, batch: 100, timeoutMs: 3_600_000 });

    const episodes0 = host.durable.episodes;
    const replayed0 = host.durable.replayedEvents;
    host.durable.maxHistory.clear();
    const cpu = cpuMeter();
    const started = performance.now();
    const id = await host.durable.startNew(ORCHESTRATIONS.renewAll, {}, RENEW_ALL_INSTANCE_ID);
    const status = await host.waitForInstance(id, 4 * 3_600_000);
    const wallMs = Math.round(performance.now() - started);
    const usage = cpu.stop();
    if (status.runtimeStatus !== "Completed") throw new Error(`renewal run ${status.runtimeStatus}: ${JSON.stringify(status.output)}`);
    const summary = status.output as RenewalSummary;
    const renewed = summary.renewed.length;
    const activities = summary.renewed
      .map((r) => host.durable.getRecord(certificateInstanceId(r.certificateName))?.history ?? [])
      .reduce((n, h) => n + h.filter((e) => e.EventType === TASK_SCHEDULED).length, 0);
    const byOrchestrator = Object.fromEntries(host.durable.maxHistory);
    const replayed = host.durable.replayedEvents - replayed0;
    return {
      certificates: count,
      renewed,
      failed: summary.failed.length,
      wallMs,
      cpu: usage,
      // The renewal run and its pages (an issuance's own history does not depend on the count).
      maxOrchestrationHistory: Math.max(byOrchestrator[ORCHESTRATIONS.renewAll] ?? 0, byOrchestrator[ORCHESTRATIONS.renewBatch] ?? 0),
      maxHistoryByOrchestrator: byOrchestrator,
      replayedEvents: replayed,
      replayedEventsPerRenewal: Math.round((replayed / Math.max(1, renewed)) * 10) / 10,
      episodesPerRenewal: Math.round(((host.durable.episodes - episodes0) / Math.max(1, renewed)) * 10) / 10,
      activitiesPerRenewal: Math.round((activities / Math.max(1, renewed)) * 10) / 10,
    };
  } finally {
    await app.close();
  }
}

/**
 * Azure cost per 1,000 certificates per month from the simulated issuances and the per-renewal durable work.
 * Storage transactions per episode (control-queue get/delete, history and instance table writes, work-item
 * queue put) and per activity (work-item get/delete, completion put) are our model of the Azure Storage provider,
 * not published figures; the prices are assumed list prices (USD): executions 0.40 per million (Flex
 * Consumption on-demand), storage transactions 0.0004 per 10,000.
 */
function costPer1000(issuances: number, certificates: number, days: number, perRenewal: { episodes: number; activities: number }) {
  const renewalsPerMonth = (issuances / Math.max(1, certificates)) * 1000 * (30 / days);
  const runsPerMonth = 30;
  // The daily renewal run's own work: about 10 episodes and 6 activities, plus one list request per 25 certificates.
  const executions = renewalsPerMonth * (perRenewal.episodes + perRenewal.activities) + runsPerMonth * 16;
  const storageTransactions = renewalsPerMonth * (perRenewal.episodes * 5 + perRenewal.activities * 3) + runsPerMonth * 60;
  return {
    renewalsPerMonth: Math.round(renewalsPerMonth),
    functionExecutions: Math.round(executions),
    storageTransactions: Math.round(storageTransactions),
    usd: Math.round((executions * 0.4e-6 + storageTransactions * 0.04e-6) * 1000) / 1000,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const ca = await ensureLocalCa();
  if (args.real.length > 0 && process.env.NODE_EXTRA_CA_CERTS !== ca.caFile) {
    const child = spawnSync(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2)], {
      stdio: "inherit",
      env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.caFile },
    });
    process.exit(child.status ?? 1);
  }
  const root = path.resolve(__dirname, "..");
  const sim = {
    certs: args.certs,
    migration: args.migration,
    registeredDomains: args.domains,
    seed: args.seed,
    start: Date.parse("2027-03-01T00:00:00Z"),
    days: args.days,
    concurrency: 8,
  };
  const t0 = performance.now();
  process.stderr.write(`scale: simulating ${args.certs} + ${args.migration} certificates for ${args.days} days (kv-acme)\n`);
  const kvAcme = simulateKvAcme(sim);
  const t1 = performance.now();
  process.stderr.write(`scale: kv-acme simulated in ${Math.round(t1 - t0)} ms; the C# tool's policy\n`);
  const acmebot = simulateAcmebot(sim);
  const t2 = performance.now();

  const real: RealResult[] = [];
  for (const n of args.real) {
    process.stderr.write(`scale: real run with ${n} certificates\n`);
    real.push(await realRun(n));
  }
  // Measured per-renewal durable work when there was a real run, else the figures measured for docs/benchmarks.md.
  const last = real[real.length - 1];
  const perRenewal = last ? { episodes: last.episodesPerRenewal, activities: last.activitiesPerRenewal } : { episodes: 7.8, activities: 6 };
  const summarize = (r: PolicyResult) => ({ certificates: args.certs + args.migration, ...r });
  const result = {
    bench: "scale",
    ...summarize(kvAcme),
    maxOrchestrationHistory: real.length > 0 ? Math.max(...real.map((r) => r.maxOrchestrationHistory)) : null,
    costPer1000CertificatesPerMonth: costPer1000(kvAcme.issuances, args.certs + args.migration, args.days, perRenewal),
    perRenewal,
    acmebotPolicy: summarize(acmebot),
    real,
    replayLinear:
      real.length >= 2 ? real.every((r) => r.replayedEventsPerRenewal <= 2 * (real[0] as RealResult).replayedEventsPerRenewal) : null,
    simulation: { days: args.days, seed: args.seed, domains: args.domains, kvAcmeMs: Math.round(t1 - t0), acmebotMs: Math.round(t2 - t1) },
    machine: { cpus: os.cpus().length, loadavg: os.loadavg().map((l) => Math.round(l * 10) / 10), node: process.version },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  const dir = path.join(root, "bench", "results");
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `scale-${new Date().toISOString().replace(/[:.]/g, "-")}.json`), JSON.stringify(result, null, 2));
}

main().catch((err: unknown) => {
  process.stderr.write(`scale: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
