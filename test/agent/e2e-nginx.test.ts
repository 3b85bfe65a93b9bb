/**
 * End to end on this machine: Key Vault stand-in + managed-identity endpoint (real ManagedIdentityCredential via
 * msiEndpoint), the agent's Linux store, and a real nginx (own instance, own prefix, 127.0.0.1 ephemeral port).
 */
import { freePort } from "../../src/local/net";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import tls from "node:tls";
import { runAgent, type AgentEvent } from "../../src/agent/index";
import type { CycleResult } from "../../src/agent/poller";
import { parseAgentSettings, type AgentSettings } from "../../src/agent/settings";
import { makeLeaf } from "./helpers";
import { startAgentStack, type AgentStack } from "./stack";

const NGINX = "/usr/sbin/nginx";
const HOST = "www.example.test";
let stack: AgentStack;
let dir: string;
let port: number;
let settings: AgentSettings;
const nginxArgs = () => ["-p", dir, "-c", path.join(dir, "nginx.conf")];

function peerSerial(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, servername: HOST, ca: stack.chain.root.pem }, () => {
      const serial = s.getPeerCertificate().serialNumber.toUpperCase();
      s.end();
      resolve(serial);
    });
    s.on("error", reject);
  });
}

/** `nginx -s reload` returns once the master is signalled; new workers take over a moment later. */
async function servedSerial(expected: string, deadlineMs = 5000): Promise<string> {
  const end = Date.now() + deadlineMs;
  let got = await peerSerial();
  while (got !== expected && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    got = await peerSerial();
  }
  return got;
}

before(async () => {
  stack = await startAgentStack();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-agent-nginx-"));
  port = await freePort();
  const store = path.join(dir, "store");
  await fs.mkdir(store, { mode: 0o700 });
  await fs.mkdir(path.join(dir, "conf.d"));
  await fs.mkdir(path.join(dir, "www"));
  await fs.writeFile(path.join(dir, "www", "big.bin"), randomBytes(16 * 1024 * 1024));
  // nginx needs a certificate to start: a bootstrap version behind the same symlink the agent manages.
  const boot = await makeLeaf(stack.chain, [HOST]);
  await fs.writeFile(path.join(store, "bootstrap.pem"), boot.leafPem + stack.chain.intermediate.pem + boot.keyPem, { mode: 0o600 });
  await fs.symlink("bootstrap.pem", path.join(store, "web.pem"));
  const link = path.join(store, "web.pem");
  await fs.writeFile(
    path.join(dir, "nginx.conf"),
    `user root root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp_body; proxy_temp_path ${dir}/tmp_proxy; fastcgi_temp_path ${dir}/tmp_fcgi; uwsgi_temp_path ${dir}/tmp_uwsgi; scgi_temp_path ${dir}/tmp_scgi;
  keepalive_timeout 60s;
  include ${dir}/conf.d/*.conf;
  server {
    listen 127.0.0.1:${port} ssl;
    server_name ${HOST};
    ssl_certificate ${link};
    ssl_certificate_key ${link};
    root ${dir}/www;
    location = /hello { return 200 "hello\\n"; }
  }
}
`,
  );
  execFileSync(NGINX, nginxArgs());
  assert.equal(await peerSerial(), boot.serialHex);
  settings = parseAgentSettings(
    {
      secretsManagementSettings: {
        pollingIntervalInS: "1",
        requireInitialSync: true,
        observedCertificates: [{ url: `${stack.kv.url}/secrets/web`, certificateStoreLocation: store, customSymbolicLinkName: "web.pem" }],
      },
      authenticationSettings: { msiEndpoint: stack.imdsEndpoint },
      kvAcme: {
        host: "vm-test-1",
        stateFile: path.join(dir, "state", "agent-state.json"),
        statusFile: path.join(dir, "state", "agent-status.json"),
        statusFolder: path.join(dir, "status"),
        installers: [{ type: "nginx", binary: NGINX, config: path.join(dir, "nginx.conf"), prefix: dir }],
      },
    },
    { platform: "linux" },
  ).settings;
});

