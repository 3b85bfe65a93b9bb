/**
 * A renewal run larger than a page, through the local Functions host (the real function app, durable-functions'
 * replay engine) and the private local stack: 12 due certificates in pages of 5 run in the renewCertificatesBatch
 * orchestration, one page per execution (continueAsNew), after the run's first renewal alone, and every certificate
 * is renewed. Asserts the history bound
 * (no execution holds more than one page), the page boundary in the last execution's history, and the summary.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ORCHESTRATIONS, RENEW_ALL_INSTANCE_ID, certificateInstanceId } from "../../src/orchestrations/ids";
import { renewBatchInstanceId } from "../../src/orchestrations/durable-driver";
import type { RenewalSummary } from "../../src/orchestrations/renew-certificates";
import { startTestApp, type TestApp } from "../support/app";

const CERTS = 12;
const PAGE = 5;
/** Per renewal a page's history holds its sub-orchestration's created and completed events and an episode's two. */
const EVENTS_PER_RENEWAL = 6;
const PAGE_OVERHEAD = 20;
/** EventType.SubOrchestrationInstanceCreated (DurableTask.Core). */
const SUB_ORCHESTRATION_CREATED = 7;

describe("renewal run in pages (bounded history)", () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp({
      stack: { zones: ["example.com"], pebble: { validityPeriodSeconds: 600 } },
      env: {
        KvAcme__RenewAtPercentOfLifetime: "1",
        KvAcme__MaxConcurrentRenewals: "3",
        KvAcme__RenewalBatchSize: String(PAGE),
        KvAcme__RenewalPlanHorizonHours: "0",
      },
    });
  });
  after(async () => {
    await app?.close();
  });

  it(`renews ${CERTS} due certificates in pages of ${PAGE}, no execution's history above one page, each page continued as new`, async () => {
    const names = Array.from({ length: CERTS }, (_, i) => `page-${String(i).padStart(2, "0")}`);
    await Promise.all(
      names.map((n) =>
        app.host.durable.startNew(ORCHESTRATIONS.issue, { dnsNames: [`${n}.example.com`], certificateName: n }, certificateInstanceId(n)),
      ),
    );
    const issued = await Promise.all(names.map((n) => app.host.waitForInstance(certificateInstanceId(n), 240_000)));
    for (const s of issued) assert.equal(s.runtimeStatus, "Completed", JSON.stringify(s.output));
    // Due at 1 % of a 600 s lifetime: 6 s after issuance.
    const dueAt = Math.max(...issued.map((s) => Date.parse((s.output as { notBefore: string }).notBefore))) + 7_000;
    if (dueAt > Date.now()) await new Promise((r) => setTimeout(r, dueAt - Date.now()));

    const id = await app.host.durable.startNew(ORCHESTRATIONS.renewAll, {}, RENEW_ALL_INSTANCE_ID);
    const status = await app.host.waitForInstance(id, 300_000);
    assert.equal(status.runtimeStatus, "Completed", JSON.stringify(status.output));
    const summary = status.output as RenewalSummary;
    assert.deepEqual(
      summary.renewed.map((r) => r.certificateName),
      names,
    );
    assert.deepEqual(summary.failed, []);
    assert.ok(summary.maxInFlight <= 3 && summary.maxInFlight >= 2, `maxInFlight ${summary.maxInFlight}`);
    assert.deepEqual(summary.plan, { planned: CERTS, late: 0, deferred: 0 });

    // The run's first renewal runs alone in the run itself (a CA refusing orders sees one, src/renewal/run.ts); the
    // other CERTS - 1 ran in pages, as one instance continued as new: its last execution holds only the last page's.
    const pages = app.host.durable.getRecord(renewBatchInstanceId(RENEW_ALL_INSTANCE_ID));
    assert.ok(pages, "the pages instance exists");
    const created = pages.history.filter((e) => e.EventType === SUB_ORCHESTRATION_CREATED);
    assert.equal(created.length, (CERTS - 1) % PAGE, "the last execution started only the last page");
    // The run itself started two sub-orchestrations (the first renewal, then the pages), not one per certificate.
    const run = app.host.durable.getRecord(id);
    assert.equal(run?.history.filter((e) => e.EventType === SUB_ORCHESTRATION_CREATED).length, 2);
    const bound = PAGE * EVENTS_PER_RENEWAL + PAGE_OVERHEAD;
    const pagesMax = app.host.durable.maxHistory.get(ORCHESTRATIONS.renewBatch) ?? 0;
    assert.ok(pagesMax > PAGE * 2, `a page's history holds its renewals (${pagesMax} events)`);
    assert.ok(pagesMax <= bound, `largest page history ${pagesMax} events, bound ${bound}`);
    assert.ok((app.host.durable.maxHistory.get(ORCHESTRATIONS.renewAll) ?? 0) <= 40, "the run's own history holds no renewal");
  });
});
