/** The kv-acme command table: the usage text and `kv-acme help <command>` are rendered from it. */
import { lazyModule } from "../shared/lazy";

/** One row per command: its synopsis (usage line) and what it does (help <command>). docs/cli.md says more. */
export const COMMANDS: Readonly<Record<string, { synopsis: string[]; summary: string }>> = {
  issue: {
    synopsis: [
      "issue --dns-names a.example.com,*.a.example.com [--name N] [--key-type EC-P256|RSA-2048|...]",
      "      [--exportable|--no-exportable] [--reuse-key] [--content-type pem|pkcs12] [--adopt]",
      "      [--dns-alias ALIAS]             write every TXT value at _acme-challenge.ALIAS (docs/dns-providers.md)",
      "      [--vault V]                     into vault V (default: the default vault)",
      "      [--issuer-pins T1,T2]           only merge versions issued by these issuer thumbprints (docs/security.md)",
      "      [--preferred-chain ISSUER] [--profile NAME] [--tag KEY=VALUE ...] [--clear-tags]   (docs/certificates.md)",
    ],
    summary:
      "Orders a certificate through DNS-01 with the key generated inside Key Vault, and merges it under N (default: from the first name).",
  },
  list: {
    synopsis: ["list [--all] [--vault V]             certificates in every vault (managed ones unless --all)"],
    summary: "Lists the certificates of every vault (or vault V) from the list API only; outside the default vault as V/N.",
  },
  renewals: {
    synopsis: ["renewals [--name N] [--vault V]      when each managed certificate renews, the rule, ARI window, backoff"],
    summary:
      "Prints every managed certificate's next renewal time, soonest first: the rule that sets it (ari, days, percent), the CA's ARI window, the last failed attempt and the backoff, as GET /api/renewals answers.",
  },
  renew: {
    synopsis: ["renew (--name N | --all-due) [--dry-run]    N or V/N (or --vault V); --all-due covers every vault"],
    summary: "Re-issues N, or every managed certificate that is due; --dry-run prints the decisions only.",
  },
  names: {
    synopsis: ["names N --dns-names a.example.com,b.example.com   N (or V/N) re-issued with these names, all else kept"],
    summary:
      "Re-issues the managed certificate N with new DNS names as a new version under the same name, keeping its key type, size or curve, HSM, CA, preferred chain, profile, custom tags and issuer pins; validated as issue is (names, ownership, overlap with other certificates, CAA). The old version stays in the vault.",
  },
  revoke: {
    synopsis: ["revoke N [--reason keyCompromise|superseded|...] [--disable]"],
    summary: "Revokes N's current version at the CA; --disable also disables it in the vault.",
  },
  pending: {
    synopsis: [
      "pending show|cancel|delete N",
      "pending merge N --chain chain.pem",
      "pending create N --dns-names ... [--key-type ...] [--adopt]   create a pending operation, print its CSR",
    ],
    summary: "Shows, cancels, deletes, merges or creates N's pending Key Vault operation.",
  },
  "issuer-pins": {
    synopsis: ["issuer-pins show|clear N | issuer-pins set N T1[,T2...]   a certificate's issuer pins (SHA-1 thumbprints)"],
    summary:
      "Shows, replaces or clears the issuer pins of N: a renewal whose issuing intermediate is not pinned is not merged (the current version stays) and certificate.issuer_rejected is sent.",
  },
  doctor: {
    synopsis: ["doctor [--ping]                      check settings, Key Vault, DNS, the CA, webhooks, clock, timer"],
    summary:
      "Checks, in order, everything kv-acme depends on, without writing anything, and prints a checklist with a fix for each failure; --ping also sends a signed ping event to every webhook target. Exit code 0 only when every check passes.",
  },
  migrate: {
    synopsis: ["migrate --from-acmebot [--settings FILE] [--apply]   what an Acmebot setup maps to; --apply adopts its certificates"],
    summary:
      "Reads the leading C# tool's app settings (FILE: az functionapp config appsettings list JSON, local.settings.json or NAME=value lines; else the environment) and the vaults they name, and prints what maps, which certificates kv-acme adopts, and what does not carry over (docs/migrate-from-acmebot.md). A dry run unless --apply, which adds kv-acme's tags to the Acmebot certificates (idempotent, nothing else written). Exit code 78 when kv-acme would not start with these settings.",
  },
  fleet: {
    synopsis: ["fleet [NAME]                         hosts whose agents report, what each installed, which are stale"],
    summary:
      "Lists every host that reported (or those observing certificate NAME): last seen, agent version, the installed version of each certificate, whether it is current, and why a host is stale.",
  },
  agent: {
    synopsis: ["agent ...                            the VM companion (see docs)"],
    summary: "The VM companion: kv-acme agent --help.",
  },
};

export const USAGE = `usage: kv-acme [--json] [--stack] [--endpoint URL [--function-key K | --token T]] <command> ...

commands:
${Object.values(COMMANDS)
  .flatMap((c) => c.synopsis.map((line) => `  ${line}`))
  .join("\n")}
  help [command]                       this text, or one command's
  --version, -V                        the version

global: --json (result as JSON on stdout), --stack (use .local/stack.json), --quiet (no progress),
        --vault V (the vault of the command; a certificate N in vault V is also written V/N),
        --endpoint URL (drive the HTTP API of the local host or a deployed app; auth --function-key K or
        --token T / KVACME_API_TOKEN)
exit codes: 0 ok, 1 failure, 2 bad input, 3 not found, 4 conflict, 78 configuration
docs: docs/cli.md`;

/** `kv-acme help <command>`. */
export function commandHelp(command: string): string | undefined {
  const c = COMMANDS[command];
  if (!c) return undefined;
  return `usage: kv-acme [global options] ${c.synopsis.join("\n       kv-acme [global options] ")}\n\n${c.summary}\nMore: docs/cli.md.\n`;
}

/** `kv-acme migrate` (./migrate.ts), loaded when run. */
export const migrateCli = lazyModule<typeof import("./migrate")>(() => require("./migrate"));

/** The options of `kv-acme migrate` (./migrate.ts), parsed with the others. */
export const MIGRATE_OPTIONS = {
  "from-acmebot": { type: "boolean" },
  settings: { type: "string" },
  apply: { type: "boolean" },
} as const;
