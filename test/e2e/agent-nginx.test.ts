/**
 * Issue 6's end to end on this machine: the local stack + the local Functions host issue a certificate through the
 * HTTP API; the agent (`kv-acme agent`, its own process, managed identity via msiEndpoint) installs it into a Linux
 * store; a real nginx serves it; a renewal through the API produces a new vault version that the running agent
 * (polling every second) installs, and nginx serves it while a download started before the reload still completes.
 * How fast the agent picks a version up is measured by bench/agent-poll.ts, not asserted here.
 */
import { freePort } from "../../src/local/net";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn, ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import tls from "node:tls";
import { pebbleGet } from "../../src/local/pebble";
import { call, pollOperation } from "../api/support";
import { repoRoot, startTestApp, TestApp } from "../support/app";

const execFileAsync = promisify(execFile);
const NGINX = "/usr/sbin/nginx";
const HOST = "shop.example.org";
let app: TestApp;
let dir: string;
let port: number;
let pebbleRoot: string;
let agent: ChildProcess | undefined;
let agentLog = "";

function servedCertificate(): Promise<{ serial: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, servername: HOST, ca: pebbleRoot }, () => {
      const c = s.getPeerCertificate();
      s.end();
      resolve({ serial: c.serialNumber.toUpperCase(), fingerprint: c.fingerprint.replace(/:/g, "") });
    });
    s.on("error", reject);
  });
}

/** The pids of the nginx master's worker processes (its children, read from /proc). */
async function nginxWorkers(): Promise<number[]> {
  const master = (await fs.readFile(path.join(dir, "nginx.pid"), "utf8")).trim();
  const pids: number[] = [];
  for (const entry of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // "pid (comm) state ppid ...": comm may hold spaces, so the fields are read after its closing parenthesis.
    if (stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] === master) pids.push(Number(entry));
  }
  return pids;
}

/** The certificate with this thumbprint, once three new connections in a row get it. */
async function servedSteadily(thumbprint: string): Promise<{ serial: string; fingerprint: string } | undefined> {
  let last: { serial: string; fingerprint: string } | undefined;
  for (let i = 0; i < 3; i++) {
    last = await servedCertificate();
    if (last.fingerprint !== thumbprint) return undefined;
  }
  return last;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; agent log:\n${agentLog.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function issue(pathname: string, body?: unknown): Promise<{ version: string; thumbprint: string }> {
  const r = await call(app.api, "POST", pathname, body === undefined ? {} : { body });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const { final } = await pollOperation(app.host.url, String(r.headers.get("location")));
  assert.equal(final.status, 200, JSON.stringify(final.body));
  const output = (final.body as { output: { version: string; thumbprint: string } }).output;
  return output;
}

before(async () => {
  app = await startTestApp();
  pebbleRoot = (await pebbleGet(app.stack.info.pebbleRootUrl, await fs.readFile(app.stack.info.caFile, "utf8"))).body;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "kv-acme-e2e-agent-"));
  port = await freePort();
  await fs.mkdir(path.join(dir, "store"), { mode: 0o700 });
  await fs.mkdir(path.join(dir, "www"));
  await fs.writeFile(path.join(dir, "www", "big.bin"), randomBytes(8 * 1024 * 1024));
});

