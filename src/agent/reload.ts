/**
 * Makes servers use a newly installed certificate: nginx (config test, then graceful reload), HAProxy (runtime
 * API `set ssl cert` + `commit ssl cert`, with the file on disk rewritten too), or any command with documented
 * environment variables (like certbot deploy hooks). Commands run without a shell (argv arrays).
 */
import { execFile } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { writeFileAtomic } from "../shared/fs";
import { toPemBundle, type CertificateMaterial } from "./material";
import type { CommandInstaller, HaproxyInstaller, InstallerSettings, NginxInstaller, ObservedCertificate } from "./settings";
import type { StoreInstallResult } from "./stores/types";

/** What an installer gets to work with. */
export interface InstallContext {
  cert: ObservedCertificate;
  version: string;
  material: CertificateMaterial;
  result: StoreInstallResult;
}

/** One way to put a certificate in service. `apply` returns descriptions of what it updated. */
export interface Installer {
  readonly settings: InstallerSettings;
  apply(ctx: InstallContext): Promise<string[]>;
}

export class ReloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReloadError";
  }
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv without a shell. */
export function runCommand(argv: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { env: opts.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      const code = !e ? 0 : typeof e.code === "number" ? e.code : -1;
      resolve({
        code,
        stdout: String(stdout),
        stderr: e && code === -1 ? `${String(stderr)}${e.killed ? "timed out" : e.message}` : String(stderr),
      });
    });
  });
}

export interface InstallerDeps {
  /** The agent's environment; commands get only its MINIMAL_ENVIRONMENT part (plus the KVACME_* variables for hooks). */
  env: NodeJS.ProcessEnv;
}

/**
 * Variables a command may inherit from the agent: what finding programs, locale, time zone and (on Windows) the
 * system directories need. Nothing else — not the managed identity's IDENTITY_ENDPOINT/IDENTITY_HEADER, client
 * secrets, function keys or proxies' credentials — so a hook cannot obtain the agent's Key Vault access.
 */
export const MINIMAL_ENVIRONMENT = [
  "PATH",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "TZ",
  "HOME",
  "USER",
  "LOGNAME",
  "TMPDIR",
  "SystemRoot",
  "SystemDrive",
  "windir",
  "ComSpec",
  "PATHEXT",
  "TEMP",
  "TMP",
  "ProgramData",
  "ProgramFiles",
] as const;

/** The part of `env` commands may see (pure; names matched case-insensitively, as Windows does). */
export function minimalEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const wanted = new Set(MINIMAL_ENVIRONMENT.map((n) => n.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && wanted.has(k.toLowerCase())) out[k] = v;
  return out;
}

export function createInstaller(settings: InstallerSettings, deps: InstallerDeps): Installer {
  switch (settings.type) {
    case "nginx":
      return nginxInstaller(settings, deps);
    case "haproxy":
      return haproxyInstaller(settings);
    case "command":
      return commandInstaller(settings, deps);
  }
}

/** argv for `nginx -t` and the reload (pure). */
export function nginxCommands(s: NginxInstaller): { test: string[]; reload: string[] } {
  const common = [...(s.prefix ? ["-p", s.prefix] : []), ...(s.config ? ["-c", s.config] : [])];
  return { test: [s.binary, "-t", "-q", ...common], reload: s.reloadCommand ?? [s.binary, ...common, "-s", "reload"] };
}

function nginxInstaller(s: NginxInstaller, deps: InstallerDeps): Installer {
  const { test, reload } = nginxCommands(s);
  return {
    settings: s,
    async apply() {
      const t = await runCommand(test, { env: minimalEnvironment(deps.env) });
      if (t.code !== 0) throw new ReloadError(`nginx configuration test failed (${test.join(" ")}): ${lastLines(t.stderr || t.stdout)}`);
      const r = await runCommand(reload, { env: minimalEnvironment(deps.env) });
      if (r.code !== 0) throw new ReloadError(`nginx reload failed (${reload.join(" ")}): ${lastLines(r.stderr || r.stdout)}`);
      return [`nginx:${s.config ?? "default"}`];
    },
  };
}

