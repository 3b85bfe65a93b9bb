/**
 * Orchestrator tests with real replay: the registered handlers run episode by episode on hand-built histories
 * (./replay.ts); the assertions are on the actions they return.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ORCHESTRATIONS, certificateInstanceId } from "../../src/orchestrations/ids";
import { RETRY } from "../../src/orchestrations/outcome";
import { flatten, runEpisodes, type Completion, type EpisodeRecord, type Work } from "./replay";

const ok = (value: unknown) => ({ ok: true, value });
const permanent = (message: string, extra: Record<string, unknown> = {}) => ({
  ok: false,
  error: { name: "UpstreamError", code: "AcmeError", service: "Acme", status: 400, message, retryable: false, ...extra },
});

const challenge = {
  identifier: "www.example.com",
  authorizationUrl: "https://ca.test/authz/1",
  challengeUrl: "https://ca.test/chall/1",
  token: "tok",
  txtValue: "txt-value-1",
  status: "pending",
  zone: {
    provider: "azure",
    id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/dnszones/example.com",
    name: "example.com",
    nameServers: [],
  },
  recordName: "_acme-challenge.www",
  fqdn: "_acme-challenge.www.example.com",
};
const validated = {
  dnsNames: ["www.example.com"],
  certificateName: "www",
  keyOptions: { keyType: "RSA", keySize: 2048 },
  zones: [challenge.zone],
};
const plan = {
  order: {
    url: "https://ca.test/order/1",
    status: "pending",
    finalize: "https://ca.test/finalize/1",
    authorizations: [challenge.authorizationUrl],
  },
  challenges: [challenge],
};
const readyOrder = { ...plan.order, status: "ready" };
const pending = {
  pending: { certificateName: "www", status: "inProgress", csr: "Q1NS", requestId: "req-42" },
  action: "created",
  reason: "no usable pending operation",
};

/** Happy answers for every issuance activity, with `failAt` answered by `failure` instead. */
function issuanceResponder(failAt: string, failure: unknown) {
  const answers: Record<string, unknown> = {
    validateRenewal: ok(validated),
    validateRequest: ok(validated),
    placeOrder: ok(plan),
    presentAndValidate: ok({ visible: true, order: readyOrder, pending, cleaned: true }),
    finalizeAndDownload: ok({
      order: { ...readyOrder, status: "valid", certificate: "https://ca.test/cert/1" },
      chain: ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"],
    }),
    cleanupChallenges: ok({ recordSets: 1 }),
    abandonIssuance: ok({ pendingDiscarded: true, authorizationsDeactivated: 1 }),
    recordRenewalFailure: ok({ attempts: 1 }),
    report: { sent: [{ eventId: "evt_x", results: [] }], tracked: false },
  };
  const log: Work[] = [];
  const respond = (open: Work[]): Completion[] =>
    open.map((w) => {
      log.push(w);
      const name = w.name ?? "";
      return { id: w.id, result: name === failAt ? failure : answers[name] };
    });
  return { respond, log };
}

const merged = {
  certificateName: "www",
  version: "v2",
  thumbprint: "AB",
  notBefore: "2026-01-01T00:00:00.000Z",
  notAfter: "2026-04-01T00:00:00.000Z",
  dnsNames: ["www.example.com"],
};

/**
 * Runs the issuance of www.example.com with some activities answered differently: `answer(work)` gives a failure
 * message or a result (undefined: `answers` answers it), timers fire when they are scheduled, `onEpisode` sees each
 * episode. `log` holds every activity scheduled, in order, those answered here included.
 */
async function runAnswering(
  answers: ReturnType<typeof issuanceResponder>,
  answer: (work: Work) => string | { result: unknown } | undefined,
  onEpisode?: (episode: EpisodeRecord) => void,
) {
  const log: Work[] = [];
  const run = await runIssue({ dnsNames: ["www.example.com"], certificateName: "www" }, (open, episode) => {
    onEpisode?.(episode);
    return open.map((w) => {
      if (w.kind === "timer") return { id: w.id, result: null };
      log.push(w);
      const special = answer(w);
      if (special === undefined) return answers.respond([w])[0]!;
      return typeof special === "string" ? { id: w.id, failure: special } : { id: w.id, result: special.result };
    });
  });
  return { run, log };
}

/** Runs the issueCertificate orchestration of "www" with `input`, `respond` answering its open work. */
function runIssue(input: Record<string, unknown>, respond: Parameters<typeof runEpisodes>[0]["respond"]) {
  return runEpisodes({ name: ORCHESTRATIONS.issue, input, instanceId: certificateInstanceId("www"), respond });
}

