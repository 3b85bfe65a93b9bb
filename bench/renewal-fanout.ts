/**
 * bench/renewal-fanout: the renewal run of the real function app on the local stack (Pebble, Key Vault and ARM DNS
 * stand-ins, local Functions host with durable-functions' replay engine), in one process.
 *
 *   1. Scan cost: --scan (default 1,000) managed, NOT-due certificates are imported into the vault; one renewCertificates
 *      run is made while every Key Vault HTTP request of the app is counted (an SDK pipeline policy on the app's
 *      certificate and secret clients, position perRetry: every attempt on the wire, auth challenges included).
 *      Target: list pages only, <= 50 requests, zero per-certificate GETs.
 *   2. Fan-out: --certs (default 100) certificates are issued through the issueCertificate orchestration with a
 *      short Pebble validity so all are due at once (renew at 1 % of the lifetime), then renewCertificates runs with
 *      maxConcurrentRenewals = --window (default 8), then again one at a time (window 1), in the same run.
 *      Target: windowed wall time <= 60 s on 2 cores, far below one-at-a-time.
 *
 * Usage: npx tsx bench/renewal-fanout.ts [--certs N] [--scan N] [--window N] [--no-sequential]
 * (re-runs itself with NODE_EXTRA_CA_CERTS = the local CA when it names another file, so the stack's TLS is verified).
 * Prints one JSON line; raw results go to bench/results/renewal-fanout-<timestamp>.json (gitignored).
 */
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createRuntime, setRuntime, type Runtime } from "../src/app/runtime";
import { managedTags } from "../src/keyvault/tags";
import { ensureLocalCa } from "../src/local/ca";
import { buildPem, createSelfSigned, generateKey } from "../src/local/keyvault/crypto";
import type { LocalHost } from "../src/local/host";
import type { Stack } from "../src/local/stack";
import { ORCHESTRATIONS, RENEW_ALL_INSTANCE_ID, certificateInstanceId } from "../src/orchestrations/ids";
import type { RenewalSummary } from "../src/orchestrations/renew-certificates";
import { issueAndWaitUntilDue, startBenchApp } from "./lib/app-stack";
import { parseBenchArgs } from "./lib/args";
import { cpuMeter, stepBreakdown } from "./lib/fanout-profile";

interface Args {
  certs: number;
  scan: number;
  window: number;
  sequential: boolean;
}

function parseArgs(argv: string[]): Args {
  const o = parseBenchArgs(
    argv,
    {
      certs: { type: "count", default: 100 },
      scan: { type: "count", default: 1000 },
      window: { type: "count", default: 8, min: 1 },
      "no-sequential": { type: "flag" },
    },
    "usage: renewal-fanout.ts [--certs N] [--scan N] [--window N] [--no-sequential]",
  );
  return { certs: o.certs, scan: o.scan, window: o.window, sequential: !o["no-sequential"] };
}

/** Counts Key Vault requests by kind. */
class VaultCounter {
  listPages = 0;
  certificateGets = 0;
  other = 0;
  readonly byPath = new Map<string, number>();
  readonly policy: PipelinePolicy = {
    name: "benchVaultRequestCounter",
    sendRequest: (request, next) => {
      const url = new URL(request.url);
      const key = `${request.method} ${url.pathname.replace(/\/[0-9a-f]{32}$/, "/{version}")}`;
      this.byPath.set(key, (this.byPath.get(key) ?? 0) + 1);
      if (request.method === "GET" && /^\/certificates\/?$/.test(url.pathname)) this.listPages++;
      else if (request.method === "GET" && /^\/certificates\/[^/]+(\/[^/]+)?$/.test(url.pathname) && !url.pathname.endsWith("/pending"))
        this.certificateGets++;
      else this.other++;
      return next(request);
    },
  };
  get total(): number {
    return this.listPages + this.certificateGets + this.other;
  }
  reset(): void {
    this.listPages = this.certificateGets = this.other = 0;
    this.byPath.clear();
  }
}

