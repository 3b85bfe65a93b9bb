/**
 * The fleet across several vaults. Pure: each reported certificate is compared with its own vault's current version
 * (a report naming no vault means the default one; an unmanaged vault has no current version), and a report may carry
 * the same name from two vaults. End to end on the local host with two Key Vault stand-ins and Azurite: one agent
 * observes `web` in both vaults; a renewal in vault2 makes only that certificate not current, in GET /api/fleet and in
 * GET /api/certificates/web/hosts?vault=vault2.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { CertificateClient } from "@azure/keyvault-certificates";
import { runAgent } from "../../src/agent";
import { parseAgentSettings } from "../../src/agent/settings";
import { createSdkVaultReader } from "../../src/agent/vault";
import { parseAgentReport } from "../../src/fleet/report";
import { currentOf, fleetView, vaultCertificateKey, type CurrentVersions, type StalePolicy } from "../../src/fleet/stale";
import type { HostRecord } from "../../src/fleet/store";
import { call } from "../api/support";
import { startTestApp, type TestApp } from "../support/app";

const A = "A".repeat(40);
const B = "B".repeat(40);
const V1 = "https://one.vault.azure.net";
const V2 = "https://two.vault.azure.net";
const NOW = new Date("2026-12-10T12:00:00Z");
const POLICY: StalePolicy = { staleAfterHours: 24, missedIntervals: 3, expiryWarningDays: 7 };
const since = new Date(NOW.getTime() - 48 * 3600_000).toISOString();
const current: CurrentVersions = {
  byKey: new Map([
    [vaultCertificateKey(V1, "web"), { name: "web", vault: "default", thumbprint: A, since }],
    [vaultCertificateKey(V2, "web"), { name: "web", vault: "vault2", thumbprint: B, since }],
  ]),
  defaultVaultUrl: `${V1}/`,
};

describe("several vaults (pure)", () => {
  it("a certificate is looked up in the vault it came from; no vault URL means the default vault", () => {
    assert.equal(currentOf(current, { name: "WEB", vaultUrl: "https://TWO.vault.azure.net" })?.thumbprint, B);
    assert.equal(currentOf(current, { name: "web" })?.thumbprint, A);
    assert.equal(currentOf(current, { name: "web", vaultUrl: "https://three.vault.azure.net" }), undefined);
  });

  it("the same name from two vaults: each is current or outdated against its own vault", () => {
    const host: HostRecord = {
      hostId: "vm-1",
      lastSeen: NOW.toISOString(),
      agentVersion: "0.1.0",
      pollingIntervalInS: 3600,
      notified: [],
      certificates: [
        { name: "web", vaultUrl: V1, thumbprint: A, installedVersion: "a1", bindingsUpdated: [], reportedAt: NOW.toISOString() },
        { name: "web", vaultUrl: V2, thumbprint: A, installedVersion: "a2", bindingsUpdated: [], reportedAt: NOW.toISOString() },
        { name: "web", vaultUrl: "https://three.vault.azure.net", thumbprint: A, bindingsUpdated: [], reportedAt: NOW.toISOString() },
      ],
    };
    const [view] = fleetView([host], current, NOW, POLICY);
    assert.deepEqual(
      view!.certificates.map((c) => [c.vaultUrl, c.vault, c.current, c.staleReasons]),
      [
        [V1, "default", true, []],
        ["https://three.vault.azure.net", undefined, false, []],
        [V2, "vault2", false, ["outdated"]],
      ],
    );
    assert.deepEqual(
      view!.findings.map((f) => [f.reason, f.vaultUrl]),
      [["outdated", V2]],
    );
  });

  it("a report may carry one name once per vault, not twice for the same vault", () => {
    const body = (vaults: string[]) => ({
      hostId: "vm-1",
      agentVersion: "0.1.0",
      pollingIntervalInS: 60,
      certificates: vaults.map((vaultUrl) => ({ name: "web", vaultUrl })),
    });
    assert.equal(parseAgentReport(body([V1, V2])).certificates.length, 2);
    assert.throws(() => parseAgentReport(body([V1, V1.toUpperCase().replace("HTTPS", "https")])), /reported twice/);
  });
});

describe("several vaults end to end", () => {
  let app: TestApp;
  let dir: string;
  const quiet = { info: () => {}, warn: () => {}, error: (m: string, d?: unknown) => console.error(m, d) };
  const vaultUrl = (name: string) => app.stack.info.vaults.find((v) => v.name === name)!.url.replace(/\/$/, "");
  const createVersion = async (vault: string) => {
    const certificates = new CertificateClient(vaultUrl(vault), app.stack.credential, { disableChallengeResourceVerification: true });
    const poller = await certificates.beginCreateCertificate(
      "web",
      { issuerName: "Self", subject: "CN=web.example.com", contentType: "application/x-pem-file" },
      { intervalInMs: 10 },
    );
    return (await poller.pollUntilDone()).properties.version!;
  };
  const agentRun = () =>
    runAgent(
      parseAgentSettings(
        {
          secretsManagementSettings: {
            pollingIntervalInS: "3600",
            observedCertificates: ["default", "vault2"].map((v) => ({
              url: `${vaultUrl(v)}/secrets/web`,
              certificateStoreLocation: path.join(dir, `store-${v}`),
            })),
          },
          kvAcme: { hostId: "vm-multi", stateFile: path.join(dir, "state.json"), report: { url: `${app.api}/agents/reports` } },
        },
        { platform: "linux" },
      ).settings,
      { once: true, logger: quiet, vault: createSdkVaultReader({ credential: app.stack.credential }) },
    );

  before(async () => {
    app = await startTestApp({ stack: { tables: true, vaults: 2 } });
    dir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-fleet-vaults-"));
  });
  after(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("one host observes web in both vaults; a renewal in vault2 makes only that one not current", async () => {
    const [d1, v1] = [await createVersion("default"), await createVersion("vault2")];
    assert.equal(await agentRun(), 0);
    const first = await call(app.api, "GET", "/fleet");
    assert.equal(first.status, 200, first.text);
    const certs = (r: typeof first) =>
      r.body.hosts[0].certificates
        .map((c: { vault: string; installedVersion: string; current: boolean }) => [c.vault, c.installedVersion, c.current])
        .sort((a: string[], b: string[]) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(certs(first), [
      ["default", d1, true],
      ["vault2", v1, true],
    ]);

    const v2 = await createVersion("vault2");
    const after = await call(app.api, "GET", "/fleet");
    assert.deepEqual(certs(after), [
      ["default", d1, true],
      ["vault2", v1, false],
    ]);
    const hosts2 = await call(app.api, "GET", "/certificates/web/hosts?vault=vault2");
    assert.equal(hosts2.status, 200, hosts2.text);
    assert.equal(hosts2.body.vault, "vault2");
    assert.deepEqual(
      hosts2.body.hosts.map((h: { hostId: string; certificate: { installedVersion: string; current: boolean } }) => [
        h.hostId,
        h.certificate.installedVersion,
        h.certificate.current,
      ]),
      [["vm-multi", v1, false]],
    );
    const hosts1 = await call(app.api, "GET", "/certificates/web/hosts");
    assert.equal(hosts1.body.vault, "default");
    assert.deepEqual(
      hosts1.body.hosts.map((h: { certificate: { installedVersion: string; current: boolean } }) => [
        h.certificate.installedVersion,
        h.certificate.current,
      ]),
      [[d1, true]],
    );
    assert.equal((await call(app.api, "GET", "/certificates/web/hosts?vault=nope")).status, 400);

    // The agent installs vault2's new version: current again.
    assert.equal(await agentRun(), 0);
    const again = await call(app.api, "GET", "/fleet");
    assert.deepEqual(certs(again), [
      ["default", d1, true],
      ["vault2", v2, true],
    ]);
  });
});
