/**
 * The app settings infra/azuredeploy.json writes: names src/config understands, none Flex Consumption rejects, and
 * the settings they load to (defaults, the example parameters file, secrets as Key Vault references).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ENV, evalValue, type Json, type Obj, type Value } from "../support/arm-expression";
import {
  EXAMPLE_PATH,
  FAKE_CONNECTION_STRING,
  allTemplates,
  appSettingsFor,
  azureSubscriptions,
  knownSettingNames,
  loadJson,
  nestedDeployments,
  ownStrings,
  resourceByName,
  resourcesOf,
  settingNamesInTemplate,
  template,
  topScope,
  vaultSecrets,
} from "../support/arm-template";
import { loadSettings } from "../../src/config/settings";

/**
 * App settings and site properties Flex Consumption deprecates ("Flex Consumption plan deprecations", Azure
 * Functions app settings reference): the runtime, scale and deployment moved to functionAppConfig.
 */
const FLEX_UNSUPPORTED_SETTINGS = [
  "FUNCTIONS_EXTENSION_VERSION",
  "FUNCTIONS_WORKER_RUNTIME",
  "FUNCTIONS_WORKER_RUNTIME_VERSION",
  "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
  "WEBSITE_CONTENTSHARE",
  "WEBSITE_NODE_DEFAULT_VERSION",
  "WEBSITE_RUN_FROM_PACKAGE",
  "SCM_DO_BUILD_DURING_DEPLOYMENT",
  "AzureWebJobsStorage",
];

/** Platform settings the template may write besides the ones src/config/settings.ts reads. */
const PLATFORM_SETTINGS = ["AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential"];

