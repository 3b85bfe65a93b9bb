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
    // Sliding window: while certificates wait, every completion is replaced at once (3,3,...,3 then 2,1).
    const subsEpisodes = inFlightPerEpisode.filter((n) => n > 0);
    assert.deepEqual(subsEpisodes, [3, 3, 3, 3, 3, 3, 3, 2, 1]);
    assert.deepEqual(checked, names, "every due certificate's instance status is read before the fan-out");
    assert.deepEqual(
      started.map((w) => w.instanceId),
      names.filter((n) => n !== "cert-05").map(certificateInstanceId),
      "one instance per certificate, deterministic ids; none for the one in progress",
    );
    const runOperationId = (run.output as RenewalSummary).operationId;
    assert.match(runOperationId ?? "", /^[0-9a-f]{32}$/);
    assert.deepEqual(started[0]?.input, {
      certificateName: "cert-00",
      reason: "renew",
      operationId: runOperationId,
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
