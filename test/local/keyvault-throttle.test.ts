/**
 * The Key Vault stand-in's throttling: Key Vault's published limits per vault per 10 s by transaction type, 429 with
 * the service's Throttled body over a limit, refused requests not counted, a new window admitting again; the agent's
 * SDK vault reader honouring the 429 (Retry-After, or its backoff without one). The stand-in's clock is the test's.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSdkVaultReader } from "../../src/agent/vault";
import {
  KEY_VAULT_LIMITS,
  THROTTLE_WINDOW_MS,
  THROTTLED_ERROR,
  VaultThrottle,
  parseLimitsOption,
  transactionType,
} from "../../src/local/keyvault/throttle";
import { kvFetch, startVault, type Vault } from "./support-keyvault";

/** A window start far from any boundary the wall clock could cross during the test. */
const T0 = 1_800_000_000_000;

describe("VaultThrottle (pure)", () => {
  it("classifies requests: certificate create = key create, secret PUT and import = secret create, the rest other", () => {
    assert.equal(transactionType("POST", ["certificates", "web", "create"]), "keyCreate");
    assert.equal(transactionType("POST", ["certificates", "web", "import"]), "secretCreate");
    assert.equal(transactionType("PUT", ["secrets", "db"]), "secretCreate");
    assert.equal(transactionType("GET", ["secrets", "db"]), "other");
    assert.equal(transactionType("GET", ["certificates", "web"]), "other");
    assert.equal(transactionType("PATCH", ["certificates", "web", "pending"]), "other");
    assert.equal(transactionType("POST", ["certificates", "web", "pending", "merge"]), "other");
  });

  it("admits up to the limit per window, refuses the rest without counting them, and resets with the next window", () => {
    const t = new VaultThrottle({ ...KEY_VAULT_LIMITS, other: 2 });
    assert.deepEqual(t.admit("other", T0), { ok: true });
    assert.deepEqual(t.admit("other", T0 + 1000), { ok: true });
    assert.deepEqual(t.admit("other", T0 + 2500), { ok: false, retryAfterSeconds: 8 });
    assert.deepEqual(t.admit("other", T0 + 9999), { ok: false, retryAfterSeconds: 1 });
    assert.deepEqual(t.admit("keyCreate", T0 + 9999), { ok: true }, "each type has its own budget");
    assert.deepEqual(t.admit("other", T0 + THROTTLE_WINDOW_MS), { ok: true });
    assert.deepEqual(t.throttled, { keyCreate: 0, secretCreate: 0, other: 2 });
    assert.deepEqual(t.admitted, { keyCreate: 1, secretCreate: 0, other: 3 });
  });

  it("the defaults are Key Vault's published limits; bad limits are refused", () => {
    assert.deepEqual(new VaultThrottle().limits, { keyCreate: 20, secretCreate: 300, other: 4000 });
    assert.throws(() => new VaultThrottle({ ...KEY_VAULT_LIMITS, other: 0 }), /other must be a positive integer/);
  });

  it("--kv-limits: off, type=N pairs, clear errors", () => {
    assert.equal(parseLimitsOption("off"), false);
    assert.equal(parseLimitsOption(undefined), undefined);
    assert.deepEqual(parseLimitsOption("other=40,keyCreate=5"), { other: 40, keyCreate: 5 });
    assert.throws(() => parseLimitsOption("reads=5"), /unknown transaction type "reads"/);
    assert.throws(() => parseLimitsOption("other=x"), /integer from 1/);
  });
});

describe("the Key Vault stand-in throttles at the published limits", () => {
  let vault: Vault;
  let now = T0;
  before(async () => {
    vault = await startVault({ now: () => now });
  });
  after(async () => vault.close());

  it("the 21st certificate create in 10 s gets the service's 429 body with Retry-After; a refused one is not counted", async () => {
    now = T0 + 2000;
    const create = (i: number) =>
      kvFetch(vault, "POST", `/certificates/burst-${i}/create`, {
        policy: { issuer: { name: "Self" }, x509_props: { subject: `CN=burst-${i}` }, key_props: { kty: "EC", crv: "P-256" } },
      });
    for (let i = 0; i < KEY_VAULT_LIMITS.keyCreate; i++) assert.equal((await create(i)).status, 202, `create ${i}`);
    const refused = await create(20);
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.json, { error: THROTTLED_ERROR });
    assert.equal(refused.headers.get("retry-after"), "8");
    assert.equal((await kvFetch(vault, "GET", "/certificates/burst-0")).status, 200, "reads have their own budget");
    now = T0 + THROTTLE_WINDOW_MS;
    assert.equal((await create(20)).status, 202, "the next window admits it");
    assert.equal(vault.server.throttle?.throttled.keyCreate, 1);
    assert.equal(vault.server.throttle?.admitted.keyCreate, 21);
  });
});

describe("the agent's vault reader honours the stand-in's 429", () => {
  for (const retryAfter of [true, false]) {
    it(`retries after ${retryAfter ? "the Retry-After" : "its backoff (no Retry-After sent)"} and gets the version`, async () => {
      let now = T0;
      /** Set: the next request after one more throttled "other" transaction comes a window later (the wait passed). */
      let advanceAfter: number | undefined;
      const clock = () => {
        if (advanceAfter !== undefined && (vault.server.throttle?.throttled.other ?? 0) > advanceAfter) {
          now += THROTTLE_WINDOW_MS;
          advanceAfter = undefined;
        }
        return now;
      };
      const vault: Vault = await startVault({ now: clock, limits: { other: 1 }, throttleRetryAfter: retryAfter });
      try {
        const body = { policy: { issuer: { name: "Self" }, x509_props: { subject: "CN=web" }, key_props: { kty: "EC", crv: "P-256" } } };
        assert.equal((await kvFetch(vault, "POST", "/certificates/web/create", body)).status, 202);
        let version = "";
        for (let i = 1; !version; i++) {
          now = T0 + i * THROTTLE_WINDOW_MS; // one read per window: the limit is 1
          const r = await kvFetch(vault, "GET", "/certificates/web");
          if (r.status === 200) version = String(r.json.id).split("/").pop() ?? "";
          assert.ok(i < 50, "the self-issued certificate appears");
        }
        now = T0 + 100 * THROTTLE_WINDOW_MS + 9500;
        assert.equal((await kvFetch(vault, "GET", "/certificates/web")).status, 200, "the window's one transaction");
        const throttle = vault.server.throttle!;
        const admitted = throttle.admitted.other;
        const throttled = throttle.throttled.other;
        advanceAfter = throttled;
        const reader = createSdkVaultReader({ credential: vault.credential, retryDelayInMs: 10, throttleBackoffMs: 10 });
        const current = await reader.currentVersion(vault.server.url, "web");
        assert.equal(current.version, version);
        assert.equal(throttle.throttled.other, throttled + 1, "its first request was throttled (the window's budget was used)");
        assert.equal(throttle.admitted.other, admitted + 1, "the retry was admitted in the next window");
        assert.equal(reader.stats.requests, 3, "the 401 challenge, the throttled request, its retry");
      } finally {
        await vault.close();
      }
    });
  }
});
