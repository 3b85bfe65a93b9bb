/**
 * The kv-acme command line: runs the issuance steps directly against the configured endpoints (Key Vault, Azure DNS,
 * the ACME CA). Results go to stdout (JSON with --json), progress and errors to stderr. Exit codes: 0 ok,
 * 1 failure, 2 bad input, 3 not found, 4 conflict, 78 configuration. See docs/cli.md.
 */
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import type { TokenCredential } from "@azure/identity";
import { parseRevocationReason } from "../acme/revoke";
import { loadSettings, type Settings } from "../config/settings";
import { listEveryVault, listInventory, unlessAllDown } from "../keyvault/inventory";
import { addressed, listedVaults, renewalsText } from "./addressing";
import { candidateOf, decideForItem } from "../renewal/scan";
import { formatAddress } from "../keyvault/address";
import {
  cancelPendingOperation,
  createPendingWithPolicy,
  deletePendingOperation,
  editCertificateNames,
  getIssuerPins,
  issueCertificate,
  mergePendingOperation,
  renewAllDue,
  renewCertificate,
  revokeCertificate,
  setIssuerPins,
  showPending,
} from "../issuance";
import { defaultCredential, runtimeFromSettings, vaultCredentialsFor, type Runtime } from "../app/runtime";
import type { VaultCredentials } from "../issuance/deps";
import { kvAcmeHome } from "../local/paths";
import { readStackJson, stackCredential, stackEnv, type StackInfo } from "../local/stack";
import { ConfigurationError, ConflictError, KvAcmeError, NotFoundError, ValidationError, errorMessage } from "../shared/errors";
import { KVACME_VERSION } from "../shared/version";
import { cliTxtJournal, finishLeftCleanups } from "./pending-txt";
import { CONTROL_OPTIONS, controlsFrom } from "./controls";
import { issuerPinsArgs, pinList } from "./issuer-pins";
import { createProgress } from "./progress";
import { COMMANDS, commandHelp, MIGRATE_OPTIONS, migrateCli, USAGE } from "./usage";

export { COMMANDS, commandHelp, USAGE } from "./usage";
import { lazyModule } from "../shared/lazy";

export const EXIT = { ok: 0, failure: 1, badInput: 2, notFound: 3, conflict: 4, configuration: 78 } as const;

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Re-runs the CLI in a child process with extra environment (to trust the local CA); returns its exit code. */
  reexec?: (env: Record<string, string>) => number;
  /** stderr is a terminal (progress lines are drawn only then), and its width. */
  stderrIsTTY?: boolean;
  columns?: number;
}

const OPTIONS = {
  json: { type: "boolean" },
  stack: { type: "boolean" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  ping: { type: "boolean" },
  endpoint: { type: "string" },
  "function-key": { type: "string" },
  token: { type: "string" },
  "dns-names": { type: "string", multiple: true },
  "dns-alias": { type: "string" },
  name: { type: "string" },
  "key-type": { type: "string" },
  exportable: { type: "boolean" },
  "no-exportable": { type: "boolean" },
  "reuse-key": { type: "boolean" },
  adopt: { type: "boolean" },
  "content-type": { type: "string" },
  all: { type: "boolean" },
  "all-due": { type: "boolean" },
  "dry-run": { type: "boolean" },
  reason: { type: "string" },
  disable: { type: "boolean" },
  chain: { type: "string" },
  vault: { type: "string" },
  "issuer-pins": { type: "string", multiple: true },
  ...CONTROL_OPTIONS,
} as const;

/** Exit code for an error: the error class decides (documented in docs/cli.md). */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ValidationError) return EXIT.badInput;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof ConflictError) return EXIT.conflict;
  if (err instanceof ConfigurationError) return EXIT.configuration;
  return EXIT.failure;
}

function usageError(message: string): ValidationError {
  return new ValidationError([{ field: "arguments", message }]);
}

/** Parses argv into a command, its positionals and options; throws ValidationError on unknown options. */
export function parseCommandLine(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...OPTIONS, ...MIGRATE_OPTIONS }, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError(errorMessage(err));
  }
  const [command, ...positionals] = parsed.positionals;
  return { command, positionals, values: parsed.values };
}

