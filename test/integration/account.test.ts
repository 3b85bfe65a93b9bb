/** The ACME account: concurrent first uses on an empty vault converge on one account (key kept in Key Vault). */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { after, before, it } from "node:test";
import { SecretClient } from "@azure/keyvault-secrets";
import { ensureAccount } from "../../src/acme/account";
import { accountSecretName } from "../../src/keyvault/account-key";
import { startTestStack, type TestStack } from "../support/stack";

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => stack?.close());

/** Starts one app process (account-process.ts) and resolves once it is ready for "go". */
function startProcess(): Promise<{ child: ChildProcess; result: Promise<{ accountUrl: string }> }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "account-process.ts")], {
    env: { ...process.env, ...stack.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const result = exited.then((code) => {
    const line = out.split("\n").find((l) => l.startsWith("{"));
    if (code !== 0 || !line) throw new Error(`account process exited ${code}: ${err}`);
    return JSON.parse(line) as { accountUrl: string };
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.startsWith("ready\n")) resolve({ child, result });
    });
    void exited.then((code) => reject(new Error(`account process exited ${code} before it was ready: ${err}`)));
  });
}

it("four processes' first use at once ends on a single account, the latest key version's", async () => {
  // Four processes, as four Function App instances: each builds its own runtime, and all start at the same moment.
  const processes = await Promise.all(Array.from({ length: 4 }, () => startProcess()));
  for (const p of processes) p.child.stdin!.end("go\n");
  const sessions = await Promise.all(processes.map((p) => p.result));
  const urls = new Set(sessions.map((s) => s.accountUrl));
  assert.equal(urls.size, 1, `one account, got ${[...urls].join(", ")}`);
  const secrets = new SecretClient(stack.info.keyVaultUrl, stack.credential, { disableChallengeResourceVerification: true });
  const latest = await secrets.getSecret(accountSecretName(stack.info.acmeDirectoryUrl));
  const again = await ensureAccount(secrets, { acmeDirectoryUrl: stack.info.acmeDirectoryUrl });
  assert.equal(again.accountUrl, sessions[0]!.accountUrl, "a later process loads the same account");
  assert.ok(latest.value?.includes("PRIVATE KEY"), "the key lives in the vault");
});
