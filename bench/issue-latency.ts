/**
 * bench/issue-latency (issues 3 and 10): end-to-end time of an apex + wildcard certificate (EC P-256) on the local
 * stack, for kv-acme and, in the same run, for certbot and lego (Debian packages) against the same Pebble and the
 * same DNS (./lib/issue-dns.ts): `--dns azure` (default) the Azure DNS (ARM) stand-in, certbot and lego through the
 * ARM hook (bench/hooks/arm-txt.sh); `--dns rfc2136` BIND 9 with TSIG, certbot's dns-rfc2136 plugin and lego's
 * rfc2136 provider; `--dns powerdns` PowerDNS's HTTP API, lego's pdns provider.
 *
 *   node --import tsx bench/issue-latency.ts [--dns azure|rfc2136|powerdns] [--runs N] [--tools kvAcme,certbot,lego]
 *                                            [--tsx] [--keep] [--verbose]
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
 *   machine falls on every tool alike. A fresh name per run: bench-<i>-<tool>.<zone> + *.bench-<i>-<tool>.<zone>.
 * - After every run the stack's DNS server is asked for TXT values left at _acme-challenge.<name> (outside the timing).
 * - The last stdout line is the JSON summary; it is also written to bench/results/issue-latency-<dns>-<time>.json.
 *   A tool that fails reports its error in the JSON instead of stopping the benchmark.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startStack } from "../src/local/stack";
import { parseBenchArgs } from "./lib/args";
import { round } from "./lib/stats";
import { REPO, RUNNER_TS, TOOL_NAMES, compileRunner, kvAcmeTool, type Tool, type ToolName } from "./lib/issue-tools";
import { certbotTool, legoTool } from "./lib/issue-peers";
import { debianVersion, errorText, leftoverTxt, timeHook, type HookTimes } from "./lib/issue-checks";
import { BENCH_DNS, DNS_TOOLS, benchDnsSetup, leftoverValues, stackDnsFor, type BenchDns } from "./lib/issue-dns";
import { emptyReport, finishReport, ratiosOf, targetsOf, type ToolReport } from "./lib/issue-report";

const USAGE =
  "usage: node --import tsx bench/issue-latency.ts [--dns azure|rfc2136|powerdns] [--runs N] [--tools kvAcme,certbot,lego] [--tsx] [--keep] [--verbose]";

interface Options {
  dns: BenchDns;
  runs: number;
  tools: ToolName[];
  keep: boolean;
  verbose: boolean;
  tsx: boolean;
}

function parseArgs(argv: string[]): Options {
  const o = parseBenchArgs(
    argv,
    {
      dns: { type: "string", default: "azure", choices: BENCH_DNS, lower: true },
      runs: { type: "count", default: 7 },
      tools: { type: "list" },
      keep: { type: "flag" },
      tsx: { type: "flag" },
      verbose: { type: "flag" },
      help: { type: "flag", short: "h" },
    },
    USAGE,
  );
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (o.runs < 1) throw new Error("--runs must be a positive integer");
  const options: Options = { dns: o.dns as BenchDns, runs: o.runs, tools: [], keep: o.keep, verbose: o.verbose, tsx: o.tsx };
  const tools = o.tools;
  const supported = DNS_TOOLS[options.dns];
  for (const n of tools ?? []) {
    if (!(TOOL_NAMES as readonly string[]).includes(n)) throw new Error(`unknown tool ${n} (known: ${TOOL_NAMES.join(", ")})`);
    if (!supported.includes(n as ToolName)) throw new Error(`--dns ${options.dns} runs ${supported.join(", ")} only, not ${n}`);
  }
  options.tools = tools ? (tools as ToolName[]) : [...supported];
  return options;
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "kv-acme-bench-"));
  const started = Date.now();
  log(`starting the local stack in ${tmp} (DNS: ${options.dns})`);
  const stack = await startStack({
    ephemeral: true,
    stateDir: path.join(tmp, "stack"),
    writeStackJson: false,
    dns: stackDnsFor(options.dns),
  });
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
  const peaks = {} as Record<ToolName, number[]>;
  const leftoverNames: string[] = [];
  let leftoverRecordSets: string[] | string | undefined;
  let hook: HookTimes | { error: string } | undefined;
  let server = "";
  let zone = "";
  try {
    log(
      `stack up in ${Date.now() - started} ms: ACME ${stack.info.acmeDirectoryUrl}, DNS ${stack.info.dnsServer}, ARM ${stack.info.armEndpoint}`,
    );
    // The hook reads its endpoints from a stack.json, as it does with `npm run stack`.
    const stackJson = path.join(tmp, "stack.json");
    await fs.writeFile(stackJson, JSON.stringify(stack.info, null, 2), { mode: 0o600 });
    const hookEnv = { ...process.env, KVACME_STACK_JSON: stackJson };
    const setup = benchDnsSetup(options.dns, stack, hookEnv);
    ({ server, zone } = setup);
    const peer = (name: string) => ({ stack, dir: path.join(tmp, name), dns: setup.peer, zone, verbose: options.verbose });
    const factories: Record<ToolName, () => Tool> = {
      kvAcme: () =>
        kvAcmeTool(
          stack,
          () => (options.tsx ? { args: ["--import", "tsx", RUNNER_TS], env: {} } : compileRunner(path.join(tmp, "build"))),
          zone,
        ),
      certbot: () => certbotTool(peer("certbot")),
      lego: () => legoTool(peer("lego")),
    };
    for (const name of options.tools) {
      const tool = factories[name]();
      reports[name] = emptyReport();
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
        const apex = `bench-${i}-${short[tool.name]}.${zone}`;
        try {
          const sample = await tool.issue(apex);
          report.runsMs.push(round(sample.ms));
          if (sample.peakRssMb !== undefined) peaks[tool.name].push(sample.peakRssMb);
          line.push(`${tool.name} ${Math.round(sample.ms)} ms`);
        } catch (err) {
          report.failures++;
          report.errors ??= [];
          if (report.errors.length < 3) report.errors.push(errorText(err));
          line.push(`${tool.name} FAILED`);
        }
        const left = await leftoverValues(stack, apex).catch((err: unknown) => [`check failed: ${errorText(err)}`]);
        if (left.length > 0) {
          report.leftoverTxtRuns++;
          leftoverNames.push(`_acme-challenge.${apex}: ${left.join(", ")}`);
          line.push(`(${tool.name} left ${left.length} TXT)`);
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
    if (options.dns === "azure") {
      if (options.tools.some((t) => t !== "kvAcme")) hook = await timeHook(hookEnv, options.runs);
      leftoverRecordSets = await leftoverTxt(stack).catch((err: unknown) => `check failed: ${errorText(err)}`);
    }
  } finally {
    await shutdown();
  }

  for (const name of options.tools) {
    reports[name] = finishReport(
      reports[name],
      peaks[name],
      name === "kvAcme" ? (options.tsx ? "node --import tsx" : "node (tsc output)") : undefined,
    );
  }
  const leftoverTotal = leftoverNames.length + (Array.isArray(leftoverRecordSets) ? leftoverRecordSets.length : 0);
  const result = {
    dns: options.dns,
    dnsServer: server,
    zone,
    kvAcme: reports.kvAcme,
    certbot: reports.certbot,
    lego: reports.lego,
    ratios: ratiosOf(reports),
    runs: options.runs,
    /** One call of bench/hooks/arm-txt.sh (certbot and lego make four per certificate); --dns azure only. */
    ...(hook ? { hook } : {}),
    /** TXT values still at _acme-challenge.<name> after a run, checked after every run of every tool (should be none). */
    leftoverTxt: leftoverNames,
    /** --dns azure: _acme-challenge TXT record sets still in the Azure zones after all runs (should be none). */
    ...(leftoverRecordSets !== undefined ? { leftoverTxtRecordSets: leftoverRecordSets } : {}),
    targets: targetsOf(options.dns, reports, leftoverTotal),
    pebble: debianVersion("pebble"),
    versions: {
      certbot: debianVersion("certbot"),
      ...(options.dns === "rfc2136"
        ? { certbotDnsRfc2136: debianVersion("python3-certbot-dns-rfc2136"), bind9: debianVersion("bind9") }
        : {}),
      ...(options.dns === "powerdns" ? { pdnsServer: debianVersion("pdns-server") } : {}),
      lego: debianVersion("lego"),
    },
    machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map((l) => round(l)) },
    startedAt: new Date(started).toISOString(),
    totalMs: Date.now() - started,
  };
  const line = JSON.stringify(result);
  const resultsDir = path.join(REPO, "bench", "results");
  await fs.mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `issue-latency-${options.dns}-${new Date(started).toISOString().replace(/[:.]/g, "-")}.json`);
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
