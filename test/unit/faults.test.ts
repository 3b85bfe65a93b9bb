import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FaultInjector, parseFaultSpec } from "../../src/local/faults";

describe("fault spec", () => {
  it("parses the issue's example: statuses, resets, DNS timeouts, CA rate limits, latency", () => {
    const plan = parseFaultSpec("keyvault=429:10%,arm=503:5%,identity=reset:2%,dns=timeout:5%,acme=rateLimited/30:5%,latency=50-400ms");
    assert.deepEqual(plan.rules, [
      { target: "keyvault", fault: { kind: "status", status: 429, retryAfterSeconds: 1 }, probability: 0.1 },
      { target: "arm", fault: { kind: "status", status: 503, retryAfterSeconds: 1 }, probability: 0.05 },
      { target: "identity", fault: { kind: "reset" }, probability: 0.02 },
      { target: "dns", fault: { kind: "timeout" }, probability: 0.05 },
      { target: "acme", fault: { kind: "rateLimited", retryAfterSeconds: 30 }, probability: 0.05 },
    ]);
    assert.deepEqual(plan.latency, { "*": { minMs: 50, maxMs: 400 } });
  });

  it("reads one rule per line with comments (the file form) and per-target latency", () => {
    const plan = parseFaultSpec("# throttling\nkeyvault=429/2:10%\n\ndns=servfail:1%  # resolver trouble\nkeyvault.latency=5ms\n");
    assert.equal(plan.rules.length, 2);
    assert.deepEqual(plan.latency, { keyvault: { minMs: 5, maxMs: 5 } });
  });

  for (const [spec, message] of [
    ["keyvault", /<target>=<fault>/],
    ["keyvault=429", /<percent>%/],
    ["keyvault=200:5%", /not an error status/],
    ["keyvault=explode:5%", /unknown fault/],
    ["keyvault=429:150%", /0..100/],
    ["latency=400-50ms", /increasing range/],
    ["Key Vault=429:5%", /lower-case name/],
  ] as const) {
    it(`refuses "${spec}"`, () => assert.throws(() => parseFaultSpec(spec), message));
  }
});

describe("fault injector", () => {
  it("fires a rule with its probability, counts what it injected, and honours the filter", () => {
    const values = [0.05, 0.5, 0.01];
    const injector = new FaultInjector(parseFaultSpec("keyvault=429:10%,keyvault=reset:2%"), () => values.shift() ?? 0.99);
    assert.deepEqual(injector.decide("keyvault"), { kind: "status", status: 429, retryAfterSeconds: 1 });
    assert.deepEqual(injector.decide("keyvault"), { kind: "reset" }, "the second rule gets its own draw");
    assert.equal(injector.decide("arm"), undefined);
    assert.deepEqual(injector.counts, { "keyvault:429": 1, "keyvault:reset": 1 });
    assert.equal(injector.total(), 2);
    const always = new FaultInjector(parseFaultSpec("acme=rateLimited:100%"), () => 0);
    assert.equal(
      always.decide("acme", (f) => f.kind !== "rateLimited"),
      undefined,
    );
  });

  it("fires a rule with a *count at most that many times, then lets requests through", () => {
    const plan = parseFaultSpec("keyvault=429/3:100%*2");
    assert.equal(plan.rules[0]?.limit, 2);
    const injector = new FaultInjector(plan, () => 0);
    assert.equal(injector.decide("keyvault")?.kind, "status");
    assert.equal(injector.decide("keyvault")?.kind, "status");
    assert.equal(injector.decide("keyvault"), undefined, "the third request passes");
    assert.deepEqual(injector.counts, { "keyvault:429": 2 });
    assert.throws(() => parseFaultSpec("keyvault=429:100%*x"), /\[\*<count>\]/);
  });

  it("draws latency inside the configured range, per target before the default", () => {
    const injector = new FaultInjector(parseFaultSpec("latency=100-200ms,dns.latency=7ms"), () => 0.5);
    assert.equal(injector.latencyMs("keyvault"), 150);
    assert.equal(injector.latencyMs("dns"), 7);
    assert.equal(new FaultInjector(parseFaultSpec("")).latencyMs("keyvault"), 0);
  });
});
