/**
 * The step retry policy both drivers use (src/issuance/retry-policy.ts): failures without a Retry-After use up the
 * attempts; throttled ones wait at least the backoff and are counted against a time budget instead.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RETRY, backoffMs, newRetryTally, retryDecision, type RetryDecision } from "../../src/issuance/retry-policy";

/** The decisions for a series of failures (a number: a Retry-After in ms; undefined: none), until the first give-up. */
function decide(failures: (number | undefined)[]): RetryDecision[] {
  const tally = newRetryTally();
  const out: RetryDecision[] = [];
  for (const retryAfterMs of failures) {
    const d = retryDecision(tally, retryAfterMs);
    out.push(d);
    if (!d.retry) break;
  }
  return out;
}

const waits = (ds: RetryDecision[]) => ds.map((d) => (d.retry ? d.delayMs : d.why));

describe("step retry policy", () => {
  it("failures without a Retry-After back off 2, 4, 8, 16 s and give up at the fifth", () => {
    assert.deepEqual(waits(decide([undefined, undefined, undefined, undefined, undefined, undefined])), [
      2_000,
      4_000,
      8_000,
      16_000,
      "gave up after 5 attempts",
    ]);
  });

  it("a 1 s Retry-After (Key Vault's) is a floor under the backoff, and throttling does not use up the five attempts", () => {
    const ds = decide(Array.from({ length: 8 }, () => 1_000));
    assert.ok(
      ds.every((d) => d.retry),
      `eight throttled failures in a row are all retried: ${JSON.stringify(waits(ds))}`,
    );
    assert.deepEqual(waits(ds), [2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it("a Retry-After longer than the backoff is waited as given", () => {
    assert.deepEqual(waits(decide([7_000, 7_000])), [7_000, 7_000]);
  });

  it("throttled waits stop once they add up to the throttling budget, naming it", () => {
    const ds = decide(Array.from({ length: 100 }, () => 1_000));
    const last = ds.at(-1);
    assert.ok(last && !last.retry, "it gives up in the end");
    assert.match(
      last.why,
      new RegExp(
        `^gave up after ${ds.length} attempts, throttled for \\d+ s \\(at most ${RETRY.maxThrottledWaitMs / 1000} s of throttling\\)$`,
      ),
    );
    const waited = ds.reduce((sum, d) => sum + (d.retry ? d.delayMs : 0), 0);
    assert.ok(waited >= RETRY.maxThrottledWaitMs, `waited ${waited} ms, the whole budget`);
    assert.ok(waited < RETRY.maxThrottledWaitMs + RETRY.maxRetryIntervalInMilliseconds, `and not much more (${waited} ms)`);
  });

  it("throttled failures between others leave the others' five attempts", () => {
    const ds = decide([undefined, 1_000, undefined, 1_000, 1_000, undefined, undefined, 1_000, undefined]);
    assert.deepEqual(waits(ds), [2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, "gave up after 9 attempts"]);
  });

  it("a Retry-After over an hour gives up at once", () => {
    assert.deepEqual(waits(decide([RETRY.maxRetryAfterMs + 1_000])), [`gave up: the service asked to wait more than 3600 s`]);
  });

  it("the backoff is capped", () => {
    assert.equal(backoffMs(1), RETRY.firstRetryIntervalInMilliseconds);
    assert.equal(backoffMs(30), RETRY.maxRetryIntervalInMilliseconds);
  });
});
