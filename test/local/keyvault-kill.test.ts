/**
 * The Key Vault stand-in SIGKILLed mid-write loses nothing it acknowledged: writers set secrets as fast as they can,
 * the stand-in's process is killed at a random moment three times and started again on the same state, and every
 * version it acknowledged (a 200 to setSecret) reads back with its value. A torn record would also stop it starting.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { SecretClient } from "@azure/keyvault-secrets";
import { VAULT_AUDIENCE, loadTokenAuthority } from "../../src/local/identity/tokens";

const CHILD = path.join(__dirname, "..", "..", "src", "local", "keyvault", "child.ts");

function start(stateDir: string, identityDir: string, port: number): Promise<{ child: ChildProcess; url: string; port: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, stateDir, identityDir, String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => resolve({ child, ...(JSON.parse(line) as { url: string; port: number }) }));
    child.once("exit", (code) => reject(new Error(`the stand-in exited (${code}) before listening`)));
  });
}

describe("the Key Vault stand-in killed mid-write", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("keeps every write it acknowledged across three SIGKILLs", { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-kill-"));
    dirs.push(dir);
    const identityDir = path.join(dir, "identity");
    const authority = await loadTokenAuthority(identityDir);
    const credential = {
      getToken: async () => ({ token: authority.issue(VAULT_AUDIENCE).token, expiresOnTimestamp: Date.now() + 3_600_000 }),
    };
    const acknowledged: { name: string; version: string; value: string }[] = [];
    let port = 0;
    let kills = 0;
    for (let round = 0; round < 3; round++) {
      const kv = await start(path.join(dir, "kv"), identityDir, port);
      port = kv.port;
      const client = new SecretClient(kv.url, credential, { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });
      let stop = false;
      const writers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const name = `s-${round}-${w}-${i % 5}`;
          const value = `${round}/${w}/${i}/${"x".repeat(200)}`;
          try {
            const set = await client.setSecret(name, value);
            acknowledged.push({ name, version: set.properties.version ?? "", value });
          } catch {
            return; // the stand-in is gone: a write in flight was not acknowledged
          }
        }
      });
      await new Promise((r) => setTimeout(r, 400 + Math.random() * 800));
      kv.child.kill("SIGKILL");
      kills++;
      stop = true;
      await Promise.all(writers);
    }
    const kv = await start(path.join(dir, "kv"), identityDir, port);
    try {
      const client = new SecretClient(kv.url, credential, { disableChallengeResourceVerification: true });
      assert.ok(acknowledged.length >= 20, `only ${acknowledged.length} writes acknowledged`);
      const lost: string[] = [];
      for (const a of acknowledged) {
        const got = await client.getSecret(a.name, { version: a.version }).catch(() => undefined);
        if (got?.value !== a.value) lost.push(`${a.name}/${a.version}`);
      }
      assert.deepEqual(lost, [], `lost ${lost.length} of ${acknowledged.length} acknowledged writes after ${kills} kills`);
    } finally {
      kv.child.kill("SIGKILL");
    }
  });
});
