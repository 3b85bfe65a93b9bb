/**
 * Faults against a small local HTTPS vault that answers what the real service answers in bad moments
 * (403/404/429/5xx, corrupt or mismatched secrets), through the real SDK-based reader. One certificate's failure
 * never stops the others; status says why; nothing is half-written. Also: requireInitialSync gives up after 25.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import type { TokenCredential } from "@azure/core-auth";
import { INITIAL_SYNC_ATTEMPTS, runAgent, type AgentEvent } from "../../src/agent/index";
import { initialSyncDelayMs, Poller } from "../../src/agent/poller";
import { parseAgentSettings, type AgentSettings } from "../../src/agent/settings";
import { createLinuxStore } from "../../src/agent/stores/linux";
import { createSdkVaultReader } from "../../src/agent/vault";
import { ensureLocalCa } from "../../src/local/ca";
import { x509 } from "../../src/shared/x509";
import { makeChain, makeLeaf, pemSecret, pkcs12Secret } from "./helpers";

const V = "0123456789abcdef0123456789abcdef";
let server: https.Server;
let url: string;
let dir: string;
const requests: string[] = [];
const secrets: Record<string, { value: string; x5t: string; contentType: string }> = {};
const credential: TokenCredential = { getToken: async () => ({ token: "test-token", expiresOnTimestamp: Date.now() + 3600_000 }) };

const x5tOf = (pem: string) =>
  createHash("sha1")
    .update(Buffer.from(new x509.X509Certificate(pem).rawData))
    .digest("base64url");

before(async () => {
  const ca = await ensureLocalCa();
  const tls = await ca.issueServerCertificate(["127.0.0.1"]);
  const chain = await makeChain();
  const rsaChain = await makeChain("rsa");
  const good = await makeLeaf(chain, ["good.example.test"]);
  const good12 = await makeLeaf(rsaChain, ["p12.example.test"], { keyType: "rsa" });
  const other = await makeLeaf(chain, ["other.example.test"]);
  secrets.good = { value: pemSecret(good, chain), x5t: x5tOf(good.leafPem), contentType: "application/x-pem-file" };
  secrets.p12 = { value: pkcs12Secret(good12, rsaChain), x5t: x5tOf(good12.leafPem), contentType: "application/x-pkcs12" };
  secrets.corrupt = {
    value: pkcs12Secret(good12, rsaChain).slice(0, 300),
    x5t: x5tOf(good12.leafPem),
    contentType: "application/x-pkcs12",
  };
  secrets.mismatch = {
    value: other.keyPem + good.leafPem + chain.intermediate.pem,
    x5t: x5tOf(good.leafPem),
    contentType: "application/x-pem-file",
  };
  // Certificates-read forbidden (secrets-only role): the agent falls back to the secret's version list.
  secrets.secretsonly = { value: pemSecret(good, chain), x5t: x5tOf(good.leafPem), contentType: "application/x-pem-file" };

  server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const u = new URL(req.url ?? "/", "https://x");
    const segs = u.pathname.split("/").filter(Boolean);
    requests.push(`${req.method} ${u.pathname}`);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    if (!req.headers.authorization) {
      return send(
        401,
        { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token." } },
        {
          "www-authenticate":
            'Bearer authorization="https://login.microsoftonline.com/72f988bf-0000-4000-8000-00000000c0de", resource="https://vault.azure.net"',
        },
      );
    }
    const name = segs[1];
    const err = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
      send(status, { error: { code, message } }, headers);
    if (name === "forbidden") return err(403, "Forbidden", "The user, group or application does not have certificates get permission.");
    if (name === "missing")
      return err(
        404,
        segs[0] === "certificates" ? "CertificateNotFound" : "SecretNotFound",
        `A certificate with (name/id) ${name} was not found in this key vault.`,
      );
    if (name === "throttled")
      return err(429, "Throttled", "Request was not processed because too many requests were received.", { "retry-after": "0" });
    if (name === "broken") return err(503, "ServiceUnavailable", "The service is unavailable.");
    // Enabled when the certificate was read, disabled by the time the secret is fetched (as Key Vault answers it).
    if (name === "disabled" && segs[0] === "secrets")
      return send(403, {
        error: { code: "Forbidden", message: "Operation get is not allowed on a disabled secret.", innererror: { code: "SecretDisabled" } },
      });
    const s = secrets[name === "disabled" ? "good" : name];
    if (!s) return err(404, "NotFound", "no such thing");
    if (segs[0] === "certificates") {
      if (name === "secretsonly") return err(403, "Forbidden", "The user, group or application does not have certificates get permission.");
      return send(200, {
        id: `${url}/certificates/${name}/${V}`,
        sid: `${url}/secrets/${name}/${V}`,
        kid: `${url}/keys/${name}/${V}`,
        x5t: s.x5t,
        attributes: { enabled: true },
      });
    }
    if (segs[0] === "secrets" && segs[2] === "versions") {
      return send(200, {
        value: [
          {
            id: `${url}/secrets/${name}/${V}`,
            attributes: { enabled: true, created: 1700000000 },
            contentType: s.contentType,
            managed: true,
          },
        ],
        nextLink: null,
      });
    }
    if (segs[0] === "secrets" && segs[2] === V) {
      return send(200, {
        value: s.value,
        contentType: s.contentType,
        id: `${url}/secrets/${name}/${V}`,
        managed: true,
        attributes: { enabled: true },
      });
    }
    return err(404, "NotFound", "no route");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-agent-faults-"));
});

after(async () => {
  await new Promise((r) => server.close(r));
  await fs.rm(dir, { recursive: true, force: true });
});

function settingsFor(names: string[], extra: Record<string, unknown> = {}, store = path.join(dir, "store")): AgentSettings {
  return parseAgentSettings(
    {
      secretsManagementSettings: {
        observedCertificates: names.map((n) => ({ url: `${url}/secrets/${n}`, certificateStoreLocation: store })),
        ...extra,
      },
      kvAcme: {
        stateFile: path.join(dir, "state.json"),
        statusFile: path.join(dir, "status.json"),
        statusFolder: path.join(dir, "status"),
      },
    },
    { platform: "linux" },
  ).settings;
}

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

test("each fault is isolated and explained; good certificates install anyway; no secret downloads when nothing changed", async () => {
  const names = ["forbidden", "good", "missing", "throttled", "broken", "corrupt", "mismatch", "p12", "secretsonly", "disabled"];
  const settings = settingsFor(names);
  const vault = createSdkVaultReader({ credential, maxRetries: 1, retryDelayInMs: 10 });
  const events: AgentEvent[] = [];
  const poller = new Poller(settings, {
    vault,
    store: createLinuxStore({ aclEnabled: false }),
    logger: quiet,
    host: "h",
    env: {},
    report: (e) => void events.push(e),
  });
  const r = await poller.cycle();
  const byName = Object.fromEntries(r.statuses.map((s) => [s.name, s]));
  assert.deepEqual(r.installed.map((u) => u.split("/").pop()).sort(), ["good", "p12", "secretsonly"]);
  assert.match(byName.forbidden.error!, /HTTP 403/);
  assert.match(byName.missing.error!, /HTTP 404 CertificateNotFound/);
  assert.match(byName.throttled.error!, /HTTP 429/);
  assert.match(byName.broken.error!, /HTTP 503/);
  assert.match(byName.corrupt.error!, /PKCS#12 secret is corrupt or truncated/);
  assert.match(byName.mismatch.error!, /private key does not match/);
  assert.match(byName.disabled.error!, /no installable version yet: secret disabled\/\w+ .* is disabled \(Key Vault: HTTP 403/);
  assert.equal(r.allInstalled, false);
  assert.deepEqual(
    events
      .filter((e) => e.type === "certificate.install_failed")
      .map((e) => e.certificateName)
      .sort(),
    ["corrupt", "mismatch"],
  );
  const files = (await fs.readdir(path.join(dir, "store"))).sort();
  assert.deepEqual(files, [
    `127.0.0.1.good`,
    `127.0.0.1.good.${V}.pem`,
    `127.0.0.1.p12`,
    `127.0.0.1.p12.${V}.pem`,
    `127.0.0.1.secretsonly`,
    `127.0.0.1.secretsonly.${V}.pem`,
  ]);

  // Second cycle: nothing changed -> metadata only (one request per certificate; the secrets-only one lists versions).
  requests.length = 0;
  const before = vault.stats.secretDownloads;
  const r2 = await poller.cycle();
  assert.equal(vault.stats.secretDownloads - before, 3, "only the two broken secrets and the disabled one are tried again");
  assert.deepEqual(r2.installed, []);
  const meta = requests.filter((q) => !/\/secrets\/[a-z0-9]+\/[0-9a-f]{32}$/.test(q));
  for (const n of ["good", "p12"]) assert.equal(meta.filter((q) => q === `GET /certificates/${n}/`).length, 1);
  assert.deepEqual(
    requests.filter((q) => q.includes("secretsonly")),
    ["GET /secrets/secretsonly/versions"],
  );
  assert.equal(events.filter((e) => e.type === "certificate.install_failed").length, 2, "the same failure is not reported twice");
});

test("unwritable store: failure reported, previous state untouched", async () => {
  const ro = path.join(dir, "ro-parent");
  await fs.mkdir(ro, { mode: 0o500 });
  // chattr +i makes the directory unwritable even for root.
  const { execFileSync } = await import("node:child_process");
  execFileSync("chattr", ["+i", ro]);
  try {
    const settings = settingsFor(["good"], {}, path.join(ro, "store"));
    settings.kvAcme.stateFile = path.join(dir, "state-ro.json");
    const poller = new Poller(settings, {
      vault: createSdkVaultReader({ credential }),
      store: createLinuxStore({ aclEnabled: false }),
      logger: quiet,
      host: "h",
      env: {},
    });
    const r = await poller.cycle();
    assert.match(r.statuses[0].error!, /EACCES|EPERM/);
    assert.deepEqual(await fs.readdir(ro), []);
    await assert.rejects(fs.stat(path.join(dir, "state-ro.json")), /ENOENT/);
  } finally {
    execFileSync("chattr", ["-i", ro]);
  }
});

test(`requireInitialSync: ${INITIAL_SYNC_ATTEMPTS} attempts with exponential backoff, transitioning, then error`, async () => {
  const settings = settingsFor(["good", "missing"], { requireInitialSync: true });
  settings.kvAcme.stateFile = path.join(dir, "state-sync.json");
  settings.kvAcme.statusFolder = path.join(dir, "status-sync");
  const sleeps: number[] = [];
  const seen: string[] = [];
  const controller = new AbortController();
  let cycles = 0;
  const code = await runAgent(settings, {
    once: false,
    signal: controller.signal,
    logger: quiet,
    vault: createSdkVaultReader({ credential, maxRetries: 0 }),
    sleep: async (ms) => {
      sleeps.push(ms);
      seen.push(JSON.parse(await fs.readFile(path.join(dir, "status-sync", "0.status"), "utf8"))[0].status.status);
      if (sleeps.length >= INITIAL_SYNC_ATTEMPTS) controller.abort();
    },
    onCycle: () => void cycles++,
  });
  assert.equal(code, 1);
  assert.equal(cycles, INITIAL_SYNC_ATTEMPTS);
  assert.deepEqual(
    sleeps.slice(0, INITIAL_SYNC_ATTEMPTS - 1),
    Array.from({ length: INITIAL_SYNC_ATTEMPTS - 1 }, (_, i) => initialSyncDelayMs(i + 1)),
  );
  assert.deepEqual(sleeps.slice(0, 6), [5000, 10000, 20000, 40000, 80000, 100000]);
  assert.ok(seen.slice(0, INITIAL_SYNC_ATTEMPTS - 1).every((s) => s === "transitioning"));
  const final = JSON.parse(await fs.readFile(path.join(dir, "status-sync", "0.status"), "utf8"))[0].status;
  assert.equal(final.status, "error");
  assert.equal(final.code, 1);
  assert.match(final.formattedMessage.message, /initial sync failed after 25 attempts: .*missing: .*HTTP 404/);
});
