/**
 * The leading C# tool's settings that do not map one to one (src/config/acmebot.ts) and the cloud (src/config/clouds.ts):
 * Acmebot__RenewBeforeExpiry in days (v4) or percent (v5) decided by a setting, the value or the tags, v5's webhook
 * settings, UseSystemNameServer, ManagedIdentityClientId, Environment.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getServers } from "node:dns";
import { loadSettings } from "../../src/config/settings";
import { resolveRenewalPolicy } from "../../src/config/acmebot";
import { AZURE_CLOUDS } from "../../src/config/clouds";
import { ConfigurationError } from "../../src/shared/errors";
import { azure, base, problemsOf, SUB } from "../support/settings";

describe("Acmebot__RenewBeforeExpiry", () => {
  const cases: { name: string; env: Record<string, string>; days: number; percent: number; undecided?: number }[] = [
    {
      name: "unit days (v4): days before expiry",
      env: { Acmebot__RenewBeforeExpiry: "20", KvAcme__AcmebotRenewBeforeExpiryUnit: "days" },
      days: 20,
      percent: 66,
    },
    {
      name: "unit percent (v5): 30 % left is 70 % elapsed, and no days rule",
      env: { Acmebot__RenewBeforeExpiry: "30", KvAcme__AcmebotRenewBeforeExpiryUnit: "Percent" },
      days: 0,
      percent: 70,
    },
    { name: "a value above 100 can only be v4 days", env: { Acmebot__RenewBeforeExpiry: "120" }, days: 120, percent: 66 },
    {
      name: "no unit and a value both versions accept: undecided, kv-acme's values until the tags decide",
      env: { Acmebot__RenewBeforeExpiry: "30" },
      days: 30,
      percent: 66,
      undecided: 30,
    },
    {
      name: "percent with an explicit KvAcme days setting keeps it",
      env: { Acmebot__RenewBeforeExpiry: "40", KvAcme__AcmebotRenewBeforeExpiryUnit: "percent", KvAcme__RenewBeforeExpiryDays: "10" },
      days: 10,
      percent: 60,
    },
    {
      name: "both kv-acme renewal settings set: the Acmebot value is not read",
      env: { Acmebot__RenewBeforeExpiry: "30", KvAcme__RenewBeforeExpiryDays: "14", KvAcme__RenewAtPercentOfLifetime: "50" },
      days: 14,
      percent: 50,
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const s = loadSettings({ ...base, ...c.env });
      assert.equal(s.renewBeforeExpiryDays, c.days);
      assert.equal(s.renewAtPercentOfLifetime, c.percent);
      assert.equal(s.acmebotRenewBeforeExpiry?.value, c.undecided);
    });
  it("percent 0 or 100 is refused at start-up, naming the setting", () => {
    for (const v of ["0", "100"]) {
      const problems = problemsOf({ ...base, Acmebot__RenewBeforeExpiry: v, KvAcme__AcmebotRenewBeforeExpiryUnit: "percent" });
      assert.equal(problems[0]?.field, "Acmebot__RenewBeforeExpiry");
      assert.match(problems[0]?.message ?? "", /outside 1–99/);
    }
  });
  it("an unknown unit is refused", () => {
    const problems = problemsOf({ ...base, KvAcme__AcmebotRenewBeforeExpiryUnit: "weeks" });
    assert.match(problems[0]?.message ?? "", /days \(Acmebot v4\) or percent \(Acmebot v5\)/);
  });
});

describe("resolveRenewalPolicy: the tags decide an undecided Acmebot__RenewBeforeExpiry", () => {
  const undecided = loadSettings({ ...base, Acmebot__RenewBeforeExpiry: "25" });
  it("any certificate with v5's JSON tag: percent", () => {
    const r = resolveRenewalPolicy(undecided, { v4: 3, v5: 1 });
    assert.deepEqual([r.renewBeforeExpiryDays, r.renewAtPercentOfLifetime, r.acmebotUnit?.unit], [0, 75, "percent"]);
    assert.match(r.acmebotUnit?.reason ?? "", /1 certificate\(s\) carry Acmebot v5's JSON tag/);
  });
  it("only v4 tags: days", () => {
    const r = resolveRenewalPolicy(undecided, { v4: 2, v5: 0 });
    assert.deepEqual([r.renewBeforeExpiryDays, r.renewAtPercentOfLifetime, r.acmebotUnit?.unit], [25, 66, "days"]);
  });
  it("no Acmebot tags at all: a ConfigurationError naming the setting to add", () => {
    assert.throws(
      () => resolveRenewalPolicy(undecided, { v4: 0, v5: 0 }),
      (err: unknown) =>
        err instanceof ConfigurationError && /set KvAcme__AcmebotRenewBeforeExpiryUnit to days or percent/.test(err.message),
    );
  });
  it("a decided setting needs no tags", () => {
    const decided = loadSettings({ ...base, Acmebot__RenewBeforeExpiry: "25", KvAcme__AcmebotRenewBeforeExpiryUnit: "days" });
    assert.deepEqual(resolveRenewalPolicy(decided, { v4: 0, v5: 0 }), { renewBeforeExpiryDays: 25, renewAtPercentOfLifetime: 66 });
  });
  it("v5 tags with an explicit KvAcme percentage keep the percentage, the days rule off", () => {
    const s = loadSettings({ ...base, Acmebot__RenewBeforeExpiry: "25", KvAcme__RenewAtPercentOfLifetime: "50" });
    const r = resolveRenewalPolicy(s, { v4: 0, v5: 4 });
    assert.deepEqual([r.renewBeforeExpiryDays, r.renewAtPercentOfLifetime], [0, 50]);
  });
});

describe("Acmebot v5 webhook settings", () => {
  it("Endpoint, PayloadType and Events map to one target", () => {
    const s = loadSettings({
      ...base,
      Acmebot__Webhook__Endpoint: "https://prod-01.westeurope.logic.azure.com/workflows/x",
      Acmebot__Webhook__PayloadType: "Generic",
      Acmebot__Webhook__Events: "Failed",
    });
    assert.deepEqual(s.webhooks, [
      { url: "https://prod-01.westeurope.logic.azure.com/workflows/x", format: "generic", events: ["certificate.renewal_failed"] },
    ]);
  });
  it("Auto sniffs the host; Completed,Failed is both", () => {
    const s = loadSettings({
      ...base,
      Acmebot__Webhook__Endpoint: "https://hooks.slack.com/services/T/B/X",
      Acmebot__Webhook__Events: "Completed, Failed",
    });
    assert.deepEqual(s.webhooks, [
      {
        url: "https://hooks.slack.com/services/T/B/X",
        format: "slack",
        events: ["certificate.issued", "certificate.renewed", "certificate.renewal_failed"],
      },
    ]);
  });
  it("Events None: no target", () => {
    assert.deepEqual(
      loadSettings({ ...base, Acmebot__Webhook__Endpoint: "https://example.com/hook", Acmebot__Webhook__Events: "None" }).webhooks,
      [],
    );
  });
  it("the legacy scalar Acmebot__Webhook takes the v5 payload and events settings too", () => {
    const s = loadSettings({ ...base, Acmebot__Webhook: "https://example.com/hook", Acmebot__Webhook__PayloadType: "Teams" });
    assert.deepEqual(s.webhooks, [{ url: "https://example.com/hook", format: "teams", events: ["*"] }]);
  });
  it("two different Acmebot webhook URLs, a bad event or payload type: problems named", () => {
    const problems = problemsOf({
      ...base,
      Acmebot__Webhook: "https://a.example.com/hook",
      Acmebot__Webhook__Endpoint: "https://b.example.com/hook",
      Acmebot__Webhook__Events: "Renewed",
      Acmebot__Webhook__PayloadType: "Discord",
    });
    assert.deepEqual(problems.map((p) => p.field).sort(), [
      "Acmebot__Webhook__Endpoint",
      "Acmebot__Webhook__Events",
      "Acmebot__Webhook__PayloadType",
    ]);
  });
});

describe("UseSystemNameServer, ManagedIdentityClientId", () => {
  it("UseSystemNameServer=true asks the system's resolvers", () => {
    assert.deepEqual(loadSettings({ ...base, Acmebot__UseSystemNameServer: "true" }).dnsResolver, getServers());
  });
  it("UseSystemNameServer=false (Acmebot's default) keeps the authoritative servers", () => {
    assert.equal(loadSettings({ ...base, Acmebot__UseSystemNameServer: "false" }).dnsResolver, undefined);
  });
  it("KvAcme__DnsResolver wins over UseSystemNameServer", () => {
    assert.deepEqual(loadSettings({ ...base, Acmebot__UseSystemNameServer: "true", KvAcme__DnsResolver: "10.0.0.2" }).dnsResolver, [
      "10.0.0.2:53",
    ]);
  });
  it("Acmebot__ManagedIdentityClientId is the app's user-assigned identity", () => {
    const id = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
    assert.equal(loadSettings({ ...base, Acmebot__ManagedIdentityClientId: id }).managedIdentityClientId, id);
  });
});

describe("Environment (Azure clouds)", () => {
  it("default AzureCloud", () => assert.equal(loadSettings(base).cloud.name, "AzureCloud"));
  it("Acmebot__Environment=AzureChinaCloud: the ARM endpoint and audience of Azure DNS, the Entra authority", () => {
    const s = loadSettings({
      KvAcme__VaultUrl: "https://myvault.vault.azure.cn",
      Acmebot__AzureDns__SubscriptionId: SUB,
      Acmebot__Environment: "AzureChinaCloud",
      KvAcme__Auth__TenantId: "11111111-2222-3333-4444-555555555555",
      KvAcme__Auth__ClientId: "66666666-7777-8888-9999-000000000000",
    });
    assert.deepEqual(s.cloud, AZURE_CLOUDS.AzureChinaCloud);
    assert.equal(azure(s).armEndpoint, "https://management.chinacloudapi.cn");
    assert.equal(azure(s).armAudience, "https://management.chinacloudapi.cn");
    assert.equal(s.auth.entra?.authority, "https://login.chinacloudapi.cn");
  });
  it("AzureUSGovernment (any case); explicit ARM endpoint and authority still win", () => {
    const s = loadSettings({
      ...base,
      KvAcme__VaultUrl: "https://myvault.vault.usgovcloudapi.net",
      KvAcme__Environment: "azureusgovernment",
      KvAcme__ArmEndpoint: "https://127.0.0.1:8443",
      KvAcme__Auth__TenantId: "11111111-2222-3333-4444-555555555555",
      KvAcme__Auth__ClientId: "66666666-7777-8888-9999-000000000000",
      KvAcme__Auth__Authority: "https://login.example.test",
    });
    assert.equal(s.cloud.login, "https://login.microsoftonline.us");
    assert.equal(azure(s).armEndpoint, "https://127.0.0.1:8443");
    assert.equal(azure(s).armAudience, "https://management.usgovcloudapi.net");
    assert.equal(s.auth.entra?.authority, "https://login.example.test");
  });
  it("a vault of another cloud is refused at start-up; a host no cloud claims (the local stand-in) is not", () => {
    const problems = problemsOf({ ...base, KvAcme__Environment: "AzureChinaCloud" });
    assert.equal(problems[0]?.field, "KvAcme__VaultUrl");
    assert.match(problems[0]?.message ?? "", /is a Key Vault of AzureCloud .* but the app runs in AzureChinaCloud/);
    assert.equal(
      loadSettings({ ...base, KvAcme__VaultUrl: "https://127.0.0.1:8443", KvAcme__Environment: "AzureChinaCloud" }).cloud.name,
      "AzureChinaCloud",
    );
  });
  it("an unknown cloud is refused", () => {
    assert.match(problemsOf({ ...base, Acmebot__Environment: "AzureGermanCloud" })[0]?.message ?? "", /not an Azure cloud/);
  });
});

describe("PreferredChain, PreferredProfile", () => {
  it("Acmebot's names set the app-wide preferred chain and ACME profile", () => {
    const s = loadSettings({ ...base, Acmebot__PreferredChain: "ISRG Root X1", Acmebot__PreferredProfile: "tlsserver" });
    assert.equal(s.order.preferredChain, "ISRG Root X1");
    assert.equal(s.order.acmeProfile, "tlsserver");
  });
});
