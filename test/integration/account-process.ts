/**
 * One "Function App instance" of the account test, as its own process: builds the app runtime from the environment
 * (the stack's settings and managed identity), prints "ready", waits for "go" on stdin (so every process starts its
 * first use at the same moment), then prints the account URL its first ACME use ended on.
 */
import { createRuntime } from "../../src/app/runtime";

async function main(): Promise<void> {
  const runtime = createRuntime(process.env);
  process.stdout.write("ready\n");
  await new Promise<void>((resolve) => process.stdin.once("data", () => resolve()));
  const session = await runtime.deps.acme();
  process.stdout.write(`${JSON.stringify({ accountUrl: session.accountUrl })}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
