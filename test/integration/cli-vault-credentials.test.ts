/**
 * The CLI's direct mode reaches each vault with that vault's own credential: two vaults, the second with a managed
 * identity of its own (`KvAcme__Vaults__euvault__ManagedIdentityClientId`), a real managed-identity token endpoint (the
 * local stack's, App Service style, every token naming the client id it was issued for) and two HTTPS vault
 * endpoints on loopback, trusted through the local CA, that answer Key Vault's challenge and an empty list while
 * recording the client id of every bearer token they receive. `kv-acme list` and `kv-acme doctor` (bin/kv-acme.js in
 * a child process, as a user runs it) present the app's identity to the first vault and the vault's own to the second.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ensureLocalCa } from "../../src/local/ca";
import { startIdentityServer, type IdentityServer } from "../../src/local/identity/server";
import { createTokenAuthority } from "../../src/local/identity/tokens";
import { runCliProcess } from "../support/cli";

const EU_CLIENT = "0e0e0e0e-1111-4222-8333-444455556666";
const APP_CLIENT = "0a0a0a0a-1111-4222-8333-444455556666";

interface RecordingVault {
  url: string;
  /** The client id (appid claim) of each bearer token received. */
  clients: string[];
  server: Server;
}

let home: string;
let identity: IdentityServer;
let caFile: string;
const vaults: RecordingVault[] = [];

/** An HTTPS endpoint speaking just enough Key Vault: the 401 challenge, then empty pages for anything listed. */
async function recordingVault(tls: { certPem: string; keyPem: string }): Promise<RecordingVault> {
  const clients: string[] = [];
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    req.resume();
    const auth = req.headers.authorization;
    if (!auth?.startsWith("Bearer ")) {
      res.writeHead(401, {
        "content-type": "application/json",
        "www-authenticate":
          'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"',
      });
      res.end(JSON.stringify({ error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer token." } }));
      return;
    }
    const payload = JSON.parse(Buffer.from(auth.slice(7).split(".")[1] ?? "", "base64url").toString("utf8")) as { appid?: string };
    clients.push(payload.appid ?? "");
    const isGet = req.method === "GET" && /\/(certificates|secrets)(\?|$)/.test(req.url ?? "");
    res.writeHead(isGet ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(isGet ? { value: [], nextLink: null } : { error: { code: "NotFound", message: "not here" } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, clients, server };
}

before(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), "kv-acme-vault-creds-"));
  const ca = await ensureLocalCa(path.join(home, "ca"));
  caFile = ca.caFile;
  const tls = await ca.issueServerCertificate(["127.0.0.1"]);
  const authority = createTokenAuthority(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
  identity = await startIdentityServer({ authority, identityHeader: "vault-creds", knownClientIds: [EU_CLIENT, APP_CLIENT] });
  vaults.push(await recordingVault(tls), await recordingVault(tls));
});
after(async () => {
  for (const v of vaults) await new Promise((resolve) => v.server.close(resolve));
  await identity?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

function cli(args: string[]) {
  const [first, eu] = vaults;
  return runCliProcess(args, {
    PATH: process.env.PATH,
    HOME: home,
    KVACME_HOME: home,
    NODE_EXTRA_CA_CERTS: caFile,
    IDENTITY_ENDPOINT: identity.identityEndpoint,
    IDENTITY_HEADER: "vault-creds",
    KvAcme__VaultUrl: first?.url,
    KvAcme__ManagedIdentityClientId: APP_CLIENT,
    KvAcme__Vaults__euvault__Url: eu?.url,
    KvAcme__Vaults__euvault__ManagedIdentityClientId: EU_CLIENT,
    KvAcme__DisableChallengeResourceVerification: "true",
    // Required by the settings; nothing in these commands' vault part writes DNS (the doctor's DNS checks fail here, unasserted).
    KvAcme__DnsSubscriptionIds: "00000000-0000-4000-8000-000000000001",
    KvAcme__ArmEndpoint: "https://127.0.0.1:9",
  });
}

describe("CLI direct mode: each vault's own credential", () => {
  it("kv-acme list presents the app's identity to the default vault and the vault's own to eu", { timeout: 60_000 }, async () => {
    const [first, eu] = vaults;
    const r = await cli(["--json", "list"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
    assert.ok((first?.clients.length ?? 0) > 0 && (eu?.clients.length ?? 0) > 0, "both vaults were listed");
    assert.deepEqual([...new Set(first?.clients)], [APP_CLIENT]);
    assert.deepEqual([...new Set(eu?.clients)], [EU_CLIENT]);
  });

  it("kv-acme doctor checks each vault with its own identity", { timeout: 120_000 }, async () => {
    const [first, eu] = vaults;
    first?.clients.splice(0);
    eu?.clients.splice(0);
    const r = await cli(["--json", "doctor"]);
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; detail: string }[] };
    const list = report.checks.find((c) => c.id === "keyvault.list.euvault");
    assert.equal(list?.status, "pass", JSON.stringify(report.checks));
    assert.deepEqual([...new Set(eu?.clients)], [EU_CLIENT]);
    assert.ok(
      first?.clients.every((c) => c === APP_CLIENT),
      JSON.stringify(first?.clients),
    );
  });
});