/** The app runtime for the stack with `overrides`, its vault clients counted by `counter`. */
function appRuntime(stack: Stack, env: Record<string, string>, counter?: VaultCounter): Runtime {
  const runtime = createRuntime(env, { credential: stack.credential });
  if (!counter) return runtime;
  const options = {
    disableChallengeResourceVerification: true,
    additionalPolicies: [{ policy: counter.policy, position: "perRetry" as const }],
  };
  runtime.deps = {
    ...runtime.deps,
    certificates: new CertificateClient(runtime.settings.vaultUrl, stack.credential, options),
    secrets: new SecretClient(runtime.settings.vaultUrl, stack.credential, options),
  };
  return runtime;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

/** Imports `count` managed certificates valid for a year (not due) under bulk-NNNN. */
async function seedNotDue(stack: Stack, count: number): Promise<number> {
  const started = performance.now();
  const client = new CertificateClient(stack.info.keyVaultUrl, stack.credential, { disableChallengeResourceVerification: true });
  const keyPem = await generateKey({ kty: "EC", crv: "P-256" });
  const names = Array.from({ length: count }, (_, i) => `bulk-${String(i).padStart(4, "0")}`);
  await mapLimit(names, 16, async (name) => {
    const dnsName = `${name}.example.com`;
    const der = await createSelfSigned(
      keyPem,
      { subject: `CN=${dnsName}`, sans: { dns_names: [dnsName] }, ekus: ["1.3.6.1.5.5.7.3.1"], keyUsage: ["digitalSignature"] },
      12,
    );
    await client.importCertificate(name, Buffer.from(buildPem(keyPem, [der])), {
      policy: { contentType: "application/x-pem-file" },
      tags: managedTags({
        acmeDirectoryUrl: stack.info.acmeDirectoryUrl,
        dnsNames: [dnsName],
        dnsProvider: "azure",
        ariCertId: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
        // As a kv-acme merge tags a version (the issuer of its leaf: itself, self-signed): without it the run takes
        // them for versions whose merge could not tag them and repairs each (3 requests: versions, get, tag update).
        issuer: { subject: `CN=${dnsName}` },
      }),
    });
  });
  return Math.round(performance.now() - started);
}

async function runRenewAll(
  host: LocalHost,
  timeoutMs: number,
): Promise<{
  ms: number;
  summary: RenewalSummary;
  profile: { cpu: ReturnType<ReturnType<typeof cpuMeter>["stop"]> } & Record<string, unknown>;
}> {
  const started = performance.now();
  const episodes0 = host.durable.episodes;
  const cpu = cpuMeter();
  const id = await host.durable.startNew(ORCHESTRATIONS.renewAll, {}, RENEW_ALL_INSTANCE_ID);
  const status = await host.waitForInstance(id, timeoutMs);
  const ms = Math.round(performance.now() - started);
  const usage = cpu.stop();
  if (status.runtimeStatus !== "Completed") throw new Error(`renewal run ${status.runtimeStatus}: ${JSON.stringify(status.output)}`);
  const summary = status.output as RenewalSummary;
  // Per-step time of the renewals this run made (their histories), and the run's own history size.
  const children = summary.renewed.map((r) => host.durable.getRecord(certificateInstanceId(r.certificateName))?.history ?? []);
  const runHistory = host.durable.getRecord(id)?.history ?? [];
  const profile = {
    cpu: usage,
    episodes: host.durable.episodes - episodes0,
    renewalRunHistoryEvents: runHistory.length,
    ...stepBreakdown(children),
  };
  return { ms, summary, profile };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const ca = await ensureLocalCa();
  if (process.env.NODE_EXTRA_CA_CERTS !== ca.caFile) {
    const child = spawnSync(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2)], {
      stdio: "inherit",
      env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.caFile },
    });
    process.exit(child.status ?? 1);
  }
  const root = path.resolve(__dirname, "..");
  const validitySeconds = Math.max(600, args.certs * 12);
  const env = { KvAcme__RenewAtPercentOfLifetime: "1", KvAcme__MaxConcurrentRenewals: String(args.window) };
  const counter = new VaultCounter();
  const hostLog: string[] = [];
  const app = await startBenchApp({
    name: "fanout",
    validitySeconds,
    env,
    runtime: (stack, appEnv) => appRuntime(stack, appEnv, counter),
    log: (m) => hostLog.push(m),
  });
  const { stack, host, runtime } = app;
  const raw: Record<string, unknown> = { args, validitySeconds, cpus: os.cpus().length, node: process.version };
  try {
    // 1. Key Vault requests of one renewal scan over `scan` certificates that are not due.
    raw.seedMs = await seedNotDue(stack, args.scan);
    await runtime.deps.acme(); // the ACME account exists before a steady-state scan (created once per app)
    counter.reset();
    const scan = await runRenewAll(host, 120_000);
    const scanRequests = {
      total: counter.total,
      listPages: counter.listPages,
      perCertificateGets: counter.certificateGets,
      other: counter.other,
      byPath: Object.fromEntries(counter.byPath),
    };
    raw.scan = {
      ms: scan.ms,
      checked: scan.summary.checked,
      due: scan.summary.due.length,
      pages: scan.summary.pages,
      requests: scanRequests,
    };

    // 2. Issue `certs` certificates (all due 1 % into their lifetime), then renew them all: windowed, then one at a time.
    const names = Array.from({ length: args.certs }, (_, i) => `fan-${String(i).padStart(3, "0")}`);
    raw.initialIssueMs = (await issueAndWaitUntilDue(host, names, { validitySeconds, batch: names.length, timeoutMs: 600_000 })).issueMs;

    const windowed = await runRenewAll(host, 600_000);
    raw.windowed = {
      ms: windowed.ms,
      renewed: windowed.summary.renewed.length,
      failed: windowed.summary.failed,
      skipped: windowed.summary.skipped,
      maxInFlight: windowed.summary.maxInFlight,
      profile: windowed.profile,
    };

    let sequential: Awaited<ReturnType<typeof runRenewAll>> | undefined;
    if (args.sequential) {
      setRuntime(appRuntime(stack, { ...app.env, KvAcme__MaxConcurrentRenewals: "1" }, counter));
      const renewedAt = Math.max(...windowed.summary.renewed.map((r) => Date.parse(r.notAfter) - validitySeconds * 1000));
      const dueAgain = renewedAt + validitySeconds * 10 + 1000;
      if (dueAgain > Date.now()) await new Promise((r) => setTimeout(r, dueAgain - Date.now()));
      sequential = await runRenewAll(host, 1_800_000);
      raw.sequential = {
        ms: sequential.ms,
        renewed: sequential.summary.renewed.length,
        failed: sequential.summary.failed,
        maxInFlight: sequential.summary.maxInFlight,
        profile: sequential.profile,
      };
    }

    const result = {
      bench: "renewal-fanout",
      certs: args.certs,
      window: args.window,
      windowedMs: windowed.ms,
      windowedRenewed: windowed.summary.renewed.length,
      windowedFailed: windowed.summary.failed.length,
      sequentialMs: sequential?.ms ?? null,
      sequentialRenewed: sequential?.summary.renewed.length ?? null,
      speedup: sequential ? Math.round((sequential.ms / windowed.ms) * 100) / 100 : null,
      targetWindowedMs: 60_000,
      windowedWithinTarget: windowed.ms <= 60_000,
      scanCertificates: args.scan,
      scanVaultRequests: scanRequests.total,
      scanListPages: scanRequests.listPages,
      scanPerCertificateGets: scanRequests.perCertificateGets,
      scanWithinTarget: scanRequests.total <= 50 && scanRequests.perCertificateGets === 0,
      episodes: host.durable.episodes,
      windowedCpu: windowed.profile.cpu,
      sequentialCpu: sequential?.profile.cpu ?? null,
    };
    raw.result = result;
    raw.hostLog = hostLog.slice(-50);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    const dir = path.join(root, "bench", "results");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `renewal-fanout-${new Date().toISOString().replace(/[:.]/g, "-")}.json`), JSON.stringify(raw, null, 2));
  } finally {
    await app.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`renewal-fanout: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
