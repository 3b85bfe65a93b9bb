// Exact behaviour of the issuance flow (src/issuance/flow.ts), driven op by op by a scripted driver: every status,
// step (its name, call and input), warning, best-effort call and propagation wait the flow yields is recorded and
// compared whole, with a clock that moves 1 s per step and 60 s per propagation wait. Failures are StepFailedErrors
// thrown into the flow at the op that fails, as the drivers do (./src/issuance/direct.ts, orchestrations/calls.ts).
// Pure: no I/O, no timers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  PROPAGATION_CHECK_BUDGET_MS,
  issuanceFlow,
  notificationSummaries,
  type FlowCall,
  type FlowOp,
  type IssueFlowInput,
  type IssueFlowOutput,
} from "../../src/issuance/flow";
import { StepFailedError, type StepError } from "../../src/issuance/step-error";

const T0 = Date.parse("2025-03-01T00:00:00.000Z");
const STEP_MS = 1_000;
const WAIT_MS = 60_000;
const iso = (ms: number) => new Date(T0 + ms).toISOString();

// ---- what the scripted steps answer --------------------------------------------------------------------------

const ZONE = { provider: "azure", id: "/zones/example.com", name: "example.com", nameServers: ["ns1.example.net"] };
const TARGETS = [
  { zone: ZONE, recordName: "_acme-challenge.www", fqdn: "_acme-challenge.www.example.com" },
  { zone: ZONE, recordName: "_acme-challenge", fqdn: "_acme-challenge.example.com" },
];
const KEY = { keyType: "RSA", keySize: 2048, reuseKey: false, exportable: true, contentType: "application/x-pkcs12" };
const VALIDATED = {
  dnsNames: ["www.example.com", "example.com"],
  certificateName: "www",
  vault: "kv1",
  keyOptions: KEY,
  targets: TARGETS,
  dnsAlias: "alias.example.org",
  issuerPins: ["PIN-A"],
  preferredChain: "ISRG Root X1",
  profile: "tlsserver",
  tags: { team: "web" },
};
/** The same request with none of the optional fields. */
const VALIDATED_BARE = {
  dnsNames: ["www.example.com", "example.com"],
  certificateName: "www",
  vault: "kv1",
  keyOptions: KEY,
  targets: TARGETS,
};
const RENEWAL_VALIDATED = { ...VALIDATED_BARE, certificateName: "web", vault: "kv2", dnsNames: ["web.example.com"] };

const AUTHZ = ["https://ca.test/authz/1", "https://ca.test/authz/2"];
const ORDER = {
  url: "https://ca.test/order/1",
  status: "pending",
  finalize: "https://ca.test/order/1/finalize",
  authorizations: AUTHZ,
  identifiers: ["www.example.com", "example.com"],
};
const CHALLENGES = [
  {
    authorizationUrl: AUTHZ[0],
    identifier: "www.example.com",
    challengeUrl: "https://ca.test/chall/1",
    token: "t1",
    txtValue: "v1",
    status: "pending",
    ...TARGETS[0],
  },
  {
    authorizationUrl: AUTHZ[1],
    identifier: "example.com",
    challengeUrl: "https://ca.test/chall/2",
    token: "t2",
    txtValue: "v2",
    status: "pending",
    ...TARGETS[1],
  },
];
const PLAN = { order: ORDER, challenges: CHALLENGES };
const READY_ORDER = { ...ORDER, status: "ready" };
const PENDING = {
  pending: { certificateName: "www", status: "inProgress", csr: "CSR-BASE64", requestId: "req-7", cancellationRequested: false },
  action: "created",
  reason: "no pending operation",
};
const READY = { visible: true, order: READY_ORDER, pending: PENDING, cleaned: true };
const NOT_VISIBLE = { visible: false, detail: "1 of 2 servers answer the TXT value", timeoutSeconds: 300 };
const VALID_ORDER = { ...READY_ORDER, status: "valid", certificate: "https://ca.test/cert/1", replaces: "ari.prev-id" };
const CHAIN = ["LEAF-PEM", "INTERMEDIATE-PEM"];
const ISSUED = { order: VALID_ORDER, chain: CHAIN };
const ISSUER = { subject: "CN=R11, O=Let's Encrypt, C=US", keyId: "c5cf", thumbprint: "ISSUER-THUMB" };
const MERGED = {
  certificateName: "www",
  version: "v2",
  thumbprint: "LEAF-THUMB",
  notBefore: "2025-03-01T00:00:00Z",
  notAfter: "2025-05-30T00:00:00Z",
  dnsNames: ["www.example.com", "example.com"],
  id: "https://kv1.vault.azure.net/certificates/www/v2",
  issuer: ISSUER,
  issuerPins: ["PIN-A"],
  issuerChanged: false,
  lifetimeShortened: false,
};
const PREVIOUS = { version: "v1", thumbprint: "OLD-THUMB", notAfter: "2025-06-01T00:00:00Z" };
const DELIVERED = [
  { eventType: "certificate.issued", target: "https://hooks.example.com:8443/hook?token=s3cret", ok: true, attempts: 1, status: 200 },
];
const REPORTED = { sent: [{ results: DELIVERED }] };
const NOTIFICATIONS = [{ event: "certificate.issued", target: "https://hooks.example.com:8443", ok: true, attempts: 1, status: 200 }];

// ---- the scripted driver -------------------------------------------------------------------------------------

/** How the driver answers a call: a value, or throws (a step: thrown into the flow; a best-effort call: undefined). */
type Answer = (op: FlowOp) => unknown;
type Script = Partial<Record<FlowCall | "propagation", Answer>>;

const DEFAULTS: Script = {
  validateRequest: () => VALIDATED,
  validateRenewal: () => RENEWAL_VALIDATED,
  placeOrder: () => PLAN,
  presentAndValidate: () => READY,
  finalizeAndDownload: () => ISSUED,
  mergeIssuedChain: () => MERGED,
  cleanupChallenges: () => ({ removed: 2 }),
  abandonIssuance: () => ({ abandoned: true }),
  recordRenewalFailure: () => ({ attempts: 3 }),
  notify: () => ({ results: [] }),
  report: () => REPORTED,
};

