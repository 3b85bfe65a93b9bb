/**
 * loadSettings: every default, the values each setting accepts (KvAcme__ and the leading tool's Acmebot__ names),
 * and docs/settings.md rendered from the same descriptors.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ACME_DIRECTORIES, SETTINGS, WEBHOOK_SETTINGS, loadSettings, renderSettingsDoc, type Settings } from "../../src/config/settings";
import { AZURE_CLOUDS } from "../../src/config/clouds";
import { SUB, SUB2, azure, base } from "../support/settings";

describe("loadSettings defaults", () => {
  it("minimal settings get every default", () => {
    const want: Settings = {
      acmeDirectoryUrl: "https://acme-v02.api.letsencrypt.org/directory",
      contacts: [],
      cloud: AZURE_CLOUDS.AzureCloud,
      vaultUrl: "https://myvault.vault.azure.net",
      vaults: [{ name: "default", url: "https://myvault.vault.azure.net" }],
      defaultVault: "default",
      secretsVaultUrl: "https://myvault.vault.azure.net",
      dns: {
        instances: [
          {
            name: "azure",
            type: "azure",
            settings: {
              subscriptionIds: [SUB],
              resourceGroups: [],
              armEndpoint: "https://management.azure.com",
              armAudience: "https://management.azure.com",
            },
          },
        ],
      },
      propagationTimeoutSeconds: 300,
      acmeTimeoutSeconds: 120,
      revokeWaitSeconds: 8,
      renewBeforeExpiryDays: 30,
      renewAtPercentOfLifetime: 66,
      renewalSchedule: "0 0 3 * * *",
      maxConcurrentRenewals: 8,
      renewalBatchSize: 100,
      renewalPlanHorizonHours: 24,
      manualPendingHoldHours: 72,
      expiryWarningDays: 7,
      historyRetentionDays: 30,
      fleet: { tableName: "kvacmefleet", staleAfterHours: 24, missedIntervals: 3 },
      caLimits: [],
      order: { caaCheck: true },
      webhooks: [],
      auth: { mode: "unconfigured", platformAuthEnabled: false, keyRoles: ["KvAcme.Read", "KvAcme.Issue", "KvAcme.Agent"] },
      telemetryRoleName: "kv-acme",
      disableChallengeResourceVerification: false,
    };
    assert.deepEqual(loadSettings(base), want);
  });
  it("unrelated and empty variables are ignored", () => {
    const s = loadSettings({ ...base, PATH: "/usr/bin", Path: "C:\\x", KvAcme__Contacts: "", KvAcme__RenewBeforeExpiryDays: "   " });
    assert.deepEqual(s.contacts, []);
    assert.equal(s.renewBeforeExpiryDays, 30);
  });
});

describe("loadSettings values", () => {
  const cases: { name: string; env: Record<string, string>; check: (s: Settings) => void }[] = [
    {
      name: "directory short name",
      env: { KvAcme__AcmeDirectoryUrl: "letsencrypt-staging" },
      check: (s) => assert.equal(s.acmeDirectoryUrl, ACME_DIRECTORIES["letsencrypt-staging"]),
    },
    {
      name: "directory short name, any case",
      env: { KvAcme__AcmeDirectoryUrl: "ZeroSSL" },
      check: (s) => assert.equal(s.acmeDirectoryUrl, "https://acme.zerossl.com/v2/DV90"),
    },
    {
      name: "directory URL as is",
      env: { KvAcme__AcmeDirectoryUrl: "https://ca.example/acme/directory" },
      check: (s) => assert.equal(s.acmeDirectoryUrl, "https://ca.example/acme/directory"),
    },
    {
      name: "local Pebble over https on loopback",
      env: { KvAcme__AcmeDirectoryUrl: "https://127.0.0.1:14000/dir" },
      check: (s) => assert.equal(s.acmeDirectoryUrl, "https://127.0.0.1:14000/dir"),
    },
    {
      name: "http allowed on localhost",
      env: { KvAcme__AcmeDirectoryUrl: "http://localhost:4001/directory" },
      check: (s) => assert.equal(s.acmeDirectoryUrl, "http://localhost:4001/directory"),
    },
    {
      name: "colon-separated name",
      env: { "KvAcme:RenewalSchedule": "0 30 2 * * *" },
      check: (s) => assert.equal(s.renewalSchedule, "0 30 2 * * *"),
    },
    {
      name: "names are case-insensitive",
      env: { KVACME__MAXCONCURRENTRENEWALS: "16" },
      check: (s) => assert.equal(s.maxConcurrentRenewals, 16),
    },
    {
      name: "schedule whitespace normalized",
      env: { KvAcme__RenewalSchedule: " 0  0 */6 * * MON-FRI " },
      check: (s) => assert.equal(s.renewalSchedule, "0 0 */6 * * MON-FRI"),
    },
    {
      name: "contacts become mailto URIs, deduplicated",
      env: { KvAcme__Contacts: "a@example.com, mailto:b@example.org;a@example.com" },
      check: (s) => assert.deepEqual(s.contacts, ["mailto:a@example.com", "mailto:b@example.org"]),
    },
    {
      name: "several subscriptions, lowercased",
      env: { KvAcme__DnsSubscriptionIds: `${SUB}, ${SUB2.toUpperCase()}` },
      check: (s) => assert.deepEqual(azure(s).subscriptionIds, [SUB, SUB2]),
    },
    {
      name: "resource group filter",
      env: { KvAcme__DnsResourceGroups: "rg-dns,rg.prod(1)" },
      check: (s) => assert.deepEqual(azure(s).resourceGroups, ["rg-dns", "rg.prod(1)"]),
    },
    {
      name: "resolver list normalized with ports",
      env: { KvAcme__DnsResolver: "127.0.0.1:5353, 10.0.0.2 [::1]:53" },
      check: (s) => assert.deepEqual(s.dnsResolver, ["127.0.0.1:5353", "10.0.0.2:53", "[::1]:53"]),
    },
    {
      name: "bare IPv6 resolver",
      env: { KvAcme__DnsResolver: "2001:db8::53" },
      check: (s) => assert.deepEqual(s.dnsResolver, ["[2001:db8::53]:53"]),
    },
    {
      name: "vault URL trailing slash dropped",
      env: { KvAcme__VaultUrl: "https://MyVault.vault.azure.net/" },
      check: (s) => assert.equal(s.vaultUrl, "https://myvault.vault.azure.net"),
    },
    {
      name: "local vault over https on loopback port",
      env: { KvAcme__VaultUrl: "https://127.0.0.1:8443" },
      check: (s) => assert.equal(s.vaultUrl, "https://127.0.0.1:8443"),
    },
    {
      name: "ARM endpoint",
      env: { KvAcme__ArmEndpoint: "https://management.usgovcloudapi.net/" },
      check: (s) => assert.equal(azure(s).armEndpoint, "https://management.usgovcloudapi.net"),
    },
    {
      name: "integers at the bounds",
      env: { KvAcme__PropagationTimeoutSeconds: "1", KvAcme__RenewAtPercentOfLifetime: "99", KvAcme__RenewBeforeExpiryDays: "0" },
      check: (s) => assert.deepEqual([s.propagationTimeoutSeconds, s.renewAtPercentOfLifetime, s.renewBeforeExpiryDays], [1, 99, 0]),
    },
    {
      name: "booleans",
      env: { KvAcme__DisableChallengeResourceVerification: "TRUE" },
      check: (s) => assert.equal(s.disableChallengeResourceVerification, true),
    },
    {
      name: "EAB with default algorithm, base64 normalized to base64url",
      env: { KvAcme__Eab__KeyId: "kid-1", KvAcme__Eab__HmacKey: "ab+c/d==" },
      check: (s) => assert.deepEqual(s.eab, { keyId: "kid-1", hmacKey: "ab-c_d", algorithm: "HS256" }),
    },
    {
      name: "EAB under the long name with HS512",
      env: {
        KvAcme__ExternalAccountBinding__KeyId: "kid",
        KvAcme__ExternalAccountBinding__HmacKey: "c2VjcmV0",
        KvAcme__ExternalAccountBinding__Algorithm: "hs512",
      },
      check: (s) => assert.deepEqual(s.eab, { keyId: "kid", hmacKey: "c2VjcmV0", algorithm: "HS512" }),
    },
    {
      name: "auth mode explicit",
      env: { KvAcme__Auth__Mode: "FunctionKeys", KvAcme__Auth__KeyRoles: "KvAcme.Read" },
      check: (s) => assert.deepEqual(s.auth, { mode: "functionKeys", platformAuthEnabled: false, keyRoles: ["KvAcme.Read"] }),
    },
    {
      name: "auth from WEBSITE_AUTH_ENABLED",
      env: { WEBSITE_AUTH_ENABLED: "True" },
      check: (s) =>
        assert.deepEqual(s.auth, { mode: "appServiceAuth", platformAuthEnabled: true, keyRoles: SETTINGS.authKeyRoles.default }),
    },
    {
      name: "explicit auth mode beats WEBSITE_AUTH_ENABLED",
      env: { WEBSITE_AUTH_ENABLED: "true", KvAcme__Auth__Mode: "local" },
      check: (s) => assert.equal(s.auth.mode, "local"),
    },
    {
      name: "the App Service / Functions platform variables are recorded so local auth can be refused there",
      env: { KvAcme__Auth__Mode: "local", WEBSITE_INSTANCE_ID: "0123abcd" },
      check: (s) =>
        assert.deepEqual(s.auth, {
          mode: "local",
          platformAuthEnabled: false,
          keyRoles: SETTINGS.authKeyRoles.default,
          azureHostVariable: "WEBSITE_INSTANCE_ID",
        }),
    },
    {
      name: "the app's secrets vault is its own setting (the certificate vault stays VaultUrl)",
      env: { KvAcme__SecretsVaultUrl: "https://kvacmes-app.vault.azure.net/" },
      check: (s) => {
        assert.equal(s.secretsVaultUrl, "https://kvacmes-app.vault.azure.net");
        assert.equal(s.vaultUrl, "https://myvault.vault.azure.net");
      },
    },
    {
      name: "WEBSITE_SITE_NAME alone marks Azure hosting",
      env: { WEBSITE_SITE_NAME: "func-acme" },
      check: (s) => assert.equal(s.auth.azureHostVariable, "WEBSITE_SITE_NAME"),
    },
    {
      name: "local roles canonicalized",
      env: { KvAcme__Auth__Mode: "local", KvAcme__Auth__LocalRoles: "kvacme.read,KvAcme.Revoke" },
      check: (s) => assert.deepEqual(s.auth.localRoles, ["KvAcme.Read", "KvAcme.Revoke"]),
    },
    {
      name: "platform settings",
      env: {
        AZURE_CLIENT_ID: SUB2.toUpperCase(),
        APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=abc;IngestionEndpoint=https://x",
        WEBSITE_SITE_NAME: "func-acme",
      },
      check: (s) => {
        assert.equal(s.managedIdentityClientId, SUB2);
        assert.equal(s.appInsightsConnectionString, "InstrumentationKey=abc;IngestionEndpoint=https://x");
        assert.equal(s.functionAppName, "func-acme");
        assert.equal(s.telemetryRoleName, "func-acme", "the telemetry's cloud role is the Function App's name in Azure");
      },
    },
    {
      name: "KvAcme name beats AZURE_CLIENT_ID",
      env: { AZURE_CLIENT_ID: SUB2, KvAcme__ManagedIdentityClientId: SUB },
      check: (s) => assert.equal(s.managedIdentityClientId, SUB),
    },
  ];
  for (const c of cases) it(c.name, () => c.check(loadSettings({ ...base, ...c.env })));
});

