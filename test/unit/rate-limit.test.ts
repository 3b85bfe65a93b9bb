/**
 * The CA's rateLimited Retry-After, end to end in pure code: the error message carries the Retry-After, the flow's
 * not-before is the failure time plus it, the tag round-trips, the candidate carries it and the renewal decision
 * holds a due certificate until then (RateLimitedByCa), never earlier, and with the backoff when that ends later.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RATE_LIMITED } from "../../src/acme/problems";
import { caRetryNotBefore, reportedError, toStepError, type StepError } from "../../src/issuance/step-error";
import { candidateOf } from "../../src/renewal/scan";
import { decideRenewal, type RenewalPolicy, type RenewalState } from "../../src/renewal/decide";
import { TAG_MANAGED, TAG_RENEW_NOT_BEFORE, parseRenewNotBefore, readManagedTags } from "../../src/keyvault/tags";
import { UpstreamError, ValidationError, retryAfterFromMessage, retryAfterNote } from "../../src/shared/errors";
import type { InventoryItem } from "../../src/keyvault/inventory";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = new Date("2026-01-01T00:00:00Z");
const at = (ms: number) => new Date(T0.getTime() + ms);
const policy: RenewalPolicy = { renewBeforeExpiryDays: 30, renewAtPercentOfLifetime: 66 };
/** A 90-day certificate, due from day 59.4 by the lifetime fraction. */
const cert = (extra: Partial<RenewalState> = {}): RenewalState => ({ notBefore: T0, notAfter: at(90 * DAY), ...extra });

describe("the Retry-After in an error message", () => {
  it("UpstreamError writes the Retry-After into its message once and it reads back in whole seconds", () => {
    const e = new UpstreamError("KeyVault", "Key Vault: creating x failed: Too Many Requests", { status: 429, retryAfterMs: 7_000 });
    assert.equal(e.retryAfterMs, 7_000);
    assert.match(e.message, /\(Retry-After: 7 s\)$/);
    assert.equal(retryAfterFromMessage(`Activity function 'x' failed: ${e.message} \n Result: Failure`), 7_000);
    const again = new UpstreamError("KeyVault", e.message, { retryAfterMs: 7_000 });
    assert.equal(again.message.match(/Retry-After/g)?.length, 1, "not written twice when an error is wrapped");
    assert.equal(retryAfterNote(1_500), "(Retry-After: 2 s)", "rounded up: never earlier than asked");
    assert.equal(retryAfterFromMessage("Key Vault: creating x failed: Too Many Requests"), undefined);
  });
});

describe("caRetryNotBefore", () => {
  const rateLimited: StepError = {
    name: "UpstreamError",
    code: "AcmeError",
    service: "Acme",
    status: 429,
    message: "ACME: creating the order failed: the CA rate-limited the request: too many new orders (Retry-After: 3600 s)",
    retryable: false,
    retryAfterMs: 3_600_000,
    problemType: RATE_LIMITED,
  };
  it("is the failure time plus the CA's Retry-After for a rateLimited refusal", () => {
    assert.equal(caRetryNotBefore(rateLimited, at(0)), at(HOUR).toISOString());
  });
  it("is undefined for a throttled Key Vault, a rateLimited refusal without Retry-After and other CA errors", () => {
    assert.equal(caRetryNotBefore({ ...rateLimited, service: "KeyVault", problemType: undefined }, at(0)), undefined);
    assert.equal(caRetryNotBefore({ ...rateLimited, retryAfterMs: undefined }, at(0)), undefined);
    assert.equal(caRetryNotBefore({ ...rateLimited, problemType: "urn:ietf:params:acme:error:serverInternal" }, at(0)), undefined);
  });
  it("toStepError keeps the Retry-After and problem type of an UpstreamError; the webhook reports the problem type as code", () => {
    const err = new UpstreamError("Acme", "ACME: creating the order failed: the CA rate-limited the request", {
      status: 429,
      retryAfterMs: 60_000,
      details: { problemType: RATE_LIMITED },
    });
    const step = toStepError(err);
    assert.equal(step.retryAfterMs, 60_000);
    assert.equal(step.problemType, RATE_LIMITED);
    assert.equal(step.retryable, false);
    assert.deepEqual(reportedError(step), { source: "acme", code: RATE_LIMITED, message: step.message, status: 429 });
  });
});