interface Run {
  ops: FlowOp[];
  output?: IssueFlowOutput;
  /** What the flow threw at its end. */
  error?: unknown;
  /** What the driver threw into the flow (the failed steps). */
  thrownIn: unknown[];
}

/** Runs the flow to its end, answering each op from `script` (over DEFAULTS); every op recorded as yielded. */
function drive(input: IssueFlowInput, script: Script = {}): Run {
  const answers = { ...DEFAULTS, ...script };
  let now = T0;
  let ids = 0;
  const flow = issuanceFlow(input, { now: () => new Date(now), newId: () => `failure-${++ids}` });
  const ops: FlowOp[] = [];
  const thrownIn: unknown[] = [];
  let next = flow.next();
  while (!next.done) {
    const op = next.value;
    ops.push(structuredClone(op));
    let answer: unknown;
    let failure: { err: unknown } | undefined;
    if (op.kind === "step" || op.kind === "propagation" || op.kind === "try") {
      const key = op.kind === "propagation" ? "propagation" : op.call;
      const answerOf = answers[key];
      if (!answerOf) throw new Error(`the script has no answer for ${key}`);
      if (op.kind !== "try") now += op.kind === "step" ? STEP_MS : WAIT_MS;
      try {
        answer = answerOf(op);
      } catch (err) {
        if (op.kind !== "try") {
          failure = { err };
          thrownIn.push(err);
        }
      }
    } else if (op.kind !== "status" && op.kind !== "warn") throw new Error(`unexpected op ${op.kind}`);
    try {
      next = failure ? flow.throw(failure.err) : flow.next(answer);
    } catch (error) {
      return { ops, error, thrownIn };
    }
  }
  return { ops, output: next.value, thrownIn };
}

/**
 * `err` as a StepFailedError, else a failure with a message (assert.ok without one reads the test's source to describe
 * the expression, which under tsx's transform ran for minutes).
 */
function stepFailure(err: unknown): StepFailedError {
  if (!(err instanceof StepFailedError)) assert.fail(`expected a StepFailedError, got ${String(err)}`);
  return err;
}

const failWith =
  (step: string, error: Partial<StepError> = {}): Answer =>
  () => {
    throw new StepFailedError(step, { name: "UpstreamError", message: `${step} broke`, retryable: false, ...error });
  };

// ---- expected ops --------------------------------------------------------------------------------------------

interface Base {
  certificateName?: string;
  reason: "issue" | "renew";
  operationId?: string;
}
const ISSUE: Base = { certificateName: "www", reason: "issue", operationId: "op-1" };

const status = (step: string, base: Base = ISSUE, extra: Record<string, unknown> = {}): FlowOp => ({
  kind: "status",
  status: { step, certificateName: base.certificateName, reason: base.reason, ...extra, operationId: base.operationId },
});
const stepOp = (step: string, call: FlowCall, input: unknown): FlowOp => ({ kind: "step", step, call, input });
const tryOp = (call: FlowCall, input: unknown, retry: boolean): FlowOp => ({ kind: "try", call, input, retry });
const check = (present: boolean, request: unknown = VALIDATED) => ({ plan: PLAN, request, budgetMs: 10_000, present });
const finalizeInput = (preferredChain?: string) => ({
  order: READY_ORDER,
  csr: "CSR-BASE64",
  ...(preferredChain === undefined ? {} : { preferredChain }),
});
const mergeInput = (v: Record<string, unknown> = VALIDATED) => ({
  certificateName: v.certificateName,
  vault: v.vault,
  dnsNames: v.dnsNames,
  targets: v.targets,
  dnsAlias: v.dnsAlias,
  issuerPins: v.issuerPins,
  preferredChain: v.preferredChain,
  profile: v.profile,
  tags: v.tags,
  chain: CHAIN,
  requestId: "req-7",
});
const cleanupAttempt = tryOp("cleanupChallenges", { challenges: CHALLENGES }, true);

/** The report of a successful issue of VALIDATED / MERGED after `ms`. */
/** `ms`: its durationMs; `timeMs`: when it reports (later than the duration when a cleanup step ran after the merge). */
function issuedReport(ms: number, warnings?: string[], timeMs = ms): FlowOp {
  const operationId = "op-1";
  const data = {
    certificateName: "www",
    dnsNames: VALIDATED.dnsNames,
    version: "v2",
    thumbprint: "LEAF-THUMB",
    notBefore: "2025-03-01T00:00:00Z",
    notAfter: "2025-05-30T00:00:00Z",
    ...(warnings ? { warnings } : {}),
  };
  return tryOp(
    "report",
    {
      vault: "kv1",
      events: [{ type: "certificate.issued", data, time: iso(timeMs), operationId }],
      outcome: {
        name: "issueCertificate",
        success: true,
        certificateName: "www",
        namesCount: 2,
        durationMs: ms,
        operationId,
        issuer: "ISSUER-THUMB",
        issuerChanged: false,
        lifetimeShortened: false,
        ...(warnings ? { warnings } : {}),
      },
    },
    false,
  );
}

/** The output of a successful issue of VALIDATED / MERGED after `ms`. */
function issuedOutput(ms: number, extra: Partial<IssueFlowOutput> = {}): IssueFlowOutput {
  return {
    certificateName: "www",
    version: "v2",
    thumbprint: "LEAF-THUMB",
    notBefore: "2025-03-01T00:00:00Z",
    notAfter: "2025-05-30T00:00:00Z",
    dnsNames: VALIDATED.dnsNames,
    durationMs: ms,
    pendingAction: "created",
    replaces: "ari.prev-id",
    reason: "issue",
    vault: "kv1",
    issuer: ISSUER,
    notifications: NOTIFICATIONS,
    operationId: "op-1",
    ...extra,
  };
}

