/** superviseChild (src/local/supervise.ts): the one supervision of the stack's child processes. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LogRing, superviseChild } from "../../src/local/supervise";

describe("superviseChild", () => {
  it("keeps stdout and stderr lines in its ring, passes them on, and stops the process with SIGTERM", async () => {
    const seen: string[] = [];
    let ready!: () => void;
    const both = new Promise<void>((r) => (ready = r));
    const child = superviseChild("sh", ["-c", "echo one; echo two >&2; exec sleep 30"], {
      onLine: (l) => {
        seen.push(l);
        if (seen.length === 2) ready();
      },
    });
    await both;
    assert.deepEqual([...seen].sort(), ["one", "two"]);
    assert.deepEqual(child.ring.tail().split("\n").sort(), ["one", "two"]);
    assert.equal(child.running, true);
    await child.stop(5000);
    assert.equal(child.running, false);
    assert.equal(child.process.signalCode, "SIGTERM");
    await child.stop(5000); // a second stop is a no-op
  });

  it("kills with SIGKILL a process that ignores SIGTERM", async () => {
    let ready!: () => void;
    const trapped = new Promise<void>((r) => (ready = r));
    const child = superviseChild("sh", ["-c", "trap '' TERM; echo trapped; while :; do sleep 1; done"], { onLine: () => ready() });
    await trapped;
    await child.stop(200);
    assert.equal(child.process.signalCode, "SIGKILL");
  });

  it("a binary that is missing: exited resolves, the ring says why", async () => {
    const child = superviseChild("/nonexistent/kv-acme-test-binary", []);
    assert.equal(await child.exited, null);
    assert.equal(child.running, false);
    assert.match(child.ring.tail(), /spawn error: .*ENOENT/);
    await child.stop(100);
  });

  it("a ring shared by two processes keeps the newest lines of both, at most its capacity", async () => {
    const ring = new LogRing(3);
    for (const text of ["a b", "c d"]) {
      const child = superviseChild("sh", ["-c", `for w in ${text}; do echo $w; done`], { ring });
      const closed = new Promise((r) => child.process.once("close", r)); // output read to the end
      assert.equal(await child.exited, 0);
      await closed;
    }
    assert.equal(ring.tail(), "b\nc\nd");
    assert.equal(ring.tail(1), "d");
  });
});
