/**
 * msiClientId without a usable identity endpoint is refused at start with a clear message (exit 78), against the
 * local token endpoint (IMDS style) that knows one user-assigned identity, and a port where nothing listens.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { agentMain } from "../../src/agent/index";
import { identityEndpointProblem } from "../../src/agent/identity";
import { freePort } from "../../src/local/net";
import { startIdentityServer, type IdentityServer } from "../../src/local/identity/server";
import { createTokenAuthority } from "../../src/local/identity/tokens";

const KNOWN = "11111111-2222-3333-4444-555555555555";
const OTHER = "99999999-8888-7777-6666-555555555555";

describe("msiClientId and the identity endpoint", () => {
  let identity: IdentityServer;
  let dir: string;
  before(async () => {
    const authority = createTokenAuthority(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
    identity = await startIdentityServer({ authority, identityHeader: "x", knownClientIds: [KNOWN] });
    dir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-msi-"));
  });
  after(async () => {
    await identity?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("the VM's user-assigned identity answers: no problem", async () => {
    assert.equal(await identityEndpointProblem({ msiEndpoint: identity.imdsEndpoint, msiClientId: KNOWN }), undefined);
  });

  it("a client id the VM does not have is refused naming the identity and the fix", async () => {
    const problem = await identityEndpointProblem({ msiEndpoint: identity.imdsEndpoint, msiClientId: OTHER });
    assert.match(
      problem ?? "",
      new RegExp(`msiClientId ${OTHER}: the VM has no user-assigned identity .*Identity not found.*requireInitialSync`),
    );
  });

  it("no identity endpoint listening is refused; the agent command exits 78 with the message", async () => {
    const port = await freePort();
    const msiEndpoint = `http://127.0.0.1:${port}/metadata/identity`;
    const problem = await identityEndpointProblem({ msiEndpoint, msiClientId: KNOWN }, { attempts: 1 });
    assert.match(problem ?? "", /msiClientId is set, but no identity endpoint answers at http:\/\/127\.0\.0\.1:\d+\/metadata\/identity/);
    assert.equal(await identityEndpointProblem({ msiEndpoint }), undefined, "without msiClientId nothing is asked");
    const file = path.join(dir, "settings.json");
    await writeFile(
      file,
      JSON.stringify({
        secretsManagementSettings: { observedCertificates: ["https://v.vault.azure.net/secrets/web"] },
        authenticationSettings: { msiEndpoint, msiClientId: KNOWN },
        kvAcme: { stateFile: path.join(dir, "state.json"), statusFile: path.join(dir, "status.json") },
      }),
    );
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await agentMain(["--settings", file, "--once"]);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(code, 78);
    assert.match(stderr.join(""), /kv-acme agent: authenticationSettings\.msiClientId is set, but no identity endpoint answers/);
  });
});
