/**
 * A CA rateLimited refusal with Retry-After through the real function app on the local host, with the CA behind the
 * stack's fault-injecting proxy: the renewal fails after ONE refused new order (acme-client does not sleep and retry
 * it, the durable driver does not retry it), the CA's time is recorded on the certificate, shown in its status, in
 * GET /api/renewals and in the renewal_failed webhook, and the next renewal run holds the certificate (no new order).
 * Then N due certificates while the CA refuses every new order (an account-wide limit): the run's first renewal is
 * refused and the others are held until the CA's time without an order of their own, none counted as failed; once the
 * time has passed (the host's clock jumps there) they all renew. No sleeping: the host's clock jumps.
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
import { JumpingClock } from "../../src/local/host";
import { everyVault } from "../../src/issuance/deps";
import { renewalSchedule } from "../../src/api/handlers-renewals";
import { TAG_RENEWAL_FAILURES } from "../../src/keyvault/tags";

const RETRY_AFTER_SECONDS = 3600;
/** Due certificates of the account-wide case. */
const HELD = ["held-1", "held-2", "held-3", "held-4"];

interface View {
  name: string;
  reason: string;
  due: boolean;
  renewAt: string;
  renewNotBefore?: string;
  lastFailure?: unknown;
}

describe("a CA rateLimited refusal reschedules the certificate's renewal at the CA's time", () => {
  let app: TestApp;
  let hooks: Receiver;
  // The host's clock: the wall clock, jumped forward where certificates must become due or the CA's time must pass.
  const clock = new JumpingClock();
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
      host: { clock },
    });
    await issue(["limited"]);
  });
  const issue = (names: string[]) =>
    Promise.all(
      names.map(async (name) => {
        const started = await call(app.api, "POST", "/certificates", {
          body: { dnsNames: [`${name}.example.com`], certificateName: name },
        });
        assert.equal(started.status, 202, started.text);
        const { final } = await pollOperation(app.host.url, started.headers.get("location")!);
        assert.equal(final.body.status, "Completed", final.text);
      }),
    );
  /** The renewal schedule (GET /renewals's own function) at the host's time, which the run's decisions use too. */
  const scheduleAtHostTime = async (name: string): Promise<View | undefined> =>
    (await renewalSchedule(app.runtime.deps, everyVault(app.runtime.deps), { name, now: new Date(clock.now()) })).renewals[0] as
      View | undefined;
  const runRenewals = async (): Promise<RenewalSummary> => {
    await app.host.fireTimer("renewalTimer");
    const run = await app.host.waitForInstance(RENEW_ALL_INSTANCE_ID, 150_000);
    assert.equal(run.runtimeStatus, "Completed", JSON.stringify(run.output));
    return run.output as RenewalSummary;
  };
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

    // Shown in the certificate's status and the renewal schedule: not due before the CA's time, and no failure
    // counted (the CA's time, not a backoff, says when). Once the certificate is due (1 % of its 300 s lifetime after
    // its notBefore: the host's clock jumps 3.5 s), the CA's time holds it (RateLimitedByCa).
    const status = await call(app.api, "GET", "/certificates/limited");
    assert.equal((status.body as { renewNotBefore?: string }).renewNotBefore, iso);
    const schedule = await call(app.api, "GET", "/renewals?name=limited");
    const view = (schedule.body as { renewals: View[] }).renewals[0];
    assert.equal(view?.due, false, schedule.text);
    assert.equal(view?.renewNotBefore, iso);
    assert.equal(view?.renewAt, iso);
    assert.equal(view?.lastFailure, undefined, "a rate limit is not counted as a failure");
    assert.equal(tags[TAG_RENEWAL_FAILURES], undefined);
    await clock.jump(3_500);
    const due = await scheduleAtHostTime("limited");
    assert.equal(due?.reason, "RateLimitedByCa", JSON.stringify(due));
    assert.equal(due?.renewAt, iso);
    const failedEvents = hooks.received
      .map((r) => JSON.parse(r.rawBody.toString("utf8")) as { type: string; data: Record<string, unknown> })
      .filter((e) => e.type === `${CLOUDEVENT_TYPE_PREFIX}certificate.renewal_failed`);
    assert.equal(failedEvents.length, 1);
    assert.equal(failedEvents[0]?.data.retryNotBefore, iso);
    assert.equal((failedEvents[0]?.data.error as { code?: string }).code, RATE_LIMITED);

    // The next renewal run holds it (the CA would refuse it again): no new order reaches the CA.
    const summary = await runRenewals();
    assert.deepEqual(summary.due, [], JSON.stringify(summary));
    assert.equal(summary.renewed.length + summary.failed.length, 0, JSON.stringify(summary));
    assert.equal(refused(), 1, "the held certificate sent the CA nothing");
  });

  it(
    "an account-wide limit: one refused new order for N due certificates, all N held until the CA's time, none failed; then they renew",
    { timeout: 300_000 },
    async () => {
      rateLimitRule().probability = 0;
      await issue(HELD);
      const { certificates } = clients(app.stack);
      const limitedUntil = (await scheduleAtHostTime("limited"))?.renewNotBefore ?? "";
      rateLimitRule().probability = 1;
      const before = refused();
      await clock.jump(3_500); // every HELD certificate is due (1 % of 300 s)
      const startedAt = clock.now();
      const summary = await runRenewals();
      assert.equal(refused() - before, 1, "exactly one new order reached the CA and was refused");
      assert.deepEqual(summary.failed, [], JSON.stringify(summary));
      assert.deepEqual(summary.renewed, [], JSON.stringify(summary));
      assert.deepEqual(
        summary.held.map((h) => h.certificateName),
        HELD,
        JSON.stringify(summary),
      );
      // Each held until the CA's time (the refused one's, recorded by its renewal): the run's time + Retry-After.
      const times = new Set<string>();
      for (const name of HELD) {
        const tags = (await certificates.getCertificate(name)).properties.tags ?? {};
        assert.equal(tags[TAG_RENEWAL_FAILURES], undefined, `${name}: no failure counted`);
        const at = tags[TAG_RENEW_NOT_BEFORE] ?? "";
        times.add(at);
        const view = await scheduleAtHostTime(name);
        assert.equal(view?.reason, "RateLimitedByCa", JSON.stringify(view));
        assert.equal(view?.renewAt, at);
        assert.equal(view?.lastFailure, undefined);
        const http = (await call(app.api, "GET", `/renewals?name=${name}`)).body as { renewals: View[] };
        assert.equal(http.renewals[0]?.renewAt, at, "GET /api/renewals shows the same time");
        assert.equal(http.renewals[0]?.due, false);
      }
      assert.equal(times.size, 1, `one time for all: ${[...times].join(", ")}`);
      const until = Date.parse([...times][0] as string);
      assert.ok(until >= startedAt + RETRY_AFTER_SECONDS * 1000, `${[...times][0]} is the CA's time`);
      assert.ok(until <= clock.now() + RETRY_AFTER_SECONDS * 1000);
      for (const h of summary.held.filter((x) => x.until !== undefined)) assert.equal(h.until, [...times][0]);

      // A second run before the CA's time: nothing reaches the CA.
      const again = await runRenewals();
      assert.equal(refused() - before, 1, "the held certificates sent the CA nothing");
      assert.deepEqual(again.renewed, [], JSON.stringify(again));

      // After the CA's time (the host's clock jumps past it), with the CA accepting orders again, they all renew.
      rateLimitRule().probability = 0;
      await clock.jump(Math.max(until, Date.parse(limitedUntil)) + 1_000 - clock.now());
      const after = await runRenewals();
      assert.deepEqual(
        after.renewed.map((r) => r.certificateName),
        ["limited", ...HELD].sort(),
        JSON.stringify(after),
      );
      assert.deepEqual(after.failed, []);
      assert.deepEqual(after.held, []);
      for (const name of HELD) {
        const tags = (await certificates.getCertificate(name)).properties.tags ?? {};
        assert.equal(tags[TAG_RENEW_NOT_BEFORE], undefined, `${name}: the renewed version starts without the hold`);
      }
    },
  );
});
