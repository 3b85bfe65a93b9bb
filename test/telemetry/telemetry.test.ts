import { test } from "node:test";
import assert from "node:assert/strict";
import { createTelemetry, newOperationId, operationIdFromTraceparent, DAYS_TO_EXPIRY_METRIC } from "../../src/telemetry";
import { ConfigurationError } from "../../src/shared/errors";
import type { DeliveryResult } from "../../src/notify";
import { startIngestionReceiver } from "./ingestion-receiver";

test("without a connection string telemetry is disabled, says so, and does nothing", async () => {
  for (const cs of [undefined, "", "   "]) {
    const t = createTelemetry({ connectionString: cs, roleName: "kv-acme" });
    assert.equal(t.enabled, false);
    assert.match(t.disabledReason ?? "", /no Application Insights connection string/);
    t.trackOutcome({ name: "issueCertificate", success: true, certificateName: "x", namesCount: 1, caHost: "ca", durationMs: 1 });
    t.trackDaysToExpiry("x", 3);
    await t.flush();
    await t.shutdown();
  }
  assert.throws(
    () => createTelemetry({ connectionString: "IngestionEndpoint=https://127.0.0.1:1/", roleName: "kv-acme" }),
    ConfigurationError,
  );
});

test("events and the days-to-expiry metric reach the ingestion endpoint, correlated by operation id", async () => {
  const ingest = await startIngestionReceiver();
  const t = createTelemetry({ connectionString: ingest.connectionString, roleName: "func-kvacme-test", disableOfflineStorage: true });
  try {
    assert.equal(t.enabled, true);
    const operationId = operationIdFromTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert.equal(operationId, "0af7651916cd43dd8448eb211c80319c");
    t.trackOutcome({
      name: "renewCertificate",
      success: false,
      certificateName: "www-example-com",
      namesCount: 2,
      caHost: "127.0.0.1:14000",
      durationMs: 1234,
      failedStep: "validate",
      error: "urn:ietf:params:acme:error:unauthorized",
      operationId: operationId!,
    });
    t.trackOutcome({
      name: "issueCertificate",
      success: true,
      certificateName: "api-example-com",
      namesCount: 1,
      caHost: "127.0.0.1:14000",
      durationMs: 800,
    });
    t.trackDaysToExpiry("www-example-com", 42);
    const delivery: DeliveryResult = {
      target: "https://hooks.slack.com",
      format: "slack",
      eventId: "evt_1",
      eventType: "certificate.renewed",
      ok: false,
      attempts: 3,
      status: 503,
      error: "HTTP 503",
      durationMs: 2100,
    };
    t.trackWebhook(delivery, operationId!);
    const started = Date.now();
    await t.flush();
    assert.ok(Date.now() - started < 5000, "flush forces the export instead of waiting for the interval");

    assert.ok(
      ingest.requests.every((r) => r.path === "/v2.1/track"),
      JSON.stringify(ingest.requests),
    );
    const events = ingest.envelopes.filter((e) => e.data.baseType === "EventData");
    const byName = (name: string) => events.find((e) => e.data.baseData.name === name);

    const renew = byName("renewCertificate");
    assert.ok(renew, `events sent: ${events.map((e) => e.data.baseData.name).join(", ")}`);
    assert.equal(renew.iKey ?? renew.instrumentationKey, ingest.instrumentationKey);
    assert.equal(renew.name, "Microsoft.ApplicationInsights.Event");
    assert.deepEqual(
      { ...renew.data.baseData.properties },
      {
        success: "false",
        certificateName: "www-example-com",
        namesCount: "2",
        caHost: "127.0.0.1:14000",
        failedStep: "validate",
        error: "urn:ietf:params:acme:error:unauthorized",
        operationId,
      },
    );
    assert.deepEqual(renew.data.baseData.measurements, { durationMs: 1234, namesCount: 2 });
    assert.equal(renew.tags?.["ai.operation.id"], operationId, "operation_Id is the W3C trace id");
    assert.equal(renew.tags?.["ai.cloud.role"], "func-kvacme-test");

    const issue = byName("issueCertificate");
    assert.ok(issue);
    assert.equal(issue.data.baseData.properties?.success, "true");
    assert.equal(issue.data.baseData.properties?.failedStep, undefined);

    const hook = byName("webhookDelivery");
    assert.ok(hook);
    assert.equal(hook.data.baseData.properties?.target, "https://hooks.slack.com");
    assert.equal(hook.data.baseData.properties?.status, "503");
    assert.equal(hook.tags?.["ai.operation.id"], operationId);

    const metric = ingest.envelopes.find(
      (e) => e.data.baseType === "MetricData" && e.data.baseData.metrics?.[0]?.name === DAYS_TO_EXPIRY_METRIC,
    );
    assert.ok(metric, "the metric was exported");
    assert.equal(metric.data.baseData.metrics?.[0].value, 42);
    assert.equal(metric.data.baseData.properties?.certificateName, "www-example-com");
  } finally {
    await t.shutdown();
    await ingest.close();
  }
});

test("operation ids: traceparent parsing and generation", () => {
  const table: Array<[string | undefined, string | null]> = [
    ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736"],
    ["00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00", "4bf92f3577b34da6a3ce929d0e0e4736"],
    ["00-00000000000000000000000000000000-00f067aa0ba902b7-01", null],
    ["00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", null],
    ["ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", null],
    ["00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", null],
    ["garbage", null],
    [undefined, null],
  ];
  for (const [header, want] of table) assert.equal(operationIdFromTraceparent(header), want, String(header));
  const a = newOperationId();
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.notEqual(a, newOperationId());
});
