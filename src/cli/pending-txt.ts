/**
 * The CLI's TXT journal (src/issuance/pending-txt.ts) under `$KVACME_HOME/pending-txt/` (.local/ by default): every
 * runtime the CLI builds journals the values it presents (in every vault's dependencies), and `issue` / `renew` first finish the cleanups an earlier
 * run left (killed, or its DNS provider down), keeping what still fails for the next start.
 */
import path from "node:path";
import type { IssuanceDeps, ProgressSink } from "../issuance/deps";
import { PendingTxtJournal, retryPendingTxt } from "../issuance/pending-txt";
import { kvAcmeHome } from "../local/paths";

export function pendingTxtDir(): string {
  return path.join(kvAcmeHome(), "pending-txt");
}

/** The CLI's journal (every runtime it builds passes it to the dependencies of every vault). */
export function cliTxtJournal(): PendingTxtJournal {
  return new PendingTxtJournal(pendingTxtDir());
}

/** Retries the cleanups earlier runs left; says what it removed and what is still pending. Never throws for a cleanup. */
export async function finishLeftCleanups(deps: IssuanceDeps, progress: ProgressSink): Promise<void> {
  if (!deps.pendingTxt) return;
  const r = await retryPendingTxt(deps.pendingTxt, deps);
  if (r.cleaned > 0) progress("cleanup", `removed the TXT values ${r.cleaned} earlier run(s) left in DNS`);
  if (r.remaining > 0) {
    progress(
      "cleanup",
      `${r.remaining} earlier TXT cleanup(s) still failing, kept in ${deps.pendingTxt.dir} for the next start: ${r.errors.join("; ")}`,
    );
  }
}
