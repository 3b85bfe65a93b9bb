/** CLI argument parsing and exit codes (pure parts; the CLI against a stack is in test/integration/cli.test.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EXIT, exitCodeFor, parseCommandLine, runCli } from "../../src/cli/run";
import { ConfigurationError, ConflictError, NotFoundError, UpstreamError, ValidationError } from "../../src/shared/errors";

describe("exit codes", () => {
  const cases: [string, unknown, number][] = [
    ["validation", new ValidationError("x"), 2],
    ["not found", new NotFoundError("x"), 3],
    ["conflict", new ConflictError("x"), 4],
    ["configuration", new ConfigurationError("x"), 78],
    ["upstream", new UpstreamError("Acme", "x"), 1],
    ["anything else", new Error("x"), 1],
  ];
  for (const [name, err, code] of cases) it(name, () => assert.equal(exitCodeFor(err), code));
});

describe("parseCommandLine", () => {
  it("reads command, positionals and repeated --dns-names", () => {
    const p = parseCommandLine([
      "--json",
      "issue",
      "--dns-names",
      "a.example.com",
      "--dns-names",
      "*.a.example.com",
      "--key-type",
      "EC-P256",
    ]);
    assert.equal(p.command, "issue");
    assert.deepEqual(p.values["dns-names"], ["a.example.com", "*.a.example.com"]);
    assert.equal(p.values.json, true);
  });
  it("unknown options are bad input", () => {
    assert.throws(() => parseCommandLine(["issue", "--frobnicate"]), ValidationError);
  });
});

describe("runCli without any endpoint", () => {
  function io() {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), env: { KVACME_HOME: "/nonexistent-kv-acme-home" } },
    };
  }
  it("help exits 0, no command exits 2", async () => {
    const a = io();
    assert.equal(await runCli(["--help"], a.io), EXIT.ok);
    assert.match(a.out.join(""), /usage: kv-acme/);
    assert.equal(await runCli([], io().io), EXIT.badInput);
  });
  it("no vault configured is a configuration error (78) with a hint", async () => {
    const a = io();
    assert.equal(await runCli(["list"], a.io), EXIT.configuration);
    assert.match(a.err.join(""), /KvAcme__VaultUrl/);
  });
  it("--exportable with --no-exportable is bad input, reported as JSON with --json", async () => {
    const a = io();
    a.io.env = {
      ...a.io.env,
      KvAcme__VaultUrl: "https://v.vault.azure.net",
      KvAcme__DnsSubscriptionIds: "00000000-0000-0000-0000-000000000000",
    } as typeof a.io.env;
    assert.equal(await runCli(["--json", "issue", "--dns-names", "a.example.com", "--exportable", "--no-exportable"], a.io), EXIT.badInput);
    assert.equal(JSON.parse(a.out.join("")).error.code, "ValidationFailed");
  });
});
