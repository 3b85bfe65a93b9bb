/** Reliability: 50 consecutive issuances while Pebble rejects 50 % of nonces (RFC 8555 §6.5 badNonce) all succeed. */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { startTestStack, type TestStack } from "../support/stack";
import { issueCertificate } from "../../src/issuance";
import { stackDeps, txtRecords } from "./helpers";

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ pebble: { nonceRejectPercent: 50 } });
});
after(async () => {
  await stack?.close();
});

it("50 consecutive issuances with 50 % nonce rejection all succeed", async () => {
  const deps = stackDeps(stack);
  const durations: number[] = [];
  for (let i = 0; i < 50; i++) {
    const r = await issueCertificate({ dnsNames: [`n${i}.example.com`, `*.n${i}.example.com`], keyOptions: { keyType: "EC-P256" } }, deps);
    durations.push(r.durationMs);
  }
  assert.equal(durations.length, 50);
  assert.deepEqual(await txtRecords(stack), {});
  durations.sort((a, b) => a - b);
  console.error(`# 50 issuances at 50 % badNonce: median ${durations[25]} ms, max ${durations[49]} ms`);
});
