/**
 * The in-process driver's journal of TXT values it presented and has not removed yet (the CLI's; the durable
 * orchestration keeps its own history and cleans up in its `finally`). One small file per set of challenges under a
 * directory of the caller's state (`$KVACME_HOME/pending-txt/` for the CLI), written atomically BEFORE any value is
 * written and deleted once the values are removed. A process killed mid-issuance, or a DNS provider down for longer
 * than the issuance (its cleanup failing), leaves the file; the next start retries the cleanup (`retryPendingTxt`)
 * and keeps the file until it succeeds, so no TXT value is orphaned however long the outage. Entries hold zone
 * references and TXT values only (public in DNS anyway), never credentials.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { errorMessage } from "../shared/errors";
import { writeFileAtomic } from "../shared/fs";
import type { IssuanceDeps } from "./deps";
import { cleanupChallenges, type ChallengeRecord } from "./steps";

export interface PendingTxtEntry {
  id: string;
  /** When the values were (about to be) presented. */
  recordedAt: string;
  challenges: ChallengeRecord[];
}

const ENTRY = /^[0-9a-f]{32}\.json$/;

export class PendingTxtJournal {
  constructor(readonly dir: string) {}

  /** The same id for the same challenges (present and cleanup of one order share it). */
  static idOf(challenges: readonly ChallengeRecord[]): string {
    const keys = challenges.map((c) => `${c.zone.provider}|${c.zone.id.toLowerCase()}|${c.recordName}|${c.txtValue}`).sort();
    return createHash("sha256").update(keys.join("\n")).digest("hex").slice(0, 32);
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  /** Records challenges about to be presented; a failure here stops the presentation (nothing written unjournaled). */
  async record(challenges: readonly ChallengeRecord[], now = new Date()): Promise<void> {
    if (challenges.length === 0) return;
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const entry: PendingTxtEntry = { id: PendingTxtJournal.idOf(challenges), recordedAt: now.toISOString(), challenges: [...challenges] };
    await writeFileAtomic(this.file(entry.id), `${JSON.stringify(entry)}\n`, 0o600);
  }

  /** Drops the entry of these challenges once their values are removed. */
  async done(challenges: readonly ChallengeRecord[]): Promise<void> {
    await fs.rm(this.file(PendingTxtJournal.idOf(challenges)), { force: true });
  }

  /** Every entry left by an issuance whose cleanup did not finish, oldest first; unreadable files are reported, kept. */
  async entries(): Promise<{ entries: PendingTxtEntry[]; unreadable: string[] }> {
    let names: string[];
    try {
      names = (await fs.readdir(this.dir)).filter((n) => ENTRY.test(n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { entries: [], unreadable: [] };
      throw err;
    }
    const entries: PendingTxtEntry[] = [];
    const unreadable: string[] = [];
    for (const name of names) {
      try {
        const entry = JSON.parse(await fs.readFile(path.join(this.dir, name), "utf8")) as PendingTxtEntry;
        if (!Array.isArray(entry.challenges) || `${entry.id}.json` !== name) throw new Error("not a pending TXT entry");
        entries.push(entry);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue; // removed meanwhile by another process
        unreadable.push(`${path.join(this.dir, name)}: ${errorMessage(err)}`);
      }
    }
    return { entries: entries.sort((a, b) => a.recordedAt.localeCompare(b.recordedAt)), unreadable };
  }
}

export interface PendingTxtRetry {
  /** Entries whose values are now removed (their files deleted). */
  cleaned: number;
  /** Entries still pending (their provider still failing), kept for the next start. */
  remaining: number;
  errors: string[];
}

/** Removes the values of every journaled entry (idempotent: only those values, others' stay); keeps what still fails. */
export async function retryPendingTxt(journal: PendingTxtJournal, deps: IssuanceDeps): Promise<PendingTxtRetry> {
  const { entries, unreadable } = await journal.entries();
  const result: PendingTxtRetry = { cleaned: 0, remaining: unreadable.length, errors: [...unreadable] };
  for (const entry of entries) {
    try {
      await cleanupChallenges(entry.challenges, deps);
      await journal.done(entry.challenges);
      result.cleaned++;
    } catch (err) {
      result.remaining++;
      result.errors.push(`${entry.challenges[0]?.fqdn ?? entry.id} (since ${entry.recordedAt}): ${errorMessage(err)}`);
    }
  }
  return result;
}
