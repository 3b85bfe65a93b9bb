/** The CLI's TXT journal (src/issuance/pending-txt.ts): one entry per set of challenges, atomic files, unreadable entries kept. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PendingTxtJournal } from "../../src/issuance/pending-txt";
import type { ChallengeRecord } from "../../src/issuance/steps";

function challenge(value: string, name = "www"): ChallengeRecord {
  return {
    identifier: `${name}.example.net`,
    authorizationUrl: `https://ca.example/authz/${value}`,
    challengeUrl: `https://ca.example/chall/${value}`,
    token: value,
    txtValue: value,
    status: "pending",
    zone: { provider: "bind", id: "example.net", name: "example.net", nameServers: [] },
    recordName: `_acme-challenge.${name}`,
    fqdn: `_acme-challenge.${name}.example.net`,
  };
}

describe("PendingTxtJournal", () => {
  it("one id per set of challenges whatever their order; another value is another id", () => {
    const [a, b] = [challenge("a".repeat(43)), challenge("b".repeat(43), "api")];
    assert.equal(PendingTxtJournal.idOf([a, b]), PendingTxtJournal.idOf([b, a]));
    assert.notEqual(PendingTxtJournal.idOf([a]), PendingTxtJournal.idOf([b]));
    assert.match(PendingTxtJournal.idOf([a]), /^[0-9a-f]{32}$/);
  });

  it("record writes a 0600 file that entries() reads back oldest first; done removes it; an empty set writes nothing", async () => {
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), "kv-acme-journal-")), "pending-txt");
    try {
      const journal = new PendingTxtJournal(dir);
      await journal.record([]);
      assert.deepEqual((await journal.entries()).entries, [], "no directory yet: no entries");
      const [older, newer] = [[challenge("o".repeat(43))], [challenge("n".repeat(43))]];
      await journal.record(newer, new Date("2026-12-01T10:00:00Z"));
      await journal.record(older, new Date("2026-12-01T09:00:00Z"));
      const { entries, unreadable } = await journal.entries();
      assert.deepEqual(unreadable, []);
      assert.deepEqual(
        entries.map((e) => [e.recordedAt, e.challenges[0]?.txtValue]),
        [
          ["2026-12-01T09:00:00.000Z", "o".repeat(43)],
          ["2026-12-01T10:00:00.000Z", "n".repeat(43)],
        ],
      );
      assert.equal((await stat(path.join(dir, `${PendingTxtJournal.idOf(older)}.json`))).mode & 0o777, 0o600);
      await journal.done(older);
      assert.deepEqual(await readdir(dir), [`${PendingTxtJournal.idOf(newer)}.json`]);
    } finally {
      await rm(path.dirname(dir), { recursive: true, force: true });
    }
  });

  it("an unreadable entry is reported and kept, never deleted; other files are ignored", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-journal-"));
    try {
      const broken = `${"0".repeat(32)}.json`;
      await writeFile(path.join(dir, broken), "{not json");
      await writeFile(path.join(dir, "notes.txt"), "ignored");
      const { entries, unreadable } = await new PendingTxtJournal(dir).entries();
      assert.deepEqual(entries, []);
      assert.equal(unreadable.length, 1);
      assert.match(unreadable[0] ?? "", new RegExp(broken));
      assert.deepEqual((await readdir(dir)).sort(), [broken, "notes.txt"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
