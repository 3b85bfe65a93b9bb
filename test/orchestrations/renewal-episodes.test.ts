/**
 * The renewal run's orchestrator with real replay (./replay.ts): the sliding window of sub-orchestrations, in-progress
 * certificates skipped, dry runs. The issuance's own episodes are in ./episodes.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ORCHESTRATIONS, certificateInstanceId } from "../../src/orchestrations/ids";
import type { RenewalSummary } from "../../src/orchestrations/renew-certificates";
import { runEpisodes, type Work } from "./replay";

const ok = (value: unknown) => ({ ok: true, value });

describe("renewCertificates episodes", () => {
  const names = Array.from({ length: 10 }, (_, i) => `cert-${String(i).padStart(2, "0")}`);
  const items = names.map((name) => ({ name, notBefore: "2025-10-01T00:00:00.000Z", expiresOn: "2026-01-05T00:00:00.000Z" }));
  const decisions = names.map((certificateName) => ({
    certificateName,
    decision: { due: true, reason: "WithinRenewBeforeExpiry", message: "due", renewAt: "2025-12-06T00:00:00.000Z" },
    ari: "unsupported",
  }));

  it("skips certificates already in progress, keeps at most maxConcurrentRenewals sub-orchestrations in flight, refills the window one for one, and one failure stops nothing", async () => {
    const limit = 3;
    const inFlightPerEpisode: number[] = [];
    const started: Work[] = [];
    const acts: string[] = [];
    const checked: string[] = [];
    const run = await runEpisodes({
      name: ORCHESTRATIONS.renewAll,
      input: {},
      instanceId: "kv-acme-renew-all",
      respond: (open, episode) => {
        const subs = open.filter((w) => w.kind === "sub");
        inFlightPerEpisode.push(subs.length);
        started.push(...episode.scheduled.filter((w) => w.kind === "sub"));
        const activities = open.filter((w) => w.kind === "activity");
        if (activities.length > 0) {
          return activities.map((w) => {
            acts.push(w.name ?? "");
            if (w.name === "scanInventory") return { id: w.id, result: ok({ items, pages: 1, maxConcurrentRenewals: limit }) };
            if (w.name === "decideRenewals") return { id: w.id, result: ok({ due: decisions, notDue: 0, errors: [] }) };
            if (w.name === "findRenewalsInProgress") {
              checked.push(...(w.input as { certificateNames: string[] }).certificateNames);
              return {
                id: w.id,
                result: ok({
                  inProgress: [{ certificateName: "cert-05", instanceId: certificateInstanceId("cert-05"), runtimeStatus: "Running" }],
                }),
              };
            }
            return { id: w.id, result: { eventId: "evt", results: [] } };
          });
        }
        // Finish only the oldest sub-orchestration in flight.
        const oldest = subs.sort((a, b) => a.id - b.id)[0]!;
        const name = (oldest.input as { certificateName: string }).certificateName;
        if (name === "cert-03")
          return [{ id: oldest.id, failure: 'validate: dnsNames: "cert-03.gone.example" is not inside any DNS zone kv-acme can write to' }];
        // Started over HTTP after the check: the runtime refuses the sub-orchestration (local host wording).
        if (name === "cert-07")
          return [
            {
              id: oldest.id,
              failure: `Sub-orchestration 'issueCertificate' was not started: An orchestration instance with id '${certificateInstanceId(name)}' is already pending or running.`,
            },
          ];
        return [
          { id: oldest.id, result: { certificateName: name, version: `v-${name}`, notAfter: "2026-04-01T00:00:00.000Z", reason: "renew" } },
        ];
      },
    });
    assert.ok(Math.max(...inFlightPerEpisode) <= limit, `in flight per episode: ${inFlightPerEpisode.join(",")}`);
    assert.equal(Math.max(...inFlightPerEpisode), limit);
    // The first renewal alone (the CA may be refusing orders), then a sliding window: while certificates wait, every
    // completion is replaced at once (3,3,...,3 then 2,1).
    const subsEpisodes = inFlightPerEpisode.filter((n) => n > 0);
    assert.deepEqual(subsEpisodes, [1, 3, 3, 3, 3, 3, 3, 2, 1]);
    assert.deepEqual(checked, names, "every due certificate's instance status is read before the fan-out");
    assert.deepEqual(
      started.map((w) => w.instanceId),
      names.filter((n) => n !== "cert-05").map(certificateInstanceId),
      "one instance per certificate, deterministic ids; none for the one in progress",
    );
    const { operationId: runOperationId, runId } = run.output as RenewalSummary;
    assert.match(runOperationId ?? "", /^[0-9a-f]{32}$/);
    assert.deepEqual(started[0]?.input, {
      certificateName: "cert-00",
      reason: "renew",
      operationId: runOperationId,
      // The run's own id keys the CAA answers its certificates share (never the operation id a caller may set).
      validationRun: runId,
      renewalReason: "WithinRenewBeforeExpiry",
    });

    const summary = run.output as RenewalSummary;
    assert.equal(summary.renewed.length, 7);
    assert.deepEqual(summary.failed, [
      {
        certificateName: "cert-03",
        failedStep: "validate",
        error: 'dnsNames: "cert-03.gone.example" is not inside any DNS zone kv-acme can write to',
      },
    ]);
    assert.deepEqual(summary.skipped, [
      { certificateName: "cert-05", reason: "already in progress" },
      { certificateName: "cert-07", reason: "already in progress" },
    ]);
    assert.equal(summary.maxInFlight, limit);
    assert.deepEqual(
      acts,
      ["scanInventory", "decideRenewals", "findRenewalsInProgress", "notify", "trackOutcome"],
      "one scan, one decision pass, one status check, then the summary",
    );
  });

  /** A renewal run whose first renewal the CA refuses with `detail`; the others succeed. What ran and what was held. */
  async function refusedRun(detail: string, withNames: (name: string) => string[]) {
    const scanned = items.map((i) => ({ ...i, dnsNames: withNames(i.name) }));
    const started: string[] = [];
    const holds: unknown[] = [];
    let inFlightMax = 0;
    const run = await runEpisodes({
      name: ORCHESTRATIONS.renewAll,
      input: {},
      instanceId: "kv-acme-renew-all",
      respond: (open, episode) => {
        started.push(
          ...episode.scheduled.filter((w) => w.kind === "sub").map((w) => (w.input as { certificateName: string }).certificateName),
        );
        const subs = open.filter((w) => w.kind === "sub");
        inFlightMax = Math.max(inFlightMax, subs.length);
        const activities = open.filter((w) => w.kind === "activity");
        if (activities.length > 0)
          return activities.map((w) => {
            if (w.name === "scanInventory") return { id: w.id, result: ok({ items: scanned, pages: 1, maxConcurrentRenewals: 4 }) };
            if (w.name === "decideRenewals") return { id: w.id, result: ok({ due: decisions, notDue: 0, errors: [] }) };
            if (w.name === "findRenewalsInProgress") return { id: w.id, result: ok({ inProgress: [] }) };
            if (w.name === "holdRenewals") {
              holds.push(w.input);
              return { id: w.id, result: ok({ until: "2025-12-06T01:00:00.000Z", held: [], errors: [] }) };
            }
            return { id: w.id, result: { eventId: "evt", results: [] } };
          });
        return subs.map((w) => {
          const name = (w.input as { certificateName: string }).certificateName;
          if (name === "cert-00")
            return {
              id: w.id,
              failure: `Orchestrator function 'issueCertificate' failed: order: ACME: creating the order failed: the CA rate-limited the request: ${detail} (Retry-After: 3600 s)`,
            };
          return {
            id: w.id,
            result: { certificateName: name, version: `v-${name}`, notAfter: "2026-04-01T00:00:00.000Z", reason: "renew" },
          };
        });
      },
    });
    return { summary: run.output as RenewalSummary, started, holds, inFlightMax };
  }

  it("an account-wide CA rate limit: the first renewal alone reaches the CA; once refused, every other due certificate is held until the CA's time, none started, none failed", async () => {
    const { summary, started, holds } = await refusedRun(
      "too many new orders (300) from this account in the last 3h0m0s, retry after 2025-12-06 01:00:00 UTC",
      (n) => [`${n}.example.com`],
    );
    assert.deepEqual(started, ["cert-00"], "one renewal started: the refused one");
    const hold = holds[0] as { certificates: string[]; until: string; refused: string };
    assert.equal(holds.length, 1);
    assert.deepEqual(hold.certificates, names.slice(1));
    assert.equal(hold.refused, "cert-00", "the refused certificate's own recorded time is copied");
    // The run's time when it learnt of the refusal + the CA's Retry-After: never before the CA's time.
    assert.ok(Date.parse(hold.until) > Date.parse(summary.startedAt) + 3_600_000, hold.until);
    assert.ok(Date.parse(hold.until) <= Date.parse(summary.finishedAt) + 3_600_000, hold.until);
    assert.deepEqual(summary.failed, []);
    assert.deepEqual(summary.renewed, []);
    assert.deepEqual(
      summary.held.map((h) => [h.certificateName, h.until]),
      names.map((n) => [n, n === "cert-00" ? undefined : "2025-12-06T01:00:00.000Z"]),
    );
    assert.match(summary.held[1]?.reason ?? "", /rate-limited the renewal of cert-00 \(an account-wide limit: too many new orders/);
    assert.match(summary.held[0]?.reason ?? "", /^the CA rate-limited its renewal: too many new orders/);
  });

  it("a limit per registered domain holds only that domain's certificates; the others renew", async () => {
    const { summary, started, holds, inFlightMax } = await refusedRun(
      'too many certificates (50) already issued for "example.com" in the last 168h0m0s, retry after 2025-12-06 01:00:00 UTC',
      (n) => [Number(n.slice(-2)) % 2 === 0 ? `${n}.example.com` : `www.${n}.example.org`],
    );
    const even = names.filter((n) => Number(n.slice(-2)) % 2 === 0);
    const odd = names.filter((n) => Number(n.slice(-2)) % 2 === 1);
    assert.deepEqual(started.sort(), ["cert-00", ...odd]);
    assert.deepEqual((holds[0] as { certificates: string[] }).certificates, even.slice(1));
    assert.deepEqual(
      summary.renewed.map((r) => r.certificateName),
      odd,
    );
    assert.deepEqual(
      summary.held.map((h) => h.certificateName),
      even,
    );
    assert.deepEqual(summary.failed, []);
    assert.equal(inFlightMax, 4, "the rest run in the window as usual");
  });

  it("a limit per exact set holds the refused certificate alone", async () => {
    const { summary, started, holds } = await refusedRun(
      "too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s",
      (n) => [`${n}.example.com`],
    );
    assert.equal(started.length, names.length);
    assert.deepEqual(holds, [], "nothing else held");
    assert.deepEqual(
      summary.held.map((h) => h.certificateName),
      ["cert-00"],
    );
    assert.equal(summary.renewed.length, names.length - 1);
  });

  const ACCOUNT_REFUSAL =
    "order: ACME: creating the order failed: the CA rate-limited the request: too many new orders (300) from this account in the last 3h0m0s (Retry-After: 3600 s)";
  const EXACT_SET_REFUSAL =
    "order: ACME: creating the order failed: the CA rate-limited the request: too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s (Retry-After: 3600 s)";

  /**
   * A run with at most 2 renewals in flight in which the oldest in flight finishes first, the CA refusing those of
   * `refusals` (certificate -> failure) and renewing the others: what started, what holdRenewals was asked, the summary.
   */
  async function midRunRefusals(refusals: Record<string, string>) {
    const started: string[] = [];
    const holds: { certificates: string[]; refused: string }[] = [];
    const run = await runEpisodes({
      name: ORCHESTRATIONS.renewAll,
      input: {},
      instanceId: "kv-acme-renew-all",
      respond: (open, episode) => {
        started.push(
          ...episode.scheduled.filter((w) => w.kind === "sub").map((w) => (w.input as { certificateName: string }).certificateName),
        );
        const activities = open.filter((w) => w.kind === "activity");
        if (activities.length > 0)
          return activities.map((w) => {
            if (w.name === "scanInventory") return { id: w.id, result: ok({ items, pages: 1, maxConcurrentRenewals: 2 }) };
            if (w.name === "decideRenewals") return { id: w.id, result: ok({ due: decisions, notDue: 0, errors: [] }) };
            if (w.name === "findRenewalsInProgress") return { id: w.id, result: ok({ inProgress: [] }) };
            if (w.name === "holdRenewals") {
              holds.push(w.input as { certificates: string[]; refused: string });
              return { id: w.id, result: ok({ until: "2026-01-01T02:00:00.000Z", held: [], errors: [] }) };
            }
            return { id: w.id, result: { eventId: "evt", results: [] } };
          });
        const oldest = open.filter((w) => w.kind === "sub").sort((a, b) => a.id - b.id)[0]!;
        const name = (oldest.input as { certificateName: string }).certificateName;
        const failure = refusals[name];
        if (failure) return [{ id: oldest.id, failure }];
        return [
          { id: oldest.id, result: { certificateName: name, version: `v-${name}`, notAfter: "2026-04-01T00:00:00.000Z", reason: "renew" } },
        ];
      },
    });
    return { started, holds, summary: run.output as RenewalSummary };
  }

  it("an account-wide refusal in the middle of the run: no renewal starts after it; those not started are held, the ones in flight finish", async () => {
    const { started, holds, summary } = await midRunRefusals({ "cert-03": ACCOUNT_REFUSAL });
    // cert-00 alone, then cert-01 + cert-02, cert-03 and cert-04 as each finished; cert-03's refusal stops the rest.
    assert.deepEqual(started, ["cert-00", "cert-01", "cert-02", "cert-03", "cert-04"]);
    assert.equal(holds.length, 1);
    assert.deepEqual(holds[0]?.certificates, names.slice(5), "the ones not started");
    assert.equal(holds[0]?.refused, "cert-03");
    assert.deepEqual(
      summary.renewed.map((r) => r.certificateName),
      ["cert-00", "cert-01", "cert-02", "cert-04"],
    );
    assert.deepEqual(
      summary.held.map((h) => h.certificateName),
      ["cert-03", ...names.slice(5)],
    );
    assert.ok(summary.held.slice(1).every((h) => h.until === "2026-01-01T02:00:00.000Z"));
    assert.deepEqual(summary.failed, []);
  });

  it("after a narrower refusal earlier in the run, an account-wide one still holds every renewal not started (none dropped from the summary)", async () => {
    const { started, holds, summary } = await midRunRefusals({ "cert-01": EXACT_SET_REFUSAL, "cert-03": ACCOUNT_REFUSAL });
    // cert-01 refused for its exact set (holds nothing else), cert-03 for the account: the rest is held by cert-03's.
    assert.deepEqual(started, ["cert-00", "cert-01", "cert-02", "cert-03", "cert-04"]);
    assert.equal(holds.length, 1);
    assert.deepEqual(holds[0]?.certificates, names.slice(5), "the ones not started");
    assert.equal(holds[0]?.refused, "cert-03");
    assert.deepEqual(
      summary.renewed.map((r) => r.certificateName),
      ["cert-00", "cert-02", "cert-04"],
    );
    assert.deepEqual(
      summary.held.map((h) => h.certificateName),
      ["cert-01", "cert-03", ...names.slice(5)],
    );
    assert.ok(summary.held.slice(2).every((h) => h.until === "2026-01-01T02:00:00.000Z"));
    assert.deepEqual(summary.failed, []);
  });

  it("a dry run renews nothing and reports the due certificates as skipped", async () => {
    const run = await runEpisodes({
      name: ORCHESTRATIONS.renewAll,
      input: { dryRun: true },
      instanceId: "kv-acme-renew-all",
      respond: (open) =>
        open.map((w) => {
          if (w.kind !== "activity") throw new Error(`unexpected ${w.kind}`);
          if (w.name === "scanInventory") return { id: w.id, result: ok({ items: items.slice(0, 2), pages: 1, maxConcurrentRenewals: 8 }) };
          if (w.name === "decideRenewals") return { id: w.id, result: ok({ due: [decisions[0]], notDue: 1, errors: [] }) };
          return { id: w.id, result: {} };
        }),
    });
    const summary = run.output as RenewalSummary;
    assert.equal(summary.dryRun, true);
    assert.deepEqual(
      summary.due.map((d) => d.certificateName),
      ["cert-00"],
    );
    assert.deepEqual(summary.skipped, [{ certificateName: "cert-00", reason: "dry run" }]);
  });
});