describe("leading tool (Acmebot) names", () => {
  const cases: { name: string; env: Record<string, string>; check: (s: Settings) => void }[] = [
    {
      name: "a complete Acmebot configuration",
      env: {
        KvAcme__AcmebotRenewBeforeExpiryUnit: "days",
        Acmebot__Endpoint: "https://acme-v02.api.letsencrypt.org/",
        Acmebot__Contacts: "ops@example.com",
        Acmebot__VaultBaseUrl: "https://old.vault.azure.net/",
        Acmebot__RenewBeforeExpiry: "20",
        Acmebot__AzureDns__SubscriptionId: SUB,
        Acmebot__Webhook: "https://hooks.slack.com/services/T/B/X",
      },
      check: (s) => {
        assert.equal(s.acmeDirectoryUrl, "https://acme-v02.api.letsencrypt.org/directory");
        assert.deepEqual(s.contacts, ["mailto:ops@example.com"]);
        assert.equal(s.vaultUrl, "https://old.vault.azure.net");
        assert.equal(s.renewBeforeExpiryDays, 20);
        assert.deepEqual(azure(s).subscriptionIds, [SUB]);
        assert.deepEqual(s.webhooks, [{ url: "https://hooks.slack.com/services/T/B/X", format: "slack", events: ["*"] }]);
      },
    },
    {
      name: "ZeroSSL base endpoint maps to its directory",
      env: { Acmebot__Endpoint: "https://acme.zerossl.com/v2/DV90/" },
      check: (s) => assert.equal(s.acmeDirectoryUrl, "https://acme.zerossl.com/v2/DV90"),
    },
    {
      name: "Google base endpoint",
      env: { Acmebot__Endpoint: "https://dv.acme-v02.api.pki.goog/" },
      check: (s) => assert.equal(s.acmeDirectoryUrl, "https://dv.acme-v02.api.pki.goog/directory"),
    },
    {
      name: "unknown base endpoint gets directory appended",
      env: { Acmebot__Endpoint: "https://acme.ca.example/v2/" },
      check: (s) => assert.equal(s.acmeDirectoryUrl, "https://acme.ca.example/v2/directory"),
    },
    {
      name: "Acmebot colon form",
      env: { "Acmebot:RenewBeforeExpiry": "10", "KvAcme:AcmebotRenewBeforeExpiryUnit": "days" },
      check: (s) => assert.equal(s.renewBeforeExpiryDays, 10),
    },
    {
      name: "KvAcme name wins over the alias",
      env: { Acmebot__RenewBeforeExpiry: "10", KvAcme__RenewBeforeExpiryDays: "25" },
      check: (s) => assert.equal(s.renewBeforeExpiryDays, 25),
    },
    {
      name: "Acmebot EAB",
      env: {
        Acmebot__ExternalAccountBinding__KeyId: "k",
        Acmebot__ExternalAccountBinding__HmacKey: "aG1hYw",
        Acmebot__ExternalAccountBinding__Algorithm: "HS384",
      },
      check: (s) => assert.deepEqual(s.eab, { keyId: "k", hmacKey: "aG1hYw", algorithm: "HS384" }),
    },
  ];
  for (const c of cases) it(c.name, () => c.check(loadSettings({ ...(c.name.startsWith("a complete") ? {} : base), ...c.env })));
});