describe("issueCertificate episodes", () => {
  it("a permanent failure at validate-challenges (inside presentAndValidate): no retry, TXT values and authorizations cleaned, outcome reported, failed with that step", async () => {
    const { respond, log } = issuanceResponder(
      "presentAndValidate",
      permanent("ACME: validation failed (order invalid): www.example.com: incorrect TXT record", { step: "validate-challenges" }),
    );
    const run = await runIssue({ dnsNames: ["www.example.com"], certificateName: "www" }, respond);
    assert.match(run.failure ?? "", /^validate-challenges: ACME: validation failed/);
    const failedStatus = run.customStatus as { operationId: string };
    assert.match(
      failedStatus.operationId,
      /^[0-9a-f]{32}$/,
      "without one in the input, the operation id is a W3C trace id derived from the instance",
    );
    assert.deepEqual(run.customStatus, {
      step: "failed",
      certificateName: "www",
      reason: "issue",
      failedStep: "validate-challenges",
      error: "ACME: validation failed (order invalid): www.example.com: incorrect TXT record",
      operationId: failedStatus.operationId,
    });
    const names = log.map((w) => w.name);
    assert.deepEqual(names, ["validateRequest", "placeOrder", "presentAndValidate", "abandonIssuance", "report", "cleanupChallenges"]);
    const abandon = log.find((w) => w.name === "abandonIssuance");
    assert.deepEqual(
      abandon?.input,
      { authorizationUrls: [challenge.authorizationUrl] },
      "no pending operation was reached: only the authorizations",
    );
    assert.deepEqual(log.find((w) => w.name === "cleanupChallenges")?.input, { challenges: [challenge] });
    const reported = log.find((w) => w.name === "report")?.input as {
      events: unknown[];
      outcome: { success: boolean; failedStep: string };
    };
    assert.equal(reported.outcome.success, false);
    assert.equal(reported.outcome.failedStep, "validate-challenges");
    assert.deepEqual(reported.events, [], "a failed first issuance sends no renewal_failed");

    // The actions the last episode returned: every step a plain CallActivity (the driver owns retries and their timers).
    const last = run.episodes[run.episodes.length - 1]!;
    const actions = flatten(last.state.actions[0] ?? []);
    assert.deepEqual(
      [...new Set(actions.map((a) => a.actionType))],
      [0],
      "CallActivity only: no runtime retry policy that ignores Retry-After",
    );
  });

  it("a failure at pending-operation (inside presentAndValidate) abandons the certificate's pending operation by name", async () => {
    const { respond, log } = issuanceResponder(
      "presentAndValidate",
      permanent("Key Vault: Forbidden", { step: "pending-operation", service: "KeyVault", code: "KeyVaultError", status: 403 }),
    );
    const run = await runIssue({ dnsNames: ["www.example.com"], certificateName: "www" }, respond);
    assert.match(run.failure ?? "", /^pending-operation: Key Vault: Forbidden/);
    assert.deepEqual(log.find((w) => w.name === "abandonIssuance")?.input, {
      certificateName: "www",
      authorizationUrls: [challenge.authorizationUrl],
    });
  });

  it("a renewal failing at finalize discards its own pending operation, reports renewal_failed, and does not clean TXT twice", async () => {
    const { respond, log } = issuanceResponder(
      "finalizeAndDownload",
      permanent("ACME: order https://ca.test/order/1 is invalid: badCSR", { step: "finalize" }),
    );
    const run = await runIssue({ certificateName: "www", reason: "renew", operationId: "0af7651916cd43dd8448eb211c80319c" }, respond);
    assert.match(run.failure ?? "", /^finalize: ACME: order .* badCSR/);
    const names = log.map((w) => w.name);
    assert.deepEqual(names, [
      "validateRenewal",
      "placeOrder",
      "presentAndValidate",
      "finalizeAndDownload",
      "abandonIssuance",
      "recordRenewalFailure",
      "report",
    ]);
    const recorded = log.find((w) => w.name === "recordRenewalFailure")?.input as { certificateName: string; failureId: string };
    assert.equal(recorded.certificateName, "www");
    assert.match(recorded.failureId, /^[0-9a-f-]{36}$/, "a deterministic id per failed attempt (a retried activity counts once)");
    assert.deepEqual(log.find((w) => w.name === "abandonIssuance")?.input, {
      certificateName: "www",
      requestId: "req-42",
      authorizationUrls: [challenge.authorizationUrl],
    });
    const reported = log.find((w) => w.name === "report")?.input as {
      events: { type: string; data: { failedStep: string; error: { source: string; message: string }; operationId: string } }[];
      outcome: { failedStep: string };
    };
    const event = reported.events[0]!;
    assert.equal(reported.events.length, 1);
    assert.equal(event.type, "certificate.renewal_failed");
    assert.equal(event.data.failedStep, "finalize");
    assert.equal(event.data.error.source, "acme");
    assert.equal(event.data.operationId, "0af7651916cd43dd8448eb211c80319c");
    assert.equal(reported.outcome.failedStep, "finalize");
  });

  it("a transient failure that used up its retries is a failure of the step its message names, with cleanup", async () => {
    // The runtime reports an activity whose retries ran out as TaskFailed on the retryable task; a call running
    // several steps says which one in the message ("[step: …]", all of the failure that reaches the orchestrator).
    for (const [step, expected] of [
      ["dns-present", "dns-present"],
      ["validate-challenges", "validate-challenges"],
    ] as const) {
      const { run, log } = await runAnswering(issuanceResponder("", null), (w) =>
        w.name === "presentAndValidate"
          ? `Activity function 'presentAndValidate' failed: Azure DNS: 503 Service Unavailable [step: ${step}]`
          : undefined,
      );
      assert.match(run.failure ?? "", new RegExp(`^${expected}: Azure DNS: 503 Service Unavailable; gave up after 5 attempts`));
      const names = log.map((w) => w.name);
      assert.equal(
        names.filter((n) => n === "presentAndValidate").length,
        RETRY.maxNumberOfAttempts,
        "retried up to the policy's attempts",
      );
      assert.deepEqual(names.slice(2 + RETRY.maxNumberOfAttempts), ["abandonIssuance", "report", "cleanupChallenges"]);
    }
  });

  it("a throttled activity is retried after a durable timer of its Retry-After, an unthrottled one after the backoff", async () => {
    // presentAndValidate: throttled (a 429 with Retry-After 7 s, as the failure's message carries it), then a 503
    // without Retry-After, then success. Timers are answered when they are due.
    const failures = [
      "Activity function 'presentAndValidate' failed: Azure DNS (azure): adding TXT failed: Too Many Requests (Retry-After: 7 s) [step: dns-present] \n Result: Failure",
      "Activity function 'presentAndValidate' failed: Azure DNS (azure): adding TXT failed: 503 Service Unavailable [step: dns-present]",
    ];
    const answers = issuanceResponder("mergeIssuedChain", ok(merged));
    const timers: { episode: number; delayMs: number }[] = [];
    const { run } = await runAnswering(
      answers,
      (w) => (w.name === "presentAndValidate" ? failures.shift() : undefined),
      (episode) => {
        const episodeNow = Date.parse("2026-01-01T00:00:00Z") + episode.index * 1000;
        for (const w of episode.scheduled)
          if (w.kind === "timer") timers.push({ episode: episode.index, delayMs: Date.parse(w.fireAt ?? "") - episodeNow });
      },
    );
    assert.equal(run.failure, undefined, String(run.failure));
    const presents = answers.log.filter((w) => w.name === "presentAndValidate").length;
    assert.equal(presents, 1, "the third attempt succeeded (the two failures were answered above)");
    assert.deepEqual(
      timers.map((t) => t.delayMs),
      [7_000, RETRY.firstRetryIntervalInMilliseconds * RETRY.backoffCoefficient],
      "first the service's Retry-After, then the backoff of attempt 2",
    );
  });

  it("a Retry-After longer than the policy allows fails the step at once, naming the service and why", async () => {
    const { run } = await runAnswering(issuanceResponder("", null), (w) =>
      w.name === "placeOrder"
        ? "Activity function 'placeOrder' failed: Key Vault: reading the account key failed: throttled (Retry-After: 7200 s)"
        : undefined,
    );
    assert.match(run.failure ?? "", /^order: Key Vault: .*\(Retry-After: 7200 s\); gave up: the service asked to wait more than 3600 s/);
  });

  it("succeeds in 6 activities and 7 episodes (validate, order, TXT + validation + pending, finalize + download, merge, report); time from the orchestration clock", async () => {
    const { respond, log } = issuanceResponder("mergeIssuedChain", ok(merged));
    const run = await runEpisodes({
      name: ORCHESTRATIONS.issue,
      input: { dnsNames: ["www.example.com"], certificateName: "www" },
      instanceId: certificateInstanceId("www"),
      respond,
      start: new Date("2026-01-01T00:00:00Z"),
    });
    const out = run.output as { version: string; durationMs: number; reason: string };
    assert.equal(out.version, "v2");
    assert.equal(out.reason, "issue");
    assert.ok(out.durationMs > 0 && out.durationMs < 60_000, `durationMs ${out.durationMs} from episode timestamps`);
    const doneStatus = run.customStatus as { operationId: string };
    assert.deepEqual(run.customStatus, {
      step: "done",
      certificateName: "www",
      reason: "issue",
      notifications: [],
      operationId: doneStatus.operationId,
    });
    assert.deepEqual(
      log.map((w) => w.name),
      ["validateRequest", "placeOrder", "presentAndValidate", "finalizeAndDownload", "mergeIssuedChain", "report"],
      "the TXT values were removed by presentAndValidate: no cleanup call of its own",
    );
    assert.equal(run.episodes.length, 7, "the start and one episode per activity");
    assert.deepEqual(log.find((w) => w.name === "presentAndValidate")?.input, {
      plan,
      request: validated,
      budgetMs: 10_000,
      present: true,
    });
    assert.deepEqual(log.find((w) => w.name === "finalizeAndDownload")?.input, { order: readyOrder, csr: "Q1NS" });
    const reported = log.find((w) => w.name === "report")?.input as {
      events: { type: string; time: string }[];
      outcome: { success: boolean };
    };
    assert.equal(reported.events[0]?.type, "certificate.issued");
    assert.ok(reported.events[0]!.time.startsWith("2026-01-01T00:00:"), reported.events[0]!.time);
    assert.equal(reported.outcome.success, true);
  });

  it("a renewal succeeds in 6 activities and 7 episodes (the request read and validated in one)", async () => {
    const { respond, log } = issuanceResponder("mergeIssuedChain", ok(merged));
    const run = await runIssue({ certificateName: "www", reason: "renew", validationRun: "renewal-run-1" }, respond);
    assert.equal((run.output as { reason: string }).reason, "renew");
    assert.deepEqual(
      log.map((w) => w.name),
      ["validateRenewal", "placeOrder", "presentAndValidate", "finalizeAndDownload", "mergeIssuedChain", "report"],
    );
    // The renewal run's own id goes along (the validations of one run share their CAA answers, src/dns/caa.ts), never
    // the correlation id a client may set.
    const { operationId } = run.customStatus as { operationId: string };
    assert.match(operationId, /^[0-9a-f]{32}$/);
    assert.deepEqual(log[0]?.input, { certificateName: "www", validationRun: "renewal-run-1" });
    assert.equal(run.episodes.length, 7);
    assert.equal((log[5]?.input as { events: { type: string }[] }).events[0]?.type, "certificate.renewed");
  });

  it("values not visible at the first check: durable timers, then checks without presenting that go on to the validation when visible", async () => {
    const answers = issuanceResponder("mergeIssuedChain", ok(merged));
    const notYet = ok({ visible: false, detail: "ns1: no TXT yet", timeoutSeconds: 300 });
    let checks = 0;
    const timers: string[] = [];
    const { run, log } = await runAnswering(
      answers,
      (w) => (w.name === "presentAndValidate" && checks++ < 3 ? { result: notYet } : undefined),
      (episode) => {
        for (const w of episode.scheduled) if (w.kind === "timer") timers.push(w.fireAt ?? "");
      },
    );
    assert.equal(run.failure, undefined, String(run.failure));
    const calls = log.filter((w) => w.name === "presentAndValidate").map((w) => (w.input as { present: boolean }).present);
    assert.deepEqual(calls, [true, false, false, false], "the values are added once; the later calls only check (and then validate)");
    assert.equal(timers.length, 3, "one durable timer before each later check");
    assert.equal(answers.log.filter((w) => w.name === "cleanupChallenges").length, 0);
  });

  it("a TXT cleanup that failed inside presentAndValidate is retried once at the end, and the issuance succeeds", async () => {
    const { run, log } = await runAnswering(issuanceResponder("mergeIssuedChain", ok(merged)), (w) =>
      w.name === "presentAndValidate"
        ? { result: ok({ visible: true, order: readyOrder, pending, cleaned: false, cleanupError: "Azure DNS: 503" }) }
        : undefined,
    );
    assert.equal((run.output as { version: string }).version, "v2");
    assert.deepEqual(
      log.map((w) => w.name),
      ["validateRequest", "placeOrder", "presentAndValidate", "finalizeAndDownload", "mergeIssuedChain", "cleanupChallenges", "report"],
    );
  });
});
