// Exact outcomes of the renewal run's reading side (src/renewal/scan.ts) at each rule's edge, for the survivors of the
// first Stryker run: whole candidates, whole scan results and whole decision passes with a fixed clock (the CA's ARI
// answers from an in-test server, a window 1 ms wide so the picked moment is its start whatever the randomness).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CertificateProperties } from "@azure/keyvault-certificates";
import { loadSettings } from "../../src/config/settings";
import type { IssuanceDeps } from "../../src/issuance/deps";
import type { InventoryItem } from "../../src/keyvault/inventory";
import type { ManagedTagInfo } from "../../src/keyvault/tags";
import { ACMEBOT_UNIT_SECRET } from "../../src/keyvault/acmebot-unit";
import { configuredCaLimits } from "../../src/renewal/ca-limits-settings";
import {
  RENEWAL_LISTING,
  candidateOf,
  decideForItem,
  decideRenewals,
  recordedAcmebotUnit,
  renewalPolicyFor,
  scanInventory,
  type DecideEnv,
  type DueCertificate,
  type RenewalCandidate,
} from "../../src/renewal/scan";
import { base } from "../support/settings";

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** The fixed clock of every decision below. */
const NOW = Date.parse("2026-04-11T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** Default settings (30 days / 66 %, manual pending hold 72 h, expiry warning 7 days), vaults `default` and `east`. */
const SETTINGS = loadSettings({ ...base, KvAcme__Vaults__east__Url: "https://east.vault.azure.net" });

/** A 90-day certificate `ageDays` old at NOW: due by the lifetime rule at day 59.4, its planning window opens at day 53.7. */
const cert = (name: string, ageDays: number, extra: Partial<RenewalCandidate> = {}): RenewalCandidate => ({
  name,
  notBefore: iso(NOW - ageDays * DAY),
  expiresOn: iso(NOW - ageDays * DAY + 90 * DAY),
  ...extra,
});

/** renewalInfo/ID-1: a window 1 ms wide at NOW + 12 h; any other id: 404. */
let server: Server;
let renewalInfo: string;
before(async () => {
  server = createServer((req, res) => {
    if (req.url === "/ari/ID-1") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ suggestedWindow: { start: iso(NOW + 12 * HOUR), end: iso(NOW + 12 * HOUR + 1) } }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ type: "urn:ietf:params:acme:error:malformed", detail: "unknown certificate" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  renewalInfo = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ari`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

/** The secrets vault as far as the pass uses it (get and set one secret), in memory, counting the writes. */
function memorySecrets() {
  const stored = new Map<string, { value: string; properties: { tags: Record<string, string> } }>();
  const writes: string[] = [];
  return {
    stored,
    writes,
    getSecret: async (name: string) => {
      const s = stored.get(name);
      if (!s) throw Object.assign(new Error(`${name} not found`), { statusCode: 404 });
      return s;
    },
    setSecret: async (name: string, value: string, options: { tags: Record<string, string> }) => {
      writes.push(`${name}=${value}`);
      stored.set(name, { value, properties: { tags: options.tags } });
      return stored.get(name);
    },
  };
}

function depsWith(settings = SETTINGS, secrets = memorySecrets(), directory: { renewalInfo?: string } = { renewalInfo }): IssuanceDeps {
  return { settings, secrets, acme: async () => ({ directory }) } as unknown as IssuanceDeps;
}

describe("candidateOf: the scan's candidate of one listed certificate", () => {
  const managed = (over: Partial<ManagedTagInfo> = {}): ManagedTagInfo => ({ managed: true, source: "acmebot", ...over });
  const item = (over: Partial<InventoryItem>): InventoryItem => ({
    name: "a",
    enabled: true,
    pending: false,
    tags: {},
    managed: managed(),
    ...over,
  });
  const cases: { name: string; item: InventoryItem; defaultVault?: string; want: RenewalCandidate }[] = [
    { name: "nothing but the name (an Acmebot certificate without validity or kv-acme tags)", item: item({}), want: { name: "a" } },
    {
      name: "every field: validity, ARI id, failures (attempts and time only), CA's not-before, names, Acmebot version, manual pending",
      item: item({
        notBefore: "2026-01-01T00:00:00.000Z",
        expiresOn: "2026-04-01T00:00:00.000Z",
        managed: managed({
          ariCertId: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
          renewalFailures: { attempts: 3, at: "2026-03-01T00:00:00.000Z", failureId: "f-1" },
          renewNotBefore: "2026-03-02T00:00:00.000Z",
          dnsNames: ["a.example", "www.a.example"],
          acmebotVersion: 5,
        }),
        latestUnissued: { createdOn: "2026-03-03T00:00:00.000Z", manualPending: { createdAt: "2026-03-03T00:00:00.000Z" } },
      }),
      want: {
        name: "a",
        notBefore: "2026-01-01T00:00:00.000Z",
        expiresOn: "2026-04-01T00:00:00.000Z",
        ariCertId: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
        failures: { attempts: 3, at: "2026-03-01T00:00:00.000Z" },
        renewNotBefore: "2026-03-02T00:00:00.000Z",
        dnsNames: ["a.example", "www.a.example"],
        acmebot: 5,
        manualPendingAt: "2026-03-03T00:00:00.000Z",
      },
    },
    { name: "an empty name list is left out", item: item({ managed: managed({ dnsNames: [] }) }), want: { name: "a" } },
    {
      name: "an unissued latest version without a manual pending operation adds nothing",
      item: item({ latestUnissued: { createdOn: "2026-03-03T00:00:00.000Z" } }),
      want: { name: "a" },
    },
    {
      name: "kv-acme's tags without the issuer its merge writes: tagsMissing",
      item: item({ managed: { managed: true, source: "kv-acme" } }),
      want: { name: "a", tagsMissing: true },
    },
    {
      name: "kv-acme's tags with the issuer: complete",
      item: item({ managed: { managed: true, source: "kv-acme", issuer: { subject: "CN=R10" } } }),
      want: { name: "a" },
    },
    { name: "another vault, no default vault given: the name alone", item: item({ vault: "east" }), want: { name: "a" } },
    {
      name: "another vault than the default: {vault}/{name}",
      item: item({ vault: "east" }),
      defaultVault: "default",
      want: { name: "east/a" },
    },
    { name: "the default vault: the name alone", item: item({ vault: "default" }), defaultVault: "default", want: { name: "a" } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(candidateOf(c.item, c.defaultVault), c.want));
});

describe("renewalPolicyFor and recordedAcmebotUnit", () => {
  const acmebot = loadSettings({ ...base, Acmebot__RenewBeforeExpiry: "31" });
  it("the settings' own rules when Acmebot__RenewBeforeExpiry is not set (the tags are not read)", () => {
    assert.deepEqual(renewalPolicyFor(SETTINGS, [{ acmebot: 5 }]), { renewBeforeExpiryDays: 30, renewAtPercentOfLifetime: 66 });
  });
  it("one v4 tag among two untagged ones: 31 days, 1 certificate counted as v4", () => {
    assert.deepEqual(renewalPolicyFor(acmebot, [{}, { acmebot: 4 }, {}]), {
      renewBeforeExpiryDays: 31,
      renewAtPercentOfLifetime: 66,
      acmebotUnit: {
        unit: "days",
        reason: "1 certificate(s) carry Acmebot v4's tags and none v5's, so Acmebot__RenewBeforeExpiry=31 is days",
      },
    });
  });
  it("one v5 tag beside two v4 ones: 69 % of the lifetime (31 % left), 1 certificate counted as v5", () => {
    assert.deepEqual(renewalPolicyFor(acmebot, [{ acmebot: 4 }, { acmebot: 5 }, { acmebot: 4 }]), {
      renewBeforeExpiryDays: 0,
      renewAtPercentOfLifetime: 69,
      acmebotUnit: {
        unit: "percent",
        reason: "1 certificate(s) carry Acmebot v5's JSON tag, so Acmebot__RenewBeforeExpiry=31 is a percentage",
      },
    });
  });
  it("decideForItem without a resolved policy reads the unit from the candidate's own tag (v4: 31 days, due at NOW - 0.2 days)", async () => {
    const d = await decideForItem(cert("a", 59.2, { acmebot: 4 }), depsWith(acmebot), new Date(NOW), () => 0.5);
    assert.deepEqual(d?.decision, {
      due: true,
      reason: "WithinRenewBeforeExpiry",
      message: "expires 2026-05-11T19:12:00.000Z, within 31 days",
      renewAt: "2026-04-10T19:12:00.000Z",
    });
  });
  it("recordedAcmebotUnit reads nothing without Acmebot__RenewBeforeExpiry (no secrets client needed)", async () => {
    assert.equal(await recordedAcmebotUnit({ settings: SETTINGS } as unknown as IssuanceDeps), undefined);
  });
  it("recordedAcmebotUnit reads the recorded unit with Acmebot__RenewBeforeExpiry", async () => {
    const secrets = memorySecrets();
    secrets.stored.set(ACMEBOT_UNIT_SECRET, {
      value: "days",
      properties: { tags: { "kv-acme-reason": "told", "kv-acme-decided-at": "2026-01-01T00:00:00.000Z" } },
    });
    assert.deepEqual(await recordedAcmebotUnit(depsWith(acmebot, secrets)), {
      unit: "days",
      reason: "told",
      decidedAt: "2026-01-01T00:00:00.000Z",
    });
  });
});

/** A vault's certificate client as far as the listing reads it: list pages, version lists; or a listing that fails. */
function vaultClient(pages: CertificateProperties[][], versions: Record<string, CertificateProperties[]> = {}, failure?: Error) {
  return {
    listPropertiesOfCertificates: () => ({
      byPage: async function* () {
        if (failure) throw failure;
        for (const page of pages) yield page;
      },
    }),
    listPropertiesOfCertificateVersions: async function* (name: string) {
      for (const v of versions[name] ?? []) yield v;
    },
  };
}

describe("scanInventory: the whole scan result", () => {
  const MANAGED = { "kv-acme-managed": "true", "kv-acme-ari-cert-id": "ID-9" };
  const issued = (name: string, day: number, tags: Record<string, string> = MANAGED): CertificateProperties => ({
    name,
    version: `${name}-v1`,
    enabled: true,
    x509Thumbprint: new Uint8Array([1, 2, 3]),
    notBefore: new Date(NOW + day * DAY),
    expiresOn: new Date(NOW + (day + 90) * DAY),
    createdOn: new Date(NOW + day * DAY),
    tags,
  });
  const east = vaultClient([[issued("a", -2)]]);
  const defaultVault = vaultClient(
    [[issued("b", -1), issued("unmanaged", -1, {})], [{ name: "p", enabled: false, tags: MANAGED, createdOn: new Date(NOW) }]],
    { p: [issued("p", -3)] },
  );
  const scanSettings = {
    maxConcurrentRenewals: 3,
    acmeDirectoryUrl: "https://acme-v02.api.letsencrypt.org/directory",
    renewalPlanHorizonHours: 36,
    renewalBatchSize: 10,
    caLimits: [],
  };
  const deps = (clients: Record<string, unknown>): IssuanceDeps => {
    const d = {
      settings: SETTINGS,
      vault: "default",
      forVault: (v: string | undefined) => ({ ...d, vault: v, certificates: clients[v ?? "default"] }),
    };
    return d as unknown as IssuanceDeps;
  };
  const candidate = (name: string, day: number): RenewalCandidate => ({
    name,
    notBefore: iso(NOW + day * DAY),
    expiresOn: iso(NOW + (day + 90) * DAY),
    ariCertId: "ID-9",
    tagsMissing: true,
  });
  const planning = {
    acmeDirectoryUrl: "https://acme-v02.api.letsencrypt.org/directory",
    caLimits: configuredCaLimits("https://acme-v02.api.letsencrypt.org/directory", []),
    horizonHours: 36,
    batchSize: 10,
  };

  it("RENEWAL_LISTING: managed certificates only, an unissued latest version described by the newest issued one", () => {
    assert.deepEqual(RENEWAL_LISTING, { managedOnly: true, newestIssued: true });
  });
  it("two vaults: 3 pages, 1 versions read, the default vault's by name first, the other's as east/{name}, no skipped", async () => {
    assert.deepEqual(await scanInventory(deps({ default: defaultVault, east }), scanSettings), {
      items: [candidate("b", -1), candidate("p", -3), candidate("east/a", -2)],
      pages: 3,
      versionReads: 1,
      maxConcurrentRenewals: 3,
      planning,
    });
  });
  it("a vault that cannot be listed is skipped with its reason; the other's certificates are scanned", async () => {
    const down = vaultClient([], {}, Object.assign(new Error("Forbidden by policy"), { statusCode: 403 }));
    assert.deepEqual(await scanInventory(deps({ default: defaultVault, east: down }), scanSettings), {
      items: [candidate("b", -1), candidate("p", -3)],
      pages: 2,
      versionReads: 1,
      maxConcurrentRenewals: 3,
      planning,
      skipped: [{ certificateName: "east/*", reason: "vault not listed: Key Vault: listing certificates failed: Forbidden by policy" }],
    });
  });
});

describe("decideForItem: the whole decision of one certificate at NOW", () => {
  const cases: { name: string; c: RenewalCandidate; directory?: { renewalInfo?: string }; want: DueCertificate | undefined }[] = [
    { name: "no notBefore: undefined", c: { name: "a", expiresOn: iso(NOW) }, want: undefined },
    { name: "no expiresOn: undefined", c: { name: "a", notBefore: iso(NOW) }, want: undefined },
    {
      name: "a due certificate with failures past their backoff, the CA's not-before passed and a stale manual pending operation",
      c: cert("a", 60, {
        failures: { attempts: 2, at: iso(NOW - 10 * DAY) },
        renewNotBefore: iso(NOW - HOUR),
        manualPendingAt: iso(NOW - 72 * HOUR),
      }),
      want: {
        certificateName: "a",
        decision: {
          due: true,
          reason: "WithinRenewBeforeExpiry",
          message: "expires 2026-05-11T00:00:00.000Z, within 30 days",
          renewAt: "2026-04-11T00:00:00.000Z",
        },
        ari: "skipped",
        rule: "percent",
        notBefore: "2026-02-10T00:00:00.000Z",
        notAfter: "2026-05-11T00:00:00.000Z",
        lastFailure: { at: "2026-04-01T00:00:00.000Z", attempts: 2 },
        renewNotBefore: "2026-04-10T23:00:00.000Z",
        manualPending: { createdAt: "2026-04-08T00:00:00.000Z", holdUntil: "2026-04-11T00:00:00.000Z" },
      },
    },
    {
      name: "a manual pending operation 1 ms short of its 72 h hold: ManualPendingOperation until its end",
      c: cert("a", 60, { manualPendingAt: iso(NOW - 72 * HOUR + 1) }),
      want: {
        certificateName: "a",
        decision: {
          due: false,
          reason: "ManualPendingOperation",
          message:
            "due (WithinRenewBeforeExpiry) but a pending operation created by hand at 2026-04-08T00:00:00.001Z (a CSR for another CA) is in progress: left alone until 2026-04-11T00:00:00.001Z; merge its chain or delete it to renew sooner",
          renewAt: "2026-04-11T00:00:00.001Z",
        },
        ari: "skipped",
        rule: "percent",
        notBefore: "2026-02-10T00:00:00.000Z",
        notAfter: "2026-05-11T00:00:00.000Z",
        manualPending: { createdAt: "2026-04-08T00:00:00.001Z", holdUntil: "2026-04-11T00:00:00.001Z" },
      },
    },
    {
      name: "an ARI id and the CA's window (NOW + 12 h, 1 ms wide): not due, renewAt its start, the window reported",
      c: cert("a", 10, { ariCertId: "ID-1" }),
      want: {
        certificateName: "a",
        decision: {
          due: false,
          reason: "NotDue",
          message: "due at 2026-04-11T12:00:00.000Z (the CA's renewal window (ARI)); expires 2026-06-30T00:00:00.000Z",
          renewAt: "2026-04-11T12:00:00.000Z",
        },
        ari: "used",
        rule: "ari",
        ariWindow: { start: "2026-04-11T12:00:00.000Z", end: "2026-04-11T12:00:00.001Z" },
        notBefore: "2026-04-01T00:00:00.000Z",
        notAfter: "2026-06-30T00:00:00.000Z",
      },
    },
    {
      name: "an ARI id the CA does not know (404): failed, the fixed rules decide, no window",
      c: cert("a", 10, { ariCertId: "ID-2" }),
      want: {
        certificateName: "a",
        decision: {
          due: false,
          reason: "NotDue",
          message:
            "due at 2026-05-30T09:36:00.000Z (66 % of the lifetime); expires 2026-06-30T00:00:00.000Z (ARI lookup failed: Request failed with status code 404; fixed rules used)",
          renewAt: "2026-05-30T09:36:00.000Z",
        },
        ari: "failed",
        rule: "percent",
        notBefore: "2026-04-01T00:00:00.000Z",
        notAfter: "2026-06-30T00:00:00.000Z",
      },
    },
    {
      name: "an ARI id and a directory without renewalInfo: unsupported, the fixed rules decide",
      c: cert("a", 10, { ariCertId: "ID-1" }),
      directory: {},
      want: {
        certificateName: "a",
        decision: {
          due: false,
          reason: "NotDue",
          message: "due at 2026-05-30T09:36:00.000Z (66 % of the lifetime); expires 2026-06-30T00:00:00.000Z",
          renewAt: "2026-05-30T09:36:00.000Z",
        },
        ari: "unsupported",
        rule: "percent",
        notBefore: "2026-04-01T00:00:00.000Z",
        notAfter: "2026-06-30T00:00:00.000Z",
      },
    },
  ];
  for (const c of cases)
    it(c.name, async () => {
      assert.deepEqual(await decideForItem(c.c, depsWith(SETTINGS, memorySecrets(), c.directory), new Date(NOW), () => 0.5), c.want);
    });
});

describe("decideRenewals: the whole pass at NOW", () => {
  type Metric = [name: string, days: number, properties: Record<string, string>];
  function env(over: Partial<DecideEnv> = {}, settings = SETTINGS, secrets = memorySecrets()) {
    const metrics: Metric[] = [];
    const e: DecideEnv = {
      deps: depsWith(settings, secrets),
      telemetry: {
        trackDaysToExpiry: (name, days, properties) => void metrics.push([name, days, { ...properties }]),
        flush: async () => {
          throw new Error("telemetry down");
        },
      },
      expiryWarningDays: 7,
      ...over,
    };
    return { env: e, metrics };
  }
  const view = (d: DueCertificate) => [d.certificateName, d.decision.reason, d.decision.renewAt];

  // In reverse order of their names: every list in the result is sorted.
  const ITEMS: RenewalCandidate[] = [
    cert("z-manual", 88, { manualPendingAt: iso(NOW - HOUR) }),
    cert("y-rate-limited", 87, { renewNotBefore: iso(NOW + HOUR) }),
    cert("x-backing-off", 86, { failures: { attempts: 1, at: iso(NOW - 60_000) } }),
    cert("w-expiring", 85),
    cert("v-failing", 60, { failures: { attempts: 2, at: iso(NOW - 10 * DAY) } }),
    cert("u-due", 60),
    cert("t-not-due-failing", 10, { failures: { attempts: 5, at: iso(NOW - 9 * DAY) } }),
    // Not due, its window open since day 53.7: upcoming, decided before p (the upcoming list is sorted after the pass).
    cert("r-window-open", 55),
    cert("s-ari", 10, { ariCertId: "ID-1" }),
    // Its window opens at day 53.7: at the horizon (NOW + 1 day) exactly, and 1 ms before it.
    cert("q-opens-at-horizon", 52.7),
    cert("p-opens-before-horizon", 52.7 + 1 / DAY),
    cert("o-bad", 60, { renewNotBefore: "soon" }),
    { name: "n-no-notbefore", expiresOn: iso(NOW + 12.3456 * DAY) },
    { name: "m-no-expiry", notBefore: iso(NOW) },
  ];

  it("due, not due, errors, watched and upcoming, each sorted; metrics for those with an expiry; a failed flush ignored", async () => {
    const { env: e, metrics } = env({ horizonEnd: new Date(NOW + DAY) });
    const r = await decideRenewals(ITEMS, new Date(NOW), e, "op-1");
    assert.deepEqual(r.due.map(view), [
      ["u-due", "WithinRenewBeforeExpiry", "2026-04-11T00:00:00.000Z"],
      ["v-failing", "WithinRenewBeforeExpiry", "2026-04-11T00:00:00.000Z"],
      ["w-expiring", "WithinRenewBeforeExpiry", "2026-03-17T00:00:00.000Z"],
    ]);
    assert.equal(r.notDue, 8, "x, y, z (held), t, s, r, q, p; n and m have no validity and count nowhere");
    assert.deepEqual(r.errors, [{ certificateName: "o-bad", error: "renewNotBefore: must be a valid date" }]);
    assert.deepEqual(r.watch, [
      { certificateName: "v-failing", notAfter: "2026-05-11T00:00:00.000Z", daysRemaining: 30, failedAttempts: 2 },
      { certificateName: "w-expiring", notAfter: "2026-04-16T00:00:00.000Z", daysRemaining: 5, failedAttempts: 0 },
      { certificateName: "x-backing-off", notAfter: "2026-04-15T00:00:00.000Z", daysRemaining: 4, failedAttempts: 1 },
      { certificateName: "y-rate-limited", notAfter: "2026-04-14T00:00:00.000Z", daysRemaining: 3, failedAttempts: 0 },
      { certificateName: "z-manual", notAfter: "2026-04-13T00:00:00.000Z", daysRemaining: 2, failedAttempts: 0 },
    ]);
    assert.deepEqual(r.upcoming?.map(view), [
      ["p-opens-before-horizon", "NotDue", "2026-04-17T16:47:59.999Z"],
      ["r-window-open", "NotDue", "2026-04-15T09:36:00.000Z"],
      ["s-ari", "NotDue", "2026-04-11T12:00:00.000Z"],
    ]);
    assert.equal(r.upcoming?.[2]?.ariWindow?.start, "2026-04-11T12:00:00.000Z");
    assert.equal(r.expiryWarningDays, 7);
    assert.equal(r.acmebotRenewBeforeExpiry, undefined);
    const op = { operationId: "op-1" };
    assert.deepEqual(metrics, [
      ["z-manual", 2, op],
      ["y-rate-limited", 3, op],
      ["x-backing-off", 4, op],
      ["w-expiring", 5, op],
      ["v-failing", 30, op],
      ["u-due", 30, op],
      ["t-not-due-failing", 80, op],
      ["r-window-open", 35, op],
      ["s-ari", 80, op],
      ["q-opens-at-horizon", 37.3, op],
      ["p-opens-before-horizon", 37.3, op],
      ["o-bad", 30, op],
      ["n-no-notbefore", 12.35, op],
    ]);
  });

  it("without a horizon: no upcoming list; without an operation id: metrics without properties", async () => {
    const { env: e, metrics } = env();
    const r = await decideRenewals([cert("a", 10), cert("b", 60)], new Date(NOW), e);
    assert.deepEqual(
      { ...r, due: r.due.map(view) },
      { due: [["b", "WithinRenewBeforeExpiry", "2026-04-11T00:00:00.000Z"]], notDue: 1, errors: [], watch: [], expiryWarningDays: 7 },
    );
    assert.deepEqual(metrics, [
      ["a", 80, {}],
      ["b", 30, {}],
    ]);
  });

  it("a horizon before every window: an empty upcoming list; held certificates are never upcoming", async () => {
    const { env: e } = env({ horizonEnd: new Date(NOW + 1000 * DAY) });
    const r = await decideRenewals([cert("a", 88, { manualPendingAt: iso(NOW - HOUR) })], new Date(NOW), e);
    assert.deepEqual(r.upcoming, []);
    const { env: e2 } = env({ horizonEnd: new Date(NOW) });
    assert.deepEqual((await decideRenewals([cert("a", 10)], new Date(NOW), e2)).upcoming, []);
  });

  describe("Acmebot__RenewBeforeExpiry without a unit", () => {
    const acmebot = loadSettings({ ...base, Acmebot__RenewBeforeExpiry: "31" });
    // 59.2 days in: 31 days before expiry has passed, 69 % of the lifetime has not.
    const a4 = cert("a", 59.2, { acmebot: 4 });
    const reason = "1 certificate(s) carry Acmebot v4's tags and none v5's, so Acmebot__RenewBeforeExpiry=31 is days";
    it("the tags' unit is reported and recorded once, at NOW", async () => {
      const secrets = memorySecrets();
      const r = await decideRenewals([a4], new Date(NOW), env({}, acmebot, secrets).env);
      assert.deepEqual(r.acmebotRenewBeforeExpiry, { unit: "days", reason });
      assert.deepEqual(r.due.map(view), [["a", "WithinRenewBeforeExpiry", "2026-04-10T19:12:00.000Z"]]);
      assert.deepEqual(secrets.writes, [`${ACMEBOT_UNIT_SECRET}=days`]);
      assert.deepEqual(secrets.stored.get(ACMEBOT_UNIT_SECRET)?.properties.tags, {
        "kv-acme-reason": reason,
        "kv-acme-decided-at": "2026-04-11T00:00:00.000Z",
      });
    });
    it("a dry run records nothing", async () => {
      const secrets = memorySecrets();
      const r = await decideRenewals([a4], new Date(NOW), env({ dryRun: true }, acmebot, secrets).env);
      assert.equal(r.acmebotRenewBeforeExpiry?.unit, "days");
      assert.deepEqual(secrets.writes, []);
    });
    it("dryRun false records", async () => {
      const secrets = memorySecrets();
      await decideRenewals([a4], new Date(NOW), env({ dryRun: false }, acmebot, secrets).env);
      assert.deepEqual(secrets.writes, [`${ACMEBOT_UNIT_SECRET}=days`]);
    });
    it("a recorded unit is read and not recorded again", async () => {
      const secrets = memorySecrets();
      secrets.stored.set(ACMEBOT_UNIT_SECRET, {
        value: "percent",
        properties: { tags: { "kv-acme-reason": "told", "kv-acme-decided-at": "2026-01-01T00:00:00.000Z" } },
      });
      const r = await decideRenewals([a4], new Date(NOW), env({}, acmebot, secrets).env);
      assert.deepEqual(r.acmebotRenewBeforeExpiry, { unit: "percent", reason: "recorded at 2026-01-01T00:00:00.000Z (told)" });
      assert.deepEqual(r.due, []);
      assert.deepEqual(secrets.writes, []);
    });
  });
});
