/**
 * certbot and lego (the Debian packages) as contenders of bench/issue-latency.ts, timed as whole processes (how people
 * run them), peak RSS sampled from /proc; their hooks write the TXT values through the Azure DNS (ARM) stand-in
 * (bench/hooks/arm-txt.sh).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Stack } from "../../src/local/stack";
import { describeFailure, runTimed, type TimedRun } from "./process";
import { REPO, type Sample, type Tool } from "./issue-tools";

export const HOOK = path.join(REPO, "bench", "hooks", "arm-txt.sh");

/** What certbot and lego get: the stack, a directory of their own, the hook's environment, whether to print their output. */
export interface PeerContext {
  stack: Stack;
  dir: string;
  hookEnv: NodeJS.ProcessEnv;
  verbose: boolean;
}

function logOutput(context: PeerContext, tool: string, run: TimedRun): void {
  if (context.verbose) process.stderr.write(`--- ${tool} output ---\n${run.stderr}${run.stdout}--- end ---\n`);
}

/** certbot certonly --manual with the ARM hook; the account is registered once in prepare(). */
export function certbotTool(context: PeerContext): Tool {
  const { stack, dir, hookEnv } = context;
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
    logOutput(context, "certbot", r);
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
export function legoTool(context: PeerContext): Tool {
  const { stack, dir, hookEnv } = context;
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
    logOutput(context, "lego", r);
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
