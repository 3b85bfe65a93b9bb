/**
 * The first hour (issue 18): a newcomer's mistakes, each answered with the next step and a documented exit code and
 * never a stack trace; `kv-acme doctor` against a real local stack (every check passing, each failure with its fix,
 * a signed ping received by a real receiver); `GET /api/health` through the local host.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { promises as fs } from "node:fs";
import { Resolver } from "node:dns/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { COMMANDS } from "../../src/cli/usage";
import { freePort } from "../../src/local/net";
import { startTestApp, type TestApp } from "../support/app";

const REPO = path.resolve(__dirname, "../..");
const CLI = path.join(REPO, "bin", "kv-acme.js");
const STACK_TRACE = /^\s+at .+\(.+:\d+:\d+\)$/m;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command asynchronously (servers of this process must keep answering) with a minimal environment. */
function run(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

let app: TestApp;
let emptyHome: string;

before(async () => {
  app = await startTestApp();
  emptyHome = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-first-hour-"));
});

after(async () => {
  await app?.close();
  await fs.rm(emptyHome, { recursive: true, force: true });
});

test("a newcomer's mistakes: each message names the next step, the exit code is the documented one, no stack trace", async () => {
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
  const busyPort = (busy.address() as net.AddressInfo).port;
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const portsFlag = `identity=${ports[0]},keyVault=${busyPort},arm=${ports[1]},dns=${ports[2]},acme=${ports[3]},pebbleManagement=${ports[4]}`;
  const home = { KVACME_HOME: emptyHome };
  try {
    const table: Array<{ mistake: string; args: string[]; env?: Record<string, string>; code: number; says: RegExp[] }> = [
      {
        mistake: "no stack, no settings",
        args: [CLI, "list"],
        env: home,
        code: 78,
        says: [/npm run stack/, /--stack/, /KvAcme__VaultUrl is required/],
      },
      {
        mistake: "--stack with no stack running",
        args: [CLI, "--stack", "list"],
        env: home,
        code: 78,
        says: [/stack\.json is missing/, /npm run stack/],
      },
      {
        mistake: "a second stack on ports in use",
        args: ["--import", "tsx", "src/local/stack-cli.ts", "--ports", portsFlag],
        env: home,
        code: 1,
        says: [
          new RegExp(`${busyPort}: the Key Vault stand-in \\(move it with --ports keyVault=N\\)`),
          /--ephemeral/,
          /npm run stack \/ npm start/,
        ],
      },
      {
        mistake: "a second npm start on the host's port",
        args: ["--import", "tsx", "src/local/start.ts", "--port", String(busyPort)],
        env: home,
        code: 1,
        says: [new RegExp(`${busyPort}: the local Functions host \\(move it with --port N\\)`), /--ephemeral/],
      },
      { mistake: "a wrong flag", args: [CLI, "--wrong"], code: 2, says: [/Unknown option '--wrong'/] },
      { mistake: "a wrong command", args: [CLI, "isue"], code: 2, says: [/unknown command "isue"/, /kv-acme help/] },
      {
        mistake: "a wrong stack flag",
        args: ["--import", "tsx", "src/local/stack-cli.ts", "--lifetime", "forever"],
        env: home,
        code: 1,
        says: [/classic, shortlived/],
      },
      {
        mistake: "a bad setting",
        args: [CLI, "list"],
        env: { ...home, KvAcme__VaultUrl: "http://vault.example", KvAcme__DnsSubscriptionIds: "not-a-guid" },
        code: 78,
        says: [/KvAcme__VaultUrl/, /KvAcme__DnsSubscriptionIds/, /npm run stack/],
      },
      {
        // The local host runs in local auth mode (every caller is the local principal), so the refused credential is a
        // wrong function key on the automation routes: the host answers 401, as Azure does.
        mistake: "a wrong or expired credential",
        args: [CLI, "--endpoint", app.host.url, "--function-key", "not-the-function-key-0000", "list"],
        env: home,
        code: 78,
        says: [/401/, /az account get-access-token/, /KVACME_FUNCTION_KEY, printed by npm start/],
      },
    ];
    for (const row of table) {
      const r = await run(row.args, row.env);
      assert.equal(r.code, row.code, `${row.mistake}: exit code (stderr: ${r.stderr})`);
      for (const re of row.says) assert.match(r.stderr, re, `${row.mistake}: says ${re}`);
      assert.doesNotMatch(r.stderr, STACK_TRACE, `${row.mistake}: no stack trace`);
    }
  } finally {
    busy.close();
  }
});

test("--version, -V and help <command> answer without a stack", async () => {
  const pkg = JSON.parse(await fs.readFile(path.join(REPO, "package.json"), "utf8")) as { version: string };
  for (const flag of ["--version", "-V"]) {
    const r = await run([CLI, flag]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `kv-acme ${pkg.version}\n`);
  }
  const help = await run([CLI, "help", "doctor"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: kv-acme \[global options\] doctor \[--ping\]/);
  assert.match(help.stdout, /without writing anything/);
  const unknown = await run([CLI, "help", "nope"]);
  assert.equal(unknown.code, 2);
  // Every command the CLI has (its usage table), in the table's order.
  assert.ok(unknown.stderr.includes(`commands: ${Object.keys(COMMANDS).join(", ")}\n`), unknown.stderr);
  assert.ok(Object.keys(COMMANDS).includes("issue") && Object.keys(COMMANDS).includes("doctor"));
});

test("doctor against a healthy local stack: every check passes, exit 0, nothing written; --ping delivers a signed event", async () => {
  const secret = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  receiver.listen(0, "127.0.0.1");
  await once(receiver, "listening");
  const url = `http://127.0.0.1:${(receiver.address() as net.AddressInfo).port}/hooks`;
  try {
    const env = {
      ...app.stack.env,
      KVACME_HOME: emptyHome,
      KvAcme__Webhooks__0__Url: url,
      KvAcme__Webhooks__0__Secret: secret,
      KvAcme__Webhooks__0__Events: "certificate.issued",
    };
    const r = await run([CLI, "doctor", "--ping", "--json"], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { id: string; status: string }[] };
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.map((c) => c.id),
      [
        "settings",
        "keyvault.list",
        "keyvault.get",
        "keyvault.create",
        "keyvault.secrets",
        "dns.azure.zones",
        "dns.azure.write",
        "acme.directory",
        "acme.eab",
        "acme.account",
        "webhooks",
        "clock",
        "timer",
      ],
    );
    assert.deepEqual(
      report.checks.filter((c) => c.status !== "pass"),
      [],
    );
    // The probes wrote nothing: no probe certificate, no probe record set.
    const names = [];
    for await (const p of app.runtime.deps.certificates.listPropertiesOfCertificates({ includePending: true })) names.push(p.name);
    assert.ok(!names.includes("kv-acme-doctor-probe"));
    const resolver = new Resolver();
    resolver.setServers([app.stack.info.dnsServer]);
    for (const zone of app.stack.info.zones) {
      await assert.rejects(resolver.resolveTxt(`_kv-acme-doctor-probe.${zone}`), /ENOTFOUND|ENODATA/, `no probe record in ${zone}`);
    }
    // One ping, to the target whatever its event filter, verified with the Standard Webhooks library itself.
    assert.equal(received.length, 1);
    const ping = received[0]!;
    const event = new Webhook(secret).verify(ping.body, ping.headers as Record<string, string>) as { type: string };
    assert.match(event.type, /webhook\.ping$/);
  } finally {
    receiver.close();
  }
});

test("doctor names each failure and its fix: an unreachable CA and an invalid schedule; exit 1", async () => {
  const closed = await freePort();
  const env = { ...app.stack.env, KVACME_HOME: emptyHome, KvAcme__AcmeDirectoryUrl: `https://127.0.0.1:${closed}/dir` };
  const r = await run([CLI, "doctor"], env);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /\[FAIL\] ACME directory: https:\/\/127\.0\.0\.1:\d+\/dir: /);
  assert.match(r.stdout, /fix: check KvAcme__AcmeDirectoryUrl/);
  assert.match(r.stdout, /\[ ok \] Key Vault: create a pending operation/);
  assert.match(r.stdout, /1 check failed/);
  const bad = await run([CLI, "doctor"], { KVACME_HOME: emptyHome, KvAcme__VaultUrl: "http://x", KvAcme__RenewalSchedule: "every day" });
  assert.equal(bad.code, 78);
  assert.match(bad.stdout, /\[FAIL\] Settings: .*KvAcme__VaultUrl.*KvAcme__RenewalSchedule/);
  assert.match(bad.stdout, /fix: .*npm run stack/);
});

test("GET /api/health through the local host: the same report, 200 when every check passes; ping must be true or false", async () => {
  const res = await fetch(`${app.api}/health`);
  assert.equal(res.status, 200);
  const report = (await res.json()) as { ok: boolean; checks: { id: string; status: string }[] };
  assert.equal(report.ok, true);
  assert.ok(report.checks.some((c) => c.id === "keyvault.create" && c.status === "pass"));
  const bad = await fetch(`${app.api}/health?ping=yes`);
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get("content-type"), "application/problem+json");
  const problem = (await bad.json()) as { type: string };
  assert.equal(problem.type, "urn:kv-acme:problem:validationfailed");
});

test("the local CA issues 90-day certificates by default, as Let's Encrypt does", async () => {
  const config = JSON.parse(await fs.readFile(path.join(app.stack.stateDir, "pebble", "pebble-config.json"), "utf8")) as {
    pebble: { certificateValidityPeriod: number };
  };
  assert.equal(config.pebble.certificateValidityPeriod, 90 * 86400);
});