after(async () => {
  if (existsSync(path.join(dir, "nginx.pid"))) {
    const pid = Number((await fs.readFile(path.join(dir, "nginx.pid"), "utf8")).trim());
    try {
      process.kill(pid, "SIGQUIT");
    } catch {
      /* already gone */
    }
    for (let i = 0; i < 50 && existsSync(path.join(dir, "nginx.pid")); i++) await new Promise((r) => setTimeout(r, 100));
  }
  await stack?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test("agent installs from the vault, nginx serves each version, an open download survives the reload, a failing config test rolls back", async () => {
  const v1 = await stack.putVersion("web", [HOST, "example.test"]);
  const events: AgentEvent[] = [];
  const cycles: CycleResult[] = [];
  const waiters: Array<{ pred: (r: CycleResult) => boolean; resolve: (r: CycleResult) => void }> = [];
  const controller = new AbortController();
  const running = runAgent(settings, {
    once: false,
    signal: controller.signal,
    logger: { info: () => {}, warn: (m, d) => console.error(m, d), error: (m, d) => console.error(m, d) },
    report: (e) => void events.push(e),
    onCycle: (r) => {
      cycles.push(r);
      for (const w of waiters.splice(0)) {
        if (w.pred(r)) w.resolve(r);
        else waiters.push(w);
      }
    },
  });
  const nextCycle = (pred: (r: CycleResult) => boolean = () => true) =>
    new Promise<CycleResult>((resolve) => waiters.push({ pred, resolve }));
  try {
    // Initial sync: v1 installed and served.
    await nextCycle((r) => r.installed.length === 1);
    assert.equal(await servedSerial(v1.serialHex), v1.serialHex);
    assert.deepEqual(
      events.map((e) => [e.type, e.host, e.certificateName, e.version, e.bindingsUpdated]),
      [["certificate.installed", "vm-test-1", "web", v1.version, [`nginx:${path.join(dir, "nginx.conf")}`]]],
    );
    const handler = JSON.parse(await fs.readFile(path.join(dir, "status", "0.status"), "utf8"));
    assert.equal(handler[0].status.status, "success");
    assert.match(
      await fs.readFile(path.join(dir, "status", "0.status"), "utf8"),
      /^\[\{"version":1\.0,"timestampUTC":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","status":\{/,
    );

    // Nothing changed: next cycle installs nothing.
    const quiet = await nextCycle();
    assert.deepEqual(quiet.installed, []);

    // A download in flight over a connection opened before the renewal.
    let received = 0;
    let reqSocket: net.Socket | undefined;
    const download = new Promise<number>((resolve, reject) => {
      const req = https.get(
        { host: "127.0.0.1", port, servername: HOST, path: "/big.bin", ca: stack.chain.root.pem, agent: false, headers: { host: HOST } },
        (res) => {
          res.pause();
          res.on("data", (d: Buffer) => (received += d.length));
          res.on("end", () => resolve(received));
          res.on("error", reject);
          downloadStarted(res);
        },
      );
      req.on("socket", (s) => (reqSocket = s));
      req.on("error", reject);
    });
    let downloadStarted!: (res: NodeJS.ReadableStream) => void;
    const started = new Promise<NodeJS.ReadableStream>((r) => (downloadStarted = r));
    const res = await started;

    const v2 = await stack.putVersion("web", [HOST, "example.test"]);
    await nextCycle((r) => r.installed.length === 1);
    assert.equal(await servedSerial(v2.serialHex), v2.serialHex, "new connections get the new version");
    res.resume();
    assert.equal(await download, 16 * 1024 * 1024, "the download started before the reload completed");
    assert.ok(reqSocket);

    // nginx -t fails (a broken include): the previous version stays in service, status says why, nothing half-written.
    await fs.writeFile(path.join(dir, "conf.d", "broken.conf"), "this is not nginx syntax;\n");
    const v3 = await stack.putVersion("web", [HOST, "example.test"]);
    const failed = await nextCycle((r) => r.failed.length === 1);
    assert.match(failed.statuses[0].error!, /nginx configuration test failed/);
    assert.match(failed.statuses[0].error!, new RegExp(`version ${v2.version} stays in service`));
    assert.equal(await peerSerial(), v2.serialHex);
    const storeFiles = (await fs.readdir(path.join(dir, "store"))).sort();
    assert.ok(!storeFiles.some((f) => f.includes(v3.version) || f.startsWith(".")), `no v3 file nor temp file: ${storeFiles}`);
    assert.equal(await fs.readlink(path.join(dir, "store", "web.pem")), `127.0.0.1.web.${v2.version}.pem`);
    const status = JSON.parse(await fs.readFile(path.join(dir, "state", "agent-status.json"), "utf8"));
    assert.equal(status.status, "warning");
    assert.match(status.message, /nginx configuration test failed/);
    assert.equal(events.at(-1)?.type, "certificate.install_failed");
    assert.equal(events.at(-1)?.version, v3.version);

    // Fixed: the next cycle installs v3.
    await fs.rm(path.join(dir, "conf.d", "broken.conf"));
    await nextCycle((r) => r.installed.length === 1);
    assert.equal(await servedSerial(v3.serialHex), v3.serialHex);
    assert.equal(events.filter((e) => e.type === "certificate.install_failed").length, 1, "one failure report, not one per cycle");
  } finally {
    controller.abort();
    await running;
  }
});
