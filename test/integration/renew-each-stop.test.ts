/**
 * The in-process driver's renewals (the CLI's `renew --all-due`) stop starting once one is refused for an
 * account-wide CA rate limit, as the durable driver's do (test/orchestrations/renewal-episodes.test.ts): against the
 * stack with the CA proxy refusing every new order, the first child meets one refused new order and the others are
 * answered as not started (src/renewal/run.ts then holds them).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runDirect } from "../../src/issuance/direct";
import type { ChildOutcome, Flow, IssueFlowInput } from "../../src/issuance/flow";
import { startTestStack, type TestStack } from "../support/stack";
import { stackDeps, txtRecords } from "./helpers";

describe("the in-process driver after an account-wide CA refusal", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ faults: "acme=rateLimited/600:100%" });
  });
  after(async () => stack?.close());

  it("starts no renewal after the refusal: one refused new order, the rest not started", { timeout: 120_000 }, async () => {
    const children: IssueFlowInput[] = ["one", "two", "three", "four"].map((n) => ({
      certificateName: `stop-${n}`,
      dnsNames: [`stop-${n}.example.com`],
    }));
    function* renewAll(): Flow<unknown> {
      return yield { kind: "renewEach", children, limit: 1, due: children.length };
    }
    const ran = (await runDirect(renewAll(), { deps: stackDeps(stack) })) as { outcomes: ChildOutcome[]; notStarted?: IssueFlowInput[] };
    assert.equal(stack.faults?.counts["acme:rateLimited"], 1, "one new order reached the CA");
    assert.deepEqual(
      ran.outcomes.map((o) => o.certificateName),
      ["stop-one"],
    );
    assert.match(ran.outcomes[0]?.failure ?? "", /the CA rate-limited the request: too many new orders .*\(Retry-After: 600 s\)/);
    assert.deepEqual(
      ran.notStarted?.map((c) => c.certificateName),
      ["stop-two", "stop-three", "stop-four"],
    );
    assert.deepEqual(await txtRecords(stack), {}, "nothing left behind");
  });
});