type Values = ReturnType<typeof parseCommandLine>["values"];

function keyOptionsFrom(values: Values) {
  if (values.exportable && values["no-exportable"]) throw usageError("--exportable and --no-exportable exclude each other");
  return {
    ...(values["key-type"] !== undefined ? { keyType: values["key-type"] } : {}),
    ...(values.exportable ? { exportable: true } : values["no-exportable"] ? { exportable: false } : {}),
    ...(values["reuse-key"] ? { reuseKey: true } : {}),
    ...(values["content-type"] !== undefined ? { contentType: values["content-type"] } : {}),
  };
}

function requireName(positionals: string[], what: string): string {
  const name = positionals[0];
  if (!name) throw usageError(`${what} needs a certificate name`);
  if (positionals.length > 1) throw usageError(`unexpected arguments: ${positionals.slice(1).join(" ")}`);
  return name;
}

/** The next step for a newcomer whose settings are missing: the local stack is the way to try kv-acme. */
export const LOCAL_HINT =
  "To try kv-acme locally: start the local stack with `npm run stack` in another terminal (or `npm start` with the Function App), then run this command again with --stack.";

/** An error reaching an endpoint of the local stack: the stack is not running (any more). */
/** Whether the process that wrote stack.json still runs (signal 0 checks without signalling; EPERM: it runs as another user). */
function stackRunning(stack: StackInfo): boolean {
  try {
    process.kill(stack.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Why a command against the local stack failed when the stack it read from stack.json no longer runs. */
function stackDown(stack: StackInfo | undefined): string | undefined {
  if (!stack || stackRunning(stack)) return undefined;
  return `the local stack described by ${path.join(kvAcmeHome(), "stack.json")} does not answer (started ${stack.startedAt}): start it again with npm run stack`;
}

interface Environment {
  settings: Settings;
  credential: TokenCredential;
  /** Vaults with a managed identity of their own: that identity's credential (absent on the local stack). */
  vaultCredentials?: VaultCredentials;
  stack?: StackInfo;
}

/** Where the CLI connects: the settings environment and a credential, from .local/stack.json or the process environment. */
export interface Connection {
  env: Record<string, string | undefined>;
  credentialFor(settings: Settings): TokenCredential;
  /** Each vault's own credential (its `Vaults__<n>__ManagedIdentityClientId`), as the app uses; absent on the local stack. */
  vaultCredentialsFor?(settings: Settings): VaultCredentials;
  stack?: StackInfo;
}

/**
 * The local stack with --stack (or when no vault is configured and a stack runs), else the environment. Returns an exit
 * code when the CLI re-ran itself trusting the stack's CA.
 */
export async function connection(values: { stack?: boolean }, io: CliIo): Promise<Connection | number> {
  const stackFile = path.join(kvAcmeHome(), "stack.json");
  const useStack = values.stack || (!io.env.KvAcme__VaultUrl && !io.env.KVACME__VAULTURL && existsSync(stackFile));
  if (!useStack) {
    return { env: io.env, credentialFor: defaultCredential, vaultCredentialsFor };
  }
  let info: StackInfo;
  try {
    info = await readStackJson();
  } catch (err) {
    throw new ConfigurationError(
      `${errorMessage(err)}\nStart the local stack first: npm run stack (in another terminal), or npm start for the stack and the Function App.`,
    );
  }
  // Node reads NODE_EXTRA_CA_CERTS at start-up only: run again trusting the stack's CA (TLS is never switched off).
  if (io.env.NODE_EXTRA_CA_CERTS !== info.caFile && io.reexec) return io.reexec({ NODE_EXTRA_CA_CERTS: info.caFile });
  const credential = stackCredential(info);
  return { env: { ...io.env, ...stackEnv(info) }, credentialFor: () => credential, stack: info };
}

/** Settings and credential for the commands that act on the vault. */
async function environment(values: Values, io: CliIo): Promise<Environment | number> {
  const conn = await connection(values, io);
  if (typeof conn === "number") return conn;
  let settings: Settings;
  try {
    settings = loadSettings(conn.env);
  } catch (err) {
    if (err instanceof ConfigurationError && !conn.stack) throw new ConfigurationError(`${err.message}\n${LOCAL_HINT}`, err.details);
    throw err;
  }
  if (!settings.vaultUrl) throw new ConfigurationError(`No Key Vault configured: set KvAcme__VaultUrl (docs/settings.md).\n${LOCAL_HINT}`);
  const vaultCredentials = conn.vaultCredentialsFor?.(settings);
  return { settings, credential: conn.credentialFor(settings), ...(vaultCredentials ? { vaultCredentials } : {}), stack: conn.stack };
}

function human(command: string, result: unknown, settings: Settings): string {
  if (command === "fleet")
    return lazyModule<typeof import("./fleet")>(() => require("./fleet"))().fleetText(result as import("./fleet").FleetResult);
  if (command === "renewals") return renewalsText(result as Parameters<typeof renewalsText>[0]);
  if (command === "list" && Array.isArray(result)) {
    if (result.length === 0) return "no certificates\n";
    return (
      result
        .map(
          (r: { name: string; vault?: string; expiresOn?: string; managed: { managed: boolean }; pending: boolean; enabled: boolean }) =>
            `${formatAddress(r.vault, r.name, settings.defaultVault).padEnd(40)} ${r.pending ? "pending".padEnd(24) : (r.expiresOn ?? "").padEnd(24)} ${r.managed.managed ? "managed" : "-"}${r.enabled ? "" : " disabled"}`,
        )
        .join("\n") + "\n"
    );
  }
  if (typeof result === "object" && result !== null) {
    const r = result as Record<string, unknown>;
    const lines = Object.entries(r)
      .filter(([k, v]) => k !== "csr" && v !== undefined && typeof v !== "object")
      .map(([k, v]) => `${k}: ${String(v)}`);
    const extra = typeof r.csrPem === "string" ? `\n${r.csrPem}` : "";
    const lists = Object.entries(r)
      .filter(([, v]) => Array.isArray(v))
      .map(([k, v]) => `${k}: ${(v as unknown[]).map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ")}`);
    return [...lines, ...lists].join("\n") + "\n" + extra;
  }
  return `${String(result)}\n`;
}

async function dispatch(
  command: string,
  positionals: string[],
  values: Values,
  runtime: () => Runtime,
  readFile: (p: string) => Promise<string>,
  io: CliIo,
): Promise<unknown> {
  const deps = () => runtime().deps;
  // Webhooks and telemetry of the issuance and renewal flows, exactly as the Function App sends them.
  const reporting = () => ({ settings: runtime().settings, telemetry: runtime().telemetry });
  switch (command) {
    case "issue": {
      if (positionals.length > 0) throw usageError(`unexpected arguments: ${positionals.join(" ")}`);
      const names = (values["dns-names"] ?? []).join(",");
      if (!names.trim()) throw usageError("issue needs --dns-names (comma-separated)");
      await finishLeftCleanups(deps(), deps().progress);
      return issueCertificate(
        {
          dnsNames: names,
          ...(values.name !== undefined ? { certificateName: values.name } : {}),
          ...(values["dns-alias"] !== undefined ? { dnsAlias: values["dns-alias"] } : {}),
          keyOptions: keyOptionsFrom(values),
          ...(values.adopt ? { adopt: true } : {}),
          ...(values.vault !== undefined ? { vault: values.vault } : {}),
          ...(values["issuer-pins"] !== undefined ? { issuerPins: pinList(values["issuer-pins"]) } : {}),
          ...controlsFrom(values),
        },
        deps(),
        reporting(),
      );
    }
    case "issuer-pins": {
      const { action, name, pins } = issuerPinsArgs(positionals);
      const target = addressed(name, values.vault, runtime().deps);
      return action === "show" ? getIssuerPins(target.name, target.deps) : setIssuerPins(target.name, pins, target.deps);
    }
    case "list": {
      const vaults = listedVaults(values.vault, deps()).map((d) => ({ vault: d.vault, certificates: d.certificates }));
      const listings = unlessAllDown(
        await listEveryVault(vaults, { managedOnly: !values.all, includePending: values.all ?? false, newestIssued: true }),
      );
      for (const l of listings) if (l.error) io.stderr(`kv-acme: vault ${l.vault} not listed: ${l.error.message}\n`);
      return listings.flatMap((l) => l.items);
    }
    case "renewals": {
      if (positionals.length > 0) throw usageError(`unexpected arguments: ${positionals.join(" ")}`);
      const { renewalSchedule } = lazyModule<typeof import("../api/handlers-renewals")>(() => require("../api/handlers-renewals"))();
      return renewalSchedule(deps(), listedVaults(values.vault, deps()), values.name === undefined ? {} : { name: values.name });
    }
    case "renew": {
      if (values.name && values["all-due"]) throw usageError("use either --name or --all-due");
      if (values["all-due"]) {
        if (!values["dry-run"]) await finishLeftCleanups(deps(), deps().progress);
        const line = createProgress(io, { quiet: values.quiet ?? false });
        try {
          return await renewAllDue(
            { ...runtime(), onRenewalStarted: (n, total, name) => line.update(n, total, name) },
            { dryRun: values["dry-run"] ?? false },
          );
        } finally {
          line.done();
        }
      }
      const raw = values.name ?? positionals[0];
      if (!raw) throw usageError("renew needs --name N or --all-due");
      const { name, deps: d } = addressed(raw, values.vault, deps());
      if (values["dry-run"]) {
        const { items } = await listInventory(d.certificates, { newestIssued: true });
        const item = items.find((i) => i.name === name);
        if (!item) throw new NotFoundError(`Certificate ${name} was not found in vault ${d.vault}`);
        return decideForItem(candidateOf({ ...item, vault: d.vault }, d.settings.defaultVault), d, new Date());
      }
      await finishLeftCleanups(deps(), deps().progress);
      return renewCertificate(name, d, reporting());
    }
    case "names": {
      const { name, deps: d } = addressed(requireName(positionals, "names"), values.vault, deps());
      const names = (values["dns-names"] ?? []).join(",");
      if (!names.trim()) throw usageError("names needs --dns-names (comma-separated)");
      await finishLeftCleanups(deps(), deps().progress);
      return editCertificateNames(name, names, d, reporting());
    }
    case "revoke": {
      const { name, deps: d } = addressed(requireName(positionals, "revoke"), values.vault, deps());
      const reason = parseRevocationReason(values.reason);
      return revokeCertificate(name, { ...(reason ? { reason } : {}), disable: values.disable ?? false }, d);
    }
    case "pending": {
      const [action, ...rest] = positionals;
      const target = addressed(requireName(rest, `pending ${action ?? ""}`.trim()), values.vault, runtime().deps);
      const name = target.name;
      const deps = () => target.deps;
      switch (action) {
        case "show":
          return showPending(name, deps());
        case "cancel":
          return cancelPendingOperation(name, deps());
        case "delete":
          return deletePendingOperation(name, deps());
        case "merge": {
          if (!values.chain) throw usageError("pending merge needs --chain chain.pem");
          let chain: string;
          try {
            chain = await readFile(values.chain);
          } catch (err) {
            throw usageError(`cannot read ${values.chain}: ${errorMessage(err)}`);
          }
          return mergePendingOperation(name, chain, deps());
        }
        case "create": {
          const names = (values["dns-names"] ?? []).join(",");
          if (!names.trim()) throw usageError("pending create needs --dns-names");
          return createPendingWithPolicy(
            { certificateName: name, dnsNames: names, keyOptions: keyOptionsFrom(values), ...(values.adopt ? { adopt: true } : {}) },
            deps(),
          );
        }
        default:
          throw usageError(`unknown pending action "${action ?? ""}"; use show, cancel, delete, merge or create`);
      }
    }
    case "fleet": {
      if (positionals.length > 1) throw usageError(`unexpected arguments: ${positionals.slice(1).join(" ")}`);
      const { loadFleet } = lazyModule<typeof import("../fleet")>(() => require("../fleet"))();
      const { narrowFleet } = lazyModule<typeof import("./fleet")>(() => require("./fleet"))();
      const now = new Date();
      const hosts = await loadFleet(runtime(), now);
      return narrowFleet({ generatedAt: now.toISOString(), staleHosts: hosts.filter((h) => h.stale).length, hosts }, positionals[0]);
    }
    default:
      throw usageError(`unknown command "${command}"`);
  }
}

/** Runs the CLI; returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === "agent") {
    const { agentMain } = lazyModule<typeof import("../agent/index")>(() => require("../agent/index"))();
    return agentMain(argv.slice(1), { env: io.env as NodeJS.ProcessEnv });
  }
  let json = argv.includes("--json");
  try {
    const { command, positionals, values } = parseCommandLine(argv);
    json = values.json ?? false;
    if (values.version) {
      io.stdout(json ? `${JSON.stringify({ version: KVACME_VERSION })}\n` : `kv-acme ${KVACME_VERSION}\n`);
      return EXIT.ok;
    }
    if (command === "help" && positionals.length > 0) {
      const help = commandHelp(positionals[0]!);
      if (!help) throw usageError(`unknown command "${positionals[0]}"; commands: ${Object.keys(COMMANDS).join(", ")}`);
      io.stdout(help);
      return EXIT.ok;
    }
    if (values.help && command && COMMANDS[command]) {
      io.stdout(commandHelp(command)!);
      return EXIT.ok;
    }
    if (values.help || !command || command === "help") {
      io.stdout(`${USAGE}\n`);
      return command || values.help ? EXIT.ok : EXIT.badInput;
    }
    if (!(command in COMMANDS)) throw usageError(`unknown command "${command}"; run kv-acme help for the list`);
    if (command === "doctor" && values.endpoint === undefined) {
      if (positionals.length > 0) throw usageError(`unexpected arguments: ${positionals.join(" ")}`);
      const { doctorCommand } = lazyModule<typeof import("./doctor")>(() => require("./doctor"))();
      return await doctorCommand(values, io);
    }
    if (command === "migrate") return await migrateCli().migrateCommand(values, positionals, io);
    if (values.endpoint !== undefined) {
      const { runEndpointCommand } = lazyModule<typeof import("./endpoint")>(() => require("./endpoint"))();
      const progress = (step: string, message: string) => {
        if (!values.quiet) io.stderr(`kv-acme: ${step}: ${message}\n`);
      };
      const out = await runEndpointCommand(command, positionals, values, {
        env: io.env,
        progress,
        readFile: (p) => fs.readFile(p, "utf8"),
      });
      io.stdout(json ? `${JSON.stringify(out.result)}\n` : out.text);
      return out.exitCode ?? EXIT.ok;
    }
    if (values["function-key"] !== undefined || values.token !== undefined)
      throw usageError("--function-key and --token only apply with --endpoint");
    const env = await environment(values, io);
    if (typeof env === "number") return env;
    const progress = (step: string, message: string) => {
      if (!values.quiet) io.stderr(`kv-acme: ${step}: ${message}\n`);
    };
    let built: Runtime | undefined;
    const runtime = () =>
      (built ??= runtimeFromSettings(env.settings, env.credential, {
        progress,
        pendingTxt: cliTxtJournal(),
        ...(env.vaultCredentials ? { vaultCredentials: env.vaultCredentials } : {}),
      }));
    try {
      let result: unknown;
      try {
        result = await dispatch(command, positionals, values, runtime, (p) => fs.readFile(p, "utf8"), io);
      } catch (err) {
        const down = stackDown(env.stack);
        if (down) throw new ConfigurationError(down);
        throw err;
      }
      io.stdout(json ? `${JSON.stringify(result)}\n` : human(command, result, env.settings));
      return EXIT.ok;
    } finally {
      await built?.telemetry.shutdown().catch(() => undefined);
    }
  } catch (err) {
    const code = exitCodeFor(err);
    io.stderr(`kv-acme: error: ${errorMessage(err)}\n`);
    if (json) {
      const e =
        err instanceof KvAcmeError
          ? { code: err.code, message: err.message, details: err.details }
          : { code: "Error", message: errorMessage(err) };
      io.stdout(`${JSON.stringify({ error: e, exitCode: code })}\n`);
    }
    return code;
  }
}
