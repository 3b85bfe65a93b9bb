// Exact outcomes at the edges of the renewal planner's rules (src/renewal/plan.ts, plan-window.ts, ca-limits.ts,
// plan-input.ts): whole plans and exact values, one case per rule edge, for the survivors of the first Stryker run.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { UNPUBLISHED_LIMITS, LETS_ENCRYPT_LIMITS, type AzureBudgets, type CaLimits } from "../../src/renewal/ca-limits";
import { lastChanceAim, planRenewals, type Plan, type PlanCertificate, type PlanInput } from "../../src/renewal/plan";
import { offsetFraction, planWindow, type PlanWindow } from "../../src/renewal/plan-window";
import { planCertificate, recentIssuances, registeredDomain } from "../../src/renewal/plan-input";
import type { DueCertificate } from "../../src/renewal/scan";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.parse("2027-03-01T00:00:00Z");
const at = (ms: number) => new Date(T0 + ms);

const LOOSE: AzureBudgets = {
  dnsWritesPerZone: { count: 1e9, windowMs: 60_000 },
  keyVaultCreatesPerVault: { count: 1e9, windowMs: 10_000 },
  armWrites: { count: 1e9, windowMs: 10_000 },
};

/** A 90-day certificate issued at T0, due at `due` (ms after T0): it is ready at `due` (the window opens there). */
function cert(name: string, due: number, over: Partial<PlanCertificate> = {}): PlanCertificate {
  return {
    name,
    notBefore: at(0),
    notAfter: at(90 * DAY),
    dueAt: at(due),
    order: "renewal",
    registeredDomains: [`${name}.example`],
    exactSet: `${name}.example`,
    dnsWrites: {},
    armWrites: 0,
    vault: "v1",
    ...over,
  };
}

function input(certificates: PlanCertificate[], over: Partial<PlanInput> = {}): PlanInput {
  return { now: at(0), horizonEnd: at(30 * DAY), certificates, ca: UNPUBLISHED_LIMITS, azure: LOOSE, ...over };
}

type Row = [name: string, at: number, heldBy?: string];
const rows = (list: Plan["now"]): Row[] =>
  list.map((r) => (r.heldBy === undefined ? [r.name, r.at.getTime() - T0] : [r.name, r.at.getTime() - T0, r.heldBy]));

const RUNNER_2_PER_10H = { count: 2, windowMs: 10 * HOUR };
const RUNNER_1_PER_10H = { count: 1, windowMs: 10 * HOUR };