describe("settings documentation", () => {
  it("docs/settings.md equals renderSettingsDoc() (run `npx tsx src/config/write-doc.ts` after changing settings)", () => {
    const file = readFileSync(path.resolve(__dirname, "../../docs/settings.md"), "utf8");
    assert.equal(file, renderSettingsDoc());
  });
  it("every descriptor appears in the doc with its primary name and field", () => {
    const doc = renderSettingsDoc();
    for (const d of [...Object.values(SETTINGS), ...Object.values(WEBHOOK_SETTINGS)]) {
      const alias = d.aliases[0];
      const primary = d.key !== undefined ? `KvAcme__${d.key}` : typeof alias === "string" ? alias : String(alias?.name);
      assert.ok(doc.includes(`\`${primary}\``), primary);
      assert.ok(doc.includes(`\`${d.field}\``), d.field);
    }
  });
  it("every documented default equals what loadSettings produces", () => {
    const s = loadSettings(base);
    const numeric = {
      propagationTimeoutSeconds: s.propagationTimeoutSeconds,
      acmeTimeoutSeconds: s.acmeTimeoutSeconds,
      revokeWaitSeconds: s.revokeWaitSeconds,
      renewBeforeExpiryDays: s.renewBeforeExpiryDays,
      renewAtPercentOfLifetime: s.renewAtPercentOfLifetime,
      maxConcurrentRenewals: s.maxConcurrentRenewals,
      expiryWarningDays: s.expiryWarningDays,
    };
    for (const [k, v] of Object.entries(numeric)) assert.equal(SETTINGS[k as keyof typeof numeric].default, v, k);
    assert.equal(SETTINGS.acmeDirectoryUrl.default, s.acmeDirectoryUrl);
    assert.equal(SETTINGS.environment.default.resourceManager, azure(s).armEndpoint);
    assert.equal(SETTINGS.renewalSchedule.default, s.renewalSchedule);
    assert.deepEqual(SETTINGS.authKeyRoles.default, s.auth.keyRoles);
    assert.equal(SETTINGS.telemetryRoleName.default, s.telemetryRoleName);
  });
});
