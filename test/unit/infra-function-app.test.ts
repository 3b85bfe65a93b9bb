/**
 * The Function App of infra/azuredeploy.json on Flex Consumption (plan, site, storage, vault, authentication, outputs)
 * and host.json's Durable Functions settings for it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ENV, evalString, evalValue, type Json, type Obj, type Value } from "../support/arm-expression";
import { GUID, ROOT, appSettingsFor, loadJson, ownStrings, resourceByName, template, topScope } from "../support/arm-template";

/** Site properties (under properties or properties.siteConfig, compared case-insensitively) Flex Consumption does not support. */
const FLEX_UNSUPPORTED_SITE_PROPERTIES = [
  "ftpsState",
  "use32BitWorkerProcess",
  "isReserved",
  "isXenon",
  "windowsFxVersion",
  "alwaysOn",
  "preWarmedInstanceCount",
  "functionAppScaleLimit",
  "containerSize",
  "javaVersion",
  "powerShellVersion",
  "netFrameworkVersion",
  "linuxFxVersion",
  "nodeVersion",
];

describe("infra/azuredeploy.json: Function App", () => {
  const site = resourceByName(template, "Microsoft.Web/sites", "functionAppName");
  const plan = resourceByName(template, "Microsoft.Web/serverfarms", "planName");
  const storage = resourceByName(template, "Microsoft.Storage/storageAccounts", "storageAccountName");

  it("runs on Flex Consumption (FC1, Linux, Node 22) with a system-assigned identity", () => {
    assert.deepEqual(plan.sku, { tier: "FlexConsumption", name: "FC1" });
    assert.equal((plan.properties as Obj).reserved, true);
    assert.equal(site.kind, "functionapp,linux");
    assert.deepEqual(site.identity, { type: "SystemAssigned" });
    const cfg = (site.properties as Obj).functionAppConfig as Obj;
    assert.deepEqual(cfg.runtime, { name: "node", version: "22" });
    const storageCfg = (cfg.deployment as Obj).storage as Obj;
    assert.equal(storageCfg.type, "blobContainer");
    assert.deepEqual(storageCfg.authentication, { type: "SystemAssignedIdentity" });
    assert.equal((site.properties as Obj).httpsOnly, true);
  });

  it("no site property Flex Consumption does not support (properties and siteConfig)", () => {
    const props = site.properties as Obj;
    const names = [...Object.keys(props), ...Object.keys((props.siteConfig as Obj | undefined) ?? {})].map((n) => n.toLowerCase());
    for (const bad of FLEX_UNSUPPORTED_SITE_PROPERTIES) assert.ok(!names.includes(bad.toLowerCase()), `site property ${bad}`);
    assert.ok(names.includes("functionappconfig") && names.includes("httpsonly"), "the walk sees the site's properties");
  });

  it("keeps one always-ready instance for the durable group by default (Microsoft's Durable Functions on Flex advice); 0 turns it off", () => {
    const scale = (p: Record<string, Value>) =>
      (evalValue((site.properties as Obj).functionAppConfig as Json, topScope(p)) as Obj).scaleAndConcurrency as Obj;
    assert.deepEqual(scale({}).alwaysReady, [{ name: "durable", instanceCount: 1 }]);
    assert.deepEqual(scale({ durableAlwaysReadyInstances: 2 }).alwaysReady, [{ name: "durable", instanceCount: 2 }]);
    assert.deepEqual(scale({ durableAlwaysReadyInstances: 0 }).alwaysReady, []);
  });

  it("storage refuses shared keys and the app connects with its identity", () => {
    const props = storage.properties as Obj;
    assert.equal(props.allowSharedKeyAccess, false);
    assert.equal(props.allowBlobPublicAccess, false);
    assert.equal(props.minimumTlsVersion, "TLS1_2");
    const { raw } = appSettingsFor({});
    assert.equal(raw.AzureWebJobsStorage__accountName, evalString("[variables('storageAccountName')]", topScope({})));
    assert.equal(raw.AzureWebJobsStorage__credential, "managedidentity");
    assert.equal(raw.AzureWebJobsStorage, undefined, "no connection string");
    assert.ok(!ownStrings(template, [], false).some((s) => /listKeys|AccountKey=/i.test(s)), "no storage keys anywhere");
  });

  it("a new vault uses RBAC authorization and soft delete; purge protection is never sent as false", () => {
    const vault = resourceByName(template, "Microsoft.KeyVault/vaults", "keyVaultName");
    const props = vault.properties as Obj;
    assert.equal(props.enableRbacAuthorization, true);
    assert.equal(props.enableSoftDelete, true);
    const scope = topScope({ enablePurgeProtection: false });
    assert.equal(evalValue(props.enablePurgeProtection as Json, scope), null);
    assert.equal(evalValue(props.enablePurgeProtection as Json, topScope({})), true);
    assert.equal(evalValue(vault.condition as Json, topScope({ useExistingKeyVault: true, keyVaultName: "existing-kv" })), false);
  });

  it("App Service Authentication: Entra ID, 401 for anonymous callers, function-key paths excluded; only with a client id", () => {
    const auth = resourceByName(template, "Microsoft.Web/sites/config", "authsettingsV2");
    assert.equal(evalValue(auth.condition as Json, topScope({})), false);
    assert.equal(evalValue(auth.condition as Json, topScope({ authClientId: "3c1e5b7a-0000-4000-8000-000000000001" })), true);
    const props = evalValue(auth.properties as Json, topScope({ authClientId: "3c1e5b7a-0000-4000-8000-000000000001" })) as Obj;
    const gv = props.globalValidation as Obj;
    assert.equal(gv.requireAuthentication, true);
    assert.equal(gv.unauthenticatedClientAction, "Return401");
    for (const p of ["/api/automation", "/runtime/webhooks"]) assert.ok((gv.excludedPaths as string[]).includes(p), p);
    const aad = (props.identityProviders as Obj).azureActiveDirectory as Obj;
    assert.equal(aad.enabled, true);
    assert.equal((aad.registration as Obj).clientId, "3c1e5b7a-0000-4000-8000-000000000001");
    assert.equal((aad.registration as Obj).openIdIssuer, `https://login.microsoftonline.com/${ENV.subscription.tenantId}/v2.0`);
  });

  it("outputs the app name, host name, principal id and vault URL", () => {
    const outputs = evalValue(template.outputs as Json, topScope({ functionAppName: "kv-acme-x" })) as Record<string, Obj>;
    assert.equal(outputs.functionAppName?.value, "kv-acme-x");
    assert.equal(outputs.functionAppHostName?.value, "kv-acme-x.azurewebsites.net");
    assert.match(String(outputs.principalId?.value), GUID);
    assert.match(String(outputs.vaultUrl?.value), /^https:\/\/kvacme-[a-z]{13}\.vault\.azure\.net$/);
  });
});

describe("host.json for Durable Functions on Flex Consumption", () => {
  const host = loadJson(path.join(ROOT, "host.json"));
  const durable = ((host.extensions as Obj).durableTask ?? {}) as Obj;

  it("polls the durable queues at most every 10 s (Microsoft's Flex advice; the default is 30 s)", () => {
    const interval = String(((durable.storageProvider ?? {}) as Obj).maxQueuePollingInterval);
    const m = /^(\d{2}):(\d{2}):(\d{2})$/.exec(interval);
    assert.ok(m, `maxQueuePollingInterval "${interval}" is not hh:mm:ss`);
    const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
    assert.ok(seconds > 0 && seconds <= 10, `${seconds} s`);
  });

  it("uses an extension bundle of the 4.x line, which Flex Consumption requires", () => {
    assert.deepEqual(host.extensionBundle, { id: "Microsoft.Azure.Functions.ExtensionBundle", version: "[4.*, 5.0.0)" });
  });
});
