/** The doctor's verdicts and its checklist as people read it (pure: no I/O). */
import type { CheckResult, CheckStatus } from "./checks";

/** The settings check: every problem at once (from the ConfigurationError's details), with the next step. */
export function settingsCheck(problems: { field: string; message: string }[] | undefined, hint: string): CheckResult {
  if (!problems) return { id: "settings", title: "Settings", status: "pass", detail: "valid" };
  return {
    id: "settings",
    title: "Settings",
    status: "fail",
    detail: problems.map((p) => `${p.field} ${p.message}`).join("; "),
    fix: hint,
  };
}

/** Whether every check passed (warnings pass, skips pass; a failure anywhere fails). */
export function allPassed(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.status !== "fail");
}

/** The checklist as people read it: one line per check, the fix indented below a failure or warning. */
export function renderChecklist(results: readonly CheckResult[]): string {
  const mark: Record<CheckStatus, string> = { pass: "[ ok ]", warn: "[warn]", fail: "[FAIL]", skip: "[skip]" };
  const lines = results.flatMap((r) => [`${mark[r.status]} ${r.title}: ${r.detail}`, ...(r.fix ? [`       fix: ${r.fix}`] : [])]);
  const failed = results.filter((r) => r.status === "fail").length;
  lines.push(failed === 0 ? "all checks passed" : `${failed} check${failed === 1 ? "" : "s"} failed`);
  return lines.join("\n") + "\n";
}
