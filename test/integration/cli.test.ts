/**
 * The kv-acme CLI as a user runs it (bin/kv-acme.js in a child process) against a private local stack:
 * bad input exits 2 with a clear message and writes nothing; a good request issues; exit codes per error class.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { runCliProcess } from "../support/cli";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, txtRecords } from "./helpers";

let stack: TestStack;
let home: string;

before(async () => {
  stack = await startTestStack();
  home = await mkdtemp(path.join(os.tmpdir(), "kv-acme-cli-"));
});
after(async () => {
  await stack?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliProcess(args, { ...process.env, ...stack.env, KVACME_HOME: home });
}

async function vaultNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const p of clients(stack).certificates.listPropertiesOfCertificates({ includePending: true })) names.push(p.name ?? "");
  return names;
}

describe("kv-acme CLI", () => {
  it("bad input: exit 2, a clear message for every problem, nothing written", async () => {
    const r = await cli([
      "--json",
      "issue",
      "--dns-names",
      "bad..example.com,*.*.example.com",
      "--key-type",
      "EC-P999",
      "--name",
      "no_underscores",
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /empty label/);
    assert.match(r.stderr, /wildcard is only allowed as the whole leftmost label/);
    assert.match(r.stderr, /EC-P999.*not a supported key type/);
    assert.match(r.stderr, /certificate name/);
    const body = JSON.parse(r.stdout) as { error: { code: string; details: { problems: unknown[] } }; exitCode: number };
    assert.equal(body.error.code, "ValidationFailed");
    assert.equal(body.exitCode, 2);
    assert.ok(body.error.details.problems.length >= 4);
    assert.deepEqual(await vaultNames(), []);
    assert.deepEqual(await txtRecords(stack), {});
  });

  it("a name outside every zone: exit 2, nothing written", async () => {
    const r = await cli(["issue", "--dns-names", "www.not-our-zone.test"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not inside any DNS zone/);
    assert.deepEqual(await vaultNames(), []);
  });

  it("unknown option and unknown command: exit 2", async () => {
    assert.equal((await cli(["issue", "--dns-name", "example.com"])).code, 2);
    assert.equal((await cli(["frobnicate"])).code, 2);
  });

  it("issues with --json and lists the certificate; pending show of an unknown name exits 3", async () => {
    const r = await cli([
      "--json",
      "issue",
      "--dns-names",
      "cli.example.com,*.cli.example.com",
      "--key-type",
      "EC-P256",
      "--content-type",
      "pem",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { certificateName: string; dnsNames: string[]; version: string };
    assert.equal(result.certificateName, "cli-example-com");
    assert.deepEqual(result.dnsNames, ["cli.example.com", "*.cli.example.com"]);
    assert.match(r.stderr, /merged cli-example-com/);
    const list = await cli(["--json", "list"]);
    assert.equal(list.code, 0, list.stderr);
    const items = JSON.parse(list.stdout) as { name: string; managed: { managed: boolean } }[];
    assert.deepEqual(
      items.map((i) => i.name),
      ["cli-example-com"],
    );
    const missing = await cli(["pending", "show", "nothing-here"]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /no pending operation/);
  });

  it("--endpoint with a malformed URL is refused clearly (configuration, exit 78)", async () => {
    const r = await cli(["--endpoint", "not-a-url", "list"]);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /is not a URL/);
  });
});
