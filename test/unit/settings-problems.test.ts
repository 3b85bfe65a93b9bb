/**
 * loadSettings refuses bad values with one problem per field, all reported at once, naming the setting.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateSigningSecret } from "../../src/notify/signing";
import { loadSettings } from "../../src/config/settings";
import { ConfigurationError } from "../../src/shared/errors";
import { SUB, base, problemsOf } from "../support/settings";

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

describe("EAB pairing", () => {
  it("HMAC key without key id names the key id", () => {
    const problems = problemsOf({ ...base, Acmebot__ExternalAccountBinding__HmacKey: "aG1hYw" });
    assert.deepEqual(
      problems.map((p) => p.field),
      ["KvAcme__Eab__KeyId"],
    );
  });
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