/** The report of a failed issue (no events: only renewals report a failure by webhook). */
function failedIssueReport(o: {
  vault?: string;
  certificateName: string;
  namesCount: number;
  ms: number;
  failedStep: string;
  error: string;
}) {
  return tryOp(
    "report",
    {
      ...(o.vault === undefined ? {} : { vault: o.vault }),
      events: [],
      outcome: {
        name: "issueCertificate",
        success: false,
        certificateName: o.certificateName,
        namesCount: o.namesCount,
        durationMs: o.ms,
        failedStep: o.failedStep,
        error: o.error,
        operationId: "op-1",
      },
    },
    false,
  );
}

/** The validateRequest input the flow sends: the request's fields, each one the request left out as undefined. */
function validateInput(dnsNames: string[] | string, certificateName: string | undefined, extra: Record<string, unknown> = {}) {
  return {
    ...extra,
    dnsNames,
    certificateName,
    keyOptions: undefined,
    replacesAriCertId: undefined,
    adopt: undefined,
    dnsAlias: undefined,
    allowNameOverlap: undefined,
    overlapCheckedAt: undefined,
    issuerPins: undefined,
    preferredChain: undefined,
    profile: undefined,
    tags: undefined,
  };
}

const ISSUE_INPUT: IssueFlowInput = { dnsNames: ["www.example.com", "example.com"], certificateName: "www", operationId: "op-1" };

/** The ops of a successful issue of ISSUE_INPUT up to and including the merge step (5 steps: 5 s). */
const ISSUE_UNTIL_MERGE: FlowOp[] = [
  status("validate"),
  stepOp("validate", "validateRequest", validateInput(["www.example.com", "example.com"], "www")),
  status("order"),
  stepOp("order", "placeOrder", VALIDATED),
  status("dns-present"),
  stepOp("dns-present", "presentAndValidate", check(true)),
  status("finalize"),
  stepOp("finalize", "finalizeAndDownload", finalizeInput("ISRG Root X1")),
  status("merge"),
  stepOp("merge", "mergeIssuedChain", mergeInput()),
];

const NOTHING_ABANDON = { certificateName: undefined, requestId: undefined, authorizationUrls: undefined };

// ---- the tests -----------------------------------------------------------------------------------------------

describe("issuanceFlow: an issue", () => {
  it("PROPAGATION_CHECK_BUDGET_MS is 10000", () => {
    assert.equal(PROPAGATION_CHECK_BUDGET_MS, 10_000);
  });

  it("an issue yields validate, order, dns-present, finalize, merge, notify, done in that order, each step's exact input, one report (retry false) and the exact output", () => {
    const run = drive(ISSUE_INPUT);
    assert.equal(run.error, undefined);
    assert.deepEqual(run.ops, [
      ...ISSUE_UNTIL_MERGE,
      status("notify"),
      issuedReport(5_000),
      status("done", ISSUE, { notifications: NOTIFICATIONS }),
    ]);
    assert.deepEqual(run.output, issuedOutput(5_000));
  });

  it("an issue with every request field passes each into validateRequest after the input's vault, with the validationRun", () => {
    const input: IssueFlowInput = {
      dnsNames: "www.example.com",
      certificateName: "www",
      vault: "kv1",
      keyOptions: { keyType: "EC-P256" },
      replacesAriCertId: "ari.old",
      adopt: true,
      dnsAlias: "alias.example.org",
      allowNameOverlap: true,
      overlapCheckedAt: "2025-02-28T23:59:00Z",
      validationRun: "run-1",
      issuerPins: ["PIN-A"],
      preferredChain: "ISRG Root X1",
      profile: "tlsserver",
      tags: { team: "web" },
      operationId: "op-1",
      reason: "issue",
      renewalReason: "ignored for issues",
    };
    const run = drive(input);
    assert.deepEqual(run.ops.slice(0, 2), [
      status("validate"),
      stepOp("validate", "validateRequest", {
        vault: "kv1",
        dnsNames: "www.example.com",
        certificateName: "www",
        keyOptions: { keyType: "EC-P256" },
        replacesAriCertId: "ari.old",
        adopt: true,
        dnsAlias: "alias.example.org",
        allowNameOverlap: true,
        overlapCheckedAt: "2025-02-28T23:59:00Z",
        validationRun: "run-1",
        issuerPins: ["PIN-A"],
        preferredChain: "ISRG Root X1",
        profile: "tlsserver",
        tags: { team: "web" },
      }),
    ]);
    assert.deepEqual(run.output, issuedOutput(5_000));
  });

  it("an issue without certificateName, dnsNames or operationId: status certificateName undefined until validated, then the validated name; validateRequest gets dnsNames []", () => {
    const run = drive({});
    const none: Base = { certificateName: undefined, reason: "issue", operationId: undefined };
    const named: Base = { certificateName: "www", reason: "issue", operationId: undefined };
    assert.deepEqual(run.ops.slice(0, 3), [
      status("validate", none),
      stepOp("validate", "validateRequest", validateInput([], undefined)),
      status("order", named),
    ]);
    assert.equal(run.output?.operationId, undefined);
    assert.equal(run.output?.certificateName, "www");
  });

  it("an issue named kv9/www without vault: validateRequest gets vault kv9 and certificateName www", () => {
    const run = drive({ dnsNames: ["www.example.com"], certificateName: "kv9/www", operationId: "op-1" });
    assert.deepEqual(run.ops[1], {
      kind: "step",
      step: "validate",
      call: "validateRequest",
      input: validateInput(["www.example.com"], "www", { vault: "kv9" }),
    });
  });

  it("an issue with reason issue and dnsNames [] calls validateRequest (not validateRenewal)", () => {
    const run = drive({ reason: "issue", dnsNames: [], certificateName: "www", operationId: "op-1" });
    assert.deepEqual(run.ops.slice(0, 2), [status("validate"), stepOp("validate", "validateRequest", validateInput([], "www"))]);
  });

  it("a request without preferredChain: finalizeAndDownload gets order and csr only, mergeIssuedChain the absent fields as undefined", () => {
    const run = drive(ISSUE_INPUT, { validateRequest: () => VALIDATED_BARE });
    assert.deepEqual(run.ops.slice(3, 10), [
      stepOp("order", "placeOrder", VALIDATED_BARE),
      status("dns-present"),
      stepOp("dns-present", "presentAndValidate", check(true, VALIDATED_BARE)),
      status("finalize"),
      stepOp("finalize", "finalizeAndDownload", finalizeInput()),
      status("merge"),
      stepOp("merge", "mergeIssuedChain", mergeInput(VALIDATED_BARE)),
    ]);
  });

  it("an order the CA did not accept `replaces` for: the output has no replaces, pendingAction is the pending operation's action", () => {
    const run = drive(ISSUE_INPUT, {
      finalizeAndDownload: () => ({ order: { ...VALID_ORDER, replaces: undefined }, chain: CHAIN }),
      presentAndValidate: () => ({ ...READY, pending: { ...PENDING, action: "reused" } }),
    });
    const expected: Partial<IssueFlowOutput> = issuedOutput(5_000, { pendingAction: "reused" });
    delete expected.replaces;
    assert.deepEqual(run.output, expected);
  });
});