after(async () => {
  agent?.kill("SIGTERM");
  if (dir && existsSync(path.join(dir, "nginx.pid"))) {
    try {
      process.kill(Number((await fs.readFile(path.join(dir, "nginx.pid"), "utf8")).trim()), "SIGQUIT");
    } catch {
      /* gone */
    }
    for (let i = 0; i < 50 && existsSync(path.join(dir, "nginx.pid")); i++) await new Promise((r) => setTimeout(r, 100));
  }
  await app?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

test("issued through the local host, installed by the agent, served by nginx; the running agent installs the renewal and nginx serves it while an earlier download completes", async () => {
  const v1 = await issue("/certificates", { dnsNames: [HOST], certificateName: "shop", keyType: "EC-P256", contentType: "pem" });

  const link = path.join(dir, "store", "shop.pem");
  const settingsFile = path.join(dir, "agent-settings.json");
  await fs.writeFile(
    settingsFile,
    JSON.stringify({
      secretsManagementSettings: {
        pollingIntervalInS: "1",
        requireInitialSync: true,
        observedCertificates: [
          {
            url: `${app.stack.info.keyVaultUrl}/secrets/shop`,
            certificateStoreLocation: path.join(dir, "store"),
            customSymbolicLinkName: "shop.pem",
          },
        ],
      },
      authenticationSettings: { msiEndpoint: app.stack.info.imdsEndpoint },
      kvAcme: {
        host: "e2e-vm",
        stateFile: path.join(dir, "state", "agent-state.json"),
        statusFile: path.join(dir, "state", "agent-status.json"),
        installers: [{ type: "nginx", binary: NGINX, config: path.join(dir, "nginx.conf"), prefix: dir }],
      },
    }),
  );
  // nginx needs a certificate to start: a self-signed bootstrap version behind the symlink the agent manages.
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      `/CN=${HOST}`,
      "-days",
      "1",
      "-keyout",
      path.join(dir, "store", "bootstrap.key"),
      "-out",
      path.join(dir, "store", "bootstrap.crt"),
    ],
    { stdio: "ignore" },
  );
  await fs.writeFile(
    path.join(dir, "store", "bootstrap.pem"),
    (await fs.readFile(path.join(dir, "store", "bootstrap.crt"), "utf8")) +
      (await fs.readFile(path.join(dir, "store", "bootstrap.key"), "utf8")),
    { mode: 0o600 },
  );
  await fs.symlink("bootstrap.pem", link);
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
  server {
    listen 127.0.0.1:${port} ssl;
    server_name ${HOST};
    ssl_certificate ${link};
    ssl_certificate_key ${link};
    root ${dir}/www;
  }
}
`,
  );
  execFileSync(NGINX, ["-p", dir, "-c", path.join(dir, "nginx.conf")]);
  const bootstrapWorkers = await waitFor(
    "nginx's workers",
    async () => {
      const workers = await nginxWorkers();
      return workers.length > 0 ? workers : undefined;
    },
    5_000,
  );
  // First the one-shot mode (cron style): installs v1 and exits 0. (Asynchronously: the stack serves from this process.)
  await execFileAsync(process.execPath, [path.join(repoRoot, "bin", "kv-acme.js"), "agent", "--settings", settingsFile, "--once"], {
    encoding: "utf8",
  });
  assert.notEqual(await fs.readlink(link), "bootstrap.pem", "symlink switched to the vault version");
  assert.match(await fs.readFile(link, "utf8"), /BEGIN CERTIFICATE[\s\S]*BEGIN CERTIFICATE[\s\S]*PRIVATE KEY/);

  // nginx -s reload returns once the master is signalled. The master starts new workers, then lets the old ones
  // accept for another 100 ms (longer on a busy machine) before it tells them to quit: a connection in that window
  // still gets the self-signed bootstrap certificate (DEPTH_ZERO_SELF_SIGNED_CERT), however many got version 1 before.
  await waitFor(
    "the bootstrap certificate's nginx workers to exit",
    async () => {
      const workers = await nginxWorkers();
      return workers.length > 0 && !workers.some((p) => bootstrapWorkers.includes(p)) ? workers : undefined;
    },
    10_000,
  );
  const served1 = await waitFor("nginx to serve version 1", () => servedSteadily(v1.thumbprint), 5_000);

  // The agent as a long-running service.
  agent = spawn(process.execPath, [path.join(repoRoot, "bin", "kv-acme.js"), "agent", "--settings", settingsFile], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  agent.stdout?.on("data", (c: Buffer) => (agentLog += c.toString()));
  agent.stderr?.on("data", (c: Buffer) => (agentLog += c.toString()));

  // A download over a connection opened before the renewal, paused mid-body. Its outcome is captured at once, so a
  // failure of the connection is reported by the assertion below, never as an unhandled rejection.
  let received = 0;
  let resume!: () => void;
  const download = new Promise<number>((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, servername: HOST, path: "/big.bin", ca: pebbleRoot, agent: false }, (res) => {
      res.pause();
      resume = () => res.resume();
      res.on("data", (d: Buffer) => (received += d.length));
      res.on("end", () => resolve(received));
      res.on("error", reject);
      started();
    });
    req.on("error", (err) => {
      reject(err);
      started();
    });
  });
  const downloaded = download.then(
    (bytes) => ({ bytes }),
    (error: unknown) => ({ error }),
  );
  let started!: () => void;
  await new Promise<void>((r) => (started = r));
  if (!resume) assert.fail(`the download did not start: ${JSON.stringify(await downloaded)}`);

  const renewedAt = Date.now();
  const v2 = await issue("/certificates/shop/renew");
  assert.notEqual(v2.version, v1.version);
  const served2 = await waitFor("nginx to serve version 2", () => servedSteadily(v2.thumbprint), 10_000);
  const pickupMs = Date.now() - renewedAt;
  assert.notEqual(served2.serial, served1.serial);
  resume();
  assert.deepEqual(await downloaded, { bytes: 8 * 1024 * 1024 }, "the download started before the reload completed");
  const status = JSON.parse(await fs.readFile(path.join(dir, "state", "agent-status.json"), "utf8")) as { status: string };
  assert.equal(status.status, "success");
  console.error(`agent picked up the renewed version ${pickupMs} ms after the renewal started`);
});
