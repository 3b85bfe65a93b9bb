/**
 * Telemetry and webhook outcomes of the real function app through the local Functions host: a local HTTPS ingestion
 * endpoint named in APPLICATIONINSIGHTS_CONNECTION_STRING receives what the SDK really sends, and a webhook target
 * that answers 400 shows how a failed delivery is reported (never retried, never failing the issuance, visible in
 * the operation status without the target's path or query).
 *
 * Correlation: the W3C traceparent of the HTTP request becomes ai.operation.id of the orchestration outcome and of
 * every webhook delivery it caused.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RENEW_ALL_INSTANCE_ID } from "../../src/orchestrations/ids";
import type { NotificationSummary } from "../../src/orchestrations/issue-certificate";
import type { RenewalSummary } from "../../src/orchestrations/renew-certificates";
import { DAYS_TO_EXPIRY_METRIC } from "../../src/telemetry";
import { call, pollOperation } from "../api/support";
import { clients } from "../integration/helpers";
import { startReceiver, type Receiver } from "../notify/receiver";
import { startTestApp, type TestApp } from "../support/app";
import { startIngestionReceiver, type Envelope, type IngestionReceiver } from "./ingestion-receiver";

const DOOMED_ZONE = "doomed.example.net";
const ISSUE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const RENEW_TRACE = "0af7651916cd43dd8448eb211c80319c";
const traceparent = (traceId: string) => `00-${traceId}-00f067aa0ba902b7-01`;

describe("telemetry and webhook outcomes through the local host", { concurrency: false }, () => {
  let ingest: IngestionReceiver;
  let hooks: Receiver;
  let app: TestApp;
  let hookOrigin: string;

  before(async () => {
    ingest = await startIngestionReceiver();
    // The path and query carry a token, as Slack and Teams URLs do: they must never show up in a status.
    hooks = await startReceiver([], { status: 400, body: "bad payload" }, "/hooks/T000/B000/s3cr3t-token?sig=query-s3cr3t");
    hookOrigin = new URL(hooks.url).origin;
    app = await startTestApp({
      stack: { zones: ["example.com", DOOMED_ZONE] },
      env: {
        APPLICATIONINSIGHTS_CONNECTION_STRING: ingest.connectionString,
        KvAcme__Webhooks__0__Url: hooks.url,
        KvAcme__Webhooks__0__Format: "generic",
        KvAcme__Webhooks__0__Events: "*",
      },
    });
  });
  after(async () => {
    await app?.close();
    await hooks?.close();
    await ingest?.close();
  });

  const events = (name: string): Envelope[] =>
    ingest.envelopes.filter((e) => e.data.baseType === "EventData" && e.data.baseData.name === name);

  /** Flushes the app's telemetry and waits until `ready` holds for the envelopes received. */
  async function received(ready: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      await app.runtime.telemetry.flush();
      if (ready()) return;
      if (Date.now() > deadline)
        throw new Error(
          `not received: ${what}; events: ${ingest.envelopes.map((e) => e.data.baseData.name ?? e.data.baseType).join(", ")}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function issueThroughApi(certificateName: string, dnsNames: string[], trace?: string) {
    const started = await call(app.api, "POST", "/certificates", {
      body: { dnsNames, certificateName },
      headers: trace ? { traceparent: traceparent(trace) } : {},
    });
    assert.equal(started.status, 202, started.text);
    return (await pollOperation(app.host.url, started.headers.get("location") ?? "", {}, 120_000)).final;
  }

  it(
    "an issuance: outcome event correlated with the request's traceparent; a 400 webhook is not retried and shows in the status",
    { timeout: 180_000 },
    async () => {
      const started = Date.now();
      const final = await issueThroughApi("tele", ["tele.example.com"], ISSUE_TRACE);
      assert.equal(final.body.status, "Completed", final.text);
      assert.ok(Date.now() - started < 60_000, "a failing webhook does not hold the issuance back");

      // The failed delivery is in the output and the custom status: origin only, no path, no query.
      const expected: NotificationSummary[] = [{ event: "certificate.issued", target: hookOrigin, ok: false, attempts: 1, status: 400 }];
      assert.deepEqual(final.body.output.notifications, expected);
      assert.deepEqual(final.body.customStatus.notifications, expected);
      assert.equal(final.body.output.operationId, ISSUE_TRACE);
      assert.doesNotMatch(final.text, /s3cr3t|\/hooks\//, "the target's path and query never appear in the operation status");
      assert.equal(hooks.received.length, 1, "a 400 is not retried");
      assert.equal(hooks.received[0]?.url, "/hooks/T000/B000/s3cr3t-token?sig=query-s3cr3t");

      await received(
        () => events("issueCertificate").length > 0 && events("webhookDelivery").length > 0,
        "issueCertificate and webhookDelivery",
      );
      const outcome = events("issueCertificate")[0] as Envelope;
      assert.equal(outcome.tags?.["ai.operation.id"], ISSUE_TRACE, "operation_Id is the traceparent's trace id");
      const props = outcome.data.baseData.properties ?? {};
      assert.deepEqual(
        {
          success: props.success,
          certificateName: props.certificateName,
          namesCount: props.namesCount,
          caHost: props.caHost,
          operationId: props.operationId,
          failedStep: props.failedStep,
        },
        {
          success: "true",
          certificateName: "tele",
          namesCount: "1",
          caHost: new URL(app.stack.info.acmeDirectoryUrl).host,
          operationId: ISSUE_TRACE,
          failedStep: undefined,
        },
      );
      const measurements = outcome.data.baseData.measurements as { durationMs: number; namesCount: number };
      assert.equal(measurements.namesCount, 1);
      assert.ok(measurements.durationMs > 0 && measurements.durationMs < 120_000, `durationMs ${measurements.durationMs}`);

      const hook = events("webhookDelivery")[0] as Envelope;
      assert.equal(hook.tags?.["ai.operation.id"], ISSUE_TRACE);
      assert.deepEqual(
        {
          target: hook.data.baseData.properties?.target,
          success: hook.data.baseData.properties?.success,
          status: hook.data.baseData.properties?.status,
          eventType: hook.data.baseData.properties?.eventType,
        },
        { target: hookOrigin, success: "false", status: "400", eventType: "certificate.issued" },
      );
      assert.equal((hook.data.baseData.measurements as { attempts: number }).attempts, 1);
      assert.doesNotMatch(JSON.stringify(ingest.envelopes), /s3cr3t/, "no webhook token in telemetry");
    },
  );

  it("a renewal scan sends certificate.days_to_expiry for every managed certificate", { timeout: 180_000 }, async () => {
    const second = await issueThroughApi("tele-doomed", ["www.doomed.example.net"]);
    assert.equal(second.body.status, "Completed", second.text);
    assert.match(second.body.output.operationId, /^[0-9a-f]{32}$/, "without a traceparent the starter makes an operation id");
    assert.notEqual(second.body.output.operationId, ISSUE_TRACE);

    await app.host.fireTimer("renewalTimer");
    const run = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 120_000);
    assert.equal(run.runtimeStatus, "Completed", JSON.stringify(run.output));
    const summary = run.output as RenewalSummary;
    assert.equal(summary.checked, 2);

    const metricFor = (name: string) =>
      ingest.envelopes.filter(
        (e) =>
          e.data.baseType === "MetricData" &&
          e.data.baseData.metrics?.[0]?.name === DAYS_TO_EXPIRY_METRIC &&
          e.data.baseData.properties?.certificateName === name,
      );
    await received(() => metricFor("tele").length > 0 && metricFor("tele-doomed").length > 0, DAYS_TO_EXPIRY_METRIC);
    const { certificates } = clients(app.stack);
    for (const name of ["tele", "tele-doomed"]) {
      const expiresOn = (await certificates.getCertificate(name)).properties.expiresOn?.getTime() ?? 0;
      const metric = metricFor(name)[0]?.data.baseData.metrics?.[0];
      const days = (expiresOn - Date.now()) / 86_400_000;
      assert.ok(
        metric && metric.value > 0 && Math.abs(metric.value - days) < 1,
        `${name}: metric ${JSON.stringify(metric)}, expected about ${days} days`,
      );
      assert.equal(metricFor(name)[0]?.data.baseData.properties?.operationId, summary.operationId);
    }
    // The run's own outcome carries the run's operation id (the timer made one).
    await received(
      () => events("renewCertificates").some((e) => e.tags?.["ai.operation.id"] === summary.operationId),
      "renewCertificates outcome",
    );
  });

  it(
    "a failing renewal: outcome with success=false and failedStep, correlated; the failed webhook in the status",
    { timeout: 180_000 },
    async () => {
      const { dns } = clients(app.stack);
      await dns.zones.beginDeleteAndWait(app.stack.info.resourceGroup, DOOMED_ZONE);
      const before = hooks.received.length;
      const started = await call(app.api, "POST", "/certificates/tele-doomed/renew", {
        headers: { traceparent: traceparent(RENEW_TRACE) },
      });
      assert.equal(started.status, 202, started.text);
      const { final } = await pollOperation(app.host.url, started.headers.get("location") ?? "", {}, 120_000);
      assert.equal(final.body.status, "Failed", final.text);
      assert.match(final.body.error.message, /^validate: .*doomed\.example\.net/);
      assert.equal(final.body.customStatus.failedStep, "validate");
      assert.equal(final.body.customStatus.operationId, RENEW_TRACE);
      assert.deepEqual(final.body.customStatus.notifications, [
        { event: "certificate.renewal_failed", target: hookOrigin, ok: false, attempts: 1, status: 400 },
      ]);
      assert.doesNotMatch(final.text, /s3cr3t/);
      assert.equal(hooks.received.length - before, 1, "one renewal_failed delivery, not retried");

      await received(() => events("renewCertificate").some((e) => e.tags?.["ai.operation.id"] === RENEW_TRACE), "renewCertificate outcome");
      const outcome = events("renewCertificate").find((e) => e.tags?.["ai.operation.id"] === RENEW_TRACE) as Envelope;
      const props = outcome.data.baseData.properties ?? {};
      assert.equal(props.success, "false");
      assert.equal(props.failedStep, "validate");
      assert.equal(props.certificateName, "tele-doomed");
      assert.equal(props.namesCount, "1");
      assert.match(props.error ?? "", /doomed\.example\.net/);
      assert.ok(
        events("webhookDelivery").some(
          (e) => e.tags?.["ai.operation.id"] === RENEW_TRACE && e.data.baseData.properties?.eventType === "certificate.renewal_failed",
        ),
      );
    },
  );
});
