/**
 * systemd readiness over the real sd_notify protocol: a unix datagram socket bound by Debian's python3 stands in for
 * systemd's notification socket (it reads each datagram, closes the barrier descriptor systemd-notify passes, and records
 * whether the certificate's store link exists at that moment). The agent runs as its own process (`kv-acme agent`) with
 * `requireInitialSync` and NOTIFY_SOCKET: no READY=1 while the certificate is missing from the vault, READY=1 only after
 * it is installed, STOPPING=1 on SIGTERM. Plus the field encoding (a status text cannot forge a field).
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { sdNotifyArgs, STATUS_MAX } from "../../src/agent/sd-notify";
import { REPO, startAgentStack, type AgentStack } from "./stack";

const PYTHON = "/usr/bin/python3";
const SYSTEMD_NOTIFY = "/usr/bin/systemd-notify";

// The receiver: one JSON line per datagram (fields, descriptors received, whether the store link exists on arrival).
const RECEIVER = `
import array, json, os, socket, sys, time
path, link = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print(json.dumps({"listening": path}), flush=True)
while True:
    msg, anc, _flags, _addr = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    fds = array.array("i")
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    for fd in fds:
        os.close(fd)
    print(json.dumps({"at": time.time() * 1000, "fields": msg.decode().split("\\n"), "fds": len(fds), "linkExists": os.path.exists(link)}), flush=True)
`;

interface Datagram {
  at: number;
  fields: string[];
  fds: number;
  linkExists: boolean;
}

describe("sd_notify fields", () => {
  it("a status text with a newline cannot forge READY=1: control characters become spaces, the text is cut", () => {
    assert.deepEqual(sdNotifyArgs({ status: "ok\nREADY=1\r\tdone" }), ["STATUS=ok READY=1 done"]);
    assert.deepEqual(sdNotifyArgs({ ready: true, status: "2 certificate(s) installed" }), ["READY=1", "STATUS=2 certificate(s) installed"]);
    assert.deepEqual(sdNotifyArgs({ stopping: true }), ["STOPPING=1"]);
    const long = sdNotifyArgs({ status: "x".repeat(500) })[0]!;
    assert.equal(long.length, "STATUS=".length + STATUS_MAX);
  });
});

describe("the systemd unit", () => {
  it("is Type=notify with NotifyAccess=all (systemd-notify is a child) and a start timeout longer than the initial sync", async () => {
    const unit = await fs.readFile(path.join(REPO, "infra", "agent", "kv-acme-agent.service"), "utf8");
    const service = unit.slice(unit.indexOf("[Service]"), unit.indexOf("[Install]"));
    assert.match(service, /^Type=notify$/m);
    assert.match(service, /^NotifyAccess=all$/m);
    const timeout = /^TimeoutStartSec=(\d+)min$/m.exec(service);
    assert.ok(timeout && Number(timeout[1]) * 60 > 35 * 60, "25 attempts at most 100 s apart take about 35 minutes");
    assert.match(service, /^RestrictAddressFamilies=.*AF_UNIX/m, "the notification socket is a unix socket");
  });
});

describe("agent readiness through a real notification socket", () => {
  let stack: AgentStack;
  let dir: string;
  let receiver: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  const datagrams: Datagram[] = [];
  const waiters: { pred: (d: Datagram) => boolean; resolve: (d: Datagram) => void }[] = [];
  const next = (pred: (d: Datagram) => boolean, ms: number, what: string) =>
    new Promise<Datagram>((resolve, reject) => {
      const hit = datagrams.find(pred);
      if (hit) return resolve(hit);
      const timer = setTimeout(
        () => reject(new Error(`no ${what} within ${ms} ms; got ${JSON.stringify(datagrams.map((d) => d.fields))}`)),
        ms,
      );
      waiters.push({ pred, resolve: (d) => (clearTimeout(timer), resolve(d)) });
    });

  before(async () => {
    for (const bin of [PYTHON, SYSTEMD_NOTIFY])
      assert.ok(existsSync(bin), `${bin} is needed (Debian packages python3-minimal and systemd, scripts/test.sh installs them)`);
    stack = await startAgentStack();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-sdnotify-"));
  });
  after(async () => {
    agent?.kill("SIGKILL");
    receiver?.kill("SIGKILL");
    await stack?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("READY=1 arrives only after the initial sync installed the certificate; STATUS before it; STOPPING=1 on SIGTERM", async () => {
    const socketPath = path.join(dir, "notify.sock");
    const store = path.join(dir, "store");
    const link = path.join(store, "web.pem");
    receiver = spawn(PYTHON, ["-c", RECEIVER, socketPath, link], { stdio: ["ignore", "pipe", "inherit"] });
    const lines = createInterface({ input: receiver.stdout! });
    const listening = new Promise<void>((resolve) =>
      lines.on("line", (line) => {
        const d = JSON.parse(line) as Datagram & { listening?: string };
        if (d.listening) return resolve();
        datagrams.push(d);
        for (const w of waiters.splice(0)) {
          if (w.pred(d)) w.resolve(d);
          else waiters.push(w);
        }
      }),
    );
    await listening;

    const settingsFile = path.join(dir, "agent.settings");
    const statusFile = path.join(dir, "status.json");
    await fs.writeFile(
      settingsFile,
      JSON.stringify({
        secretsManagementSettings: {
          pollingIntervalInS: "3600",
          requireInitialSync: true,
          observedCertificates: [
            { url: `${stack.kv.url}/secrets/web`, certificateStoreLocation: store, customSymbolicLinkName: "web.pem" },
          ],
        },
        authenticationSettings: { msiEndpoint: stack.imdsEndpoint },
        kvAcme: { stateFile: path.join(dir, "state.json"), statusFile },
      }),
    );
    let stderr = "";
    agent = spawn(process.execPath, [path.join(REPO, "bin", "kv-acme.js"), "agent", "--settings", settingsFile], {
      env: { ...process.env, NOTIFY_SOCKET: socketPath },
      stdio: ["ignore", "ignore", "pipe"],
    });
    agent.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));

    // The first attempt fails (no version in the vault yet): status says so, no READY=1.
    await next((d) => d.fields.includes("STATUS=initial sync attempt 1 of 25"), 30_000, "attempt-1 status");
    for (let i = 0; i < 300; i++) {
      const s = await fs.readFile(statusFile, "utf8").catch(() => "");
      if (/\(attempt 1 of 25\)/.test(s)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(await fs.readFile(statusFile, "utf8"), /"status": ?"transitioning".*\(attempt 1 of 25\)/s, stderr);
    assert.equal(
      datagrams.some((d) => d.fields.includes("READY=1")),
      false,
      "not ready while the certificate is missing",
    );
    // Each message waited for its barrier: systemd-notify passed a descriptor and the receiver closed it.
    assert.ok(datagrams.some((d) => d.fields.includes("BARRIER=1") && d.fds === 1));

    const v1 = await stack.putVersion("web", ["web.example.test"]);
    const ready = await next((d) => d.fields.includes("READY=1"), 40_000, "READY=1");
    assert.equal(ready.linkExists, true, "the certificate was installed when READY=1 arrived");
    assert.match(ready.fields.find((f) => f.startsWith("STATUS=")) ?? "", /^STATUS=1 certificate\(s\) installed and current$/);
    const state = JSON.parse(await fs.readFile(path.join(dir, "state.json"), "utf8"));
    assert.equal(state.certificates[`${stack.kv.url}/secrets/web`].version, v1.version);
    assert.equal(datagrams.filter((d) => d.fields.includes("READY=1")).length, 1);

    const exited = new Promise<number | null>((resolve) => agent!.once("exit", (code) => resolve(code)));
    agent.kill("SIGTERM");
    await next((d) => d.fields.includes("STOPPING=1"), 20_000, "STOPPING=1");
    assert.equal(await exited, 0, stderr);
  });
});
