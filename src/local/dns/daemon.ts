/**
 * Running a real authoritative DNS server (BIND 9, Knot DNS, PowerDNS) from its Debian package on loopback with a
 * generated configuration: spawn in the foreground, keep the last log lines, wait until it answers an SOA query
 * for its first zone, stop (keeping its state, so a restart serves the same zones) and start again on the same
 * ports. Tests and `npm run stack -- --dns ...` share this.
 */
import { randomBytes } from "node:crypto";
import { Resolver } from "node:dns/promises";
import { existsSync } from "node:fs";
import { LogRing, superviseChild, type SupervisedChild } from "../supervise";

export interface DaemonSpec {
  /** What it is, for messages: "BIND 9", "Knot DNS", "PowerDNS". */
  label: string;
  /** The Debian package that provides `binary`. */
  debianPackage: string;
  binary: string;
  args: string[];
  /** DNS port it answers on (127.0.0.1, UDP + TCP) and a zone it serves, for the readiness probe. */
  port: number;
  probeZone: string;
  startTimeoutMs?: number;
}

export interface Daemon {
  readonly running: boolean;
  /** The last log lines (stdout and stderr). */
  log(): string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A TSIG key as servers are configured with it: name, algorithm and the base64 secret. */
export interface LocalTsigKey {
  name: string;
  algorithm: "hmac-sha256" | "hmac-sha384" | "hmac-sha512";
  secret: string;
}

export function newTsigKey(algorithm: LocalTsigKey["algorithm"] = "hmac-sha256", name = "kv-acme"): LocalTsigKey {
  const bytes = algorithm === "hmac-sha256" ? 32 : algorithm === "hmac-sha384" ? 48 : 64;
  return { name, algorithm, secret: randomBytes(bytes).toString("base64") };
}

/** Throws a message naming the Debian package when the server's binary is missing. */
export function requireBinary(binary: string, debianPackage: string, label: string): void {
  if (!existsSync(binary)) {
    throw new Error(
      `${label} is not installed (${binary} missing): apt-get install -y ${debianPackage} (scripts/test.sh installs it when run as root)`,
    );
  }
}

export function createDaemon(spec: DaemonSpec): Daemon {
  requireBinary(spec.binary, spec.debianPackage, spec.label);
  let child: SupervisedChild | undefined;
  // One ring for every start, so the log spans restarts.
  const ring = new LogRing(200);
  const onLine = process.env.KVACME_DEBUG ? (line: string) => void process.stderr.write(`[${spec.label}] ${line}\n`) : undefined;
  const daemon: Daemon = {
    get running() {
      return child?.running ?? false;
    },
    log: () => ring.tail(40),
    async start() {
      if (daemon.running) return;
      const proc = superviseChild(spec.binary, spec.args, { ring, onLine });
      child = proc;
      try {
        await waitForSoa(spec, () => !proc.running);
      } catch (err) {
        await daemon.stop();
        throw new Error(`${spec.label} did not start: ${(err as Error).message}\n${daemon.log()}`);
      }
    },
    async stop() {
      await child?.stop(5000);
    },
  };
  return daemon;
}

async function waitForSoa(spec: DaemonSpec, hasExited: () => boolean): Promise<void> {
  const timeoutMs = spec.startTimeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  const resolver = new Resolver({ timeout: 300, tries: 1 });
  resolver.setServers([`127.0.0.1:${spec.port}`]);
  let delay = 20;
  let last = "";
  for (;;) {
    if (hasExited()) throw new Error("the process exited");
    try {
      await resolver.resolveSoa(spec.probeZone);
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`no SOA for ${spec.probeZone} on 127.0.0.1:${spec.port} within ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}

/** A minimal zone file: SOA (negative TTL 60), NS ns1.<zone>, ns1 A 127.0.0.1. */
export function zoneFile(zone: string): string {
  return [
    "$TTL 300",
    `@ IN SOA ns1.${zone}. hostmaster.${zone}. 1 3600 600 86400 60`,
    `@ IN NS ns1.${zone}.`,
    "ns1 IN A 127.0.0.1",
    "",
  ].join("\n");
}
