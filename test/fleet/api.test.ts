/**
 * The fleet end to end on the local host: the real agent (one cycle per host) installs a certificate from the Key Vault
 * stand-in and reports to POST /api/agents/reports; the app stores the report in Azurite; GET /api/fleet and
 * GET /api/certificates/{name}/hosts show who has what, and a new vault version makes the hosts "not current".
 * Bad reports are refused with a problem and nothing is stored.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { runAgent } from "../../src/agent";
import { parseAgentSettings } from "../../src/agent/settings";
import { createSdkVaultReader } from "../../src/agent/vault";
import { clients } from "../integration/helpers";
import { assertProblem, call } from "../api/support";
import { startTestApp, type TestApp } from "../support/app";
import { runCliProcess } from "../support/cli";

// Key material generated at run time (never committed), for the report that must be refused.
const TEST_KEY_PEM = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;

const quiet = { info: () => {}, warn: () => {}, error: (m: string, d?: unknown) => console.error(m, d) };

describe("fleet API with agents reporting", () => {
  let app: TestApp;
  let dir: string;
  let reportUrl: string;

  const createVersion = async () => {
    const { certificates } = clients(app.stack);
    const poller = await certificates.beginCreateCertificate(
      "web",
      {
        issuerName: "Self",
        subject: "CN=web.example.com",
        subjectAlternativeNames: { dnsNames: ["web.example.com"] },
        contentType: "application/x-pem-file",
      },
      { intervalInMs: 10 },
    );
    return (await poller.pollUntilDone()).properties.version!;
  };

  const agentRun = async (hostId: string) => {
    const settings = parseAgentSettings(
      {
        secretsManagementSettings: {
          pollingIntervalInS: "3600",
          observedCertificates: [
            { url: `${app.stack.info.keyVaultUrl}/secrets/web`, certificateStoreLocation: path.join(dir, hostId, "store") },
          ],
        },
        kvAcme: {
          hostId,
          stateFile: path.join(dir, hostId, "state.json"),
          statusFile: path.join(dir, hostId, "status.json"),
          report: { url: reportUrl },
        },
      },
      { platform: "linux" },
    ).settings;
    return runAgent(settings, { once: true, logger: quiet, vault: createSdkVaultReader({ credential: app.stack.credential }) });
  };

  before(async () => {
    app = await startTestApp({ stack: { tables: true } });
    dir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-fleet-"));
    reportUrl = `${app.api}/agents/reports`;
  });
  after(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("two agents report the version they installed and the fleet shows both hosts current", async () => {
    const v1 = await createVersion();
    assert.equal(await agentRun("vm-a"), 0);
    assert.equal(await agentRun("vm-b"), 0);
    const r = await call(app.api, "GET", "/fleet");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.body.hosts.map((h: { hostId: string }) => h.hostId),
      ["vm-a", "vm-b"],
    );
    for (const h of r.body.hosts) {
      assert.equal(h.agentVersion, "0.1.0");
      assert.equal(h.stale, false);
      assert.equal(h.certificates.length, 1);
      assert.equal(h.certificates[0].name, "web");
      assert.equal(h.certificates[0].installedVersion, v1);
      assert.equal(h.certificates[0].current, true);
      assert.match(h.certificates[0].notAfter, /^\d{4}-/);
    }
  });

  it("GET /fleet pages: top hosts per page and a continuationToken while more follow; bad paging is a 400", async () => {
    const first = await call(app.api, "GET", "/fleet?top=1");
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(
      first.body.hosts.map((h: { hostId: string }) => h.hostId),
      ["vm-a"],
    );
    assert.equal(typeof first.body.continuationToken, "string");
    const second = await call(app.api, "GET", `/fleet?top=1&continuationToken=${encodeURIComponent(first.body.continuationToken)}`);
    assert.deepEqual(
      second.body.hosts.map((h: { hostId: string }) => h.hostId),
      ["vm-b"],
    );
    assert.equal(second.body.continuationToken, undefined, "the last page has no token");
    assert.equal((await call(app.api, "GET", "/fleet")).body.continuationToken, undefined, "both hosts fit the default page");
    assertProblem(await call(app.api, "GET", "/fleet?top=0"), 400, ["top"]);
    assertProblem(await call(app.api, "GET", "/fleet?top=5001"), 400, ["top"]);
    assertProblem(await call(app.api, "GET", "/fleet?continuationToken=not%20a%20token"), 400, ["continuationToken"]);
  });

  it("after a renewal the hosts that did not poll yet are not current, the one that polled is", async () => {
    const v2 = await createVersion();
    assert.equal(await agentRun("vm-a"), 0);
    const r = await call(app.api, "GET", "/certificates/web/hosts");
    assert.equal(r.status, 200, r.text);
    const byHost = Object.fromEntries(
      r.body.hosts.map((h: { hostId: string; certificate: { installedVersion: string; current: boolean } }) => [h.hostId, h.certificate]),
    );
    assert.equal(byHost["vm-a"].installedVersion, v2);
    assert.equal(byHost["vm-a"].current, true);
    assert.notEqual(byHost["vm-b"].installedVersion, v2);
    assert.equal(byHost["vm-b"].current, false);
    // Not stale yet: the new version became current moments ago (stale after KvAcme__Fleet__StaleAfterHours).
    assert.equal(byHost["vm-b"].stale, false);
    const none = await call(app.api, "GET", "/certificates/other/hosts");
    assert.deepEqual(none.body.hosts, []);
  });

  it("kv-acme fleet prints the same fleet through the API and directly from the table", async () => {
    const viaApi = await runCliProcess(["--endpoint", app.host.url, "--json", "fleet", "web"], process.env);
    assert.equal(viaApi.code, 0, viaApi.stderr);
    const fromApi = JSON.parse(viaApi.stdout);
    assert.deepEqual(
      fromApi.hosts.map((h: { hostId: string }) => h.hostId),
      ["vm-a", "vm-b"],
    );
    const direct = await runCliProcess(["fleet"], { ...process.env, ...app.stack.env });
    assert.equal(direct.code, 0, direct.stderr);
    assert.match(direct.stdout, /^vm-a {2}last seen .* agent 0\.1\.0$/m);
    assert.match(direct.stdout, /^ {2}web +\S+ \(not current\)/m);
    assert.match(direct.stdout, /^2 host\(s\), 0 stale$/m);
    const bad = await runCliProcess(["fleet", "a", "b"], { ...process.env, ...app.stack.env });
    assert.equal(bad.code, 2);
  });

  it("a bad report is refused with a problem naming each field and nothing is stored", async () => {
    const r = await call(app.api, "POST", "/agents/reports", {
      body: {
        hostId: "bad/host",
        agentVersion: "0.1.0",
        pollingIntervalInS: 0,
        certificates: [{ name: "web", thumbprint: "xyz", lastError: TEST_KEY_PEM.split("\n")[0] }],
      },
    });
    assertProblem(r, 400, ["hostId", "pollingIntervalInS", "certificates[0].thumbprint", "certificates[0].lastError"]);
    const fleet = await call(app.api, "GET", "/fleet");
    assert.deepEqual(
      fleet.body.hosts.map((h: { hostId: string }) => h.hostId),
      ["vm-a", "vm-b"],
    );
    const notJson = await call(app.api, "POST", "/agents/reports", { body: "hostId=x", headers: { "content-type": "text/plain" } });
    assertProblem(notJson, 415);
  });
});
