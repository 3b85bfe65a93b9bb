/** The release zip writer (scripts/package/zip.ts): same files, same bytes; a valid archive that unzip reads back. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { writeDeterministicZip } from "../../scripts/package/zip";

async function tree(root: string, order: string[], mtime: Date): Promise<void> {
  const content: Record<string, string | Buffer> = {
    "b/run.sh": "#!/bin/sh\necho hi\n",
    "a.txt": "x".repeat(5000),
    "b/c/unicode-é.json": JSON.stringify({ k: "v" }),
    "empty.bin": Buffer.alloc(0),
  };
  for (const rel of order) {
    await fs.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fs.writeFile(path.join(root, rel), content[rel]!, { mode: rel.endsWith(".sh") ? 0o755 : 0o600 });
    await fs.utimes(path.join(root, rel), mtime, mtime);
  }
}

test("the same files written in another order, at other times and modes, give the same zip bytes; unzip extracts them intact", async () => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-zip-"));
  try {
    await tree(path.join(tmp, "one"), ["a.txt", "b/run.sh", "b/c/unicode-é.json", "empty.bin"], new Date("2020-01-01T00:00:00Z"));
    await tree(path.join(tmp, "two"), ["empty.bin", "b/c/unicode-é.json", "b/run.sh", "a.txt"], new Date("2024-06-30T12:34:56Z"));
    const epoch = Date.parse("2026-11-30T10:20:30Z") / 1000;
    assert.equal(await writeDeterministicZip(path.join(tmp, "one"), path.join(tmp, "one.zip"), epoch), 4);
    await writeDeterministicZip(path.join(tmp, "two"), path.join(tmp, "two.zip"), epoch);
    assert.deepEqual(await fs.readFile(path.join(tmp, "one.zip")), await fs.readFile(path.join(tmp, "two.zip")));
    await writeDeterministicZip(path.join(tmp, "two"), path.join(tmp, "later.zip"), epoch + 60);
    assert.notDeepEqual(await fs.readFile(path.join(tmp, "one.zip")), await fs.readFile(path.join(tmp, "later.zip")));

    execFileSync("unzip", ["-tq", path.join(tmp, "one.zip")]);
    execFileSync("unzip", ["-q", path.join(tmp, "one.zip"), "-d", path.join(tmp, "out")]);
    assert.equal(await fs.readFile(path.join(tmp, "out", "a.txt"), "utf8"), "x".repeat(5000));
    assert.equal(await fs.readFile(path.join(tmp, "out", "b", "c", "unicode-é.json"), "utf8"), '{"k":"v"}');
    assert.equal((await fs.stat(path.join(tmp, "out", "b", "run.sh"))).mode & 0o777, 0o755);
    assert.equal((await fs.stat(path.join(tmp, "out", "a.txt"))).mode & 0o777, 0o644);
    const listing = execFileSync("unzip", ["-Z", "-T", path.join(tmp, "one.zip")], { encoding: "utf8" });
    assert.match(listing, /20261130\.1020(30)?/);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
});
