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
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { promises as fs } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { createInterface, type Interface } from "node:readline";
import { startStack, type Stack } from "../src/local/stack";
import { describeFailure, runTimed } from "./lib/process";
import { round, summarize, type Summary } from "./lib/stats";

const REPO = path.resolve(__dirname, "..");
const HOOK = path.join(REPO, "bench", "hooks", "arm-txt.sh");
const TOOL_NAMES = ["kvAcme", "certbot", "lego"] as const;
type ToolName = (typeof TOOL_NAMES)[number];

const TARGETS = { kvAcmeMedianMsMax: 500, certbotOverKvAcmeMin: 5, kvAcmePeakRssMbMax: 150 };

interface Sample {
  ms: number;
  peakRssMb?: number;
}

/** One contender: prepare() registers the account / issues the warm-up certificate; issue() is one timed run. */
interface Tool {
  name: ToolName;
  prepare(): Promise<void>;
  issue(apex: string): Promise<Sample>;
  /** Peak RSS over all runs (MB) and other figures, when the tool reports them once at the end. */
  finish?(): Promise<{ peakRssMb?: number; startupRssMb?: number }>;
}

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
let verbose = false;
const logOutput = (tool: string, run: { stdout: string; stderr: string }) => {
  if (verbose) process.stderr.write(`--- ${tool} output ---\n${run.stderr}${run.stdout}--- end ---\n`);
};

const RUNNER_TS = path.join("bench", "lib", "kv-acme-runner.ts");

/**
 * Compiles the runner and what it imports (tsc, no type check: `npm run typecheck` does that) into outDir; returns
 * the command that runs it with plain node. node_modules are found through NODE_PATH (CommonJS).
 */
function compileRunner(outDir: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const tsc = require.resolve("typescript/bin/tsc", { paths: [REPO] });
  const flags = [
    "--outDir",
    outDir,
    "--rootDir",
    ".",
    "--module",
    "commonjs",
    "--moduleResolution",
    "node",
    "--target",
    "ES2022",
    "--esModuleInterop",
    "--resolveJsonModule",
    "--skipLibCheck",
    "--types",
    "node",
    "--noCheck",
  ];
  execFileSync(process.execPath, [tsc, RUNNER_TS, ...flags], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  return { args: [path.join(outDir, RUNNER_TS.replace(/\.ts$/, ".js"))], env: { NODE_PATH: path.join(REPO, "node_modules") } };
}

/** kv-acme in a child process speaking the runner's line protocol. */
function kvAcmeTool(stack: Stack, runner: () => { args: string[]; env: NodeJS.ProcessEnv }): Tool {
  let child: ChildProcessWithoutNullStreams | undefined;
  let lines: Interface | undefined;
  let stderr = "";
  const pending: Array<(line: string) => void> = [];
  const request = (body: unknown, timeoutMs = 180_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      if (!child || child.exitCode !== null)
        return reject(new Error(`kv-acme runner is not running: ${stderr.trim().split("\n").slice(-5).join("\n")}`));
      const timer = setTimeout(() => reject(new Error("kv-acme runner did not answer in time")), timeoutMs);
      pending.push((line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, unknown>);
      });
      child.stdin.write(JSON.stringify(body) + "\n");
    });
  const issue = async (apex: string): Promise<Sample> => {
    const answer = await request({ dnsNames: [apex, `*.${apex}`], keyType: "EC-P256" });
    if (answer.ok !== true) throw new Error(String(answer.error));
    return { ms: Number(answer.ms) };
  };
  return {
    name: "kvAcme",
    async prepare() {
      const command = runner();
      child = spawn(process.execPath, command.args, {
        cwd: REPO,
        env: { ...process.env, ...stack.env, ...command.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString("utf8")).slice(-16_384)));
      child.on("exit", (code) => {
        // Fail whoever is still waiting.
        for (const p of pending.splice(0))
          p(JSON.stringify({ ok: false, error: `kv-acme runner exited (${code}): ${stderr.trim().split("\n").slice(-5).join("\n")}` }));
      });
      lines = createInterface({ input: child.stdout });
      lines.on("line", (line) => pending.shift()?.(line));
      await issue("bench-0-kv.example.com");
    },
    issue: (apex) => issue(apex),
    async finish() {
      if (!child || child.exitCode !== null) return {};
      const answer = await request({ exit: true }, 10_000);
      lines?.close();
      return { peakRssMb: Number(answer.maxRssMb), startupRssMb: round(Number(answer.startupRssMb)) };
    },
  };
}

/** certbot certonly --manual with the ARM hook; the account is registered once in prepare(). */
function certbotTool(stack: Stack, dir: string, hookEnv: NodeJS.ProcessEnv): Tool {
  // certbot checks that the first word of a hook command is an executable, without shell unquoting: use a symlink
  // in the temporary directory, whose path has no spaces even when the repository's has.
  const hook = path.join(dir, "arm-txt.sh");
  const env = { ...hookEnv, REQUESTS_CA_BUNDLE: stack.info.caFile };
  const common = [
    "--server",
    stack.info.acmeDirectoryUrl,
    "--config-dir",
    path.join(dir, "config"),
    "--work-dir",
    path.join(dir, "work"),
    "--logs-dir",
    path.join(dir, "logs"),
    "--non-interactive",
  ];
  const run = async (args: string[]): Promise<Sample> => {
    const r = await runTimed("certbot", args, { env });
    logOutput("certbot", r);
    if (r.code !== 0) throw new Error(`certbot ${describeFailure(r)}`);
    return { ms: r.ms, peakRssMb: r.peakRssMb };
  };
  return {
    name: "certbot",
    async prepare() {
      await fs.mkdir(dir, { recursive: true });
      await fs.symlink(HOOK, hook);
      await run(["register", ...common, "--agree-tos", "--register-unsafely-without-email"]);
    },
    issue: (apex) =>
      run([
        "certonly",
        ...common,
        "--manual",
        "--preferred-challenges",
        "dns",
        "--manual-auth-hook",
        `${hook} certbot-auth`,
        "--manual-cleanup-hook",
        `${hook} certbot-cleanup`,
        "--agree-tos",
        "--register-unsafely-without-email",
        "--key-type",
        "ecdsa",
        "--elliptic-curve",
        "secp256r1",
        "-d",
        apex,
        "-d",
        `*.${apex}`,
      ]),
  };
}