describe("issuanceFlow: a renewal", () => {
  const RENEW: Base = { certificateName: "web", reason: "renew", operationId: "op-2" };
  /** The renewed version of kv2/web. */
  const RENEWED = {
    ...MERGED,
    certificateName: "web",
    dnsNames: ["web.example.com"],
    id: "https://kv2.vault.azure.net/certificates/web/v2",
  };
  const renewing: Script = { mergeIssuedChain: () => RENEWED };
  const renewedReport = (reason: string, ms: number): FlowOp => {
    const data = {
      certificateName: "web",
      dnsNames: RENEWAL_VALIDATED.dnsNames,
      version: "v2",
      thumbprint: "LEAF-THUMB",
      notBefore: "2025-03-01T00:00:00Z",
      notAfter: "2025-05-30T00:00:00Z",
    };
    return tryOp(
      "report",
      {
        vault: "kv2",
        events: [{ type: "certificate.renewed", data: { ...data, reason }, time: iso(ms), operationId: "op-2" }],
        outcome: {
          name: "renewCertificate",
          success: true,
          certificateName: "web",
          namesCount: 1,
          durationMs: ms,
          operationId: "op-2",
          issuer: "ISSUER-THUMB",
          issuerChanged: false,
          lifetimeShortened: false,
        },
      },
      false,
    );
  };

  it('a renewal of "kv2/web": renewal-request step validateRenewal {certificateName web, vault kv2, validationRun}, then the rest in kv2, certificate.renewed with its renewalReason', () => {
    const run = drive(
      {
        reason: "renew",
        certificateName: "kv2/web",
        renewalReason: "ari-window",
        validationRun: "run-9",
        operationId: "op-2",
      },
      renewing,
    );
    assert.equal(run.error, undefined);
    assert.deepEqual(run.ops, [
      status("renewal-request", RENEW),
      stepOp("renewal-request", "validateRenewal", { certificateName: "web", vault: "kv2", validationRun: "run-9" }),
      status("order", RENEW),
      stepOp("order", "placeOrder", RENEWAL_VALIDATED),
      status("dns-present", RENEW),
      stepOp("dns-present", "presentAndValidate", check(true, RENEWAL_VALIDATED)),
      status("finalize", RENEW),
      stepOp("finalize", "finalizeAndDownload", finalizeInput()),
      status("merge", RENEW),
      stepOp("merge", "mergeIssuedChain", mergeInput(RENEWAL_VALIDATED)),
      status("notify", RENEW),
      renewedReport("ari-window", 5_000),
      status("done", RENEW, { notifications: NOTIFICATIONS }),
    ]);
    assert.deepEqual(run.output, {
      ...issuedOutput(5_000),
      certificateName: "web",
      dnsNames: RENEWAL_VALIDATED.dnsNames,
      reason: "renew",
      vault: "kv2",
      operationId: "op-2",
    });
  });

  it("a renewal with dnsNames [] and no validationRun calls validateRenewal with certificateName only (no vault, no validationRun keys); renewed reason manual", () => {
    const run = drive({ reason: "renew", certificateName: "web", dnsNames: [], operationId: "op-2" }, renewing);
    assert.deepEqual(run.ops.slice(0, 2), [
      status("renewal-request", RENEW),
      stepOp("renewal-request", "validateRenewal", { certificateName: "web" }),
    ]);
    assert.deepEqual(run.ops[11], renewedReport("manual", 5_000));
  });

  it("a renewal of kv2/web with input vault kv3: validateRenewal gets vault kv3", () => {
    const run = drive({ reason: "renew", certificateName: "kv2/web", vault: "kv3", operationId: "op-2" });
    assert.deepEqual(run.ops[1], stepOp("renewal-request", "validateRenewal", { certificateName: "web", vault: "kv3" }));
  });

  it("a renewal with dnsNames given (an array, or a string, even empty) calls validateRequest, not validateRenewal", () => {
    for (const dnsNames of [["web.example.com"], "web.example.com", ""]) {
      const run = drive({ reason: "renew", certificateName: "web", dnsNames, operationId: "op-2" });
      assert.deepEqual(run.ops.slice(0, 2), [
        status("validate", RENEW),
        stepOp("validate", "validateRequest", validateInput(dnsNames, "web")),
      ]);
    }
  });
});

