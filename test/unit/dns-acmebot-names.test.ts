/**
 * The leading C# tool's DNS provider sections (src/dns/acmebot-names.ts): each configures an instance of the kv-acme
 * type with the type's own parsers and defaults; keys kv-acme cannot honour and Acmebot providers kv-acme lacks are
 * start-up problems, never ignored.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { loadSettings } from "../../src/config/settings";
import { problemsOf } from "../support/settings";

const base = { KvAcme__VaultUrl: "https://myvault.vault.azure.net" };
const instances = (env: Record<string, string>) => loadSettings({ ...base, ...env }).dns.instances;
// A service account key file as Google hands it out (the private key generated here), base64 as Acmebot's KeyFile64.
const privateKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
const keyFile = {
  type: "service_account",
  project_id: "proj-1",
  client_email: "dns@proj-1.iam.gserviceaccount.com",
  private_key: privateKey,
  token_uri: "https://oauth2.googleapis.com/token",
};
const keyFile64 = Buffer.from(JSON.stringify(keyFile)).toString("base64");

describe("Acmebot DNS provider sections", () => {
  it("Cloudflare: ApiToken, the type's default API URL", () => {
    assert.deepEqual(instances({ Acmebot__Cloudflare__ApiToken: "tok" }), [
      { name: "cloudflare", type: "cloudflare", settings: { apiToken: "tok", apiUrl: "https://api.cloudflare.com/client/v4" } },
    ]);
  });
  it("Route 53: AccessKey and SecretKey; Region read and ignored (Route 53 is global)", () => {
    assert.deepEqual(
      instances({ Acmebot__Route53__AccessKey: "AKIA1", Acmebot__Route53__SecretKey: "s3cret", Acmebot__Route53__Region: "eu-west-1" }),
      [
        {
          name: "route53",
          type: "route53",
          settings: { accessKeyId: "AKIA1", secretAccessKey: "s3cret", endpoint: "https://route53.amazonaws.com" },
        },
      ],
    );
  });
  it("Google Cloud DNS: KeyFile64 decoded, the project from the key file unless ProjectId says", () => {
    const [g] = instances({ Acmebot__GoogleDns__KeyFile64: keyFile64 });
    assert.equal(g?.name, "gcloud");
    assert.equal((g?.settings as { project: string }).project, "proj-1");
    assert.equal((g?.settings as { serviceAccountKey: { client_email: string } }).serviceAccountKey.client_email, keyFile.client_email);
    const [h] = instances({ Acmebot__GoogleDns__KeyFile64: keyFile64, Acmebot__GoogleDns__ProjectId: "other-project" });
    assert.equal((h?.settings as { project: string }).project, "other-project");
  });
  it("PowerDNS: Endpoint with /api/v1/ becomes the server's base URL; ServerId kept", () => {
    assert.deepEqual(
      instances({
        Acmebot__PowerDns__Endpoint: "https://pdns.example.com:8081/api/v1/",
        Acmebot__PowerDns__ApiKey: "k",
        Acmebot__PowerDns__ServerId: "ns1",
      }),
      [
        {
          name: "powerdns",
          type: "powerdns",
          settings: { apiUrl: "https://pdns.example.com:8081", apiKey: "k", serverId: "ns1", timeoutSeconds: 10 },
        },
      ],
    );
  });
  it("acme-dns: Zones__<n> become the accounts, fulldomain under the API host", () => {
    const [a] = instances({
      Acmebot__AcmeDns__Endpoint: "https://auth.example.org/",
      Acmebot__AcmeDns__Zones__0__Name: "Example.com",
      Acmebot__AcmeDns__Zones__0__Subdomain: "d420c923-bbd7-4056-ab64-c3ca54c9b3cf",
      Acmebot__AcmeDns__Zones__0__Username: "u0",
      Acmebot__AcmeDns__Zones__0__Password: "p0",
      Acmebot__AcmeDns__Zones__1__Name: "example.net",
      Acmebot__AcmeDns__Zones__1__Subdomain: "sub-1",
      Acmebot__AcmeDns__Zones__1__Username: "u1",
      Acmebot__AcmeDns__Zones__1__Password: "p1",
      Acmebot__AcmeDns__PropagationSeconds: "30",
    });
    assert.deepEqual(a, {
      name: "acme-dns",
      type: "acme-dns",
      settings: {
        apiUrl: "https://auth.example.org",
        accounts: {
          "example.com": {
            username: "u0",
            password: "p0",
            subdomain: "d420c923-bbd7-4056-ab64-c3ca54c9b3cf",
            fulldomain: "d420c923-bbd7-4056-ab64-c3ca54c9b3cf.auth.example.org",
          },
          "example.net": { username: "u1", password: "p1", subdomain: "sub-1", fulldomain: "sub-1.auth.example.org" },
        },
      },
    });
  });
  it("Azure DNS: SubscriptionId and the provider's own ManagedIdentityClientId", () => {
    const id = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
    const [z] = instances({
      Acmebot__AzureDns__SubscriptionId: "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10",
      Acmebot__AzureDns__ManagedIdentityClientId: id,
    });
    assert.equal((z?.settings as { managedIdentityClientId?: string }).managedIdentityClientId, id);
  });
  it("several sections at once: one instance each, no default Azure instance", () => {
    const names = instances({
      Acmebot__Cloudflare__ApiToken: "t",
      Acmebot__PowerDns__Endpoint: "https://pdns.example.com/",
      Acmebot__PowerDns__ApiKey: "k",
    }).map((i) => i.name);
    assert.deepEqual(names.sort(), ["cloudflare", "powerdns"]);
  });
});

describe("Acmebot DNS settings kv-acme cannot honour", () => {
  it("a provider kv-acme lacks is a problem naming it", () => {
    const problems = problemsOf({
      ...base,
      Acmebot__GoDaddy__ApiKey: "k",
      Acmebot__GoDaddy__ApiSecret: "s",
      Acmebot__Cloudflare__ApiToken: "t",
    });
    assert.deepEqual(problems.map((p) => p.field).sort(), ["Acmebot__GoDaddy__ApiKey", "Acmebot__GoDaddy__ApiSecret"]);
    assert.match(problems[0]?.message ?? "", /kv-acme has no GoDaddy provider/);
  });
  it("Route 53 RoleArn and Google workload identity are refused, with the reason", () => {
    const problems = problemsOf({
      ...base,
      Acmebot__Route53__RoleArn: "arn:aws:iam::123456789012:role/dns",
      Acmebot__GoogleDns__ProjectId: "p",
      Acmebot__GoogleDns__PoolProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/azure",
      Acmebot__GoogleDns__ServiceAccount: "dns@p.iam.gserviceaccount.com",
    });
    const byField = new Map(problems.map((p) => [p.field, p.message]));
    assert.match(byField.get("Acmebot__Route53__RoleArn") ?? "", /not carried over: kv-acme's Route 53 provider signs with an access key/);
    assert.match(byField.get("Acmebot__GoogleDns__PoolProvider") ?? "", /not workload identity federation/);
    assert.ok(byField.has("Acmebot__Route53__AccessKey"), "the access key it needs instead is required");
    assert.ok(byField.has("Acmebot__GoogleDns__KeyFile64"), "the key file it needs instead is required");
  });
  it("an unknown key of a section and an incomplete acme-dns zone are problems", () => {
    const problems = problemsOf({
      ...base,
      Acmebot__Cloudflare__ApiToken: "t",
      Acmebot__Cloudflare__ZoneId: "z",
      Acmebot__AcmeDns__Endpoint: "https://auth.example.org/",
      Acmebot__AcmeDns__Zones__0__Name: "example.com",
      Acmebot__AcmeDns__Zones__0__Subdomain: "s",
    });
    const fields = problems.map((p) => p.field);
    assert.ok(fields.includes("Acmebot__Cloudflare__ZoneId"), fields.join(", "));
    assert.match(
      problems.find((p) => p.field === "Acmebot__AcmeDns__Zones__0__Subdomain")?.message ?? "",
      /zone 0 lacks username, password/,
    );
  });
  it("an Acmebot section and a KvAcme instance of the same name conflict", () => {
    const problems = problemsOf({
      ...base,
      Acmebot__Cloudflare__ApiToken: "t",
      KvAcme__Dns__cloudflare__Type: "cloudflare",
      KvAcme__Dns__cloudflare__ApiToken: "u",
    });
    assert.match(
      problems.map((p) => p.message).join("; "),
      /configures the instance "cloudflare", which KvAcme__Dns__cloudflare__Type also declares/,
    );
  });
});