/** HAProxy runtime API commands for replacing one certificate (pure). */
export function haproxyCommands(certFile: string, pem: string): { set: string; commit: string; abort: string } {
  const body = pem.replace(/\r\n/g, "\n").replace(/\n+$/, "");
  return {
    set: `set ssl cert ${certFile} <<\n${body}\n\n`,
    commit: `commit ssl cert ${certFile}\n`,
    abort: `abort ssl cert ${certFile}\n`,
  };
}

/** Sends one command to the HAProxy runtime API (non-interactive: the server closes after answering). */
export function haproxyRuntime(socket: string, command: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const m = /^(.+):(\d+)$/.exec(socket);
    const conn = socket.startsWith("/") || !m ? net.connect(socket) : net.connect(Number(m[2]), m[1].replace(/^\[|\]$/g, ""));
    let out = "";
    conn.setTimeout(timeoutMs, () => conn.destroy(new Error(`HAProxy runtime API ${socket}: no answer within ${timeoutMs} ms`)));
    conn.on("connect", () => conn.end(command));
    conn.on("data", (d) => (out += d.toString()));
    conn.on("error", (err) => reject(new ReloadError(`HAProxy runtime API ${socket}: ${err.message}`)));
    conn.on("close", () => resolve(out));
  });
}

function haproxyInstaller(s: HaproxyInstaller): Installer {
  return {
    settings: s,
    async apply(ctx) {
      const certFile = s.certFile ?? ctx.result.linkPath ?? ctx.result.location;
      const pem = toPemBundle(ctx.material);
      // The runtime API changes memory only: make the file HAProxy loads at start-up hold the same certificate.
      if (certFile !== ctx.result.linkPath && certFile !== ctx.result.location) await writeFileAtomic(certFile, pem, 0o600);
      const cmd = haproxyCommands(certFile, pem);
      const set = await haproxyRuntime(s.socket, cmd.set);
      if (!/Transaction (created|updated)/i.test(set)) {
        throw new ReloadError(`HAProxy refused the certificate for ${certFile}: ${lastLines(set)}`);
      }
      const commit = await haproxyRuntime(s.socket, cmd.commit);
      if (!/Success!/.test(commit)) {
        await haproxyRuntime(s.socket, cmd.abort).catch(() => "");
        throw new ReloadError(`HAProxy could not commit ${certFile}: ${lastLines(commit)}`);
      }
      return [`haproxy:${certFile}`];
    },
  };
}

/** Environment for command hooks (pure). Documented in docs/agent.md. */
export function hookEnvironment(ctx: InstallContext): Record<string, string> {
  const certPath = ctx.result.linkPath ?? ctx.result.location;
  const domains = ctx.material.dnsNames.join(" ");
  return {
    KVACME_CERT_PATH: certPath,
    KVACME_CERT_FILE: ctx.result.location,
    KVACME_CERT_NAME: ctx.cert.name,
    KVACME_CERT_VERSION: ctx.version,
    KVACME_CERT_THUMBPRINT: ctx.material.thumbprint,
    KVACME_CERT_SERIAL: ctx.material.serialNumber,
    KVACME_CERT_NOT_AFTER: ctx.material.notAfter.toISOString(),
    KVACME_DOMAINS: domains,
    KVACME_VAULT_URL: ctx.cert.vaultUrl,
    KVACME_SECRET_URL: ctx.cert.url,
    KVACME_PREVIOUS_PATH: ctx.result.previous ?? "",
    RENEWED_LINEAGE: path.dirname(certPath),
    RENEWED_DOMAINS: domains,
  };
}

function commandInstaller(s: CommandInstaller, deps: InstallerDeps): Installer {
  return {
    settings: s,
    async apply(ctx) {
      const r = await runCommand(s.command, {
        env: { ...minimalEnvironment(deps.env), ...hookEnvironment(ctx) },
        timeoutMs: s.timeoutInS * 1000,
      });
      if (r.code !== 0) throw new ReloadError(`command ${s.command.join(" ")} failed (exit ${r.code}): ${lastLines(r.stderr || r.stdout)}`);
      return [`command:${path.basename(s.command[0])}`];
    },
  };
}

function lastLines(text: string, n = 3): string {
  return text.trim().split("\n").slice(-n).join(" | ") || "(no output)";
}
