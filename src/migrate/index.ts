/**
 * `kv-acme migrate --from-acmebot` (docs/migrate-from-acmebot.md): reads an Acmebot Function App's settings and the
 * vaults they name, and reports what maps, what kv-acme adopts, what does not carry over, and how
 * Acmebot__RenewBeforeExpiry reads; a dry run unless `apply`, which tags the adoption candidates (./acmebot-vault.ts).
 */
import { CertificateClient } from "@azure/keyvault-certificates";
import type { TokenCredential } from "@azure/core-auth";
import { loadSettings, type Settings } from "../config/settings";
import { resolveRenewalPolicy } from "../config/acmebot";
import { SecretClient } from "@azure/keyvault-secrets";
import { ACMEBOT_UNIT_SECRET, readAcmebotUnit, recordAcmebotUnit, type RecordedAcmebotUnit } from "../keyvault/acmebot-unit";
import { listInventory } from "../keyvault/inventory";
import { ConfigurationError, errorMessage, type FieldProblem } from "../shared/errors";
import { mapAcmebotSettings, type SettingMapping } from "./acmebot-settings";
import { adoptCertificate, planCertificate, type ApplyResult, type CertificatePlan } from "./acmebot-vault";

export { parseSettingsFile } from "./acmebot-settings";

export interface MigrateReport {
  apply: boolean;
  settings: SettingMapping[];
  /** Problems kv-acme would stop on at start-up with these settings. */
  problems: FieldProblem[];
  /** How Acmebot__RenewBeforeExpiry reads (unit and why), or why it cannot be told. */
  renewBeforeExpiry?: { value: number; unit?: "days" | "percent"; reason: string; setting?: string };
  certificates: CertificatePlan[];
  /** Vaults that could not be read. */
  vaultErrors: { vault: string; error: string }[];
  applied?: ApplyResult[];
}

export interface MigrateOptions {
  /** The Acmebot settings (a file's, or the environment's). */
  source: Record<string, string | undefined>;
  /** What else the app would run with (the local stack's endpoints); `source` wins over it. */
  base?: Record<string, string | undefined>;
  credentialFor(settings: Settings): TokenCredential;
  apply?: boolean;
}

/** Loads the settings; with problems, again without the names at fault, so the vaults can still be read. */
function loadForReport(env: Record<string, string | undefined>): { settings?: Settings; problems: FieldProblem[] } {
  try {
    return { settings: loadSettings(env), problems: [] };
  } catch (err) {
    if (!(err instanceof ConfigurationError)) throw err;
    const problems = (err.details as { problems?: FieldProblem[] } | undefined)?.problems ?? [];
    const faulty = new Set(problems.map((p) => p.field.toLowerCase().replace(/:/g, "__")));
    const rest = Object.fromEntries(Object.entries(env).filter(([k]) => !faulty.has(k.toLowerCase().replace(/:/g, "__"))));
    try {
      return { settings: loadSettings(rest), problems };
    } catch {
      return { problems };
    }
  }
}

