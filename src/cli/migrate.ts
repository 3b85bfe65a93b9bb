/**
 * `kv-acme migrate --from-acmebot [--settings FILE] [--apply] [--json]`: reads the Acmebot app settings (FILE, else
 * this process's environment) and the vaults they name (with --stack: the local stack's), and prints what maps, what
 * is adopted and what does not carry over (src/migrate); --apply tags the certificates to adopt. Exit code 0, or 78
 * when kv-acme would not start with these settings (the report says why).
 */
import { promises as fs } from "node:fs";
import { migrateFromAcmebot, parseSettingsFile, renderMigrateReport } from "../migrate";
import { ValidationError } from "../shared/errors";
import { EXIT, connection, type CliIo } from "./run";

export interface MigrateValues {
  stack?: boolean;
  json?: boolean;
  "from-acmebot"?: boolean;
  settings?: string;
  apply?: boolean;
}

export async function migrateCommand(values: MigrateValues, positionals: string[], io: CliIo): Promise<number> {
  if (!values["from-acmebot"])
    throw new ValidationError([{ field: "arguments", message: "migrate needs --from-acmebot (the one source it knows)" }]);
  if (positionals.length > 0)
    throw new ValidationError([{ field: "arguments", message: `unexpected arguments: ${positionals.join(" ")}` }]);
  let source: Record<string, string | undefined> = io.env;
  if (values.settings !== undefined) {
    let text: string;
    try {
      text = await fs.readFile(values.settings, "utf8");
    } catch (err) {
      throw new ValidationError([{ field: "--settings", message: `cannot read ${values.settings}: ${(err as Error).message}` }]);
    }
    source = parseSettingsFile(text, values.settings);
  }
  const conn = await connection(values, io);
  if (typeof conn === "number") return conn;
  const report = await migrateFromAcmebot({
    source,
    base: conn.env,
    credentialFor: conn.credentialFor,
    apply: values.apply ?? false,
  });
  io.stdout(values.json ? `${JSON.stringify(report)}\n` : renderMigrateReport(report));
  return report.problems.length > 0 ? EXIT.configuration : EXIT.ok;
}
