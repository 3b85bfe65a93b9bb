/**
 * bench/issue-latency (issue 3): end-to-end time of an apex + wildcard certificate (EC P-256) on the local stack, for
 * kv-acme and, in the same run, for certbot and lego (Debian packages) against the same Pebble and the same DNS
 * server, their hooks writing the TXT values through the Azure DNS (ARM) stand-in (bench/hooks/arm-txt.sh).
 *
 *   node --import tsx bench/issue-latency.ts [--runs N] [--tools kvAcme,certbot,lego] [--tsx] [--keep] [--verbose]
 *   (--keep: leave the temporary state directory; --verbose: print certbot's and lego's output)
 *
 * - kv-acme runs in a child process (bench/lib/kv-acme-runner.ts) that keeps its clients between certificates, as a
 *   Function App does; its time is issueCertificate() end to end (validate, order, TXT, propagation check, CA
 *   validation, key + CSR in Key Vault, finalize, merge, TXT cleanup); its peak RSS is the child's maxRSS. The runner
 *   is compiled with tsc first and run by plain node, as the Function App runs dist/ (the tsx loader alone adds
 *   ~40 MB of RSS); --tsx runs it through tsx instead.
 * - certbot and lego are timed as whole processes (that is how people run them), peak RSS sampled from /proc.
 * - Every tool first issues one warm-up certificate / registers its ACME account; that run is not timed.
 * - Runs are interleaved (one of each tool per round, order rotated) so that load from other processes on the
 *   machine falls on every tool alike. A fresh name per run: bench-<i>-<tool>.example.com + *.bench-<i>-<tool>....
 * - The last stdout line is the JSON summary; it is also written to bench/results/issue-latency-<time>.json.
 *   A tool that fails reports its error in the JSON instead of stopping the benchmark.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startStack } from "../src/local/stack";
import { round, summarize, type Summary } from "./lib/stats";
import { REPO, RUNNER_TS, TOOL_NAMES, compileRunner, kvAcmeTool, type Tool, type ToolName } from "./lib/issue-tools";
import { certbotTool, legoTool } from "./lib/issue-peers";
import { debianVersion, errorText, leftoverTxt, timeHook, type HookTimes } from "./lib/issue-checks";

const TARGETS = { kvAcmeMedianMsMax: 500, certbotOverKvAcmeMin: 5, kvAcmePeakRssMbMax: 150 };

interface ToolReport extends Partial<Summary> {
  peakRssMb?: number;
  /** kv-acme only: peak RSS once modules are loaded and clients built, before the first certificate. */
  startupRssMb?: number;
  /** kv-acme only: how the runner ran ("node (tsc output)" or "node --import tsx"). */
  runtime?: string;
  runsMs: number[];
  failures: number;
  errors?: string[];
  error?: string;
}