describe("issuanceFlow: DNS propagation", () => {
  it("values not visible yet: status propagation, then one propagation op {step propagation, challenges, status, last, check presentAndValidate with present false, budgetMs 10000}; its answer goes on to finalize", () => {
    const run = drive(ISSUE_INPUT, { presentAndValidate: () => NOT_VISIBLE, propagation: () => READY });
    assert.deepEqual(run.ops.slice(4, 10), [
      status("dns-present"),
      stepOp("dns-present", "presentAndValidate", check(true)),
      status("propagation"),
      {
        kind: "propagation",
        step: "propagation",
        challenges: CHALLENGES,
        status: { step: "propagation", certificateName: "www", reason: "issue", operationId: "op-1" },
        last: NOT_VISIBLE,
        check: { call: "presentAndValidate", input: { plan: PLAN, request: VALIDATED, budgetMs: 10_000, present: false } },
      },
      status("finalize"),
      stepOp("finalize", "finalizeAndDownload", finalizeInput("ISRG Root X1")),
    ]);
    assert.equal(run.ops.length, 15);
    assert.deepEqual(run.output, issuedOutput(5_000 + 60_000));
  });
});

describe("issuanceFlow: TXT cleanup", () => {
  const CLEANUP_WARN: FlowOp = {
    kind: "warn",
    step: "cleanup",
    message: "TXT cleanup after validation failed, retried at the end: zone busy",
  };

  it("a validation that reports cleaned false: a cleanup warning right after presentAndValidate, then after the merge status cleanup + step cleanupChallenges, and no cleanup at the end", () => {
    const run = drive(ISSUE_INPUT, { presentAndValidate: () => ({ ...READY, cleaned: false, cleanupError: "zone busy" }) });
    assert.deepEqual(run.ops, [
      ...ISSUE_UNTIL_MERGE.slice(0, 6),
      CLEANUP_WARN,
      ...ISSUE_UNTIL_MERGE.slice(6),
      status("cleanup"),
      stepOp("cleanup", "cleanupChallenges", { challenges: CHALLENGES }),
      status("notify"),
      issuedReport(5_000, undefined, 6_000),
      status("done", ISSUE, { notifications: NOTIFICATIONS }),
    ]);
    assert.deepEqual(run.output, issuedOutput(5_000));
  });

  it("cleaned false without a cleanupError: the warning message ends after the colon", () => {
    const run = drive(ISSUE_INPUT, { presentAndValidate: () => ({ ...READY, cleaned: false }) });
    assert.deepEqual(run.ops[6], { kind: "warn", step: "cleanup", message: "TXT cleanup after validation failed, retried at the end: " });
  });

  it("the cleanup step failing after the merge: the issue succeeds with the warning 'Certificate issued, but removing the challenge TXT values failed: <message>', and no second cleanup", () => {
    const run = drive(ISSUE_INPUT, {
      presentAndValidate: () => ({ ...READY, cleaned: false, cleanupError: "zone busy" }),
      cleanupChallenges: failWith("cleanup", { message: "still busy" }),
    });
    const warnings = ["Certificate issued, but removing the challenge TXT values failed: still busy"];
    assert.equal(run.error, undefined);
    assert.deepEqual(run.ops.slice(11), [
      status("cleanup"),
      stepOp("cleanup", "cleanupChallenges", { challenges: CHALLENGES }),
      status("notify"),
      issuedReport(5_000, warnings, 6_000),
      status("done", ISSUE, { notifications: NOTIFICATIONS }),
    ]);
    assert.deepEqual(run.output, issuedOutput(5_000, { warnings }));
  });

  it("the cleanup step throwing a plain Error: the warning carries that error's message", () => {
    const run = drive(ISSUE_INPUT, {
      presentAndValidate: () => ({ ...READY, cleaned: false }),
      cleanupChallenges: () => {
        throw new Error("dns down");
      },
    });
    assert.deepEqual(run.output?.warnings, ["Certificate issued, but removing the challenge TXT values failed: dns down"]);
  });
});

describe("issuanceFlow: warnings of a merged version", () => {
  it("a preferred chain not offered: the warning names the preferred chain and the offered ones, in the report and the output", () => {
    const run = drive(ISSUE_INPUT, {
      finalizeAndDownload: () => ({
        ...ISSUED,
        choice: { preferredChain: "ISRG Root X2", matched: false, offered: ["ISRG Root X1", "R11"] },
      }),
    });
    const warnings = ['No chain issued by "ISRG Root X2" was offered (ISRG Root X1, R11): the CA\'s default chain was installed'];
    assert.deepEqual(run.ops.slice(10), [
      status("notify"),
      issuedReport(5_000, warnings),
      status("done", ISSUE, { notifications: NOTIFICATIONS }),
    ]);
    assert.deepEqual(run.output, issuedOutput(5_000, { warnings }));
  });

  it("a preferred chain matched: no warnings key in the output or the report", () => {
    const run = drive(ISSUE_INPUT, {
      finalizeAndDownload: () => ({ ...ISSUED, choice: { preferredChain: "ISRG Root X1", matched: true, offered: ["ISRG Root X1"] } }),
    });
    assert.deepEqual(run.ops[11], issuedReport(5_000));
    assert.deepEqual(run.output, issuedOutput(5_000));
  });

  it("tags not written: the warning 'Certificate issued as version v2, but tagging it failed: <reason>'", () => {
    const run = drive(ISSUE_INPUT, { mergeIssuedChain: () => ({ ...MERGED, tagsNotWritten: "Forbidden by policy" }) });
    assert.deepEqual(run.output?.warnings, ["Certificate issued as version v2, but tagging it failed: Forbidden by policy"]);
  });

  it("a lifetime shortened against a previous version: the warning names both versions and their notAfter", () => {
    const run = drive(ISSUE_INPUT, { mergeIssuedChain: () => ({ ...MERGED, lifetimeShortened: true, previous: PREVIOUS }) });
    assert.deepEqual(run.output?.warnings, [
      "Version v2 expires 2025-05-30T00:00:00Z, before the previous version v1 (2025-06-01T00:00:00Z)",
    ]);
  });

  it("lifetimeShortened without a previous version, or a previous version not shortened: no warning", () => {
    for (const merged of [
      { ...MERGED, lifetimeShortened: true },
      { ...MERGED, previous: PREVIOUS },
    ]) {
      const run = drive(ISSUE_INPUT, { mergeIssuedChain: () => merged });
      assert.equal(run.error, undefined);
      assert.equal(run.output !== undefined && "warnings" in run.output, false);
    }
  });

  it("all four at once: warnings in the order chain, cleanup, tags, lifetime", () => {
    const run = drive(ISSUE_INPUT, {
      presentAndValidate: () => ({ ...READY, cleaned: false }),
      finalizeAndDownload: () => ({ ...ISSUED, choice: { preferredChain: "X2", matched: false, offered: ["X1"] } }),
      cleanupChallenges: failWith("cleanup", { message: "gone" }),
      mergeIssuedChain: () => ({ ...MERGED, tagsNotWritten: "403", lifetimeShortened: true, previous: PREVIOUS }),
    });
    assert.deepEqual(run.output?.warnings, [
      'No chain issued by "X2" was offered (X1): the CA\'s default chain was installed',
      "Certificate issued, but removing the challenge TXT values failed: gone",
      "Certificate issued as version v2, but tagging it failed: 403",
      "Version v2 expires 2025-05-30T00:00:00Z, before the previous version v1 (2025-06-01T00:00:00Z)",
    ]);
  });
});

