/**
 * A CA rateLimited refusal with Retry-After through the real function app on the local host, with the CA behind the
 * stack's fault-injecting proxy: the renewal fails after ONE refused new order (acme-client does not sleep and retry
 * it, the durable driver does not retry it), the CA's time is recorded on the certificate, shown in its status, in
 * GET /api/renewals and in the renewal_failed webhook, and the next renewal run holds the certificate (no new order).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RATE_LIMITED } from "../../src/acme/problems";
import { TAG_RENEW_NOT_BEFORE } from "../../src/keyvault/tags";
import { RENEW_ALL_INSTANCE_ID } from "../../src/orchestrations/ids";
import type { RenewalSummary } from "../../src/orchestrations/renew-certificates";
import { CLOUDEVENT_TYPE_PREFIX } from "../../src/notify/formats/generic";
import { clients } from "../integration/helpers";
import { startReceiver, type Receiver } from "../notify/receiver";
import { call, pollOperation } from "../api/support";
import { startTestApp, type TestApp } from "../support/app";

const RETRY_AFTER_SECONDS = 3600;

describe("a CA rateLimited refusal reschedules the certificate's renewal at the CA's time", () => {
  let app: TestApp;
  let hooks: Receiver;
  const rateLimitRule = () => {
    const rule = app.stack.faults?.plan.rules.find((r) => r.target === "acme" && r.fault.kind === "rateLimited");
    assert.ok(rule, "the stack runs the ACME proxy with a rateLimited rule");
    return rule;
  };
  const refused = () => app.stack.faults?.counts["acme:rateLimited"] ?? 0;

  before(async () => {
    hooks = await startReceiver([], { status: 204 }, "/events");
    app = await startTestApp({
      // The proxy in front of Pebble, refusing nothing until the test turns the rule on.
      stack: { faults: `acme=rateLimited/${RETRY_AFTER_SECONDS}:0%`, pebble: { validityPeriodSeconds: 300 } },
      env: {
        // 5-minute certificates due after 1 % of their lifetime: due 3 s after issuance.
        KvAcme__RenewAtPercentOfLifetime: "1",
        KvAcme__Webhooks__0__Url: hooks.url,
        KvAcme__Webhooks__0__Format: "generic",
        KvAcme__Webhooks__0__Events: "*",
      },
    });
    const started = await call(app.api, "POST", "/certificates", {
      body: { dnsNames: ["limited.example.com"], certificateName: "limited" },
    });
    assert.equal(started.status, 202, started.text);
    const { final } = await pollOperation(app.host.url, started.headers.get("location")!);
    assert.equal(final.body.status, "Completed", final.text);
  });
  after(async () => {
    await app?.close();
    await hooks?.close();
  });

  it("the renewal fails on one refused order and the CA's time is recorded, shown and honoured", { timeout: 180_000 }, async () => {
    rateLimitRule().probability = 1;
    const failedAt = Date.now();
    const renew = await call(app.api, "POST", "/certificates/limited/renew", { body: {} });
    assert.equal(renew.status, 202, renew.text);
    const { final } = await pollOperation(app.host.url, renew.headers.get("location")!);
    assert.equal(final.body.status, "Failed", final.text);
    assert.match(final.text, /rate-limited/, "the failure names the CA's refusal");
    assert.equal(refused(), 1, "exactly one new order reached the CA: no in-process or durable retry of a rate limit");

    // Recorded on the certificate: the CA's time, about now + Retry-After (never earlier).
    const { certificates } = clients(app.stack);
    const tags = (await certificates.getCertificate("limited")).properties.tags ?? {};
    const notBefore = Date.parse(tags[TAG_RENEW_NOT_BEFORE] ?? "");
    assert.ok(notBefore >= failedAt + RETRY_AFTER_SECONDS * 1000 - 1000, `${tags[TAG_RENEW_NOT_BEFORE]} is the CA's time`);
    assert.ok(notBefore <= Date.now() + RETRY_AFTER_SECONDS * 1000, `${tags[TAG_RENEW_NOT_BEFORE]} is not later than asked`);
    const iso = new Date(notBefore).toISOString();

    // Shown in the certificate's status, the renewal schedule and the webhook, once the certificate is due (1 % of
    // its 300 s lifetime after its notBefore): the CA's time holds it.
    const validFrom = (await certificates.getCertificate("limited")).properties.notBefore?.getTime() ?? 0;
    await new Promise((r) => setTimeout(r, Math.max(0, validFrom + 3_500 - Date.now())));
    const status = await call(app.api, "GET", "/certificates/limited");
    assert.equal((status.body as { renewNotBefore?: string }).renewNotBefore, iso);
    const schedule = await call(app.api, "GET", "/renewals?name=limited");
    const view = (schedule.body as { renewals: { reason: string; due: boolean; renewAt: string; renewNotBefore?: string }[] }).renewals[0];
    assert.equal(view?.reason, "RateLimitedByCa", schedule.text);
    assert.equal(view?.due, false);
    assert.equal(view?.renewNotBefore, iso);
    assert.equal(view?.renewAt, iso);
    const failedEvents = hooks.received
      .map((r) => JSON.parse(r.rawBody.toString("utf8")) as { type: string; data: Record<string, unknown> })
      .filter((e) => e.type === `${CLOUDEVENT_TYPE_PREFIX}certificate.renewal_failed`);
    assert.equal(failedEvents.length, 1);
    assert.equal(failedEvents[0]?.data.retryNotBefore, iso);
    assert.equal((failedEvents[0]?.data.error as { code?: string }).code, RATE_LIMITED);

    // The next renewal run holds it (the CA would refuse it again): no new order reaches the CA.
    await app.host.fireTimer("renewalTimer");
    const run = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 120_000);
    assert.equal(run.runtimeStatus, "Completed", JSON.stringify(run.output));
    const summary = run.output as RenewalSummary;
    assert.deepEqual(summary.due, [], JSON.stringify(summary));
    assert.equal(summary.renewed.length + summary.failed.length, 0, JSON.stringify(summary));
    assert.equal(refused(), 1, "the held certificate sent the CA nothing");
  });
});
