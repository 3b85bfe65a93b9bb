/**
 * The calls that join several steps (src/issuance/compound-steps.ts) run again after they finished, as a durable
 * activity is when the host dies after its work and before its completion is recorded (the replay runs it again),
 * against the local stack: presentAndValidate (TXT values, propagation, the CA's validation, TXT cleanup, the pending
 * operation) and finalizeAndDownload each twice, the flow seeing only the second answer. The second run reuses the
 * first one's pending operation and order: one issued version, no TXT value and no pending operation left. The crash
 * test (test/e2e/crash.test.ts) kills the host at its six points; this covers a kill at the end of each joined call.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { ValidatedOrder } from "../../src/issuance/compound-steps";
import { runDirect } from "../../src/issuance/direct";
import { issuanceFlow, type Flow, type FlowCall, type FlowOp } from "../../src/issuance/flow";
import { getPending } from "../../src/keyvault/certificates";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackDeps, txtRecords } from "./helpers";

/** Runs every op of `flow`; the `twice` calls twice, the flow seeing only the second answer (the replay after a kill). */
function* replayed(
  flow: Flow<unknown>,
  twice: readonly FlowCall[],
  answers: Map<FlowCall, unknown[]>,
): Generator<FlowOp, unknown, unknown> {
  let next = flow.next();
  while (!next.done) {
    const op = next.value;
    let answer: unknown;
    try {
      if (op.kind === "step" && twice.includes(op.call)) {
        const first = yield op; // done; this answer is lost with the host
        answer = yield op;
        answers.set(op.call, [first, answer]);
      } else answer = yield op;
    } catch (err) {
      next = flow.throw(err);
      continue;
    }
    next = flow.next(answer);
  }
  return next.value;
}

describe("joined steps run again after they finished", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.close());

  it("presentAndValidate and finalizeAndDownload twice each: the same order and pending operation, one version, nothing left", async () => {
    const answers = new Map<FlowCall, unknown[]>();
    const flow = issuanceFlow(
      { dnsNames: ["twice.example.com", "*.twice.example.com"], certificateName: "twice" },
      { now: () => new Date(), newId: () => randomUUID() },
    );
    const out = (await runDirect(replayed(flow, ["presentAndValidate", "finalizeAndDownload"], answers), { deps: stackDeps(stack) })) as {
      version: string;
      pendingAction: string;
    };

    const [first, second] = (answers.get("presentAndValidate") ?? []) as ValidatedOrder[];
    assert.ok(first?.visible && second?.visible, "both runs found the values visible and validated");
    assert.equal(first.pending.action, "created");
    assert.equal(second.pending.action, "reused", "the second run reuses the pending operation the first created");
    assert.equal(second.pending.pending.requestId, first.pending.pending.requestId);
    assert.equal(second.order.url, first.order.url, "the same order, not a new one");
    assert.equal(first.cleaned && second.cleaned, true, "each run removed the values it added again");

    const [issuedFirst, issuedSecond] = (answers.get("finalizeAndDownload") ?? []) as { chain: string[] }[];
    assert.deepEqual(issuedSecond?.chain, issuedFirst?.chain, "a valid order is only read: the same certificate");

    const { certificates } = clients(stack);
    const versions: string[] = [];
    for await (const v of certificates.listPropertiesOfCertificateVersions("twice")) if (v.x509Thumbprint) versions.push(v.version ?? "");
    assert.deepEqual(versions, [out.version], "one issued version, the one reported");
    const op = await getPending(certificates, "twice");
    assert.ok(!op || op.status === "completed", `no pending operation left (${op?.status})`);
    assert.deepEqual(await txtRecords(stack), {}, "no TXT value left");
  });
});
