/** Several vaults: the settings (named vaults, the default one, every problem reported), addresses and instance ids. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadSettings } from "../../src/config/settings";
import { formatAddress, parseAddress, splitAddress, validateVaultName } from "../../src/keyvault/address";
import { certificateInstanceId, revokeInstanceId } from "../../src/orchestrations/ids";
import { certificateHash, certificatePath } from "../../dashboard/src/api";
import { ConfigurationError, ValidationError, type FieldProblem } from "../../src/shared/errors";

const SUB = "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10";
const CLIENT = "11111111-2222-3333-4444-555555555555";

function problemsOf(env: Record<string, string>): FieldProblem[] {
  try {
    loadSettings({ KvAcme__DnsSubscriptionIds: SUB, ...env });
  } catch (err) {
    assert.ok(err instanceof ConfigurationError, String(err));
    return (err.details as { problems: FieldProblem[] }).problems;
  }
  assert.fail("expected a ConfigurationError");
}

describe("vault settings", () => {
  it("KvAcme__VaultUrl alone is the vault named default, and the default vault", () => {
    const s = loadSettings({ KvAcme__DnsSubscriptionIds: SUB, KvAcme__VaultUrl: "https://one.vault.azure.net" });
    assert.deepEqual(s.vaults, [{ name: "default", url: "https://one.vault.azure.net" }]);
    assert.equal(s.defaultVault, "default");
    assert.equal(s.vaultUrl, "https://one.vault.azure.net");
  });

  it("named vaults with their own managed identity; DefaultVault picks the default, whose URL is vaultUrl and secretsVaultUrl", () => {
    const s = loadSettings({
      KvAcme__DnsSubscriptionIds: SUB,
      "KvAcme__Vaults__Contoso-EU__Url": "https://contoso-eu.vault.azure.net",
      "KvAcme__Vaults__contoso-us__Url": "https://contoso-us.vault.azure.net/",
      "KvAcme__Vaults__contoso-us__ManagedIdentityClientId": CLIENT,
      KvAcme__DefaultVault: "Contoso-US",
    });
    assert.deepEqual(s.vaults, [
      { name: "contoso-eu", url: "https://contoso-eu.vault.azure.net" },
      { name: "contoso-us", url: "https://contoso-us.vault.azure.net", managedIdentityClientId: CLIENT },
    ]);
    assert.equal(s.defaultVault, "contoso-us");
    assert.equal(s.vaultUrl, "https://contoso-us.vault.azure.net");
    assert.equal(s.secretsVaultUrl, "https://contoso-us.vault.azure.net");
  });

  it("VaultUrl plus named vaults: default stays the default unless DefaultVault says otherwise", () => {
    const env = { KvAcme__VaultUrl: "https://one.vault.azure.net", KvAcme__Vaults__two__Url: "https://two.vault.azure.net" };
    assert.equal(loadSettings({ KvAcme__DnsSubscriptionIds: SUB, ...env }).defaultVault, "default");
    assert.equal(loadSettings({ KvAcme__DnsSubscriptionIds: SUB, ...env, KvAcme__DefaultVault: "two" }).defaultVault, "two");
    // A single named vault needs no DefaultVault.
    assert.equal(
      loadSettings({ KvAcme__DnsSubscriptionIds: SUB, KvAcme__Vaults__two__Url: "https://two.vault.azure.net" }).defaultVault,
      "two",
    );
  });

  it("every problem at once: no vault at all", () => {
    assert.deepEqual(
      problemsOf({}).map((p) => p.field),
      ["KvAcme__VaultUrl"],
    );
  });

  it("refuses several vaults without DefaultVault, a DefaultVault naming none, bad names, a vault twice, a second 'default'", () => {
    const two = { KvAcme__Vaults__aaa__Url: "https://a.vault.azure.net", KvAcme__Vaults__bbb__Url: "https://b.vault.azure.net" };
    assert.match(
      problemsOf(two).find((p) => p.field === "KvAcme__DefaultVault")?.message ?? "",
      /required with several vaults \(configured: aaa, bbb\)/,
    );
    assert.match(problemsOf({ ...two, KvAcme__DefaultVault: "ccc" })[0]?.message ?? "", /names no configured vault/);
    assert.match(problemsOf({ ...two, KvAcme__DefaultVault: "1bad" })[0]?.message ?? "", /not a vault name/);
    const bad = problemsOf({ KvAcme__VaultUrl: "https://a.vault.azure.net", "KvAcme__Vaults__x--y__Url": "https://b.vault.azure.net" });
    assert.deepEqual(
      bad.map((p) => p.field),
      ["KvAcme__Vaults__x--y__Url"],
    );
    const twice = problemsOf({ KvAcme__VaultUrl: "https://a.vault.azure.net", KvAcme__Vaults__again__Url: "https://a.vault.azure.net" });
    assert.match(twice[0]?.message ?? "", /same Key Vault as vault "default"/);
    const clash = problemsOf({ KvAcme__VaultUrl: "https://a.vault.azure.net", KvAcme__Vaults__default__Url: "https://b.vault.azure.net" });
    assert.match(clash[0]?.message ?? "", /conflicts with KvAcme__VaultUrl/);
    const noUrl = problemsOf({ KvAcme__VaultUrl: "https://a.vault.azure.net", KvAcme__Vaults__two__ManagedIdentityClientId: CLIENT });
    assert.equal(noUrl[0]?.field, "KvAcme__Vaults__two__Url");
    assert.match(problemsOf({ KvAcme__Vaults__two__Url: "https://two.vault.azure.net/path" })[0]?.message ?? "", /without a path/);
  });
});

describe("certificate addresses and instance ids", () => {
  it("validates vault names as Key Vault does (3-24, letter first, no double hyphen), lower case", () => {
    assert.equal(validateVaultName("Contoso-EU"), "contoso-eu");
    for (const bad of ["ab", "a".repeat(25), "1abc", "abc-", "a--b", "ab_c", ""])
      assert.throws(() => validateVaultName(bad), ValidationError, bad);
  });

  it("parses {vault}/{name} and {name}; formats the default vault's certificates by name alone", () => {
    assert.deepEqual(parseAddress("www"), { name: "www" });
    assert.deepEqual(parseAddress("Vault2/www"), { vault: "vault2", name: "www" });
    assert.throws(() => parseAddress("vault2/"), ValidationError);
    assert.throws(() => parseAddress("x/www"), ValidationError);
    assert.deepEqual(splitAddress("vault2/www"), { vault: "vault2", name: "www" });
    assert.equal(formatAddress("default", "www", "default"), "www");
    assert.equal(formatAddress(undefined, "www", "default"), "www");
    assert.equal(formatAddress("vault2", "www", "default"), "vault2/www");
  });

  it("instance ids: unchanged in the default vault, distinct per vault, never shared by two certificates", () => {
    assert.equal(certificateInstanceId("WWW"), "kv-acme-certificate-www");
    assert.equal(revokeInstanceId("www"), "kv-acme-revoke-www");
    assert.equal(certificateInstanceId("vault2/www"), "kv-acme-vault-vault2--certificate-www");
    assert.equal(revokeInstanceId("vault2/www"), "kv-acme-vault-vault2--revoke-www");
    // Names that look like another vault's id stay apart.
    const ids = ["vault-abc--certificate-x", "abc/x", "abc/certificate-x", "abc-certificate/x", "vault2/www", "www"].map(
      certificateInstanceId,
    );
    assert.equal(new Set(ids).size, ids.length, ids.join(" "));
    for (const id of ids) assert.match(id, /^kv-acme-[0-9a-z-]{1,190}$/);
  });
});

describe("dashboard addressing", () => {
  it("links and calls the default vault's certificates by name, another vault's with the vault", () => {
    assert.equal(certificateHash("www", "default", "default"), "#/certificates/www");
    assert.equal(certificateHash("www", "vault2", "default"), "#/certificates/vault2/www");
    assert.equal(certificatePath("www", undefined, "/renew"), "/api/certificates/www/renew");
    assert.equal(certificatePath("www", "vault2", "/pending/merge"), "/api/certificates/www/pending/merge?vault=vault2");
  });
});
