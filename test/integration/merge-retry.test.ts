/**
 * The merge step run again after Key Vault acknowledged it, as a durable activity is when the host dies after the
 * merge and before the activity's completion is recorded (the replay runs the activity again), against the stand-in:
 * the second merge is refused (the operation is no longer in progress) and answers the version already merged, so
 * the vault holds one version. A transient failure while telling what happened (reading the current version or the
 * pending operation back) is retryable, never a refused or overwritten merge: the chaos soak saw an issuance fail
 * for good at merge ("overwritten by another request (now none)") on such a read.
 */
import assert from "node:assert/strict";
import { RestError } from "@azure/core-rest-pipeline";
import { after, before, describe, it } from "node:test";
import { runDirect } from "../../src/issuance/direct";
import { issuanceFlow, type Flow, type FlowOp } from "../../src/issuance/flow";
import { mergeIssuedChain, type MergedVersion } from "../../src/issuance/merge-step";
import type { IssuanceDeps } from "../../src/issuance";
import { getPending } from "../../src/keyvault/certificates";
import { TAG_MANAGED } from "../../src/keyvault/tags";
import { UpstreamError } from "../../src/shared/errors";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackDeps, txtRecords } from "./helpers";

type MergeInput = Parameters<typeof mergeIssuedChain>[0];

/** Runs every op of `flow`; the merge step twice, the flow seeing only the second answer (the replay after a kill). */
function* mergeReplayed(flow: Flow<unknown>, seen: { input?: MergeInput; first?: unknown }): Generator<FlowOp, unknown, unknown> {
  let next = flow.next();
  while (!next.done) {
    const op = next.value;
    let answer: unknown;
    try {
      if (op.kind === "step" && op.call === "mergeIssuedChain") {
        seen.input = op.input as MergeInput;
        seen.first = yield op; // acknowledged by Key Vault; this answer is lost with the host
      }
      answer = yield op;
    } catch (err) {
      next = flow.throw(err);
      continue;
    }
    next = flow.next(answer);
  }
  return next.value;
}

/** The issued versions of a certificate (pending versions have no thumbprint). */
async function issuedVersions(stack: TestStack, name: string): Promise<string[]> {
  const out: string[] = [];
  for await (const v of clients(stack).certificates.listPropertiesOfCertificateVersions(name))
    if (v.x509Thumbprint) out.push(v.version ?? "");
  return out;
}

/** Deps whose Key Vault client fails the named calls once each with a 503 (after the SDK's own retries). */
function failingOnce(stack: TestStack, calls: ("mergeCertificate" | "getCertificate" | "getCertificateOperation")[]): IssuanceDeps {
  const deps = stackDeps(stack);
  const certificates = Object.create(deps.certificates) as typeof deps.certificates;
  for (const call of calls) {
    let failed = false;
    const real = (deps.certificates[call] as (...a: unknown[]) => Promise<unknown>).bind(deps.certificates);
    (certificates as unknown as Record<string, unknown>)[call] = async (...args: unknown[]) => {
      if (failed) return real(...args);
      failed = true;
      throw new RestError("Service Unavailable (injected)", { statusCode: 503 });
    };
  }
  const faulty: IssuanceDeps = { ...deps, certificates, forVault: () => faulty };
  return faulty;
}

describe("a merge run again after Key Vault acknowledged it", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.close());

  it("returns the version already merged: one issued version, tagged, no pending operation in progress, no TXT left", async () => {
    const seen: { input?: MergeInput; first?: unknown } = {};
    const flow = issuanceFlow(
      { dnsNames: ["replayed.example.com"], certificateName: "replayed" },
      { now: () => new Date(), newId: () => "x" },
    );
    const out = (await runDirect(mergeReplayed(flow, seen) as Flow<unknown>, { deps: stackDeps(stack) })) as { version: string };
    const firstVersion = (seen.first as MergedVersion | undefined)?.version ?? assert.fail("the first merge answered no version");
    assert.equal(out.version, firstVersion, "the replayed merge answers the version the first one merged");
    assert.deepEqual(await issuedVersions(stack, "replayed"), [firstVersion], "exactly one issued version");
    const version = await clients(stack).certificates.getCertificateVersion("replayed", firstVersion);
    assert.equal(version.properties.tags?.[TAG_MANAGED], "true", "the version is tagged as managed");
    assert.notEqual((await getPending(clients(stack).certificates, "replayed"))?.status, "inProgress");
    assert.deepEqual(await txtRecords(stack), {});
  });

  it("a transient failure reading the merged version back is retryable; the retry answers the same version", async () => {
    const seen: { input?: MergeInput; first?: unknown } = {};
    const flow = issuanceFlow(
      { dnsNames: ["readback.example.com"], certificateName: "readback" },
      { now: () => new Date(), newId: () => "x" },
    );
    const out = (await runDirect(mergeReplayed(flow, seen) as Flow<unknown>, { deps: stackDeps(stack) })) as { version: string };
    const input = seen.input ?? assert.fail("merge not run");
    // The activity runs once more (say the host died again) and its read-back of the current version fails.
    const err = await mergeIssuedChain(input, failingOnce(stack, ["getCertificate"])).then(
      () => assert.fail("the read-back failure was swallowed"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof UpstreamError && err.retryable, `retryable, not a refused merge: ${String(err)}`);
    const again = (await mergeIssuedChain(input, stackDeps(stack))) as MergedVersion;
    assert.equal(again.version, out.version);
    assert.deepEqual(await issuedVersions(stack, "readback"), [out.version]);
  });

  it("a transient merge failure with the pending operation unreadable too is retryable, not 'overwritten'; the retry merges", async () => {
    const seen: { input?: MergeInput; first?: unknown } = {};
    const deps = stackDeps(stack);
    // The flow up to the merge; the merge step itself is run below by hand.
    const flow = issuanceFlow({ dnsNames: ["unread.example.com"], certificateName: "unread" }, { now: () => new Date(), newId: () => "x" });
    const stopAtMerge = function* (): Generator<FlowOp, unknown, unknown> {
      let next = flow.next();
      while (!next.done) {
        if (next.value.kind === "step" && next.value.call === "mergeIssuedChain") {
          seen.input = next.value.input as MergeInput;
          return undefined;
        }
        next = flow.next(yield next.value);
      }
      return next.value;
    };
    await runDirect(stopAtMerge() as Flow<unknown>, { deps });
    const input = seen.input ?? assert.fail("merge not reached");
    const err = await mergeIssuedChain(input, failingOnce(stack, ["mergeCertificate", "getCertificateOperation"])).then(
      () => assert.fail("merged through a failing client"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof UpstreamError && err.retryable, `retryable, not PendingOperationOverwritten: ${String(err)}`);
    const merged = (await mergeIssuedChain(input, deps)) as MergedVersion;
    assert.deepEqual(await issuedVersions(stack, "unread"), [merged.version]);
    assert.equal((await getPending(clients(stack).certificates, "unread"))?.status, "completed");
  });
});
