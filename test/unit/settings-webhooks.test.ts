/**
 * Webhook targets from settings (indexed, Acmebot__Webhook, format sniffing), service URL checks, and redaction:
 * secrets and webhook paths never appear in redacted settings or in URL errors.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateSigningSecret } from "../../src/notify/signing";
import { loadSettings, parseServiceUrl, redactSettings, sniffWebhookFormat } from "../../src/config/settings";
import { base } from "../support/settings";

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