/**
 * lego run with the exec DNS provider (EXEC_PATH = the ARM hook). --dns.disable-cp: lego 4.9 would otherwise query
 * the zone's NS hosts on port 53, and the stack's authoritative server listens on an ephemeral port; with it lego still
 * asks the given resolver (our authoritative server) once. EXEC_SEQUENCE_INTERVAL=0: the exec provider is
 * "sequential" (one authorization at a time) and by default sleeps 60 s between authorizations.
 */
function legoTool(stack: Stack, dir: string, hookEnv: NodeJS.ProcessEnv): Tool {
  const env = {
    ...hookEnv,
    LEGO_CA_CERTIFICATES: stack.info.caFile,
    EXEC_PATH: HOOK,
    EXEC_PROPAGATION_TIMEOUT: "10",
    EXEC_POLLING_INTERVAL: "1",
    EXEC_SEQUENCE_INTERVAL: "0",
  };
  const run = async (apex: string): Promise<Sample> => {
    const r = await runTimed(
      "lego",
      [
        "--server",
        stack.info.acmeDirectoryUrl,
        "--email",
        "bench@example.com",
        "--accept-tos",
        "--path",
        dir,
        "--dns",
        "exec",
        "--dns.resolvers",
        stack.info.dnsServer,
        "--dns.disable-cp",
        "--key-type",
        "ec256",
        "--domains",
        apex,
        "--domains",
        `*.${apex}`,
        "run",
      ],
      { env },
    );
    logOutput("lego", r);
    if (r.code !== 0) throw new Error(`lego ${describeFailure(r)}`);
    return { ms: r.ms, peakRssMb: r.peakRssMb };
  };
  return {
    name: "lego",
    async prepare() {
      await run("bench-0-lego.example.com"); // creates the account
    },
    issue: run,
  };
}

interface HookTimes {
  addMedianMs: number;
  removeMedianMs: number;
}

/**
 * The cost of one hook call (bash + curl + jq: token, GET, PUT/DELETE), part of certbot's and lego's times: each
 * calls it four times per apex + wildcard certificate (two values added, two removed).
 */
async function timeHook(hookEnv: NodeJS.ProcessEnv, runs: number): Promise<HookTimes | { error: string }> {
  const add: number[] = [];
  const remove: number[] = [];
  const fqdn = "_acme-challenge.hook-probe.example.com";
  try {
    for (let i = 0; i < Math.max(3, runs); i++) {
      const value = `probe-${i}`;
      for (const [action, into] of [
        ["add", add],
        ["remove", remove],
      ] as const) {
        const r = await runTimed(HOOK, [action, fqdn, value], { env: hookEnv, timeoutMs: 30_000 });
        if (r.code !== 0) throw new Error(`hook ${action}: ${describeFailure(r)}`);
        into.push(r.ms);
      }
    }
    return { addMedianMs: summarize(add).medianMs, removeMedianMs: summarize(remove).medianMs };
  } catch (err) {
    return { error: errorText(err) };
  }
}

/** TXT record sets left in the stack's zones after the runs (every tool should have removed its values). */
async function leftoverTxt(stack: Stack): Promise<string[]> {
  const token = (await stack.credential.getToken("https://management.azure.com/.default"))?.token;
  const ca = await fs.readFile(stack.info.caFile, "utf8");
  const left: string[] = [];
  for (const zone of stack.info.zones) {
    const url = new URL(
      `/subscriptions/${stack.info.subscriptionId}/resourceGroups/${stack.info.resourceGroup}/providers/Microsoft.Network/dnsZones/${zone}/TXT?api-version=2018-05-01`,
      stack.info.armEndpoint,
    );
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(url, { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
          let data = "";
          res.on("data", (c: Buffer) => (data += c.toString("utf8")));
          res.on("end", () =>
            res.statusCode === 200 ? resolve(data) : reject(new Error(`GET ${url.pathname}: HTTP ${res.statusCode} ${data}`)),
          );
        })
        .on("error", reject);
    });
    for (const rs of (JSON.parse(body) as { value: Array<{ name: string }> }).value) left.push(`${rs.name}.${zone}`);
  }
  return left;
}

function debianVersion(pkg: string): string {
  try {
    return execFileSync("dpkg-query", ["-W", "-f", "${Version}", pkg], { encoding: "utf8" }).trim() || "unknown";
  } catch {
    return "unknown";
  }
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 2000);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  verbose = options.verbose;
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
      certbot: () => certbotTool(stack, path.join(tmp, "certbot"), hookEnv),
      lego: () => legoTool(stack, path.join(tmp, "lego"), hookEnv),
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
