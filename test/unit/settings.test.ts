import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { generateSigningSecret } from "../../src/notify/signing";
import {
  ACME_DIRECTORIES,
  SETTINGS,
  WEBHOOK_SETTINGS,
  loadSettings,
  parseServiceUrl,
  redactSettings,
  renderSettingsDoc,
  sniffWebhookFormat,
  type Settings,
} from "../../src/config/settings";
import { ConfigurationError, type FieldProblem } from "../../src/shared/errors";
import { AZURE_DNS_TOP_LEVEL_SETTINGS, type AzureDnsOptions } from "../../src/dns/azure";

/** The settings of the Azure DNS instance "azure" (the top-level names). */
function azure(s: Settings): AzureDnsOptions {
  const instance = s.dns.instances.find((i) => i.name === "azure");
  assert.ok(instance, "an azure DNS instance");
  return instance.settings as AzureDnsOptions;
}

const SUB = "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10";
const SUB2 = "11111111-2222-3333-4444-555555555555";
const base = { KvAcme__VaultUrl: "https://myvault.vault.azure.net", KvAcme__DnsSubscriptionIds: SUB };

function problemsOf(env: Record<string, string | undefined>): FieldProblem[] {
  try {
    loadSettings(env);
  } catch (err) {
    assert.ok(err instanceof ConfigurationError, `expected ConfigurationError, got ${String(err)}`);
    return (err.details as { problems: FieldProblem[] }).problems;
  }
  assert.fail("expected a ConfigurationError");
}

