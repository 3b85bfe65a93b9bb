/**
 * Whole runs through the local Functions host (the real function app, durable-functions' replay engine) against the
 * private local stack: issuance through the durable client route, a failed issuance with full cleanup, a timer-started
 * renewal run over 3 due certificates plus one whose DNS zone was deleted, and revocation. Asserts on the vault, the
 * ARM DNS API, the webhooks received and the orchestration outputs.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ORCHESTRATIONS, RENEW_ALL_INSTANCE_ID, certificateInstanceId, revokeInstanceId } from "../../src/orchestrations/ids";
import type { RenewalSummary } from "../../src/orchestrations/renew-certificates";
import type { IssueOrchestrationOutput } from "../../src/orchestrations/issue-certificate";
import { getPending } from "../../src/keyvault/certificates";
import { JumpingClock } from "../../src/local/host";
import { startTestApp, type TestApp } from "../support/app";
import { clients } from "../integration/helpers";
import { startReceiver, type Receiver } from "../notify/receiver";
import { call } from "../api/support";
import { CLOUDEVENT_TYPE_PREFIX } from "../../src/notify/formats/generic";

const DOOMED_ZONE = "doomed.example.net";

interface CloudEvent {
  id: string;
  type: string;
  subject: string;
  data: Record<string, unknown>;
}

describe("orchestrations through the local host", () => {
  let app: TestApp;
  let hooks: Receiver;
  // The host's clock: the wall clock, moved forward where a test needs certificates to become due (no sleeping).
  const clock = new JumpingClock();

  before(async () => {
    hooks = await startReceiver([], { status: 204 }, "/events");
    app = await startTestApp({
      // 5-minute certificates; renewing at 1 % of the lifetime makes them due 3 s after issuance (a 3.5 s clock jump).
      stack: { zones: ["example.com", "example.org", DOOMED_ZONE], pebble: { validityPeriodSeconds: 300 } },
      env: {
        KvAcme__RenewAtPercentOfLifetime: "1",
        KvAcme__MaxConcurrentRenewals: "2",
        KvAcme__Webhooks__0__Url: hooks.url,
        KvAcme__Webhooks__0__Format: "generic",
        KvAcme__Webhooks__0__Events: "*",
      },
      host: { clock },
    });
  });
  after(async () => {
    await app?.close();
    await hooks?.close();
  });

  const events = (type: string): CloudEvent[] =>
    hooks.received
      .map((r) => JSON.parse(r.rawBody.toString("utf8")) as CloudEvent)
      .filter((e) => e.type === `${CLOUDEVENT_TYPE_PREFIX}${type}`);

  async function issue(certificateName: string, dnsNames: string[]): Promise<IssueOrchestrationOutput> {
    // Through the durable client webhook route, as the HTTP API's starter does.
    const id = certificateInstanceId(certificateName);
    const res = await fetch(`${app.host.url}/runtime/webhooks/durabletask/orchestrators/${ORCHESTRATIONS.issue}/${id}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-functions-key": app.host.systemKey },
      body: JSON.stringify({ dnsNames, certificateName }),
    });
    assert.equal(res.status, 202, await res.text());
    const status = await app.host.waitForInstance(id, 90_000);
    assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
    return status.output as IssueOrchestrationOutput;
  }

  /** TXT values in every zone that still exists, through the ARM API. */
  async function txtValues(): Promise<Record<string, string[]>> {
    const { dns } = clients(app.stack);
    const out: Record<string, string[]> = {};
    for await (const zone of dns.zones.list()) {
      for await (const rs of dns.recordSets.listByDnsZone(app.stack.info.resourceGroup, zone.name ?? "")) {
        if (rs.txtRecords && rs.txtRecords.length > 0) out[`${rs.name}.${zone.name}`] = rs.txtRecords.map((r) => (r.value ?? []).join(""));
      }
    }
    return out;
  }

  async function assertNoOrphans(names: string[]): Promise<void> {
    assert.deepEqual(await txtValues(), {}, "no TXT values left");
    const { certificates } = clients(app.stack);
    for (const name of names) {
      const op = await getPending(certificates, name);
      assert.ok(!op || op.status === "completed", `${name}: pending operation left (${op?.status})`);
    }
  }

  it("issues certificates; a failing issuance fails fast at validation and leaves nothing behind", { timeout: 180_000 }, async () => {
    const results = await Promise.all([
      issue("alpha", ["alpha.example.com"]),
      issue("beta", ["beta.example.org", "*.beta.example.org"]),
      issue("gamma", ["gamma.example.com"]),
      issue("doomed", ["www.doomed.example.net"]),
    ]);
    for (const r of results) {
      assert.match(r.version, /^[0-9a-f]{32}$/);
      assert.equal(r.reason, "issue");
      assert.ok(Date.parse(r.notAfter) > Date.now());
    }
    const issued = events("certificate.issued")
      .map((e) => e.subject)
      .sort();
    assert.deepEqual(issued, ["alpha", "beta", "doomed", "gamma"]);
    const status = app.host.getStatus(certificateInstanceId("gamma"));
    assert.deepEqual((status?.customStatus as { step: string }).step, "done");

    // A name in no zone: validation fails (no retry), nothing written.
    const id = certificateInstanceId("nozone");
    await app.host.durable.startNew(ORCHESTRATIONS.issue, { dnsNames: ["www.not-a-zone.test"], certificateName: "nozone" }, id);
    const failed = await app.host.waitForInstance(id, 30_000);
    assert.equal(failed.runtimeStatus, "Failed");
    assert.match(String(failed.output), /^Orchestrator function 'issueCertificate' failed: validate: .*not-a-zone/);
    const failedStatus = failed.customStatus as { error: string; operationId: string };
    assert.match(failedStatus.operationId, /^[0-9a-f]{32}$/);
    assert.deepEqual(failed.customStatus, {
      step: "failed",
      certificateName: "nozone",
      reason: "issue",
      failedStep: "validate",
      error: failedStatus.error,
      operationId: failedStatus.operationId,
    });
    const scheduled = (app.host.durable.getRecord(id)?.history ?? []).filter((e) => e.EventType === 4).map((e) => e.Name);
    assert.deepEqual(scheduled, ["validateRequest", "abandonIssuance", "report"], "validation failures are not retried and write nothing");
    await assertNoOrphans(["alpha", "beta", "gamma", "doomed", "nozone"]);
  });

  it(
    "the timer's renewal run renews every due certificate, reports the one whose zone is gone, and cleans up",
    { timeout: 240_000 },
    async () => {
      const { dns, certificates } = clients(app.stack);
      await dns.zones.beginDeleteAndWait(app.stack.info.resourceGroup, DOOMED_ZONE);
      await clock.jump(3500); // 1 % of 300 s: every certificate is due now

      await app.host.fireTimer("renewalTimer");
      const status = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 180_000);
      assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
      const summary = status.output as RenewalSummary;
      assert.equal(summary.checked, 4);
      assert.deepEqual(
        summary.due.map((d) => d.certificateName),
        ["alpha", "beta", "doomed", "gamma"],
      );
      assert.deepEqual(
        summary.renewed.map((r) => r.certificateName),
        ["alpha", "beta", "gamma"],
      );
      assert.equal(summary.failed.length, 1, JSON.stringify(summary.failed));
      assert.equal(summary.failed[0]?.certificateName, "doomed");
      assert.equal(summary.failed[0]?.failedStep, "validate", JSON.stringify(summary.failed));
      assert.match(summary.failed[0]?.error ?? "", /doomed\.example\.net/);
      assert.ok(summary.maxInFlight <= 2 && summary.maxInFlight >= 1, `maxInFlight ${summary.maxInFlight}`);

      for (const name of ["alpha", "beta", "gamma"]) {
        const versions: string[] = [];
        for await (const v of certificates.listPropertiesOfCertificateVersions(name)) versions.push(v.version ?? "");
        assert.equal(versions.length, 2, `${name}: one new version`);
        const child = app.host.getStatus(certificateInstanceId(name));
        assert.equal((child?.output as IssueOrchestrationOutput).reason, "renew");
      }
      // Webhooks: one renewed per certificate, one renewal_failed with the step, one summary with the counts.
      assert.deepEqual(
        events("certificate.renewed")
          .map((e) => e.subject)
          .sort(),
        ["alpha", "beta", "gamma"],
      );
      const failedEvents = events("certificate.renewal_failed");
      assert.equal(failedEvents.length, 1);
      assert.equal(failedEvents[0]?.data.failedStep, "validate");
      assert.equal(failedEvents[0]?.data.attempt, 1);
      const summaries = events("renewal.summary");
      assert.equal(summaries.length, 1);
      assert.deepEqual(summaries[0]?.data.counts, { renewed: 3, failed: 1, skipped: 0 });
      await assertNoOrphans(["alpha", "beta", "gamma", "doomed"]);

      // The failure is counted on the certificate (a tag the list API returns); renewed certificates carry none.
      const failureTags = async (): Promise<Record<string, string | undefined>> => {
        const out: Record<string, string | undefined> = {};
        for await (const p of certificates.listPropertiesOfCertificates()) out[p.name ?? ""] = p.tags?.["kv-acme-renewal-failures"];
        return out;
      };
      const tags1 = await failureTags();
      assert.match(tags1.doomed ?? "", /^1;/);
      for (const name of ["alpha", "beta", "gamma"]) assert.equal(tags1[name], undefined, name);

      // certificate.expiring: the one due certificate that was not renewed and expires within ExpiryWarningDays (7).
      const doomedVersion = (await certificates.getCertificate("doomed")).properties.version;
      const expiring1 = events("certificate.expiring");
      assert.equal(expiring1.length, 1, JSON.stringify(expiring1));
      assert.equal(expiring1[0]?.subject, "doomed");
      assert.equal(expiring1[0]?.data.reason, "within-warning-threshold");
      assert.equal(expiring1[0]?.data.daysRemaining, 0);
      assert.equal(expiring1[0]?.data.failedAttempts, 1);
      assert.equal(expiring1[0]?.data.version, doomedVersion);
      assert.deepEqual(expiring1[0]?.data.dnsNames, ["www.doomed.example.net"]);
      assert.deepEqual(summary.expiring, [
        { certificateName: "doomed", reason: "within-warning-threshold", daysRemaining: 0, failedAttempts: 1 },
      ]);
      assert.ok(
        summary.notifications?.some(
          (n) => n.event === "certificate.expiring" && n.ok && n.attempts === 1 && n.target === new URL(hooks.url).origin,
        ),
      );

      // A second run: the failure count reaches 2 (renewal_failed's attempt, the tag, the expiring notice).
      await clock.jump(3500);
      await app.host.fireTimer("renewalTimer");
      const second = (await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 180_000)).output as RenewalSummary;
      assert.notEqual(second.operationId, summary.operationId, "each run has its own operation id");
      assert.deepEqual(
        second.failed.map((f) => f.certificateName),
        ["doomed"],
      );
      assert.deepEqual(
        events("certificate.renewal_failed").map((e) => e.data.attempt),
        [1, 2],
      );
      assert.match((await failureTags()).doomed ?? "", /^2;/);
      const expiring2 = events("certificate.expiring");
      assert.equal(expiring2.length, 2, "one notice per certificate per run");
      assert.equal(expiring2[1]?.data.failedAttempts, 2);
      // Same version, reason and days remaining: the same idempotency key, so a receiver drops the repeat the same day.
      assert.equal(expiring2[1]?.id, expiring2[0]?.id);

      // A second tick while nothing runs starts a new run; its outcome is recorded again (singleton id reused).
      const again = await app.host.durable.startNew(ORCHESTRATIONS.renewAll, { dryRun: true }, RENEW_ALL_INSTANCE_ID);
      const dry = (await app.host.waitForInstance(again, 60_000)).output as RenewalSummary;
      assert.equal(dry.dryRun, true);
      assert.equal(dry.renewed.length, 0);
      assert.ok(dry.skipped.some((s) => s.reason === "dry run"));
    },
  );

  it(
    "a renewal run skips a certificate whose HTTP-started renewal is still running and renews the others",
    { timeout: 240_000 },
    async () => {
      const { dns } = clients(app.stack);
      const rg = app.stack.info.resourceGroup;
      // Hold gamma's renewal at the propagation step for real: its challenge name is delegated to a server that does not
      // exist, so the authoritative server answers with a referral and the TXT value never becomes visible.
      await dns.recordSets.createOrUpdate(rg, "example.com", "_acme-challenge.gamma", "NS", {
        ttl: 60,
        nsRecords: [{ nsdname: "ns1.nowhere.invalid" }],
      });
      const started = await call(app.api, "POST", "/certificates/gamma/renew");
      assert.equal(started.status, 202, started.text);
      const gammaId = certificateInstanceId("gamma");
      const held = Date.now() + 60_000;
      while ((app.host.getStatus(gammaId)?.customStatus as { step?: string } | null)?.step !== "propagation") {
        assert.ok(Date.now() < held, `gamma's renewal did not reach propagation: ${JSON.stringify(app.host.getStatus(gammaId))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await clock.jump(3500); // beta (renewed by the previous run) is due again
      const before = app.host.durable.getRecord(gammaId)!;

      await app.host.fireTimer("renewalTimer");
      const status = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 180_000);
      assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
      const summary = status.output as RenewalSummary;
      assert.ok(
        summary.due.some((d) => d.certificateName === "gamma"),
        "gamma is due",
      );
      assert.deepEqual(
        summary.skipped.filter((s) => s.certificateName === "gamma"),
        [{ certificateName: "gamma", reason: "already in progress" }],
      );
      assert.ok(
        summary.renewed.some((r) => r.certificateName === "beta"),
        JSON.stringify(summary),
      );
      assert.ok(
        !summary.renewed.some((r) => r.certificateName === "gamma") && !summary.failed.some((f) => f.certificateName === "gamma"),
        JSON.stringify(summary),
      );
      const run = app.host.durable.getRecord(RENEW_ALL_INSTANCE_ID)!;
      const children = run.history.filter((e) => e.EventType === 7).map((e) => e.InstanceId);
      assert.ok(!children.includes(gammaId), "no sub-orchestration was started for gamma");
      assert.ok(run.history.some((e) => e.EventType === 4 && e.Name === "findRenewalsInProgress"));
      const during = app.host.durable.getRecord(gammaId)!;
      assert.equal(during.runtimeStatus, "Running");
      assert.equal(during.executionId, before.executionId, "the HTTP-started renewal was not restarted");

      // Release the hold: gamma's own renewal completes and leaves nothing behind.
      await dns.recordSets.delete(rg, "example.com", "_acme-challenge.gamma", "NS");
      const gamma = await app.host.waitForInstance(gammaId, 90_000);
      assert.equal(gamma.runtimeStatus, "Completed", JSON.stringify(gamma.output));
      assert.equal((gamma.output as IssueOrchestrationOutput).reason, "renew");
      await assertNoOrphans(["beta", "gamma"]);
    },
  );

  it("revokes through the orchestration and reports it", { timeout: 60_000 }, async () => {
    const id = revokeInstanceId("alpha");
    await app.host.durable.startNew(ORCHESTRATIONS.revoke, { certificateName: "alpha", reason: "superseded", disable: true }, id);
    const status = await app.host.waitForInstance(id, 45_000);
    assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
    const out = status.output as { alreadyRevoked: boolean; disabled: boolean; reasonCode: number; dnsNames: string[] };
    assert.equal(out.alreadyRevoked, false);
    assert.equal(out.disabled, true);
    assert.equal(out.reasonCode, 4);
    assert.deepEqual(out.dnsNames, ["alpha.example.com"]);
    const revoked = events("certificate.revoked");
    assert.equal(revoked.length, 1);
    assert.equal(revoked[0]?.subject, "alpha");
  });
});
