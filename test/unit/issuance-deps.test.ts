/**
 * deps.forVault keeps a caller's overrides: tests and benches hand the steps a copy of the dependencies with a client
 * or provider replaced (`{ ...deps, certificates }`), and the steps (the scan's everyVault, validation, the pending
 * operation) address their vault through forVault. Nothing here talks to a vault: the clients are only built.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TokenCredential } from "@azure/identity";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { loadSettings } from "../../src/config/settings";
import { createIssuanceDeps, everyVault, type IssuanceDeps } from "../../src/issuance";

const credential: TokenCredential = { getToken: () => Promise.resolve(null) };

function twoVaults(): IssuanceDeps {
  const settings = loadSettings({
    KvAcme__DnsSubscriptionIds: "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10",
    "KvAcme__Vaults__contoso-eu__Url": "https://contoso-eu.vault.azure.net",
    "KvAcme__Vaults__contoso-us__Url": "https://contoso-us.vault.azure.net",
    KvAcme__DefaultVault: "contoso-eu",
  });
  return createIssuanceDeps(settings, credential);
}

describe("deps.forVault keeps overrides", () => {
  it("a copy with its own clients is its own vault's dependencies, through forVault and everyVault", () => {
    const deps = twoVaults();
    const certificates = new CertificateClient("https://contoso-eu.vault.azure.net", credential);
    const secrets = new SecretClient("https://contoso-eu.vault.azure.net", credential);
    const counted: IssuanceDeps = { ...deps, certificates, secrets };
    assert.equal(counted.forVault(undefined), counted);
    assert.equal(counted.forVault("contoso-eu"), counted);
    assert.equal(counted.forVault("Contoso-EU"), counted, "vault names are case-insensitive");
    assert.equal(everyVault(counted)[0], counted, "the scan reads the default vault through the copy");
    assert.equal(everyVault(counted)[0]?.certificates, certificates);
  });

  it("another vault gets its own certificate client and the copy's shared overrides (secrets, DNS, progress, settings)", () => {
    const deps = twoVaults();
    const secrets = new SecretClient("https://contoso-eu.vault.azure.net", credential);
    const progress = () => undefined;
    const counted: IssuanceDeps = {
      ...deps,
      certificates: new CertificateClient("https://contoso-eu.vault.azure.net", credential),
      secrets,
      progress,
      settings: { ...deps.settings, propagationTimeoutSeconds: 2 },
    };
    const us = counted.forVault("contoso-us");
    assert.equal(us.vault, "contoso-us");
    assert.equal(us.certificates, deps.forVault("contoso-us").certificates, "us keeps its own vault's client");
    assert.notEqual(us.certificates, counted.certificates);
    assert.equal(us.secrets, secrets);
    assert.equal(us.progress, progress);
    assert.equal(us.dns, deps.dns);
    assert.equal(us.settings.vaultUrl, "https://contoso-us.vault.azure.net");
    assert.equal(us.settings.propagationTimeoutSeconds, 2);
    assert.equal(counted.forVault("contoso-us"), us, "built once");
    assert.equal(us.forVault(undefined), counted, "and back to the copy");
    assert.deepEqual(
      everyVault(counted).map((d) => [d.vault, d.secrets === secrets]),
      [
        ["contoso-eu", true],
        ["contoso-us", true],
      ],
    );
  });

  it("the built dependencies, or forVault called unbound, answer each vault's own", () => {
    const deps = twoVaults();
    const us = deps.forVault("contoso-us");
    assert.equal(deps.forVault(undefined), deps);
    assert.equal(us.forVault("contoso-eu"), deps);
    assert.equal(us.settings.vaultUrl, "https://contoso-us.vault.azure.net");
    const unbound = { ...deps, progress: () => undefined }.forVault;
    assert.equal(unbound("contoso-us"), us);
    assert.throws(() => deps.forVault("nowhere"), /no vault "nowhere" is configured/);
  });
});