describe("issuanceFlow: a failure at each step", () => {
  const INPUT: IssueFlowInput = { dnsNames: ["www.example.com", "example.com"], operationId: "op-1" };
  interface Case {
    name: string;
    script: Script;
    failedStep: string;
    /** The ops the flow yielded before the failure (after the first status). */
    before: number;
    /** Step calls before the failure (1 s each), propagation waits (60 s each). */
    ms: number;
    abandon: Record<string, unknown>;
    certificateName?: string;
    vault?: string;
    cleanup: boolean;
    /** The failure's message when not "<step> broke". */
    message?: string;
  }
  const ORDERED = { vault: "kv1", certificateName: undefined, requestId: undefined, authorizationUrls: AUTHZ };
  const PENDING_REACHED = { vault: "kv1", certificateName: "www", requestId: undefined, authorizationUrls: AUTHZ };
  const PENDING_KNOWN = { vault: "kv1", certificateName: "www", requestId: "req-7", authorizationUrls: AUTHZ };
  const cases: Case[] = [
    {
      name: "validate: abandonIssuance with no vault, certificateName, requestId or authorizationUrls; no cleanup",
      script: { validateRequest: failWith("validate") },
      failedStep: "validate",
      before: 2,
      ms: 1_000,
      abandon: NOTHING_ABANDON,
      cleanup: false,
    },
    {
      name: "order: abandonIssuance with the validated vault only; no cleanup",
      script: { placeOrder: failWith("order") },
      failedStep: "order",
      before: 4,
      ms: 2_000,
      abandon: { vault: "kv1", ...NOTHING_ABANDON },
      certificateName: "www",
      vault: "kv1",
      cleanup: false,
    },
    {
      name: "dns-present: abandonIssuance with vault and authorizationUrls, no certificateName; cleanupChallenges at the end",
      script: { presentAndValidate: failWith("dns-present") },
      failedStep: "dns-present",
      before: 6,
      ms: 3_000,
      abandon: ORDERED,
      certificateName: "www",
      vault: "kv1",
      cleanup: true,
    },
    {
      name: "propagation (the first check): abandonIssuance with authorizationUrls, no certificateName; cleanupChallenges at the end",
      script: { presentAndValidate: failWith("propagation") },
      failedStep: "propagation",
      before: 6,
      ms: 3_000,
      abandon: ORDERED,
      certificateName: "www",
      vault: "kv1",
      cleanup: true,
    },
    {
      name: "propagation (the wait timing out): abandonIssuance with authorizationUrls, no certificateName; cleanupChallenges at the end",
      script: {
        presentAndValidate: () => NOT_VISIBLE,
        propagation: failWith("propagation", { message: "TXT values not visible after 300 s" }),
      },
      failedStep: "propagation",
      message: "TXT values not visible after 300 s",
      before: 8,
      ms: 63_000,
      abandon: ORDERED,
      certificateName: "www",
      vault: "kv1",
      cleanup: true,
    },
    {
      name: "validate-challenges: abandonIssuance with authorizationUrls, no certificateName; cleanupChallenges at the end",
      script: { presentAndValidate: failWith("validate-challenges") },
      failedStep: "validate-challenges",
      before: 6,
      ms: 3_000,
      abandon: ORDERED,
      certificateName: "www",
      vault: "kv1",
      cleanup: true,
    },
    {
      name: "pending-operation: abandonIssuance with certificateName (no requestId yet) and authorizationUrls; cleanupChallenges at the end",
      script: { presentAndValidate: failWith("pending-operation") },
      failedStep: "pending-operation",
      before: 6,
      ms: 3_000,
      abandon: PENDING_REACHED,
      certificateName: "www",
      vault: "kv1",
      cleanup: true,
    },
    {
      name: "finalize (values cleaned): abandonIssuance with certificateName, requestId and authorizationUrls; no cleanup",
      script: { finalizeAndDownload: failWith("finalize") },
      failedStep: "finalize",
      before: 8,
      ms: 4_000,
      abandon: PENDING_KNOWN,
      certificateName: "www",
      vault: "kv1",
      cleanup: false,
    },
    {
      name: "download (values not cleaned): abandonIssuance with certificateName, requestId and authorizationUrls; cleanupChallenges at the end",
      script: { presentAndValidate: () => ({ ...READY, cleaned: false, cleanupError: "x" }), finalizeAndDownload: failWith("download") },
      failedStep: "download",
      before: 9,
      ms: 4_000,
      abandon: PENDING_KNOWN,
      certificateName: "www",
      vault: "kv1",
      cleanup: true,
    },
    {
      name: "merge (values cleaned): abandonIssuance with certificateName, requestId and authorizationUrls; no cleanup",
      script: { mergeIssuedChain: failWith("merge") },
      failedStep: "merge",
      before: 10,
      ms: 5_000,
      abandon: PENDING_KNOWN,
      certificateName: "www",
      vault: "kv1",
      cleanup: false,
    },
  ];
  for (const c of cases) {
    it(`a failure at ${c.name}; status failed, the issue's report, the same StepFailedError thrown`, () => {
      const run = drive(INPUT, c.script);
      assert.equal(run.thrownIn.length, 1);
      const thrown = stepFailure(run.thrownIn[0]);
      assert.equal(run.error, thrown);
      assert.equal(thrown.error.message, c.message ?? `${c.failedStep} broke`);
      const base: Base = { certificateName: c.certificateName, reason: "issue", operationId: "op-1" };
      assert.deepEqual(run.ops.slice(c.before), [
        status("failed", base, { failedStep: c.failedStep, error: thrown.error.message }),
        tryOp("abandonIssuance", c.abandon, true),
        failedIssueReport({
          vault: c.vault,
          certificateName: c.certificateName ?? "",
          namesCount: 2,
          ms: c.ms,
          failedStep: c.failedStep,
          error: thrown.error.message,
        }),
        ...(c.cleanup ? [cleanupAttempt] : []),
      ]);
    });
  }

  it("a TypeError thrown at placeOrder fails as a StepFailedError at order with its name and message, retryable false", () => {
    const run = drive(INPUT, {
      placeOrder: () => {
        throw new TypeError("socket hang up");
      },
    });
    const error = stepFailure(run.error);
    assert.equal(error.step, "order");
    assert.deepEqual(error.error, { name: "TypeError", message: "socket hang up", retryable: false });
    assert.deepEqual(
      run.ops[4],
      status("failed", { certificateName: "www", reason: "issue", operationId: "op-1" }, { failedStep: "order", error: "socket hang up" }),
    );
  });

  it("an issue failing at validate counts the input's names: an array's length, a string as one name, none as zero", () => {
    for (const [dnsNames, namesCount] of [
      [["a.example.com", "b.example.com", "c.example.com"], 3],
      ["a.example.com", 1],
      [undefined, 0],
    ] as const) {
      const run = drive(
        { dnsNames: dnsNames as IssueFlowInput["dnsNames"], operationId: "op-1" },
        { validateRequest: failWith("validate") },
      );
      assert.deepEqual(
        run.ops.at(-1),
        failedIssueReport({ certificateName: "", namesCount, ms: 1_000, failedStep: "validate", error: "validate broke" }),
      );
    }
  });

  it("a failure in the input's vault before validation: abandonIssuance and the report carry that vault", () => {
    const run = drive({ ...INPUT, vault: "kv5" }, { validateRequest: failWith("validate") });
    assert.deepEqual(run.ops.slice(2), [
      status(
        "failed",
        { certificateName: undefined, reason: "issue", operationId: "op-1" },
        { failedStep: "validate", error: "validate broke" },
      ),
      tryOp("abandonIssuance", { vault: "kv5", ...NOTHING_ABANDON }, true),
      failedIssueReport({ vault: "kv5", certificateName: "", namesCount: 2, ms: 1_000, failedStep: "validate", error: "validate broke" }),
    ]);
  });
});