describe("the kv-acme-renew-not-before tag", () => {
  it("reads back as an ISO time on kv-acme's and adopted certificates; junk is ignored", () => {
    const when = "2026-03-01T12:00:00.000Z";
    assert.equal(readManagedTags({ [TAG_MANAGED]: "true", [TAG_RENEW_NOT_BEFORE]: when }).renewNotBefore, when);
    assert.equal(readManagedTags({ Issuer: "Acmebot", [TAG_RENEW_NOT_BEFORE]: when }).renewNotBefore, when);
    assert.equal(readManagedTags({ [TAG_MANAGED]: "true", [TAG_RENEW_NOT_BEFORE]: "soon" }).renewNotBefore, undefined);
    assert.equal(parseRenewNotBefore("2026-13-45T00:00:00Z"), undefined);
    assert.equal(parseRenewNotBefore(undefined), undefined);
  });
  it("reaches the renewal candidate the scan hands to the decision and the planner", () => {
    const when = "2026-03-01T12:00:00.000Z";
    const tags = { [TAG_MANAGED]: "true", [TAG_RENEW_NOT_BEFORE]: when };
    const item: InventoryItem = { name: "a", enabled: true, pending: false, tags, managed: readManagedTags(tags) };
    assert.equal(candidateOf(item).renewNotBefore, when);
  });
});

describe("RateLimitedByCa in the renewal decision", () => {
  const due = at(60 * DAY); // day 60 of 90: due, within 30 days of expiry
  it("holds a due certificate until the CA's time", () => {
    const d = decideRenewal(cert({ renewNotBefore: at(60 * DAY + 6 * HOUR) }), policy, due);
    assert.equal(d.due, false);
    assert.equal(d.reason, "RateLimitedByCa");
    assert.equal(d.renewAt.toISOString(), at(60 * DAY + 6 * HOUR).toISOString());
    assert.match(d.message, /due \(WithinRenewBeforeExpiry\) but the CA rate-limited the last renewal: not before/);
  });
  it("lets it renew once the CA's time has come", () => {
    const d = decideRenewal(cert({ renewNotBefore: at(60 * DAY - HOUR) }), policy, due);
    assert.equal(d.due, true);
    assert.equal(d.reason, "WithinRenewBeforeExpiry");
  });
  it("holds an expired certificate too: the CA would refuse it again", () => {
    const d = decideRenewal(cert({ renewNotBefore: at(91 * DAY) }), policy, at(90.5 * DAY));
    assert.equal(d.reason, "RateLimitedByCa");
    assert.equal(d.due, false);
  });
  it("waits for the failure backoff when it ends after the CA's time", () => {
    // 5 failures, the last at day 60: the backoff is 16 h; the CA asked for 1 h.
    const d = decideRenewal(cert({ renewNotBefore: at(60 * DAY + HOUR), lastFailure: { at: at(60 * DAY), attempts: 5 } }), policy, due);
    assert.equal(d.reason, "RateLimitedByCa");
    assert.equal(d.renewAt.toISOString(), at(60 * DAY + 16 * HOUR).toISOString());
    assert.match(d.message, /with the failure backoff the next attempt is at/);
  });
  it("moves a not-yet-due certificate's renewal moment to the CA's time when that is later", () => {
    const d = decideRenewal(cert({ renewNotBefore: at(70 * DAY) }), policy, at(10 * DAY));
    assert.equal(d.reason, "NotDue");
    assert.equal(d.renewAt.toISOString(), at(70 * DAY).toISOString());
    assert.match(d.message, /the CA's Retry-After/);
  });
  it("changes nothing when the CA's time lies before the certificate's own renewal moment", () => {
    const d = decideRenewal(cert({ renewNotBefore: at(20 * DAY) }), policy, at(10 * DAY));
    assert.equal(d.renewAt.toISOString(), at(59.4 * DAY).toISOString());
  });
  it("refuses an invalid not-before as bad input", () => {
    assert.throws(() => decideRenewal(cert({ renewNotBefore: new Date("x") }), policy, due), ValidationError);
  });
});