describe("planRenewals: exact plans at each rule's edge", () => {
  /** Five certificates due at once under a pace of 2 per 10 h: two now, two 10 h later, the fifth 10 h after those. */
  const PACED_FIVE: Row[] = [
    ["a", 0],
    ["b", 0],
    ["c", 10 * HOUR, "runner"],
    ["d", 10 * HOUR, "runner"],
    ["e", 20 * HOUR, "runner"],
  ];
  const cases: { name: string; in: PlanInput; now: Row[]; later: Row[] }[] = [
    {
      name: "pace 2 per 10 h, five due at once: two at 0, two at 10 h, one at 20 h (a start exactly windowMs later fits)",
      in: input(
        ["a", "b", "c", "d", "e"].map((n) => cert(n, 0)),
        { runner: RUNNER_2_PER_10H },
      ),
      now: PACED_FIVE,
      later: [],
    },
    {
      name: "pace 2 per 10 h, listed in reverse: same plan (same close: by name)",
      in: input(
        ["e", "d", "c", "b", "a"].map((n) => cert(n, 0)),
        { runner: RUNNER_2_PER_10H },
      ),
      now: PACED_FIVE,
      later: [],
    },
    {
      name: "pace 1 per 10 h: the earlier close goes first whatever the names (z closes first)",
      in: input([cert("a", 0), cert("z", 0, { notAfter: at(80 * DAY) }), cert("m", 0)], { runner: RUNNER_1_PER_10H }),
      now: [
        ["z", 0],
        ["a", 10 * HOUR, "runner"],
        ["m", 20 * HOUR, "runner"],
      ],
      later: [],
    },
    {
      name: "a renewal ready at a limit's wake moment and the parked one the wake releases: the earlier close (parked q) at 10 h, r at 20 h",
      in: input([cert("p", 0, { notAfter: at(80 * DAY) }), cert("q", 0, { notAfter: at(85 * DAY) }), cert("r", 10 * HOUR)], {
        runner: RUNNER_1_PER_10H,
      }),
      now: [
        ["p", 0],
        ["q", 10 * HOUR, "runner"],
        ["r", 20 * HOUR, "runner"],
      ],
      later: [],
    },
    {
      name: "a renewal ready at a limit's wake moment and the parked one the wake releases: the earlier close (ready r) at 10 h, q at 20 h",
      in: input(
        [
          cert("p", 0, { notAfter: at(80 * DAY) }),
          cert("q", 0, { notAfter: at(85 * DAY) }),
          cert("r", 10 * HOUR, { notAfter: at(84 * DAY) }),
        ],
        { runner: RUNNER_1_PER_10H },
      ),
      now: [
        ["p", 0],
        ["r", 10 * HOUR],
        ["q", 20 * HOUR, "runner"],
      ],
      later: [],
    },
    {
      name: "wake exactly at the horizon: every parked renewal is left to later at the horizon",
      in: input(
        ["a", "b", "c"].map((n) => cert(n, 0)),
        { runner: RUNNER_1_PER_10H, horizonEnd: at(10 * HOUR) },
      ),
      now: [["a", 0]],
      later: [
        ["b", 10 * HOUR, "runner"],
        ["c", 10 * HOUR, "runner"],
      ],
    },
    {
      name: "ready exactly at the horizon: later, not now",
      in: input([cert("a", 0), cert("b", 10 * HOUR)], { horizonEnd: at(10 * HOUR) }),
      now: [["a", 0]],
      later: [["b", 10 * HOUR]],
    },
    {
      name: "more DNS writes than the zone takes at all: left to later at the horizon, held by the zone",
      in: input([cert("big", 0, { dnsWrites: { "z.example": 201 } }), cert("ok", 0, { dnsWrites: { "z.example": 200 } })], {
        azure: { ...LOOSE, dnsWritesPerZone: { count: 200, windowMs: 60_000 } },
      }),
      now: [["ok", 0]],
      later: [["big", 30 * DAY, "dns:z.example"]],
    },
    {
      name: "ARM writes 2 each, 4 per 10 s: the third waits 10 s, held by arm; a zone with 0 writes is no limit",
      in: input(
        ["a", "b", "c"].map((n) => cert(n, 0, { armWrites: 2, dnsWrites: { "z.example": 0 } })),
        { azure: { ...LOOSE, armWrites: { count: 4, windowMs: 10_000 }, dnsWritesPerZone: { count: 0, windowMs: 60_000 } } },
      ),
      now: [
        ["a", 0],
        ["b", 0],
        ["c", 10_000, "arm"],
      ],
      later: [],
    },
    {
      name: "CA not-before equal to the ready moment holds nothing; one before it changes nothing",
      in: input([cert("eq", 5 * HOUR, { caNotBefore: at(5 * HOUR) }), cert("before", 6 * HOUR, { caNotBefore: at(1 * HOUR) })]),
      now: [
        ["eq", 5 * HOUR],
        ["before", 6 * HOUR],
      ],
      later: [],
    },
    {
      name: "a past ARI renewal is exempt where the CA says so: 1 per exact set, the renewal still starts at once",
      in: input([cert("a", 0)], {
        ca: { certificatesPerExactSet: { count: 1, windowMs: 7 * DAY }, ariRenewalsExempt: true },
        recent: [{ at: at(-HOUR), order: "ari", registeredDomains: ["a.example"], exactSet: "a.example" }],
      }),
      now: [["a", 0]],
      later: [],
    },
    {
      name: "a past renewal is not a new certificate of its domain: a new order of the domain starts at once",
      in: input([cert("a", 0, { order: "new" })], {
        ca: { newCertificatesPerRegisteredDomain: { count: 1, windowMs: 7 * DAY }, ariRenewalsExempt: false },
        recent: [{ at: at(-HOUR), order: "renewal", registeredDomains: ["a.example"], exactSet: "other.a.example" }],
      }),
      now: [["a", 0]],
      later: [],
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const plan = planRenewals(c.in);
      assert.deepEqual({ now: rows(plan.now), later: rows(plan.later) }, { now: c.now, later: c.later });
    });

  // DNS writes in one zone, 4 per minute: x (2) at 0 and w (2) at 30 s fill it.
  const zone = (n: string, due: number, writes: number, days = 90) => cert(n, due, { dnsWrites: { z: writes }, notAfter: at(days * DAY) });
  const ZONE_4 = { azure: { ...LOOSE, dnsWritesPerZone: { count: 4, windowMs: 60_000 } } };
  it("a heavier renewal parked after a lighter one does not move the lighter one's wake later (y at 60 s, v at 120 s)", () => {
    const plan = planRenewals(input([zone("x", 0, 2), zone("w", 30_000, 2), zone("y", 40_000, 2, 80), zone("v", 50_000, 4)], ZONE_4));
    assert.deepEqual(rows(plan.now), [
      ["x", 0],
      ["w", 30_000],
      ["y", 60_000, "dns:z"],
      ["v", 120_000, "dns:z"],
    ]);
  });
  it("a lighter renewal parked after a heavier one wakes the limit earlier (y at 60 s, v at 120 s)", () => {
    const plan = planRenewals(input([zone("x", 0, 2), zone("w", 30_000, 2), zone("v", 40_000, 4), zone("y", 50_000, 2, 80)], ZONE_4));
    assert.deepEqual(rows(plan.now), [
      ["x", 0],
      ["w", 30_000],
      ["y", 60_000, "dns:z"],
      ["v", 120_000, "dns:z"],
    ]);
  });
  it("one wake releases as many parked renewals as fit by the lightest weight: b and c (1 write each) at 60 s, d (4) at 120 s", () => {
    const plan = planRenewals(input([zone("a", 0, 4, 80), zone("b", 0, 1, 81), zone("c", 0, 1, 82), zone("d", 0, 4, 85)], ZONE_4));
    assert.deepEqual(rows(plan.now), [
      ["a", 0],
      ["b", 60_000, "dns:z"],
      ["c", 60_000, "dns:z"],
      ["d", 120_000, "dns:z"],
    ]);
  });
});

