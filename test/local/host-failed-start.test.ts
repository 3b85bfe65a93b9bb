/** A local host whose start fails after it took its port (here: a state directory it cannot create) frees the port. */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { startLocalHost } from "../../src/local/host";
import { freePort, listen } from "../../src/local/net";

test("a start that fails once it listens leaves the port free for the next one", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "kvacme-host-failed-start-"));
  try {
    const notADirectory = path.join(dir, "state");
    await writeFile(notADirectory, "a file where the host's state directory should be\n");
    const port = await freePort();
    await assert.rejects(
      startLocalHost({ modules: [path.join(__dirname, "host-fixtures", "app.ts")], stateDir: notADirectory, port, log: () => {} }),
      /ENOTDIR|EEXIST/,
    );
    const server = createServer();
    assert.equal(await listen(server, port, "127.0.0.1"), port, "the failed host's port can be taken again");
    await new Promise<void>((resolve) => server.close(() => resolve()));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
