/**
 * Issuer pinning on the host (Service Fabric's common name + pinned issuers): the agent installs a version only when
 * its issuer is pinned (by common name or SHA-1 thumbprint) and reports the refusal otherwise. Against the Key Vault
 * stand-in with a real chain; the settings are validated.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { runAgent, type AgentEvent } from "../../src/agent";
import { issuerPinRefusal } from "../../src/agent/issuer-pins";
import { parseAgentSettings } from "../../src/agent/settings";
import { createLinuxStore } from "../../src/agent/stores/linux";
import { createSdkVaultReader } from "../../src/agent/vault";
import { ValidationError } from "../../src/shared/errors";
import { startAgentStack, type AgentStack } from "./stack";

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

describe("issuerPins", () => {
  let stack: AgentStack;
  let dir: string;
  let intermediateCn: string;
  let intermediateThumbprint: string;
  before(async () => {
    stack = await startAgentStack();
    dir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-pins-"));
    const ic = new X509Certificate(stack.chain.intermediate.pem);
    intermediateCn = /CN=([^\n]+)/.exec(ic.subject)![1]!;
    intermediateThumbprint = ic.fingerprint.replace(/:/g, "");
    await stack.putVersion("pinned", ["pinned.example.com"]);
  });
  after(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (tag: string, pins: string[]) => {
    const settings = parseAgentSettings(
      {
        secretsManagementSettings: {
          observedCertificates: [{ url: `${stack.kv.url}/secrets/pinned`, certificateStoreLocation: path.join(dir, tag, "store") }],
        },
        kvAcme: {
          stateFile: path.join(dir, tag, "state.json"),
          statusFile: path.join(dir, tag, "status.json"),
          issuerPins: { pinned: pins },
        },
      },
      { platform: "linux" },
    ).settings;
    const events: AgentEvent[] = [];
    const code = await runAgent(settings, {
      once: true,
      logger: quiet,
      vault: createSdkVaultReader({ credential: { getToken: async () => stack.identityToken() } }),
      store: createLinuxStore({ aclEnabled: false }),
      report: (e) => void events.push(e),
    });
    return { code, events };
  };

  it("a version from an issuer that is not pinned is not installed, and the refusal is reported", async () => {
    const { code, events } = await run("wrong", ["Some Other CA", "0".repeat(40)]);
    assert.equal(code, 1);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, "certificate.install_failed");
    assert.match(events[0]!.error ?? "", new RegExp(`issuer not pinned: .*CN=${intermediateCn}.*not in kvAcme.issuerPins`));
  });

  it("pinned by the issuer's common name or its SHA-1 thumbprint, the version is installed", async () => {
    assert.equal((await run("by-name", [intermediateCn])).code, 0);
    const byThumb = await run("by-thumb", ["Some Other CA", intermediateThumbprint.toLowerCase()]);
    assert.equal(byThumb.code, 0);
    assert.equal(byThumb.events[0]!.type, "certificate.installed");
  });

  it("no pins allow any issuer; pins for an unknown certificate or an empty list are refused in the settings", () => {
    assert.equal(issuerPinRefusal(undefined, { commonName: "X" }), undefined);
    const parse = (issuerPins: unknown) =>
      parseAgentSettings(
        { secretsManagementSettings: { observedCertificates: ["https://v.vault.azure.net/secrets/web"] }, kvAcme: { issuerPins } },
        { platform: "linux" },
      );
    assert.deepEqual(parse({ web: ["R10"] }).settings.kvAcme.issuerPins, { "https://v.vault.azure.net/secrets/web": ["R10"] });
    for (const [bad, field] of [
      [{ other: ["R10"] }, "kvAcme.issuerPins.other"],
      [{ web: [] }, "kvAcme.issuerPins.web"],
      [["R10"], "kvAcme.issuerPins"],
    ] as const) {
      assert.throws(
        () => parse(bad),
        (err: unknown) => err instanceof ValidationError && err.problems.some((p) => p.field === field),
        JSON.stringify(bad),
      );
    }
  });
});