describe("planRenewals: renewals still parked at the horizon", () => {
  // Vault v1 takes 1 key create per 5 h, the pace 3 starts per 15 h, horizon at 10 h. g fills v1 at 0, b (vault v2)
  // takes the pace's second slot at 2 h; d, f and a wait on v1. v1 wakes at 5 h: d (earliest close) starts and fills
  // the pace. The limit's next wake releases f, which the pace then holds until 15 h; a is still parked on v1 when v1
  // wakes at the horizon, and is left to later at that wake, held by v1 (its other limits are not evaluated then).
  const v1 = (name: string, due: number, days: number) => cert(name, due, { notAfter: at(days * DAY) });
  const certificates = [
    v1("g", 0, 86),
    cert("b", 2 * HOUR, { vault: "v2", notAfter: at(81 * DAY) }),
    v1("d", 3 * HOUR, 80),
    v1("f", 4 * HOUR, 81),
    v1("a", 4 * HOUR, 84),
  ];
  it("d at 5 h (held by v1); left to later: a at the horizon (v1's wake), f at 15 h (the pace)", () => {
    const plan = planRenewals(
      input(certificates, {
        horizonEnd: at(10 * HOUR),
        runner: { count: 3, windowMs: 15 * HOUR },
        azure: { ...LOOSE, keyVaultCreatesPerVault: { count: 1, windowMs: 5 * HOUR } },
      }),
    );
    assert.deepEqual(
      { now: rows(plan.now), later: rows(plan.later) },
      {
        now: [
          ["g", 0],
          ["b", 2 * HOUR],
          ["d", 5 * HOUR, "kv:v1"],
        ],
        later: [
          ["a", 10 * HOUR, "kv:v1"],
          ["f", 15 * HOUR, "runner"],
        ],
      },
    );
  });
});

