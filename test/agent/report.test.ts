/** The agent's install outcomes reach its webhooks through the notify module (signed CloudEvents, Slack, retries). */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { agentWebhookTargets, webhookReporter } from "../../src/agent/report";
import { generateSigningSecret, libraryVerdict } from "../notify/standard-webhooks";
import { startReceiver, Receiver } from "../notify/receiver";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const warnings: string[] = [];
const recording = { ...quiet, warn: (m: string) => void warnings.push(m) };

describe("agent webhook reporting", () => {
  let generic: Receiver;
  let failing: Receiver;
  before(async () => {
    generic = await startReceiver([{ status: 503 }]);
    failing = await startReceiver([], { status: 400, body: "no" });
  });
  after(async () => {
    await generic.close();
    await failing.close();
  });

  it("maps kind to the format and filters to install events", () => {
    const targets = agentWebhookTargets([{ url: "https://hooks.slack.com/services/x" }, { url: "https://example.net/h", kind: "teams" }]);
    assert.deepEqual(
      targets.map((t) => [t.format, t.events]),
      [
        ["slack", ["certificate.install*"]],
        ["teams", ["certificate.install*"]],
      ],
    );
  });

  it("delivers a signed certificate.installed event, retrying a 503, and logs a 400 without throwing", async () => {
    const secret = generateSigningSecret();
    const report = webhookReporter(
      [
        { url: generic.url, kind: "generic", secret },
        { url: failing.url, kind: "generic" },
      ],
      recording,
      { timeoutMs: 2000, maxAttempts: 3 },
    );
    await report({
      type: "certificate.installed",
      host: "vm1",
      certificateName: "www",
      vaultUrl: "https://v",
      version: "abc",
      thumbprint: "AB",
      bindingsUpdated: ["nginx:/etc/nginx/site.pem"],
    });
    assert.equal(generic.received.length, 2, "503 retried once");
    const last = generic.received[1];
    const body = JSON.parse(last.rawBody.toString("utf8")) as {
      type: string;
      data: { host: string; certificateName: string; bindingsUpdated: string[] };
    };
    assert.equal(body.type, "com.github.kv-acme.certificate.installed");
    assert.equal(body.data.host, "vm1");
    assert.deepEqual(body.data.bindingsUpdated, ["nginx:/etc/nginx/site.pem"]);
    assert.equal(libraryVerdict(secret, last.headers, last.rawBody), "ok");
    assert.equal(failing.received.length, 1, "400 not retried");
    assert.ok(warnings.some((w) => /webhook delivery failed/.test(w)));
  });
});
