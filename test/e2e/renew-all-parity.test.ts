/**
 * One renewal flow, two drivers: the timer's `renewCertificates` run (through the local Functions host) and the CLI's
 * `renew --all-due` (bin/kv-acme.js in a child process, same settings) over the same vault send the same webhooks
 * (renewed, renewal_failed, expiring, summary), the same telemetry (outcomes, deliveries, days-to-expiry metric, to a
 * local ingestion endpoint), count the same failure on the certificate's tag and return the same summary.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { issueCertificate } from "../../src/issuance";
import { JumpingClock } from "../../src/local/host";
import { RENEW_ALL_INSTANCE_ID } from "../../src/orchestrations/ids";
import type { RenewalSummary } from "../../src/orchestrations/renew-certificates";
import { DAYS_TO_EXPIRY_METRIC } from "../../src/telemetry";
import { clients } from "../integration/helpers";
import { startReceiver, type Receiver } from "../notify/receiver";
import { startTestApp, type TestApp } from "../support/app";
import { runCliProcess } from "../support/cli";
import { startIngestionReceiver, type IngestionReceiver } from "../telemetry/ingestion-receiver";

const DOOMED_ZONE = "doomed.example.net";

interface CloudEvent {
  type: string;
  subject: string;
  data: Record<string, unknown>;
}

describe("renew-all: the CLI and the timer run emit the same events", () => {
  let app: TestApp;
  let hooks: Receiver;
  let ingest: IngestionReceiver;
  let env: Record<string, string>;
  // The host's clock, moved forward where certificates must become due; the CLI process runs on the same clock.
  const clock = new JumpingClock();

  before(async () => {
    ingest = await startIngestionReceiver();
    hooks = await startReceiver([], { status: 204 }, "/events");
    env = {
      // 5-minute certificates; renewing at 1 % of the lifetime makes them due 3 s after issuance.
      KvAcme__RenewAtPercentOfLifetime: "1",
      KvAcme__Webhooks__0__Url: hooks.url,
      KvAcme__Webhooks__0__Format: "generic",
      KvAcme__Webhooks__0__Events: "*",
      APPLICATIONINSIGHTS_CONNECTION_STRING: ingest.connectionString,
    };
    app = await startTestApp({
      stack: { zones: ["example.com", DOOMED_ZONE], pebble: { validityPeriodSeconds: 300 } },
      env,
      host: { clock },
    });
  });
  after(async () => {
    await app?.close();
    await hooks?.close();
    await ingest?.close();
  });

  /** The webhooks received from index `from` on, as "type subject failedStep" lines, sorted. */
  const webhooksFrom = (from: number): string[] =>
    hooks.received
      .slice(from)
      .map((r) => JSON.parse(r.rawBody.toString("utf8")) as CloudEvent)
      .map((e) => ({ ...e, type: e.type.replace(/^.*?\.(certificate|renewal)\./, "$1.") }))
      .map((e) => (e.type === "renewal.summary" ? e.type : `${e.type} ${e.subject} ${String(e.data.failedStep ?? "")}`.trim()))
      .sort();

  /** The telemetry of one operation: custom events (name, success, certificate, step) and metrics, sorted. */
  const telemetryOf = (operationId: string): string[] =>
    ingest.envelopes
      .filter((e) => e.tags?.["ai.operation.id"] === operationId || e.data.baseData.properties?.operationId === operationId)
      .map((e) => {
        const p = e.data.baseData.properties ?? {};
        if (e.data.baseType === "MetricData") return `metric ${e.data.baseData.metrics?.[0]?.name} ${p.certificateName}`;
        return `${String(e.data.baseData.name)} ${p.success ?? ""} ${p.certificateName ?? ""} ${p.failedStep ?? p.eventType ?? ""}`.trim();
      })
      .sort();

  async function telemetryArrived(operationId: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!telemetryOf(operationId).some((t) => t.startsWith("renewCertificates "))) {
      assert.ok(Date.now() < deadline, `no renewCertificates outcome for ${operationId}: ${telemetryOf(operationId).join(", ")}`);
      await app.runtime.telemetry.flush();
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function failureTag(name: string): Promise<string | undefined> {
    for await (const p of clients(app.stack).certificates.listPropertiesOfCertificates())
      if (p.name === name) return p.tags?.["kv-acme-renewal-failures"];
    return undefined;
  }

  const cliRenewAllDue = () =>
    runCliProcess(
      ["--json", "renew", "--all-due"],
      { ...process.env, ...app.stack.env, ...env },
      { clockOffsetMs: clock.now() - Date.now() },
    );

  /** What must agree between two runs: everything but ids, times and the growing failure count. */
  const comparable = (s: RenewalSummary) => ({
    dryRun: s.dryRun,
    checked: s.checked,
    notDue: s.notDue,
    due: s.due.map((d) => [d.certificateName, d.reason, d.ari]),
    renewed: s.renewed.map((r) => r.certificateName),
    failed: s.failed.map((f) => [f.certificateName, f.failedStep]),
    skipped: s.skipped,
    expiring: s.expiring?.map((e) => [e.certificateName, e.reason, e.daysRemaining]),
    notifications: s.notifications?.map((n) => [n.event, n.target, n.ok]),
  });

  it(
    "same webhooks, telemetry, failure tag and summary from the timer run and `kv-acme renew --all-due`",
    { timeout: 300_000 },
    async () => {
      for (const [name, dnsNames] of [
        ["fine", ["fine.example.com"]],
        ["doomed", ["www.doomed.example.net"]],
      ] as const)
        await issueCertificate({ dnsNames: [...dnsNames], certificateName: name, keyOptions: { keyType: "EC-P256" } }, app.runtime.deps);
      const { dns } = clients(app.stack);
      await dns.zones.beginDeleteAndWait(app.stack.info.resourceGroup, DOOMED_ZONE);
      await clock.jump(3500); // 1 % of 300 s: both are due

      const timerFrom = hooks.received.length;
      await app.host.fireTimer("renewalTimer");
      const status = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 180_000);
      assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
      const timer = status.output as RenewalSummary;
      await telemetryArrived(timer.operationId ?? "");
      const timerHooks = webhooksFrom(timerFrom);
      assert.match((await failureTag("doomed")) ?? "", /^1;/);

      await clock.jump(3500); // "fine" (renewed just now) is due again, for the CLI too (it runs on this clock)
      const cliFrom = hooks.received.length;
      const r = await cliRenewAllDue();
      assert.equal(r.code, 0, r.stderr);
      const cli = JSON.parse(r.stdout) as RenewalSummary;
      await telemetryArrived(cli.operationId ?? "");
      const cliHooks = webhooksFrom(cliFrom);
      assert.match((await failureTag("doomed")) ?? "", /^2;/, "the CLI run counted its failure on the certificate too");

      assert.deepEqual(timerHooks, [
        "certificate.expiring doomed",
        "certificate.renewal_failed doomed validate",
        "certificate.renewed fine",
        "renewal.summary",
      ]);
      assert.deepEqual(cliHooks, timerHooks, "the same webhooks");
      assert.deepEqual(comparable(cli), comparable(timer), "the same summary");
      assert.deepEqual(
        hooks.received
          .map((x) => JSON.parse(x.rawBody.toString("utf8")) as CloudEvent)
          .filter((e) => e.type.endsWith("renewal_failed"))
          .map((e) => e.data.attempt),
        [1, 2],
        "each run's renewal_failed carries the count of the tag",
      );

      const timerTelemetry = telemetryOf(timer.operationId ?? "");
      assert.ok(timerTelemetry.includes(`metric ${DAYS_TO_EXPIRY_METRIC} fine`), timerTelemetry.join("\n"));
      assert.ok(timerTelemetry.includes("renewCertificate false doomed validate"), timerTelemetry.join("\n"));
      assert.deepEqual(telemetryOf(cli.operationId ?? ""), timerTelemetry, "the same telemetry");
    },
  );
});
