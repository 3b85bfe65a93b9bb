/**
 * The CLI keeps its TXT cleanup across a long outage (src/issuance/pending-txt.ts): a CLI killed after presenting its
 * values, with the DNS server (BIND 9, RFC 2136) then down across the next run, leaves a journal entry that each
 * start retries and keeps while the server is down, and removes once it is back: no orphaned TXT value.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { Resolver } from "node:dns/promises";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import packet from "dns-packet";
import { CLI_BIN, runCliProcess } from "../support/cli";
import { startTestStack, type TestStack } from "../support/stack";

let stack: TestStack;
let home: string;
let refuser: dgram.Socket;

/** A DNS server that refuses every query: kv-acme's propagation check keeps polling it, the CNAME lookup sees no CNAME. */
async function startRefuser(): Promise<dgram.Socket> {
  const sock = dgram.createSocket("udp4");
  sock.on("message", (msg, from) => {
    const q = packet.decode(msg);
    sock.send(packet.encode({ id: q.id, type: "response", flags: 5 /* RCODE REFUSED */, questions: q.questions }), from.port, from.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
  return sock;
}

before(async () => {
  stack = await startTestStack({ dns: ["rfc2136"] });
  home = await mkdtemp(path.join(os.tmpdir(), "kv-acme-cli-txt-"));
  refuser = await startRefuser();
});
after(async () => {
  refuser?.close();
  await stack?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

const bind = () => {
  const server = stack.dns.rfc2136?.server;
  assert.ok(server, "the stack runs BIND");
  return server;
};
const zone = () => stack.dns.rfc2136?.zones[0] as string;
const env = (extra: Record<string, string> = {}) => ({ ...process.env, ...stack.env, KVACME_HOME: home, ...extra });
const journal = async () => (await readdir(path.join(home, "pending-txt")).catch(() => [] as string[])).filter((n) => n.endsWith(".json"));

/** The TXT values BIND itself serves at _acme-challenge.<name>. */
async function txtAtBind(name: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([`${bind().host}:${bind().port}`]);
  try {
    return (await resolver.resolveTxt(`_acme-challenge.${name}`)).map((c) => c.join(""));
  } catch (err) {
    if (["ENODATA", "ENOTFOUND"].includes((err as { code?: string }).code ?? "")) return [];
    throw err;
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("CLI TXT cleanup across a long outage", () => {
  it("a killed run's values stay journaled while BIND is down (each start retries) and are removed once it is back", async () => {
    const first = `killed.${zone()}`;
    // 1. A CLI run that presents its values, then hangs in the propagation check (its resolver refuses): killed there.
    const child = spawn(process.execPath, [CLI_BIN, "issue", "--dns-names", first], {
      env: env({ KvAcme__DnsResolver: `127.0.0.1:${refuser.address().port}` }),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      await until(
        "the values in BIND and the journal entry",
        async () => (await journal()).length === 1 && (await txtAtBind(first)).length === 1,
      );
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    assert.equal((await txtAtBind(first)).length, 1, `the killed run left its value in BIND (${stderr})`);
    const entry = await journal();

    // 2. The outage: BIND down across the next run. Its start retries the cleanup, fails, keeps the entry.
    await bind().daemon.stop();
    const during = await runCliProcess(["issue", "--dns-names", `during.${zone()}`], env({ KvAcme__Dns__rfc2136__TimeoutSeconds: "2" }));
    assert.notEqual(during.code, 0, "nothing can be issued in that zone while its server is down");
    assert.match(during.stderr, /1 earlier TXT cleanup\(s\) still failing, kept in .*pending-txt/);
    assert.deepEqual(await journal(), entry, "the entry is kept");

    // 3. BIND back (the value is still in its zone: it would be orphaned): the next run removes it, then issues.
    await bind().daemon.start();
    assert.equal((await txtAtBind(first)).length, 1, "BIND kept the value across its restart");
    const next = `after.${zone()}`;
    const after = await runCliProcess(["--json", "issue", "--dns-names", next], env());
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stderr, /removed the TXT values 1 earlier run\(s\) left in DNS/);
    assert.deepEqual(await journal(), [], "the journal is empty");
    for (const name of [first, `during.${zone()}`, next]) assert.deepEqual(await txtAtBind(name), [], `no TXT value left at ${name}`);
  });
});