describe("infra/azuredeploy.json: app settings", () => {
  it("every KvAcme__ (and other) setting name is one src/config/settings.ts understands", () => {
    const { exact, patterns } = knownSettingNames();
    const names = settingNamesInTemplate();
    assert.ok(names.length >= 10, `found only ${names.join(", ")}`);
    for (const n of names) {
      if (PLATFORM_SETTINGS.includes(n)) continue;
      assert.ok(exact.has(n.toLowerCase()) || patterns.some((p) => p.test(n)), `app setting ${n} is not read by src/config/settings.ts`);
    }
  });

  it("no setting Flex Consumption rejects", () => {
    const names = settingNamesInTemplate();
    for (const bad of FLEX_UNSUPPORTED_SETTINGS) assert.ok(!names.includes(bad), bad);
  });

  it("defaults: the settings load, functionKeys mode, Let's Encrypt, this subscription, daily at 03:00", () => {
    const { raw, resolved } = appSettingsFor({});
    const s = loadSettings(resolved);
    assert.equal(s.auth.mode, "functionKeys");
    assert.equal(s.acmeDirectoryUrl, "https://acme-v02.api.letsencrypt.org/directory");
    assert.deepEqual(azureSubscriptions(s), [ENV.subscription.subscriptionId]);
    assert.equal(s.renewalSchedule, "0 0 3 * * *");
    assert.equal(s.renewBeforeExpiryDays, 30);
    assert.match(s.vaultUrl, /^https:\/\/kvacme-[a-z]+\.vault\.azure\.net$/);
    assert.equal(s.appInsightsConnectionString, FAKE_CONNECTION_STRING);
    assert.equal(s.eab, undefined);
    assert.deepEqual(s.webhooks, []);
    assert.equal(raw.KvAcme__Contacts, undefined, "empty optional settings are left out");
  });

  it("the example parameters file loads (placeholders replaced by GUIDs) and turns App Service Authentication on", () => {
    const example = loadJson(EXAMPLE_PATH);
    assert.match(String(example.$schema), /deploymentParameters\.json#$/);
    const values: Record<string, Value> = {};
    let n = 0;
    const fill = (v: Json): Json =>
      typeof v === "string"
        ? v.replace(/<[^>]+>/g, () => `0000000${++n}-0000-4000-8000-000000000000`.slice(-36))
        : Array.isArray(v)
          ? v.map(fill)
          : v;
    for (const [k, v] of Object.entries(example.parameters as Record<string, Obj>)) {
      assert.ok("value" in v, `${k}: the example passes secrets only as Key Vault references (docs/deploy.md), never inline`);
      assert.notEqual(
        ((template.parameters as Record<string, Obj>)[k] as Obj | undefined)?.type,
        "securestring",
        `${k}: no secret in the example file`,
      );
      values[k] = fill(v.value as Json);
    }
    const { resolved } = appSettingsFor(values);
    const s = loadSettings(resolved);
    assert.equal(s.auth.mode, "appServiceAuth");
    assert.deepEqual(s.auth.entra, {
      tenantId: ENV.subscription.tenantId,
      clientId: values.authClientId,
      authority: "https://login.microsoftonline.com",
    });
    assert.equal(s.auth.platformAuthEnabled, false, "the API works without WEBSITE_AUTH_ENABLED");
    assert.deepEqual(s.auth.keyRoles, ["KvAcme.Read", "KvAcme.Issue"]);
    assert.deepEqual(s.contacts, ["mailto:pki-team@contoso.example"]);
    assert.equal(s.vaultUrl, "https://kv-acme-contoso.vault.azure.net");
    assert.equal(azureSubscriptions(s).length, 2);
  });

  it("EAB and webhook: secrets go to the vault; the app settings hold Key Vault references only", () => {
    const hmac = "c2VjcmV0LWhtYWMta2V5LWZyb20tdGhlLWNh";
    const hook = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX";
    const { raw, resolved } = appSettingsFor({
      eabKeyId: "kid-1",
      eabHmacKey: hmac,
      eabAlgorithm: "HS384",
      webhookUrl: hook,
      contacts: "a@example.com",
    });
    assert.match(
      raw.KvAcme__Eab__HmacKey as string,
      /^@Microsoft\.KeyVault\(SecretUri=https:\/\/[^/]+\.vault\.azure\.net\/secrets\/kv-acme-eab-hmac-key\/\)$/,
    );
    assert.match(raw.KvAcme__Webhooks__0__Url as string, /^@Microsoft\.KeyVault\(SecretUri=/);
    for (const [k, v] of Object.entries(raw)) {
      assert.ok(!v.includes(hmac) && !v.includes("hooks.slack.com"), `app setting ${k} carries a secret in plain text`);
    }
    const s = loadSettings(resolved);
    assert.deepEqual(s.eab, { keyId: "kid-1", hmacKey: hmac, algorithm: "HS384" });
    assert.equal(s.webhooks[0]?.url, hook);
    assert.equal(s.webhooks[0]?.format, "slack");
  });

  it("EAB without an HMAC value refers to an existing vault secret and writes none", () => {
    const scope = topScope({ eabKeyId: "kid-1", eabHmacKeySecretName: "my-eab" });
    assert.equal(vaultSecrets(scope).size, 0);
    const raw = evalValue(resourceByName(template, "Microsoft.Web/sites/config", "appsettings").properties as Json, scope) as Record<
      string,
      string
    >;
    assert.match(raw.KvAcme__Eab__HmacKey as string, /\/secrets\/my-eab\/\)$/);
  });

  it("securestring parameters appear only in empty() tests, in values passed to inner securestring parameters, and in vault secrets", () => {
    for (const { label, t } of allTemplates()) {
      const secure = Object.entries((t.parameters ?? {}) as Record<string, Obj>)
        .filter(([, p]) => p.type === "securestring")
        .map(([k]) => k);
      const allowed = new Set<string>();
      for (const d of nestedDeployments(t)) {
        const props = d.properties as Obj;
        const innerParams = ((props.template as Obj).parameters ?? {}) as Record<string, Obj>;
        for (const [k, v] of Object.entries(props.parameters as Record<string, Obj>))
          if (innerParams[k]?.type === "securestring") allowed.add(v.value as string);
      }
      for (const r of resourcesOf(t).filter((x) => x.type === "Microsoft.KeyVault/vaults/secrets"))
        allowed.add((r.properties as Obj).value as string);
      for (const s of ownStrings(t)) {
        for (const p of secure) {
          if (!s.includes(`parameters('${p}')`) || allowed.has(s)) continue;
          const stripped = s.replaceAll(`empty(parameters('${p}'))`, "");
          assert.ok(!stripped.includes(`parameters('${p}')`), `${label}: securestring ${p} used in ${s}`);
        }
      }
    }
  });
});
