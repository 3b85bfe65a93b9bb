/**
 * `kv-acme doctor [--ping] [--json]`: the checklist of src/doctor, run from here against the local stack or Azure, or
 * read from a deployed app's `GET /api/health` with --endpoint. Exit code 0 only when every check passes, else 1
 * (78 when the settings themselves are invalid).
 */
import { allPassed, renderChecklist, runDoctor, type CheckResult, type DoctorReport } from "../doctor";
import { createProgress } from "./progress";
import { EXIT, LOCAL_HINT, connection, type CliIo } from "./run";

export interface DoctorValues {
  stack?: boolean;
  json?: boolean;
  quiet?: boolean;
  ping?: boolean;
}

/** Exit code of a report: 0 all passed, 78 invalid settings, 1 another failure. */
export function doctorExitCode(checks: readonly CheckResult[]): number {
  if (allPassed(checks)) return EXIT.ok;
  return checks.some((c) => c.id === "settings" && c.status === "fail") ? EXIT.configuration : EXIT.failure;
}

export async function doctorCommand(values: DoctorValues, io: CliIo): Promise<number> {
  const conn = await connection(values, io);
  if (typeof conn === "number") return conn;
  const progress = createProgress(io, { quiet: values.quiet ?? false });
  let n = 0;
  const report: DoctorReport = await runDoctor(conn.env, conn.credentialFor, {
    ping: values.ping ?? false,
    ...(conn.vaultCredentialsFor ? { vaultCredentialsFor: conn.vaultCredentialsFor } : {}),
    settingsHint: conn.stack ? "fix the stack's settings (see .local/stack.json)" : LOCAL_HINT,
    onResult: (r) => progress.update(++n, undefined, r.title),
  });
  progress.done();
  io.stdout(values.json ? `${JSON.stringify(report)}\n` : renderChecklist(report.checks));
  return doctorExitCode(report.checks);
}

/** Prints a report fetched from `GET /api/health` the same way. */
export function printRemoteReport(report: DoctorReport, json: boolean, io: CliIo): number {
  io.stdout(json ? `${JSON.stringify(report)}\n` : renderChecklist(report.checks));
  return doctorExitCode(report.checks);
}
