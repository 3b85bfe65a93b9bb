/**
 * The webhook format table (src/notify/formats/registry.ts) is the one list of formats: settings, the agent's
 * settings and reporter, the host sniffing, the payload renderer and docs/settings.md all read it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAgentSettings } from "../../src/agent/settings";
import { agentWebhookTargets } from "../../src/agent/report";
import { loadSettings } from "../../src/config/settings";
import { WEBHOOK_FORMATS, WEBHOOK_FORMAT_NAMES, certificateRevoked, renderPayload, sniffWebhookFormat } from "../../src/notify";
import { ConfigurationError, ValidationError } from "../../src/shared/errors";

const base = { KvAcme__VaultUrl: "https://myvault.vault.azure.net", KvAcme__DnsSubscriptionIds: "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10" };

const event = certificateRevoked(
  { certificateName: "www", dnsNames: ["www.example.com"], version: "v1", thumbprint: "AB12", reasonCode: 4 },
  { time: new Date("2026-01-02T03:04:05Z") },
);

function agentWebhooks(webhooks: unknown[]) {
  return parseAgentSettings(
    { secretsManagementSettings: { observedCertificates: ["https://myvault.vault.azure.net/secrets/c"] }, kvAcme: { webhooks } },
    { platform: "linux" },
  ).settings.kvAcme.webhooks;
}

describe("webhook formats come from one table", () => {
  it("every format of the table is accepted by the app's settings and the agent's, and renders with its content type", () => {
    for (const name of WEBHOOK_FORMAT_NAMES) {
      const s = loadSettings({
        ...base,
        KvAcme__Webhooks__0__Url: "https://example.net/h",
        KvAcme__Webhooks__0__Format: name.toUpperCase(),
      });
      assert.equal(s.webhooks[0]?.format, name);
      const [hook] = agentWebhooks([{ url: "https://example.net/h", kind: name }]);
      assert.equal(agentWebhookTargets([hook!])[0]?.format, name);
      const { body, contentType } = renderPayload(name, event);
      assert.equal(contentType, WEBHOOK_FORMATS[name].contentType, name);
      assert.deepEqual(JSON.parse(body), JSON.parse(JSON.stringify(WEBHOOK_FORMATS[name].render(event))), name);
    }
  });

  it("a format not in the table is refused by the app's settings and by the agent's, naming the table's formats", () => {
    assert.throws(
      () => loadSettings({ ...base, KvAcme__Webhooks__0__Url: "https://example.net/h", KvAcme__Webhooks__0__Format: "carrier-pigeon" }),
      (err: unknown) =>
        err instanceof ConfigurationError &&
        err.message.includes(`KvAcme__Webhooks__0__Format "carrier-pigeon" is not one of ${WEBHOOK_FORMAT_NAMES.join(", ")}`),
    );
    assert.throws(
      () => agentWebhooks([{ url: "https://example.net/h", kind: "carrier-pigeon" }]),
      (err: unknown) =>
        err instanceof ValidationError && err.message.includes(`webhooks[0].kind: must be one of ${WEBHOOK_FORMAT_NAMES.join(", ")}`),
    );
  });

  it("each host and domain a row claims sniffs as that row's format; other hosts get the first row", () => {
    let claims = 0;
    for (const name of WEBHOOK_FORMAT_NAMES) {
      const row = WEBHOOK_FORMATS[name];
      for (const host of row.hosts) {
        assert.equal(sniffWebhookFormat(`https://${host}/x`), name, host);
        claims++;
      }
      for (const d of row.domains) {
        assert.equal(sniffWebhookFormat(`https://${d}/x`), name, d);
        assert.equal(sniffWebhookFormat(`https://tenant.${d}/x`), name, `tenant.${d}`);
        claims++;
      }
    }
    assert.ok(claims >= 5, `the table claims ${claims} hosts and domains`);
    assert.equal(sniffWebhookFormat("https://hooks.example.net/x"), WEBHOOK_FORMAT_NAMES[0]);
  });

  it("docs/settings.md lists the table's formats and their sniffed hosts", () => {
    const doc = readFileSync(path.resolve(__dirname, "../../docs/settings.md"), "utf8");
    const formatRow = doc.split("\n").find((l) => l.startsWith("| `KvAcme__Webhooks__<n>__Format` |")) ?? "";
    assert.ok(formatRow.includes(WEBHOOK_FORMAT_NAMES.join(" \\| ")), formatRow);
    for (const row of Object.values(WEBHOOK_FORMATS)) assert.ok(formatRow.includes(row.description), row.description);
    for (const d of WEBHOOK_FORMATS.teams.domains) assert.ok(doc.includes(`*.${d}`), d);
  });
});
