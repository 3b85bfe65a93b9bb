/**
 * Upstream failures through the real routes: when the Key Vault stand-in answers 503 (or 429) the API answers a 503
 * problem, a 500 or a 403 of the app's identity a 502 problem; never a 500 of its own nor the vault's 403. Once the
 * vault answers again the same request succeeds, so the status came from the fault.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FaultRule } from "../../src/local/faults";
import { startTestApp, type TestApp } from "../support/app";
import { assertProblem, call } from "./support";

let app: TestApp;
before(async () => {
  // An empty plan: the injector exists, each test adds the one rule it needs (Retry-After 0 keeps the SDK's retries fast).
  app = await startTestApp({ stack: { faults: { rules: [], latency: {} } } });
});
after(async () => {
  await app?.close();
});

async function withVaultAnswering<T>(status: number, run: () => Promise<T>): Promise<T> {
  const rules = app.stack.faults!.plan.rules;
  const rule: FaultRule = { target: "keyvault", fault: { kind: "status", status, retryAfterSeconds: 0 }, probability: 1 };
  rules.push(rule);
  try {
    return await run();
  } finally {
    rules.splice(rules.indexOf(rule), 1);
  }
}

describe("Key Vault failures as problems", () => {
  for (const [vault, api, title] of [
    [503, 503, "Service Unavailable"],
    [429, 503, "Service Unavailable"],
    [500, 502, "Bad Gateway"],
    [403, 502, "Bad Gateway"],
  ] as const) {
    it(`GET /certificates/{name} while the vault answers ${vault}: ${api} KeyVaultError problem`, async () => {
      const before = app.stack.faults!.counts[`keyvault:${vault}`] ?? 0;
      const r = await withVaultAnswering(vault, () => call(app.api, "GET", "/certificates/upstream-probe"));
      assertProblem(r, api);
      assert.equal(r.body.title, title);
      assert.equal(r.body.code, "KeyVaultError");
      assert.equal(r.body.service, "KeyVault");
      assert.ok((app.stack.faults!.counts[`keyvault:${vault}`] ?? 0) > before, "the vault's fault was injected");
    });
  }

  it("the same request without the fault: 404 NotFound (the vault answered)", async () => {
    assertProblem(await call(app.api, "GET", "/certificates/upstream-probe"), 404);
  });
});
