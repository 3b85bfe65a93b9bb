/**
 * Test helper: a private local stack on ephemeral ports with its state in a temp dir. The CA is the shared one
 * (.local/ca) that scripts/test.sh makes the test process trust through NODE_EXTRA_CA_CERTS.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startStack, Stack, StackOptions } from "../../src/local/stack";

export interface TestStack extends Stack {
  stateDir: string;
}

export async function startTestStack(options: Omit<StackOptions, "ephemeral" | "stateDir"> = {}): Promise<TestStack> {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-stack-"));
  // Tests want speed: the Key Vault stand-in completes long-running operations at once unless a test asks otherwise.
  // Azurite (the fleet's tables) only for the tests that ask for it: it is one more process per stack.
  const stack = await startStack({
    keyVaultTiming: "instant",
    tables: false,
    ...options,
    ephemeral: true,
    stateDir,
    writeStackJson: false,
  });
  return {
    ...stack,
    stateDir,
    async close() {
      await stack.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