describe("planRenewals: late and ARI-exempt flags at their edges", () => {
  const w = planWindow(cert("k", 0));
  it("a start exactly at the window's close is not late", () => {
    const close = w.close.getTime() - T0;
    const [r] = planRenewals(input([cert("k", 0, { caNotBefore: at(close) })], { horizonEnd: at(90 * DAY) })).now;
    assert.deepEqual(r, { name: "k", at: at(close), window: w, ariExempt: false, late: false, heldBy: "ca-not-before" });
  });
  it("a renewal nothing held has no heldBy property at all", () => {
    const [r] = planRenewals(input([cert("k", 0)], { horizonEnd: at(90 * DAY) })).now;
    assert.deepEqual(r, { name: "k", at: at(0), window: w, ariExempt: false, late: false });
  });
  it("a start 1 ms after the close is late", () => {
    const close = w.close.getTime() - T0;
    const [r] = planRenewals(input([cert("k", 0, { caNotBefore: at(close + 1) })], { horizonEnd: at(90 * DAY) })).now;
    assert.equal(r?.late, true);
  });
  const ari = { start: at(40 * DAY), end: at(50 * DAY) };
  const cases: [string, Partial<PlanCertificate>, boolean][] = [
    ["an ARI renewal starting exactly at the ARI window's end is exempt", { ariWindow: ari, caNotBefore: ari.end }, true],
    ["one starting 1 ms after the ARI window's end is not", { ariWindow: ari, caNotBefore: new Date(ari.end.getTime() + 1) }, false],
    ["a new order inside the ARI window is not exempt", { ariWindow: ari, order: "new", caNotBefore: ari.start }, false],
  ];
  for (const [name, over, exempt] of cases)
    it(name, () => {
      const [r] = planRenewals(input([cert("k", 0, over)], { ca: LETS_ENCRYPT_LIMITS, horizonEnd: at(90 * DAY) })).now;
      assert.equal(r?.ariExempt, exempt);
      assert.equal(r?.heldBy, "ca-not-before");
    });
});

describe("lastChanceAim at its edges", () => {
  const win = (open: number, aim: number, close: number): PlanWindow => ({
    open: new Date(open),
    aim: new Date(aim),
    close: new Date(close),
    ari: false,
    thirdLeft: new Date(close),
  });
  const cases: [string, PlanWindow, number, number, number, number][] = [
    ["aim exactly at the horizon, close before the next run: moved to the same share before the horizon", win(0, 50, 100), 0, 50, 200, 25],
    ["close exactly at the next run: the aim stays", win(0, 80, 100), 0, 50, 100, 80],
    ["window opening exactly at the horizon: just before the horizon", win(50, 80, 100), 0, 50, 200, 49],
    ["aim before the horizon: the aim stays", win(0, 49, 100), 0, 50, 200, 49],
  ];
  for (const [name, w, now, horizon, nextRun, want] of cases) it(name, () => assert.equal(lastChanceAim(w, now, horizon, nextRun), want));
});

describe("planWindow and offsetFraction at their edges", () => {
  it("offsetFraction is 32-bit FNV-1a over exactly the key's characters", () => {
    assert.equal(offsetFraction("a"), 0xe40c292c / 0x1_0000_0000);
    assert.equal(offsetFraction(""), 0x811c9dc5 / 0x1_0000_0000);
  });
  const base = cert("k", 50 * DAY);
  const cases: [string, { start: Date; end: Date }, boolean][] = [
    ["an empty ARI window (end = start) is not used", { start: at(40 * DAY), end: at(40 * DAY) }, false],
    ["an ARI window starting exactly at notAfter is not used", { start: at(90 * DAY), end: at(91 * DAY) }, false],
    ["an ARI window of 1 ms ending before notAfter is used", { start: at(40 * DAY), end: at(40 * DAY + 1) }, true],
  ];
  for (const [name, ariWindow, ari] of cases)
    it(name, () => {
      const w = planWindow({ ...base, ariWindow });
      assert.equal(w.ari, ari);
      if (!ari) assert.deepEqual(w, planWindow(base));
    });
});