describe("issuanceFlow: a failed renewal", () => {
  const RENEW: Base = { certificateName: "web", reason: "renew", operationId: "op-2" };
  const failedRenewal = (o: {
    dnsNames: string[];
    failedStep: string;
    ms: number;
    certificateName?: string;
    vault?: string;
    attempt?: number;
  }) => {
    const name = o.certificateName ?? "web";
    const vault = o.vault === undefined ? {} : { vault: o.vault };
    const error = { source: "acme", code: "urn:ietf:params:acme:error:serverInternal", message: `${o.failedStep} broke`, status: 500 };
    return tryOp(
      "report",
      {
        ...vault,
        events: [
          {
            type: "certificate.renewal_failed",
            data: {
              certificateName: name,
              dnsNames: o.dnsNames,
              failedStep: o.failedStep,
              error,
              attempt: o.attempt ?? 3,
              operationId: "op-2",
            },
            time: iso(o.ms),
            operationId: "op-2",
          },
        ],
        outcome: {
          name: "renewCertificate",
          success: false,
          certificateName: name,
          namesCount: o.dnsNames.length,
          durationMs: o.ms,
          failedStep: o.failedStep,
          error: `${o.failedStep} broke`,
          operationId: "op-2",
        },
      },
      false,
    );
  };
  const acmeFailure = (step: string) =>
    failWith(step, { service: "Acme", status: 500, problemType: "urn:ietf:params:acme:error:serverInternal" });

  it('a renewal of "kv2/web" failing at renewal-request: abandonIssuance {vault kv2} only, recordRenewalFailure {vault kv2, certificateName web}, certificate.renewal_failed with dnsNames [], status failed with notifications', () => {
    const run = drive(
      { reason: "renew", certificateName: "kv2/web", operationId: "op-2" },
      { validateRenewal: acmeFailure("renewal-request") },
    );
    assert.deepEqual(run.ops, [
      status("renewal-request", RENEW),
      stepOp("renewal-request", "validateRenewal", { certificateName: "web", vault: "kv2" }),
      status("failed", RENEW, { failedStep: "renewal-request", error: "renewal-request broke" }),
      tryOp("abandonIssuance", { vault: "kv2", certificateName: undefined, requestId: undefined, authorizationUrls: undefined }, true),
      tryOp("recordRenewalFailure", { vault: "kv2", certificateName: "web", failureId: "failure-1", at: iso(1_000) }, true),
      failedRenewal({ dnsNames: [], failedStep: "renewal-request", ms: 1_000, vault: "kv2" }),
      status("failed", RENEW, { failedStep: "renewal-request", error: "renewal-request broke", notifications: NOTIFICATIONS }),
    ]);
    assert.equal(stepFailure(run.error).step, "renewal-request");
  });

  it("a renewal failing at order after validateRenewal: the renewal_failed event carries the validated names and the validated vault", () => {
    const run = drive({ reason: "renew", certificateName: "web", operationId: "op-2" }, { placeOrder: acmeFailure("order") });
    assert.deepEqual(run.ops.slice(4), [
      status("failed", RENEW, { failedStep: "order", error: "order broke" }),
      tryOp("abandonIssuance", { vault: "kv2", certificateName: undefined, requestId: undefined, authorizationUrls: undefined }, true),
      tryOp("recordRenewalFailure", { vault: "kv2", certificateName: "web", failureId: "failure-1", at: iso(2_000) }, true),
      failedRenewal({ dnsNames: ["web.example.com"], failedStep: "order", ms: 2_000, vault: "kv2" }),
      status("failed", RENEW, { failedStep: "order", error: "order broke", notifications: NOTIFICATIONS }),
    ]);
  });

  it("a renewal with dnsNames as a string failing at validate: renewal_failed dnsNames is that one name", () => {
    const run = drive(
      { reason: "renew", certificateName: "web", dnsNames: "web.example.com", operationId: "op-2" },
      { validateRequest: acmeFailure("validate") },
    );
    assert.deepEqual(run.ops[5], failedRenewal({ dnsNames: ["web.example.com"], failedStep: "validate", ms: 1_000 }));
  });

  it("a renewal without certificateName failing: validateRenewal gets certificateName undefined, no recordRenewalFailure, the event names certificate ''", () => {
    const run = drive({ reason: "renew", operationId: "op-2" }, { validateRenewal: acmeFailure("renewal-request") });
    const none: Base = { certificateName: undefined, reason: "renew", operationId: "op-2" };
    const report = failedRenewal({ dnsNames: [], failedStep: "renewal-request", ms: 1_000, certificateName: "", attempt: 1 });
    assert.deepEqual(run.ops, [
      status("renewal-request", none),
      stepOp("renewal-request", "validateRenewal", { certificateName: undefined }),
      status("failed", none, { failedStep: "renewal-request", error: "renewal-request broke" }),
      tryOp("abandonIssuance", NOTHING_ABANDON, true),
      report,
      status("failed", none, { failedStep: "renewal-request", error: "renewal-request broke", notifications: NOTIFICATIONS }),
    ]);
  });
});
describe("issuanceFlow: a merge refused by the issuer guard", () => {
  const REFUSED = {
    refused: {
      code: "IssuerNotPinned",
      message: "issuer CN=Other CA is not pinned for www",
      issuer: { subject: "CN=Other CA" },
      issuerPins: ["PIN-A"],
      previous: PREVIOUS,
    },
  };

  it("certificate.issuer_rejected notified (retry false), then failure at merge (ConflictError 409 IssuerNotPinned): abandonIssuance with the pending operation, cleanupChallenges at the end when not cleaned", () => {
    const run = drive(ISSUE_INPUT, {
      presentAndValidate: () => ({ ...READY, cleaned: false, cleanupError: "busy" }),
      mergeIssuedChain: () => REFUSED,
    });
    assert.deepEqual(run.ops.slice(11), [
      tryOp(
        "notify",
        {
          type: "certificate.issuer_rejected",
          data: {
            certificateName: "www",
            dnsNames: VALIDATED.dnsNames,
            issuer: { subject: "CN=Other CA" },
            issuerPins: ["PIN-A"],
            currentVersion: "v1",
            message: "issuer CN=Other CA is not pinned for www",
            operationId: "op-1",
          },
          time: iso(5_000),
          operationId: "op-1",
        },
        false,
      ),
      status("failed", ISSUE, { failedStep: "merge", error: "issuer CN=Other CA is not pinned for www" }),
      tryOp("abandonIssuance", { vault: "kv1", certificateName: "www", requestId: "req-7", authorizationUrls: AUTHZ }, true),
      failedIssueReport({
        vault: "kv1",
        certificateName: "www",
        namesCount: 2,
        ms: 5_000,
        failedStep: "merge",
        error: "issuer CN=Other CA is not pinned for www",
      }),
      cleanupAttempt,
    ]);
    const error = stepFailure(run.error);
    assert.equal(error.step, "merge");
    assert.deepEqual(error.error, {
      name: "ConflictError",
      code: "IssuerNotPinned",
      message: "issuer CN=Other CA is not pinned for www",
      status: 409,
      retryable: false,
    });
  });
});