describe("loadSettings defaults", () => {
  it("minimal settings get every default", () => {
    const want: Settings = {
      acmeDirectoryUrl: "https://acme-v02.api.letsencrypt.org/directory",
      contacts: [],
      vaultUrl: "https://myvault.vault.azure.net",
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
      renewBeforeExpiryDays: 30,
      renewAtPercentOfLifetime: 66,
      renewalSchedule: "0 0 3 * * *",
      maxConcurrentRenewals: 8,
      expiryWarningDays: 7,
      historyRetentionDays: 30,
      webhooks: [],
      auth: { mode: "unconfigured", platformAuthEnabled: false },
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
      check: (s) => assert.deepEqual(s.auth, { mode: "appServiceAuth", platformAuthEnabled: true }),
    },
    {
      name: "explicit auth mode beats WEBSITE_AUTH_ENABLED",
      env: { WEBSITE_AUTH_ENABLED: "true", KvAcme__Auth__Mode: "local" },
      check: (s) => assert.equal(s.auth.mode, "local"),
    },
    {
      name: "the App Service / Functions platform variables are recorded so local auth can be refused there",
      env: { KvAcme__Auth__Mode: "local", WEBSITE_INSTANCE_ID: "0123abcd" },
      check: (s) => assert.deepEqual(s.auth, { mode: "local", platformAuthEnabled: false, azureHostVariable: "WEBSITE_INSTANCE_ID" }),
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
    { name: "Acmebot colon form", env: { "Acmebot:RenewBeforeExpiry": "10" }, check: (s) => assert.equal(s.renewBeforeExpiryDays, 10) },
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

describe("webhooks", () => {
  it("indexed targets in index order with all fields", () => {
    const primary = generateSigningSecret();
    const s = loadSettings({
      ...base,
      KvAcme__Webhooks__1__Url: "https://contoso.webhook.office.com/webhookb2/x",
      KvAcme__Webhooks__0__Url: "https://hooks.example.com/kv-acme",
      KvAcme__Webhooks__0__Events: "certificate.renewed, certificate.renewal_failed,renewal.*",
      KvAcme__Webhooks__0__Secret: primary,
      KvAcme__Webhooks__0__SecondarySecretName: "webhook-next",
      KvAcme__Webhooks__0__LegacySecret: "s3cret",
      KvAcme__Webhooks__1__Format: "generic",
      KvAcme__Webhooks__1__SecretName: "webhook-hmac",
    });
    assert.deepEqual(s.webhooks, [
      {
        url: "https://hooks.example.com/kv-acme",
        format: "generic",
        events: ["certificate.renewed", "certificate.renewal_failed", "renewal.*"],
        secret: primary,
        secondarySecretName: "webhook-next",
        legacySecret: "s3cret",
      },
      { url: "https://contoso.webhook.office.com/webhookb2/x", format: "generic", events: ["*"], secretName: "webhook-hmac" },
    ]);
  });
  it("format sniffed when not given; Acmebot__Webhook appended after indexed ones", () => {
    const s = loadSettings({
      ...base,
      "KvAcme:Webhooks:0:Url": "https://hooks.slack.com/services/a",
      Acmebot__Webhook: "https://prod-01.westeurope.logic.azure.com/workflows/x",
    });
    assert.deepEqual(
      s.webhooks.map((w) => w.format),
      ["slack", "teams"],
    );
  });
  it("Acmebot__Webhook equal to an indexed URL is not duplicated", () => {
    const s = loadSettings({ ...base, KvAcme__Webhooks__0__Url: "https://h.example/x", Acmebot__Webhook: "https://h.example/x" });
    assert.equal(s.webhooks.length, 1);
  });

  const sniff: { name: string; url: string; want: string }[] = [
    { name: "Slack", url: "https://hooks.slack.com/services/T/B/X", want: "slack" },
    { name: "Teams incoming webhook", url: "https://contoso.webhook.office.com/webhookb2/abc", want: "teams" },
    { name: "Logic Apps", url: "https://prod-12.westus.logic.azure.com:443/workflows/abc", want: "teams" },
    { name: "Power Platform", url: "https://default123.environment.api.powerplatform.com/x", want: "teams" },
    { name: "Power Automate", url: "https://x.powerautomate.com/y", want: "teams" },
    { name: "look-alike host is generic", url: "https://hooks.slack.com.evil.example/x", want: "generic" },
    { name: "look-alike suffix is generic", url: "https://notwebhook.office.com.example/x", want: "generic" },
    { name: "anything else", url: "https://example.com/hook", want: "generic" },
  ];
  for (const c of sniff) it(`sniff: ${c.name}`, () => assert.equal(sniffWebhookFormat(c.url), c.want));
});

describe("loadSettings problems", () => {
  const cases: { name: string; env: Record<string, string | undefined>; want: [string, RegExp][] }[] = [
    {
      name: "nothing set: both required settings named",
      env: {},
      want: [
        ["KvAcme__VaultUrl", /is required \(or Acmebot__VaultBaseUrl\)/],
        ["KvAcme__DnsSubscriptionIds", /is required/],
      ],
    },
    {
      name: "http vault on a public host",
      env: { ...base, KvAcme__VaultUrl: "http://myvault.vault.azure.net" },
      want: [["KvAcme__VaultUrl", /must use https/]],
    },
    {
      name: "vault URL with a path",
      env: { ...base, KvAcme__VaultUrl: "https://myvault.vault.azure.net/secrets/x" },
      want: [["KvAcme__VaultUrl", /without a path/]],
    },
    {
      name: "vault URL with credentials",
      env: { ...base, KvAcme__VaultUrl: "https://u:p@myvault.vault.azure.net" },
      want: [["KvAcme__VaultUrl", /credentials/]],
    },
    {
      name: "relative URL",
      env: { ...base, KvAcme__ArmEndpoint: "management.azure.com" },
      want: [["KvAcme__ArmEndpoint", /not an absolute URL/]],
    },
    {
      name: "unknown CA short name",
      env: { ...base, KvAcme__AcmeDirectoryUrl: "digicert" },
      want: [["KvAcme__AcmeDirectoryUrl", /neither a directory URL nor a known CA/]],
    },
    {
      name: "ftp directory",
      env: { ...base, KvAcme__AcmeDirectoryUrl: "ftp://ca.example/dir" },
      want: [["KvAcme__AcmeDirectoryUrl", /https/]],
    },
    {
      name: "URL with fragment",
      env: { ...base, KvAcme__AcmeDirectoryUrl: "https://ca.example/dir#x" },
      want: [["KvAcme__AcmeDirectoryUrl", /fragment/]],
    },
    {
      name: "bad email",
      env: { ...base, KvAcme__Contacts: "ops@example.com, not-an-email" },
      want: [["KvAcme__Contacts", /"not-an-email"/]],
    },
    {
      name: "bad subscription id",
      env: { ...base, KvAcme__DnsSubscriptionIds: `${SUB},subscription-1` },
      want: [["KvAcme__DnsSubscriptionIds", /"subscription-1"/]],
    },
    {
      name: "bad resource group",
      env: { ...base, KvAcme__DnsResourceGroups: "ok,bad/rg" },
      want: [["KvAcme__DnsResourceGroups", /"bad\/rg"/]],
    },
    {
      name: "resolver host name",
      env: { ...base, KvAcme__DnsResolver: "ns1.example.com:53" },
      want: [["KvAcme__DnsResolver", /not an IP address/]],
    },
    {
      name: "resolver port out of range",
      env: { ...base, KvAcme__DnsResolver: "127.0.0.1:70000" },
      want: [["KvAcme__DnsResolver", /port outside/]],
    },
    {
      name: "not a number",
      env: { ...base, KvAcme__PropagationTimeoutSeconds: "5m" },
      want: [["KvAcme__PropagationTimeoutSeconds", /not a whole number/]],
    },
    {
      name: "negative number",
      env: { ...base, KvAcme__RenewBeforeExpiryDays: "-1" },
      want: [["KvAcme__RenewBeforeExpiryDays", /not a whole number/]],
    },
    {
      name: "percent 100",
      env: { ...base, KvAcme__RenewAtPercentOfLifetime: "100" },
      want: [["KvAcme__RenewAtPercentOfLifetime", /outside 1–99/]],
    },
    {
      name: "concurrency 0",
      env: { ...base, KvAcme__MaxConcurrentRenewals: "0" },
      want: [["KvAcme__MaxConcurrentRenewals", /outside 1–64/]],
    },
    {
      name: "five-field cron",
      env: { ...base, KvAcme__RenewalSchedule: "0 3 * * *" },
      want: [["KvAcme__RenewalSchedule", /5 fields; NCRONTAB needs 6/]],
    },
    {
      name: "cron hour 25",
      env: { ...base, KvAcme__RenewalSchedule: "0 0 25 * * *" },
      want: [["KvAcme__RenewalSchedule", /not a valid schedule/]],
    },
    {
      name: "bad boolean",
      env: { ...base, KvAcme__DisableChallengeResourceVerification: "maybe" },
      want: [["KvAcme__DisableChallengeResourceVerification", /not a boolean/]],
    },
    { name: "EAB key id without HMAC key", env: { ...base, KvAcme__Eab__KeyId: "kid" }, want: [["KvAcme__Eab__HmacKey", /needs both/]] },
    {
      name: "EAB HMAC key not base64url",
      env: { ...base, KvAcme__Eab__KeyId: "kid", KvAcme__Eab__HmacKey: "not base64!" },
      want: [["KvAcme__Eab__HmacKey", /not base64url/]],
    },
    {
      name: "EAB HMAC key of impossible length",
      env: { ...base, KvAcme__Eab__KeyId: "kid", KvAcme__Eab__HmacKey: "abcde" },
      want: [["KvAcme__Eab__HmacKey", /wrong length/]],
    },
    {
      name: "EAB algorithm",
      env: { ...base, KvAcme__Eab__KeyId: "k", KvAcme__Eab__HmacKey: "aG1hYw", KvAcme__Eab__Algorithm: "RS256" },
      want: [["KvAcme__Eab__Algorithm", /HS256, HS384, HS512/]],
    },
    { name: "auth mode", env: { ...base, KvAcme__Auth__Mode: "anonymous" }, want: [["KvAcme__Auth__Mode", /not one of appServiceAuth/]] },
    {
      name: "unknown role",
      env: { ...base, KvAcme__Auth__LocalRoles: "KvAcme.Admin" },
      want: [["KvAcme__Auth__LocalRoles", /not an app role/]],
    },
    { name: "client id not a GUID", env: { ...base, AZURE_CLIENT_ID: "my-identity" }, want: [["AZURE_CLIENT_ID", /not a GUID/]] },
    {
      name: "connection string",
      env: { ...base, APPLICATIONINSIGHTS_CONNECTION_STRING: "abc" },
      want: [["APPLICATIONINSIGHTS_CONNECTION_STRING", /InstrumentationKey/]],
    },
    {
      name: "webhook without URL",
      env: { ...base, KvAcme__Webhooks__0__Format: "slack" },
      want: [["KvAcme__Webhooks__0__Url", /is required/]],
    },
    {
      name: "webhook http URL",
      env: { ...base, KvAcme__Webhooks__0__Url: "http://hooks.example.com/x" },
      want: [["KvAcme__Webhooks__0__Url", /https/]],
    },
    {
      name: "webhook format",
      env: { ...base, KvAcme__Webhooks__0__Url: "https://h.example/x", KvAcme__Webhooks__0__Format: "discord" },
      want: [["KvAcme__Webhooks__0__Format", /generic, slack, teams/]],
    },
    {
      name: "webhook events",
      env: { ...base, KvAcme__Webhooks__0__Url: "https://h.example/x", KvAcme__Webhooks__0__Events: "Certificate Renewed" },
      want: [["KvAcme__Webhooks__0__Events", /not an event type/]],
    },
    {
      name: "webhook secret and secret name",
      env: {
        ...base,
        KvAcme__Webhooks__0__Url: "https://h.example/x",
        KvAcme__Webhooks__0__Secret: generateSigningSecret(),
        KvAcme__Webhooks__0__SecretName: "n",
      },
      want: [["KvAcme__Webhooks__0__Secret", /either Secret or SecretName/]],
    },
    {
      name: "webhook secret of the old form",
      env: { ...base, KvAcme__Webhooks__0__Url: "https://h.example/x", KvAcme__Webhooks__0__Secret: "s3cret" },
      want: [["KvAcme__Webhooks__0__Secret", /must start with "whsec_".*LegacySecret/]],
    },
    {
      name: "webhook second secret too short",
      env: {
        ...base,
        KvAcme__Webhooks__0__Url: "https://h.example/x",
        KvAcme__Webhooks__0__SecretName: "n",
        KvAcme__Webhooks__0__SecondarySecret: `whsec_${Buffer.alloc(16).toString("base64")}`,
      },
      want: [["KvAcme__Webhooks__0__SecondarySecret", /24-64 bytes/]],
    },
    {
      name: "webhook legacy secret without a Standard Webhooks secret",
      env: { ...base, KvAcme__Webhooks__0__Url: "https://h.example/x", KvAcme__Webhooks__0__LegacySecret: "s3cret" },
      want: [["KvAcme__Webhooks__0__Secret", /sign alongside Secret/]],
    },
    {
      name: "webhook second secret and its name",
      env: {
        ...base,
        KvAcme__Webhooks__0__Url: "https://h.example/x",
        KvAcme__Webhooks__0__SecretName: "n",
        KvAcme__Webhooks__0__SecondarySecret: generateSigningSecret(),
        KvAcme__Webhooks__0__SecondarySecretName: "m",
      },
      want: [["KvAcme__Webhooks__0__SecondarySecret", /either SecondarySecret or SecondarySecretName/]],
    },
    {
      name: "webhook secret name",
      env: { ...base, KvAcme__Webhooks__0__Url: "https://h.example/x", KvAcme__Webhooks__0__SecretName: "bad_name" },
      want: [["KvAcme__Webhooks__0__SecretName", /Key Vault secret name/]],
    },
    { name: "Acmebot webhook not a URL", env: { ...base, Acmebot__Webhook: "slack" }, want: [["Acmebot__Webhook", /not an absolute URL/]] },
    {
      name: "same setting twice with different values",
      env: { ...base, KvAcme__MaxConcurrentRenewals: "4", "KvAcme:MaxConcurrentRenewals": "5" },
      want: [["KvAcme__MaxConcurrentRenewals", /conflicts with KvAcme:MaxConcurrentRenewals/]],
    },
    {
      name: "every problem reported at once",
      env: { KvAcme__VaultUrl: "http://x.example", KvAcme__RenewAtPercentOfLifetime: "0", KvAcme__RenewalSchedule: "daily" },
      want: [
        ["KvAcme__VaultUrl", /https/],
        ["KvAcme__DnsSubscriptionIds", /required/],
        ["KvAcme__RenewAtPercentOfLifetime", /outside/],
        ["KvAcme__RenewalSchedule", /1 fields/],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const problems = problemsOf(c.env);
      for (const [field, re] of c.want) {
        assert.ok(
          problems.some((p) => p.field === field && re.test(p.message)),
          `${field} ${re} not in ${JSON.stringify(problems)}`,
        );
      }
      assert.equal(problems.length, c.want.length, JSON.stringify(problems));
    });
  }
  it("the error message names every problem", () => {
    assert.throws(
      () => loadSettings({}),
      (err: unknown) =>
        err instanceof ConfigurationError && /KvAcme__VaultUrl/.test(err.message) && /KvAcme__DnsSubscriptionIds/.test(err.message),
    );
  });
});

describe("parseServiceUrl", () => {
  const ok = ["https://a.example", "http://127.0.0.1:8080/x", "http://[::1]:1/", "http://localhost/"];
  for (const u of ok) it(`accepts ${u}`, () => assert.equal(parseServiceUrl(u).href.startsWith("http"), true));
  const bad = ["http://10.0.0.1/", "http://localhost.example/", "file:///etc/passwd", "not a url"];
  for (const u of bad) it(`rejects ${u}`, () => assert.throws(() => parseServiceUrl(u)));
});

describe("redactSettings", () => {
  it("hides secrets and webhook paths", () => {
    const [whsec, whsec2] = [generateSigningSecret(), generateSigningSecret()];
    const s = loadSettings({
      ...base,
      KvAcme__Eab__KeyId: "kid",
      KvAcme__Eab__HmacKey: "c2VjcmV0aG1hYw",
      KvAcme__Webhooks__0__Url: "https://hooks.slack.com/services/T/B/TOKEN",
      KvAcme__Webhooks__0__Secret: whsec,
      KvAcme__Webhooks__0__SecondarySecret: whsec2,
      KvAcme__Webhooks__0__LegacySecret: "topsecret",
      APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=ikey-123",
    });
    const text = JSON.stringify(redactSettings(s));
    for (const secret of ["c2VjcmV0aG1hYw", "TOKEN", "topsecret", whsec, whsec2, "ikey-123"])
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.ok(text.includes("https://hooks.slack.com"));
    assert.ok(text.includes("myvault.vault.azure.net"));
  });
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
      renewBeforeExpiryDays: s.renewBeforeExpiryDays,
      renewAtPercentOfLifetime: s.renewAtPercentOfLifetime,
      maxConcurrentRenewals: s.maxConcurrentRenewals,
      expiryWarningDays: s.expiryWarningDays,
    };
    for (const [k, v] of Object.entries(numeric)) assert.equal(SETTINGS[k as keyof typeof numeric].default, v, k);
    assert.equal(SETTINGS.acmeDirectoryUrl.default, s.acmeDirectoryUrl);
    assert.equal(AZURE_DNS_TOP_LEVEL_SETTINGS.armEndpoint.default, azure(s).armEndpoint);
    assert.equal(SETTINGS.renewalSchedule.default, s.renewalSchedule);
  });
});

describe("EAB pairing", () => {
  it("HMAC key without key id names the key id", () => {
    const problems = problemsOf({ ...base, Acmebot__ExternalAccountBinding__HmacKey: "aG1hYw" });
    assert.deepEqual(
      problems.map((p) => p.field),
      ["KvAcme__Eab__KeyId"],
    );
  });
});

describe("URL errors never repeat a webhook's secret path or query", () => {
  const secret = "T000/B000/SECRETTOKEN";
  const cases: Array<[string, Record<string, string>]> = [
    ["plain http webhook", { KvAcme__Webhooks__0__Url: `http://hooks.slack.com/services/${secret}` }],
    ["legacy Acmebot__Webhook over http", { Acmebot__Webhook: `http://example.net/hook?token=${secret}` }],
    ["fragment", { KvAcme__Webhooks__0__Url: `https://example.net/${secret}#x` }],
    ["not a URL at all", { KvAcme__Webhooks__0__Url: `${secret} not a url` }],
  ];
  for (const [name, env] of cases) {
    it(name, () => {
      const err = (() => {
        try {
          loadSettings({
            KvAcme__VaultUrl: "https://v.vault.azure.net",
            KvAcme__DnsSubscriptionIds: "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10",
            ...env,
          });
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      assert.ok(err, "refused");
      assert.doesNotMatch(`${err.message} ${JSON.stringify((err as { details?: unknown }).details)}`, /SECRETTOKEN/);
    });
  }
});

describe("Entra ID token validation settings", () => {
  const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  const client = "3c1e5b7a-0000-4000-8000-000000000001";
  it("tenant and client id select appServiceAuth with the public cloud's authority, without WEBSITE_AUTH_ENABLED", () => {
    const s = loadSettings({ ...base, KvAcme__Auth__TenantId: tenant, KvAcme__Auth__ClientId: client.toUpperCase() });
    assert.equal(s.auth.mode, "appServiceAuth");
    assert.equal(s.auth.platformAuthEnabled, false);
    assert.deepEqual(s.auth.entra, { tenantId: tenant, clientId: client, authority: "https://login.microsoftonline.com" });
    const us = loadSettings({
      ...base,
      KvAcme__Auth__TenantId: tenant,
      KvAcme__Auth__ClientId: client,
      KvAcme__Auth__Authority: "https://login.microsoftonline.us/",
    });
    assert.equal(us.auth.entra?.authority, "https://login.microsoftonline.us");
  });
  it("one without the other, a non-GUID and an http authority are refused", () => {
    assert.deepEqual(
      problemsOf({ ...base, KvAcme__Auth__TenantId: tenant }).map((p) => p.field),
      ["KvAcme__Auth__ClientId"],
    );
    assert.match(problemsOf({ ...base, KvAcme__Auth__TenantId: "contoso", KvAcme__Auth__ClientId: client })[0]?.message ?? "", /GUID/);
    assert.equal(
      problemsOf({
        ...base,
        KvAcme__Auth__TenantId: tenant,
        KvAcme__Auth__ClientId: client,
        KvAcme__Auth__Authority: "http://login.example",
      })[0]?.field,
      "KvAcme__Auth__Authority",
    );
  });
});