interface Options {
  runs: number;
  tools: ToolName[];
  keep: boolean;
  verbose: boolean;
  tsx: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { runs: 7, tools: [...TOOL_NAMES], keep: false, verbose: false, tsx: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--runs") {
      options.runs = Number(value());
      if (!Number.isInteger(options.runs) || options.runs < 1) throw new Error("--runs must be a positive integer");
    } else if (arg.startsWith("--runs=")) {
      argv.splice(i + 1, 0, arg.slice("--runs=".length));
      argv[i] = "--runs";
      i--;
    } else if (arg === "--tools") {
      const names = value()
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      for (const n of names)
        if (!(TOOL_NAMES as readonly string[]).includes(n)) throw new Error(`unknown tool ${n} (known: ${TOOL_NAMES.join(", ")})`);
      options.tools = names as ToolName[];
    } else if (arg === "--keep") {
      options.keep = true;
    } else if (arg === "--tsx") {
      options.tsx = true;
    } else if (arg === "--verbose") {
      options.verbose = true;
    } else if (arg === "--help" || arg === "-h") {
      process.stdout.write(
        "usage: node --import tsx bench/issue-latency.ts [--runs N] [--tools kvAcme,certbot,lego] [--tsx] [--keep] [--verbose]\n",
      );
      process.exit(0);
    } else {
      throw new Error(`unknown argument ${arg}`);
    }
  }
  return options;
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "kv-acme-bench-"));
  const started = Date.now();
  log(`starting the local stack in ${tmp}`);
  const stack = await startStack({ ephemeral: true, stateDir: path.join(tmp, "stack"), writeStackJson: false });
  const tools: Tool[] = [];
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await stack.close();
    if (!options.keep) await fs.rm(tmp, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void shutdown().finally(() => process.exit(130)));
  process.once("SIGTERM", () => void shutdown().finally(() => process.exit(143)));

  const reports = {} as Record<ToolName, ToolReport>;
  let leftover: string[] | string = [];
  let hook: HookTimes | { error: string } | undefined;
  const peaks = {} as Record<ToolName, number[]>;
  try {
    log(
      `stack up in ${Date.now() - started} ms: ACME ${stack.info.acmeDirectoryUrl}, DNS ${stack.info.dnsServer}, ARM ${stack.info.armEndpoint}`,
    );
    // The hook reads its endpoints from a stack.json, as it does with `npm run stack`.
    const stackJson = path.join(tmp, "stack.json");
    await fs.writeFile(stackJson, JSON.stringify(stack.info, null, 2), { mode: 0o600 });
    const hookEnv = { ...process.env, KVACME_STACK_JSON: stackJson };
    const factories: Record<ToolName, () => Tool> = {
      kvAcme: () =>
        kvAcmeTool(stack, () => (options.tsx ? { args: ["--import", "tsx", RUNNER_TS], env: {} } : compileRunner(path.join(tmp, "build")))),
      certbot: () => certbotTool({ stack, dir: path.join(tmp, "certbot"), hookEnv, verbose: options.verbose }),
      lego: () => legoTool({ stack, dir: path.join(tmp, "lego"), hookEnv, verbose: options.verbose }),
    };
    for (const name of options.tools) {
      const tool = factories[name]();
      reports[name] = { runsMs: [], failures: 0 };
      peaks[name] = [];
      const t0 = Date.now();
      try {
        await tool.prepare();
        tools.push(tool);
        log(`${name}: warm-up${name === "kvAcme" && !options.tsx ? " (with compile)" : ""} / account done in ${Date.now() - t0} ms`);
      } catch (err) {
        reports[name].error = `warm-up failed: ${errorText(err)}`;
        log(`${name}: ${reports[name].error}`);
      }
    }

    const short: Record<ToolName, string> = { kvAcme: "kv", certbot: "certbot", lego: "lego" };
    for (let i = 1; i <= options.runs; i++) {
      // Rotate the order each round so no tool always runs right after another one.
      const order = tools.map((_, k) => tools[(k + i - 1) % tools.length] as Tool);
      const line: string[] = [];
      for (const tool of order) {
        const report = reports[tool.name];
        try {
          const sample = await tool.issue(`bench-${i}-${short[tool.name]}.example.com`);
          report.runsMs.push(round(sample.ms));
          if (sample.peakRssMb !== undefined) peaks[tool.name].push(sample.peakRssMb);
          line.push(`${tool.name} ${Math.round(sample.ms)} ms`);
        } catch (err) {
          report.failures++;
          report.errors ??= [];
          if (report.errors.length < 3) report.errors.push(errorText(err));
          line.push(`${tool.name} FAILED`);
        }
      }
      log(`run ${i}/${options.runs}: ${line.join(", ")}`);
    }
    for (const tool of tools) {
      if (!tool.finish) continue;
      try {
        const figures = await tool.finish();
        if (figures.peakRssMb !== undefined) peaks[tool.name].push(figures.peakRssMb);
        if (figures.startupRssMb !== undefined) reports[tool.name].startupRssMb = figures.startupRssMb;
      } catch (err) {
        reports[tool.name].errors = [...(reports[tool.name].errors ?? []), `peak RSS: ${errorText(err)}`];
      }
    }
    if (options.tools.some((t) => t !== "kvAcme")) hook = await timeHook(hookEnv, options.runs);
    leftover = await leftoverTxt(stack).catch((err: unknown) => `check failed: ${errorText(err)}`);
  } finally {
    await shutdown();
  }

  for (const name of options.tools) {
    const report = reports[name];
    if (report.runsMs.length > 0) Object.assign(report, summarize(report.runsMs));
    else report.error ??= `every run failed: ${report.errors?.[0] ?? "no runs"}`;
    if (peaks[name].length > 0) report.peakRssMb = round(Math.max(...peaks[name]));
    // Key order: the figures first.
    reports[name] = {
      medianMs: report.medianMs,
      p90Ms: report.p90Ms,
      minMs: report.minMs,
      maxMs: report.maxMs,
      peakRssMb: report.peakRssMb,
      ...(report.startupRssMb !== undefined ? { startupRssMb: report.startupRssMb } : {}),
      ...(name === "kvAcme" ? { runtime: options.tsx ? "node --import tsx" : "node (tsc output)" } : {}),
      runsMs: report.runsMs,
      failures: report.failures,
      ...(report.errors ? { errors: report.errors } : {}),
      ...(report.error ? { error: report.error } : {}),
    };
  }
  const ratio = (other: ToolName): number | null => {
    const ours = reports.kvAcme?.medianMs;
    const theirs = reports[other]?.medianMs;
    return ours && theirs ? Math.round((theirs / ours) * 100) / 100 : null;
  };
  const ratios = { certbotOverKvAcme: ratio("certbot"), legoOverKvAcme: ratio("lego") };
  const kv = reports.kvAcme;
  const result = {
    kvAcme: reports.kvAcme,
    certbot: reports.certbot,
    lego: reports.lego,
    ratios,
    runs: options.runs,
    /** One call of bench/hooks/arm-txt.sh (certbot and lego make four per certificate). */
    hook,
    /** _acme-challenge TXT record sets still in the zones after all runs (should be none). */
    leftoverTxtRecordSets: leftover,
    targets: {
      ...TARGETS,
      met: {
        kvAcmeMedian: kv?.medianMs !== undefined ? kv.medianMs <= TARGETS.kvAcmeMedianMsMax : null,
        certbotRatio: ratios.certbotOverKvAcme !== null ? ratios.certbotOverKvAcme >= TARGETS.certbotOverKvAcmeMin : null,
        kvAcmePeakRss: kv?.peakRssMb !== undefined ? kv.peakRssMb <= TARGETS.kvAcmePeakRssMbMax : null,
      },
    },
    pebble: debianVersion("pebble"),
    versions: { certbot: debianVersion("certbot"), lego: debianVersion("lego") },
    machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map((l) => round(l)) },
    startedAt: new Date(started).toISOString(),
    totalMs: Date.now() - started,
  };
  const line = JSON.stringify(result);
  const resultsDir = path.join(REPO, "bench", "results");
  await fs.mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `issue-latency-${new Date(started).toISOString().replace(/[:.]/g, "-")}.json`);
  await fs.writeFile(file, line + "\n");
  log(`saved ${path.relative(REPO, file)}`);
  process.stdout.write(line + "\n");
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench/issue-latency: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