export async function migrateFromAcmebot(options: MigrateOptions): Promise<MigrateReport> {
  const env = { ...(options.base ?? {}), ...options.source };
  const { settings, problems } = loadForReport(env);
  const report: MigrateReport = {
    apply: options.apply ?? false,
    settings: mapAcmebotSettings(options.source, problems),
    problems,
    certificates: [],
    vaultErrors: [],
  };
  if (!settings) return report;
  const credential = options.credentialFor(settings);
  const clients = settings.vaults.map((v) => ({
    vault: v.name,
    client: new CertificateClient(v.url, credential, {
      disableChallengeResourceVerification: settings.disableChallengeResourceVerification,
    }),
  }));
  for (const { vault, client } of clients) {
    try {
      const { items } = await listInventory(client, { includePending: true });
      report.certificates.push(...items.map((i) => planCertificate(i, vault)));
    } catch (err) {
      report.vaultErrors.push({ vault, error: errorMessage(err) });
    }
  }
  // The unit decided once (../keyvault/acmebot-unit.ts): read here, recorded by --apply (the adoption).
  let decidedUnit: { unit: "days" | "percent"; reason: string } | undefined;
  const secrets = new SecretClient(settings.secretsVaultUrl, credential, {
    disableChallengeResourceVerification: settings.disableChallengeResourceVerification,
  });
  let recorded: RecordedAcmebotUnit | undefined;
  if (settings.acmebotRenewBeforeExpiry !== undefined) {
    const value = settings.acmebotRenewBeforeExpiry.value;
    const evidence = {
      v4: report.certificates.filter((c) => c.acmebot === 4).length,
      v5: report.certificates.filter((c) => c.acmebot === 5).length,
    };
    try {
      recorded = await readAcmebotUnit(secrets);
      const r = resolveRenewalPolicy(settings, evidence, recorded);
      const unit = r.acmebotUnit?.unit;
      if (!recorded) decidedUnit = r.acmebotUnit;
      report.renewBeforeExpiry = {
        value,
        ...(unit ? { unit, setting: `KvAcme__AcmebotRenewBeforeExpiryUnit=${unit}` } : {}),
        reason: `${r.acmebotUnit?.reason ?? ""}; ${recorded ? "kv-acme reads the recorded unit" : `--apply records it as the secret ${ACMEBOT_UNIT_SECRET}, since kv-acme's renewals replace the tags`} (or add the setting)`,
      };
    } catch (err) {
      report.renewBeforeExpiry = { value, reason: errorMessage(err) };
    }
  }
  if (report.apply) {
    if (decidedUnit) {
      try {
        await recordAcmebotUnit(secrets, decidedUnit, new Date());
      } catch (err) {
        report.vaultErrors.push({ vault: settings.secretsVaultUrl, error: errorMessage(err) });
      }
    }
    report.applied = [];
    for (const plan of report.certificates.filter((c) => c.fate === "adopt")) {
      const client = clients.find((c) => c.vault === plan.vault)?.client as CertificateClient;
      try {
        report.applied.push(await adoptCertificate(client, plan.vault, plan.name, settings.acmeDirectoryUrl));
      } catch (err) {
        report.applied.push({ vault: plan.vault, name: plan.name, outcome: "skipped", reason: errorMessage(err) });
      }
    }
  }
  return report;
}

const FATE_TITLE: Record<CertificatePlan["fate"], string> = {
  adopt: "adopted (kv-acme renews them from now on)",
  managed: "already kv-acme's",
  ignored: "ignored (kv-acme-ignore)",
  untouched: "left alone (neither kv-acme's nor Acmebot's)",
};

/** The report as text. */
export function renderMigrateReport(r: MigrateReport): string {
  const lines: string[] = [];
  const section = (title: string, rows: string[]) => {
    lines.push(title);
    lines.push(...(rows.length > 0 ? rows.map((x) => `  ${x}`) : ["  (none)"]));
    lines.push("");
  };
  const maps = r.settings.filter((s) => s.status === "maps");
  section(
    "Settings that map:",
    maps.map((s) => `${s.name} -> ${s.to}${s.note ? ` (${s.note})` : ""}`),
  );
  const other = r.settings.filter((s) => s.status !== "maps");
  section(
    "Settings that do not carry over:",
    other.map((s) => `${s.name}: ${s.status === "ignored" ? "read, no effect: " : ""}${s.note ?? ""}`),
  );
  const unlisted = r.problems.filter((p) => !r.settings.some((s) => s.name.toLowerCase() === p.field.toLowerCase()));
  if (unlisted.length > 0)
    section(
      "Start-up problems:",
      unlisted.map((p) => `${p.field} ${p.message}`),
    );
  if (r.renewBeforeExpiry) {
    const rb = r.renewBeforeExpiry;
    section("Acmebot__RenewBeforeExpiry:", [
      rb.unit ? `${rb.value} read as ${rb.unit}: ${rb.reason}` : `${rb.value}: ${rb.reason}`,
      ...(rb.setting ? [`add: ${rb.setting}`] : []),
    ]);
  }
  for (const fate of ["adopt", "managed", "ignored", "untouched"] as const) {
    const certs = r.certificates.filter((c) => c.fate === fate);
    section(
      `Certificates ${FATE_TITLE[fate]}:`,
      certs.map((c) => `${c.vault}/${c.name}: ${c.reason}${c.expiresOn ? `, expires ${c.expiresOn}` : ""}`),
    );
  }
  for (const e of r.vaultErrors) lines.push(`Vault ${e.vault} could not be read: ${e.error}`);
  if (r.applied) {
    section(
      "Applied:",
      r.applied.map(
        (a) => `${a.vault}/${a.name}: ${a.outcome}${a.version ? ` (version ${a.version})` : ""}${a.reason ? `: ${a.reason}` : ""}`,
      ),
    );
  } else {
    const n = r.certificates.filter((c) => c.fate === "adopt").length;
    lines.push(
      `Dry run: nothing was written. ${n > 0 ? `kv-acme migrate --from-acmebot --apply tags the ${n} certificate(s) to adopt.` : ""}`.trim(),
    );
  }
  return `${lines.join("\n")}\n`;
}
