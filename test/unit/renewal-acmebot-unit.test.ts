/**
 * The renewal decision pass reads an Acmebot__RenewBeforeExpiry without a unit setting in the unit the scanned
 * certificates' Acmebot tags point to (src/renewal/scan.ts renewalPolicyFor), reports how it read it, and stops with a
 * ConfigurationError when no certificate carries Acmebot's tags.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadSettings } from "../../src/config/settings";
import type { IssuanceDeps } from "../../src/issuance/deps";
import { ACMEBOT_UNIT_SECRET } from "../../src/keyvault/acmebot-unit";
import { decideRenewals, type RenewalCandidate } from "../../src/renewal/scan";
import { ConfigurationError } from "../../src/shared/errors";
import { base } from "../support/settings";

const DAY = 86_400_000;
const notBefore = new Date("2026-09-01T00:00:00Z");
// A 90-day certificate 59.2 days in: 31 days before expiry has passed (day 59), 69 % of the lifetime (day 62.1) and
// kv-acme's 66 % (day 59.4) have not.
const now = new Date(notBefore.getTime() + 59.2 * DAY);
const candidate = (name: string, acmebot?: 4 | 5): RenewalCandidate => ({
  name,
  notBefore: notBefore.toISOString(),
  expiresOn: new Date(notBefore.getTime() + 90 * DAY).toISOString(),
  ...(acmebot ? { acmebot } : {}),
});

/** The secrets vault as far as the pass uses it (get and set one secret), in memory; the stack's is used in test/integration. */
function memorySecrets() {
  const stored = new Map<string, { value: string; properties: { tags: Record<string, string> } }>();
  return {
    stored,
    getSecret: async (name: string) => {
      const s = stored.get(name);
      if (!s) throw Object.assign(new Error(`${name} not found`), { statusCode: 404 });
      return s;
    },
    setSecret: async (name: string, value: string, options: { tags: Record<string, string> }) => {
      stored.set(name, { value, properties: { tags: options.tags } });
      return stored.get(name);
    },
  };
}

function decide(env: Record<string, string>, items: RenewalCandidate[], secrets = memorySecrets(), options: { dryRun?: boolean } = {}) {
  // No ARI id on these candidates: the pass reads nothing but the settings and the recorded unit (no ACME session).
  const deps = { settings: loadSettings({ ...base, ...env }), secrets } as unknown as IssuanceDeps;
  return decideRenewals(items, now, {
    deps,
    telemetry: { trackDaysToExpiry: () => undefined, flush: async () => undefined },
    expiryWarningDays: 7,
    ...options,
  });
}

describe("decideRenewals with an undecided Acmebot__RenewBeforeExpiry", () => {
  const env = { Acmebot__RenewBeforeExpiry: "31" };
  it("only v4-tagged certificates: days, so the certificate 31 days from expiry is due", async () => {
    const r = await decide(env, [candidate("a", 4), candidate("b")]);
    assert.deepEqual(
      r.due.map((d) => [d.certificateName, d.decision.reason]),
      [
        ["a", "WithinRenewBeforeExpiry"],
        ["b", "WithinRenewBeforeExpiry"],
      ],
    );
    assert.equal(r.acmebotRenewBeforeExpiry?.unit, "days");
  });
  it("a v5-tagged certificate among them: percent of the lifetime left, so neither is due yet", async () => {
    const r = await decide(env, [candidate("a", 4), candidate("b", 5)]);
    assert.equal(r.due.length, 0);
    assert.equal(r.notDue, 2);
    assert.equal(r.acmebotRenewBeforeExpiry?.unit, "percent");
    assert.match(r.acmebotRenewBeforeExpiry?.reason ?? "", /1 certificate\(s\) carry Acmebot v5's JSON tag/);
  });
  it("no Acmebot tags: the pass stops with a ConfigurationError instead of guessing", async () => {
    await assert.rejects(decide(env, [candidate("a"), candidate("b")]), (err: unknown) => err instanceof ConfigurationError);
  });
  it("the unit setting decides without tags (percent: not due) and nothing is reported", async () => {
    const r = await decide({ ...env, KvAcme__AcmebotRenewBeforeExpiryUnit: "percent" }, [candidate("a")]);
    assert.equal(r.due.length, 0);
    assert.equal(r.acmebotRenewBeforeExpiry, undefined);
  });
});

describe("the unit the tags told is recorded once and read when no Acmebot tag is left", () => {
  const env = { Acmebot__RenewBeforeExpiry: "31" };
  it("a pass that decides by the tags records the unit; the next one, with kv-acme's tags only, reads it instead of stopping", async () => {
    const secrets = memorySecrets();
    const first = await decide(env, [candidate("a", 5)], secrets);
    assert.equal(first.acmebotRenewBeforeExpiry?.unit, "percent");
    assert.equal(secrets.stored.get(ACMEBOT_UNIT_SECRET)?.value, "percent");
    const next = await decide(env, [candidate("a"), candidate("b")], secrets);
    assert.equal(next.due.length, 0, "read as percent: neither is due");
    assert.equal(next.acmebotRenewBeforeExpiry?.unit, "percent");
    assert.match(next.acmebotRenewBeforeExpiry?.reason ?? "", /^recorded at .*carry Acmebot v5's JSON tag/);
  });
  it("the recorded unit is decided once: tags seen later do not change it", async () => {
    const secrets = memorySecrets();
    await decide(env, [candidate("a", 4)], secrets);
    const r = await decide(env, [candidate("a", 4), candidate("b", 5)], secrets);
    assert.equal(r.acmebotRenewBeforeExpiry?.unit, "days");
    assert.equal(r.due.length, 2);
  });
  it("a dry run records nothing", async () => {
    const secrets = memorySecrets();
    await decide(env, [candidate("a", 5)], secrets, { dryRun: true });
    assert.equal(secrets.stored.size, 0);
  });
  it("with the unit setting nothing is read or recorded", async () => {
    const secrets = memorySecrets();
    await decide({ ...env, KvAcme__AcmebotRenewBeforeExpiryUnit: "days" }, [candidate("a", 5)], secrets);
    assert.equal(secrets.stored.size, 0);
  });
});
