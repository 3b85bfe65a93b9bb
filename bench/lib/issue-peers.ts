/**
 * certbot and lego (the Debian packages) as contenders of bench/issue-latency.ts, timed as whole processes (how people
 * run them), peak RSS sampled from /proc. They write their TXT values to the run's DNS (./issue-dns.ts): through the
 * Azure DNS (ARM) stand-in with the ARM hook (bench/hooks/arm-txt.sh), or straight to BIND 9 (certbot's dns-rfc2136
 * plugin, lego's rfc2136 provider, the TSIG key kv-acme uses) or PowerDNS (lego's pdns provider, its API key).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Stack } from "../../src/local/stack";
import { describeFailure, runTimed, type TimedRun } from "./process";
import { REPO, type Sample, type Tool } from "./issue-tools";
import type { PeerDns } from "./issue-dns";

export const HOOK = path.join(REPO, "bench", "hooks", "arm-txt.sh");

/** What certbot and lego get: the stack, a directory of their own, the run's DNS, the zone, whether to print their output. */
export interface PeerContext {
  stack: Stack;
  dir: string;
  dns: PeerDns;
  /** The warm-up certificate is issued in it (bench-0-<tool>.<zone>). */
  zone: string;
  verbose: boolean;
}

function logOutput(context: PeerContext, tool: string, run: TimedRun): void {
  if (context.verbose) process.stderr.write(`--- ${tool} output ---\n${run.stderr}${run.stdout}--- end ---\n`);
}

/**
 * certbot certonly with the ARM hook (--manual) or the dns-rfc2136 plugin; the account is registered once in
 * prepare(). dns-rfc2136 gets --dns-rfc2136-propagation-seconds 0: certbot does not check propagation, it sleeps that
 * long (default 60 s); the stack's BIND answers a value as soon as its update returns, so 0 is safe here and the most
 * favourable setting for certbot.
 */
export function certbotTool(context: PeerContext): Tool {
  const { stack, dir, dns } = context;
  // certbot checks that the first word of a hook command is an executable, without shell unquoting: use a symlink
  // in the temporary directory, whose path has no spaces even when the repository's has.
  const hook = path.join(dir, "arm-txt.sh");
  const credentials = path.join(dir, "rfc2136.ini");
  const env = { ...(dns.kind === "azure" ? dns.hookEnv : process.env), REQUESTS_CA_BUNDLE: stack.info.caFile };
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
  const authenticator =
    dns.kind === "azure"
      ? [
          "--manual",
          "--preferred-challenges",
          "dns",
          "--manual-auth-hook",
          `${hook} certbot-auth`,
          "--manual-cleanup-hook",
          `${hook} certbot-cleanup`,
        ]
      : ["--authenticator", "dns-rfc2136", "--dns-rfc2136-credentials", credentials, "--dns-rfc2136-propagation-seconds", "0"];
  const run = async (args: string[]): Promise<Sample> => {
    const r = await runTimed("certbot", args, { env });
    logOutput(context, "certbot", r);
    if (r.code !== 0) throw new Error(`certbot ${describeFailure(r)}`);
    return { ms: r.ms, peakRssMb: r.peakRssMb };
  };
  return {
    name: "certbot",
    async prepare() {
      if (dns.kind === "powerdns") throw new Error("certbot has no PowerDNS plugin in Debian (the issue compares it on RFC 2136 only)");
      await fs.mkdir(dir, { recursive: true });
      if (dns.kind === "azure") await fs.symlink(HOOK, hook);
      else {
        const ini = [
          `dns_rfc2136_server = ${dns.host}`,
          `dns_rfc2136_port = ${dns.port}`,
          `dns_rfc2136_name = ${dns.tsig.name}`,
          `dns_rfc2136_secret = ${dns.tsig.secret}`,
          `dns_rfc2136_algorithm = ${dns.tsig.algorithm.toUpperCase()}`,
          "",
        ].join("\n");
        await fs.writeFile(credentials, ini, { mode: 0o600 }); // certbot warns about credentials others can read
      }
      await run(["register", ...common, "--agree-tos", "--register-unsafely-without-email"]);
    },
    issue: (apex) =>
      run([
        "certonly",
        ...common,
        ...authenticator,
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
 * lego with its exec provider (EXEC_PATH = the ARM hook), rfc2136 or pdns provider. --dns.disable-cp: lego 4.9 would
 * otherwise query the zone's NS hosts on port 53, and the stack's servers listen on ephemeral ports; with it lego
 * still asks the given resolver (the stack's DNS server) once. <PROVIDER>_SEQUENCE_INTERVAL=0: the exec and rfc2136
 * providers are "sequential" (one authorization at a time) and by default sleep 60 s between authorizations.
 * Polling interval 1 s and propagation timeout 10 s for every provider.
 */
export function legoTool(context: PeerContext): Tool {
  const { stack, dir, dns } = context;
  const wait = (prefix: string) => ({ [`${prefix}_PROPAGATION_TIMEOUT`]: "10", [`${prefix}_POLLING_INTERVAL`]: "1" });
  const provider =
    dns.kind === "azure"
      ? { name: "exec", env: { ...dns.hookEnv, EXEC_PATH: HOOK, EXEC_SEQUENCE_INTERVAL: "0", ...wait("EXEC") } }
      : dns.kind === "rfc2136"
        ? {
            name: "rfc2136",
            env: {
              ...process.env,
              RFC2136_NAMESERVER: `${dns.host}:${dns.port}`,
              RFC2136_TSIG_KEY: dns.tsig.name,
              RFC2136_TSIG_SECRET: dns.tsig.secret,
              RFC2136_TSIG_ALGORITHM: `${dns.tsig.algorithm}.`, // miekg/dns names algorithms as FQDNs
              RFC2136_SEQUENCE_INTERVAL: "0",
              ...wait("RFC2136"),
            },
          }
        : {
            name: "pdns",
            env: { ...process.env, PDNS_API_URL: dns.apiUrl, PDNS_API_KEY: dns.apiKey, PDNS_SERVER_NAME: "localhost", ...wait("PDNS") },
          };
  const env = { ...provider.env, LEGO_CA_CERTIFICATES: stack.info.caFile };
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
        provider.name,
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
      await run(`bench-0-lego.${context.zone}`); // creates the account
    },
    issue: run,
  };
}