describe("ca-limits and plan-input at their edges", () => {
  it("a CA without published limits counts nothing and exempts nothing", () => {
    const want: CaLimits = { ariRenewalsExempt: false };
    assert.deepEqual(UNPUBLISHED_LIMITS, want);
  });
  it("only a leading wildcard label is stripped", () => {
    // Not a host name (tldts finds no domain): the name itself, its "*." kept.
    assert.equal(registeredDomain("a*.example.com"), "a*.example.com");
    assert.equal(registeredDomain("*.a*.example.com"), "a*.example.com");
  });
  const NOW = new Date(T0);
  const due: DueCertificate = {
    certificateName: "shop",
    decision: { due: true, reason: "WithinRenewBeforeExpiry", message: "", renewAt: NOW.toISOString() },
    ari: "used",
    rule: "ari",
    notBefore: new Date(T0 - 60 * DAY).toISOString(),
    notAfter: new Date(T0 + 30 * DAY).toISOString(),
  };
  it("an empty name list stands for the certificate name", () => {
    const c = planCertificate(due, { name: "shop", dnsNames: [] }, "v");
    assert.deepEqual([c?.exactSet, c?.dnsWrites, c?.armWrites], ["shop", { shop: 2 }, 2]);
  });
  it("recent issuances: exactly 7 days ago is out, exactly now is in", () => {
    const list = recentIssuances(
      [
        { name: "week", notBefore: new Date(T0 - 7 * DAY).toISOString() },
        { name: "week-1ms", notBefore: new Date(T0 - 7 * DAY + 1).toISOString() },
        { name: "now", notBefore: NOW.toISOString() },
        { name: "future", notBefore: new Date(T0 + 1).toISOString() },
      ],
      NOW,
    );
    assert.deepEqual(
      list.map((r) => [r.exactSet, r.at.getTime() - T0]),
      [
        ["week-1ms", -7 * DAY + 1],
        ["now", 0],
      ],
    );
  });
});

describe("planRenewals: order among renewals ready at the same moment", () => {
  // Pace 1 per hour, all due at 0: they start one an hour, earliest close first, whatever order they are listed in.
  const closes: [string, number][] = [
    ["f", 85],
    ["b", 81],
    ["e", 84],
    ["a", 80],
    ["d", 83],
    ["c", 82],
    ["g", 86],
  ];
  const orders: [string, [string, number][]][] = [
    ["listed by name", [...closes].sort((x, y) => (x[0] < y[0] ? -1 : 1))],
    ["listed by name, reversed", [...closes].sort((x, y) => (x[0] < y[0] ? 1 : -1))],
    ["listed shuffled", closes],
  ];
  for (const [name, list] of orders)
    it(`${name}: a, b, c, d, e, f, g one an hour`, () => {
      const plan = planRenewals(
        input(
          list.map(([n, days]) => cert(n, 0, { notAfter: at(days * DAY) })),
          { runner: { count: 1, windowMs: HOUR } },
        ),
      );
      assert.deepEqual(
        plan.now.map((r) => [r.name, (r.at.getTime() - T0) / HOUR]),
        ["a", "b", "c", "d", "e", "f", "g"].map((n, i) => [n, i]),
      );
    });
});

describe("planRenewals: two limits waking at the same moment", () => {
  // Pace 1 per 10 h and zone z 2 writes per 10 h: a fills both at 0; b waits on the pace, c (2 writes in z) on the zone;
  // both limits wake at 10 h. Wakes go before renewals at the same moment (entryBefore), so both wakes release theirs
  // first and the earlier close takes the pace's slot whichever limit parked it and whichever parked first.
  const zoneCert = (name: string, due: number, dnsWrites: Record<string, number>, days: number) =>
    cert(name, due, { dnsWrites, notAfter: at(days * DAY) });
  const limits: Partial<PlanInput> = {
    runner: RUNNER_1_PER_10H,
    azure: { ...LOOSE, dnsWritesPerZone: { count: 2, windowMs: 10 * HOUR } },
  };
  const cases: [string, PlanCertificate[], Row[]][] = [
    [
      "b (90 d) parked on the pace first, c (85 d) on the zone: c at 10 h, b at 20 h",
      [zoneCert("a", 0, { z: 2 }, 80), zoneCert("b", 0, {}, 90), zoneCert("c", HOUR, { z: 2 }, 85)],
      [
        ["a", 0],
        ["c", 10 * HOUR, "dns:z"],
        ["b", 20 * HOUR, "runner"],
      ],
    ],
    [
      "c (90 d) parked on the zone first, b (85 d) on the pace: b at 10 h, c at 20 h",
      [zoneCert("a", 0, { z: 2 }, 80), zoneCert("c", HOUR, { z: 2 }, 90), zoneCert("b", 2 * HOUR, {}, 85)],
      [
        ["a", 0],
        ["b", 10 * HOUR, "runner"],
        ["c", 20 * HOUR, "runner"],
      ],
    ],
  ];
  for (const [name, certificates, want] of cases)
    it(name, () => assert.deepEqual(rows(planRenewals(input(certificates, limits)).now), want));
});
