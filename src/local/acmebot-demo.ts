/**
 * `npm run demo:acmebot`: switching from Acmebot on a private local stack (ephemeral ports, state in a temp dir).
 * Seeds the vault as an Acmebot v4/v5 deployment leaves it (./acmebot-seed.ts), writes that app's settings export,
 * runs `kv-acme migrate --from-acmebot` (dry run, then --apply twice), renews an adopted certificate with kv-acme, and
 * checks that the certificates neither tool manages or that are ignored were never written. Prints a JSON summary.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CertificateClient } from "@azure/keyvault-certificates";
import { readManagedTags } from "../keyvault/tags";
import { acmebotAppSettings, acmebotCertificates, seedAcmebotCertificates } from "./acmebot-seed";
import { startStack } from "./stack";

const repo = path.resolve(__dirname, "..", "..");

function cli(args: string[], env: Record<string, string>, echo: boolean): Promise<{ code: number; stdout: string }> {
  console.error(`$ kv-acme ${args.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repo, "bin", "kv-acme.js"), ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      if (echo) process.stderr.write(c);
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? 1, stdout: out }));
  });
}

async function main(): Promise<number> {
  if (process.argv.length > 2) {
    console.error("usage: npm run demo:acmebot (no options)");
    return 2;
  }
  const stateDir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-demo-acmebot-"));
  const stack = await startStack({ ephemeral: true, stateDir, writeStackJson: false, keyVaultTiming: "instant" });
  try {
    const env = { ...stack.env, KVACME_HOME: stateDir };
    const certs = new CertificateClient(stack.info.keyVaultUrl, stack.credential, { disableChallengeResourceVerification: true });
    const seeded = acmebotCertificates(stack.info);
    await seedAcmebotCertificates(certs, seeded);
    console.error(`vault ${stack.info.keyVaultUrl}: ${seeded.map((c) => `${c.name} (${Object.keys(c.tags).join(", ")})`).join("; ")}`);
    const file = path.join(stateDir, "acmebot-appsettings.json");
    await writeFile(file, JSON.stringify(acmebotAppSettings(stack.info), null, 2));
    const tagsOf = async (name: string) => (await certs.getCertificate(name)).properties;
    const untouched = ["foreign", "acmebot-ignored"];
    const before = await Promise.all(untouched.map(tagsOf));

    const dry = await cli(["migrate", "--from-acmebot", "--settings", file], env, true);
    const apply = await cli(["migrate", "--from-acmebot", "--apply", "--settings", file], env, true);
    const again = await cli(["--json", "migrate", "--from-acmebot", "--apply", "--settings", file], env, false);
    const renew = await cli(["--json", "renew", "acmebot-v5"], env, false);

    const after = await Promise.all(untouched.map(tagsOf));
    const adopted = await Promise.all(["acmebot-v4", "acmebot-v5"].map(async (n) => readManagedTags((await tagsOf(n)).tags).source));
    const secondRun = again.code === 0 ? (JSON.parse(again.stdout) as { applied: unknown[] }).applied.length : -1;
    const ok =
      dry.code === 0 &&
      apply.code === 0 &&
      secondRun === 0 &&
      renew.code === 0 &&
      adopted.every((s) => s === "kv-acme") &&
      after.every((p, i) => p.version === before[i]?.version && JSON.stringify(p.tags) === JSON.stringify(before[i]?.tags));
    console.log(
      JSON.stringify({
        ok,
        adopted: ["acmebot-v4", "acmebot-v5"],
        untouched,
        secondApplyWrote: secondRun,
        renewedAdopted: renew.code === 0,
      }),
    );
    return ok ? 0 : 1;
  } finally {
    await stack.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`kv-acme demo:acmebot failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
