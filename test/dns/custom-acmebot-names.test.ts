/**
 * The leading C# tool's Custom DNS settings (`Acmebot__CustomDns__Endpoint`, `__ApiKey`, `__ApiKeyHeaderName`, its
 * CustomDnsOptions) configure the Custom DNS instance `customdns`, so an Acmebot configuration loads unchanged: alone,
 * next to its Azure DNS settings, and against the Custom DNS stand-in, whose zones the router then lists with the key.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadSettings } from "../../src/config/settings";
import { createDnsRouter } from "../../src/dns/registry";
import type { HostedStandInInfo } from "../../src/local/dns/hosted";
import { SUB, problemsOf } from "../support/settings";
import { startTestStack, type TestStack } from "../support/stack";

const vault = { KvAcme__VaultUrl: "https://myvault.vault.azure.net" };
const acmebot = { Acmebot__CustomDns__Endpoint: "https://dns-api.example.com/api/", Acmebot__CustomDns__ApiKey: "s3cret-key" };

describe("Acmebot__CustomDns__* settings", () => {
  it("alone they configure the instance customdns (default header X-Api-Key) and no Azure DNS instance", () => {
    const s = loadSettings({ ...vault, ...acmebot });
    assert.deepEqual(s.dns.instances, [
      {
        name: "customdns",
        type: "custom",
        settings: { endpoint: "https://dns-api.example.com/api/", apiKey: "s3cret-key", apiKeyHeaderName: "X-Api-Key" },
      },
    ]);
  });

  it("ApiKeyHeaderName and the colon form are read", () => {
    const s = loadSettings({
      ...vault,
      "Acmebot:CustomDns:Endpoint": "https://dns-api.example.com/v2",
      "Acmebot:CustomDns:ApiKey": "k",
      Acmebot__CustomDns__ApiKeyHeaderName: "Authorization-Key",
    });
    assert.deepEqual(s.dns.instances[0]?.settings, {
      endpoint: "https://dns-api.example.com/v2",
      apiKey: "k",
      apiKeyHeaderName: "Authorization-Key",
    });
  });

  it("next to Acmebot's Azure DNS subscription both instances are configured", () => {
    const s = loadSettings({ ...vault, ...acmebot, Acmebot__AzureDns__SubscriptionId: SUB });
    assert.deepEqual(
      s.dns.instances.map((i) => `${i.name}:${i.type}`),
      ["azure:azure", "customdns:custom"],
    );
  });

  it("next to a KvAcme__Dns__<instance> both are configured, and the Azure default is not", () => {
    const s = loadSettings({
      ...vault,
      ...acmebot,
      KvAcme__Dns__bind__Type: "rfc2136",
      KvAcme__Dns__bind__Server: "192.0.2.53",
      KvAcme__Dns__bind__Zones: "example.net",
      KvAcme__Dns__bind__KeyName: "kv-acme",
      KvAcme__Dns__bind__KeySecret: Buffer.alloc(32, 7).toString("base64"),
    });
    assert.deepEqual(
      s.dns.instances.map((i) => `${i.name}:${i.type}`),
      ["bind:rfc2136", "customdns:custom"],
    );
  });

  it("an endpoint without its key names Acmebot__CustomDns__ApiKey; a plain-http endpoint is refused", () => {
    assert.deepEqual(
      problemsOf({ ...vault, Acmebot__CustomDns__Endpoint: acmebot.Acmebot__CustomDns__Endpoint }).map((p) => p.field),
      ["Acmebot__CustomDns__ApiKey"],
    );
    const problems = problemsOf({ ...vault, ...acmebot, Acmebot__CustomDns__Endpoint: "http://dns-api.example.com/api/" });
    assert.deepEqual(
      problems.map((p) => p.field),
      ["Acmebot__CustomDns__Endpoint"],
    );
    assert.match(problems[0]?.message ?? "", /https/);
  });

  it("declaring KvAcme__Dns__customdns__Type as well is a configuration error naming both", () => {
    const problems = problemsOf({
      ...vault,
      ...acmebot,
      KvAcme__Dns__customdns__Type: "custom",
      KvAcme__Dns__customdns__Endpoint: "https://other.example.com/",
      KvAcme__Dns__customdns__ApiKey: "k2",
    });
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.equal(problems[0]?.field, "Acmebot__CustomDns__Endpoint");
    assert.match(problems[0]?.message ?? "", /KvAcme__Dns__customdns__Type also declares/);
  });
});

describe("Acmebot__CustomDns__* against the Custom DNS stand-in", () => {
  let stack: TestStack;
  let info: HostedStandInInfo;
  before(async () => {
    stack = await startTestStack({ dns: ["custom"] });
    info = stack.dns.custom?.standIn?.info as HostedStandInInfo;
  });
  after(async () => {
    await stack?.close();
  });

  it("the router built from those settings lists the stand-in's zones as instance customdns; a wrong key is refused", async () => {
    const env = {
      ...vault,
      Acmebot__CustomDns__Endpoint: info.options.endpoint as string,
      Acmebot__CustomDns__ApiKey: info.options.apiKey as string,
    };
    const router = createDnsRouter(loadSettings(env).dns, { credential: stack.credential });
    const zones = await router.listZones();
    assert.deepEqual(
      zones.map((z) => `${z.provider}:${z.name}`),
      info.zones.map((z) => `customdns:${z}`),
    );
    const wrong = createDnsRouter(loadSettings({ ...env, Acmebot__CustomDns__ApiKey: "not-the-key" }).dns, {
      credential: stack.credential,
    });
    await assert.rejects(wrong.listZones(), /Custom DNS \(customdns\)/);
  });
});