describe("issuanceFlow: notifications in the output", () => {
  it("a report that failed (undefined) or sent nothing: notifications [] in the output and the done status", () => {
    for (const reported of [undefined, {}, { sent: "x" }, { sent: [{ results: "x" }] }]) {
      const run = drive(ISSUE_INPUT, { report: () => reported });
      assert.deepEqual(run.ops.at(-1), status("done", ISSUE, { notifications: [] }));
      assert.deepEqual(run.output?.notifications, []);
    }
  });

  it("notificationSummaries keeps event, the target's origin only, ok only when true, attempts (0 when absent), and status only when a number", () => {
    assert.deepEqual(
      notificationSummaries({
        results: [
          {
            eventType: "certificate.issued",
            target: "https://hooks.example.com:8443/hook?token=s3cret#x",
            ok: true,
            attempts: 2,
            status: 202,
          },
          { eventType: "certificate.renewed", target: "relay.internal/path", ok: "true", attempts: "3", status: "500" },
          { target: "relay?token=1" },
          { target: "relay#frag" },
          {},
        ],
      }),
      [
        { event: "certificate.issued", target: "https://hooks.example.com:8443", ok: true, attempts: 2, status: 202 },
        { event: "certificate.renewed", target: "relay.internal", ok: false, attempts: 3 },
        { event: "", target: "relay", ok: false, attempts: 0 },
        { event: "", target: "relay", ok: false, attempts: 0 },
        { event: "", target: "", ok: false, attempts: 0 },
      ],
    );
  });

  it("notificationSummaries of anything without a results array is []", () => {
    for (const output of [undefined, null, {}, { results: "x" }, { results: { length: 1 } }])
      assert.deepEqual(notificationSummaries(output), []);
  });
});
