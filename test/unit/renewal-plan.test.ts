import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AZURE_BUDGETS, LETS_ENCRYPT_LIMITS, UNPUBLISHED_LIMITS, caLimitsFor, type CaLimits } from "../../src/renewal/ca-limits";
import { planRenewals, type PastIssuance, type PlanCertificate, type PlanInput } from "../../src/renewal/plan";
import { SAFETY_FRACTION, SPREAD_FRACTION, offsetFraction, planWindow } from "../../src/renewal/plan-window";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.parse("2027-03-01T00:00:00Z");
const at = (ms: number) => new Date(T0 + ms);

function cert(name: string, over: Partial<PlanCertificate> & { days?: number; issuedAt?: number } = {}): PlanCertificate {
  const days = over.days ?? 90;
  const issuedAt = over.issuedAt ?? 0;
  const c: PlanCertificate = {
    name,
    notBefore: at(issuedAt),
    notAfter: at(issuedAt + days * DAY),
    dueAt: at(issuedAt + days * DAY * 0.66),
    order: "renewal",
    registeredDomains: [`${name}.example`],
    exactSet: `${name}.example`,
    dnsWrites: { [`${name}.example`]: 2 },
    armWrites: 2,
    vault: "v1",
  };
  const { days: _d, issuedAt: _i, ...rest } = over;
  return { ...c, ...rest };
}

/** Azure budgets that never bind, for the cases about the CA's limits. */
const LOOSE_AZURE = {
  dnsWritesPerZone: { count: 1e9, windowMs: 60_000 },
  keyVaultCreatesPerVault: { count: 1e9, windowMs: 10_000 },
  armWrites: { count: 1e9, windowMs: 10_000 },
};

function input(certificates: PlanCertificate[], over: Partial<PlanInput> = {}): PlanInput {
  return { now: at(0), horizonEnd: at(365 * DAY), certificates, ca: LETS_ENCRYPT_LIMITS, azure: AZURE_BUDGETS, ...over };
}

describe("planWindow", () => {
  const cases: { name: string; c: PlanCertificate; open: number; close: number; ari: boolean }[] = [
    {
      name: "90-day without ARI: opens SPREAD_FRACTION before the safety point, closes SAFETY_FRACTION before a third is left",
      c: cert("a"),
      open: 60 * DAY - 90 * DAY * SAFETY_FRACTION - 90 * DAY * SPREAD_FRACTION,
      close: 60 * DAY - 90 * DAY * SAFETY_FRACTION,
      ari: false,
    },
    {
      name: "due earlier than the spread (50 %): the window opens at the due time",
      c: cert("b", { dueAt: at(45 * DAY) }),
      open: 45 * DAY,
      close: 60 * DAY - 90 * DAY * SAFETY_FRACTION,
      ari: false,
    },
    {
      name: "due after a third is left (renewBeforeExpiryDays 10 on a 90-day certificate): still closes before a third is left",
      c: cert("c", { dueAt: at(80 * DAY) }),
      open: 60 * DAY - 90 * DAY * SAFETY_FRACTION - 90 * DAY * SPREAD_FRACTION,
      close: 60 * DAY - 90 * DAY * SAFETY_FRACTION,
      ari: false,
    },
    {
      name: "ARI window inside the lifetime: the CA's window",
      c: cert("d", { ariWindow: { start: at(50 * DAY), end: at(52 * DAY) } }),
      open: 50 * DAY,
      close: 52 * DAY,
      ari: true,
    },
    {
      name: "ARI window ending after a third is left: cut at the safety point",
      c: cert("e", { ariWindow: { start: at(55 * DAY), end: at(70 * DAY) } }),
      open: 55 * DAY,
      close: 60 * DAY - 90 * DAY * SAFETY_FRACTION,
      ari: true,
    },
    {
      name: "invalid ARI window (end before start): fixed window",
      c: cert("f", { ariWindow: { start: at(52 * DAY), end: at(50 * DAY) } }),
      open: 60 * DAY - 90 * DAY * SAFETY_FRACTION - 90 * DAY * SPREAD_FRACTION,
      close: 60 * DAY - 90 * DAY * SAFETY_FRACTION,
      ari: false,
    },
    {
      name: "6-day certificate: hours, not days",
      c: cert("g", { days: 6, dueAt: at(6 * DAY * 0.66) }),
      open: 4 * DAY - 6 * DAY * SAFETY_FRACTION - 6 * DAY * SPREAD_FRACTION,
      close: 4 * DAY - 6 * DAY * SAFETY_FRACTION,
      ari: false,
    },
  ];
  for (const k of cases)
    it(k.name, () => {
      const w = planWindow(k.c);
      assert.equal(w.open.getTime() - T0, Math.round(k.open));
      assert.equal(w.close.getTime() - T0, Math.round(k.close));
      assert.equal(w.ari, k.ari);
      assert.ok(w.aim >= w.open && w.aim <= w.close, "aim inside the window");
      assert.equal(w.thirdLeft.getTime(), k.c.notAfter.getTime() - (k.c.notAfter.getTime() - k.c.notBefore.getTime()) / 3);
    });

  it("the aim is the same on every call and differs between certificates", () => {
    const a = planWindow(cert("same"));
    assert.equal(planWindow(cert("same")).aim.getTime(), a.aim.getTime());
    const aims = new Set(Array.from({ length: 50 }, (_, i) => planWindow(cert(`c${i}`)).aim.getTime()));
    assert.ok(aims.size >= 45, `50 certificates get ${aims.size} distinct aims`);
  });

  it("offsetFraction spreads over [0, 1) evenly enough (each tenth holds 5–15 % of 2,000 keys)", () => {
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 2000; i++) {
      const f = offsetFraction(`cert-${i}`);
      assert.ok(f >= 0 && f < 1);
      buckets[Math.floor(f * 10)]!++;
    }
    for (const b of buckets) assert.ok(b >= 100 && b <= 300, `bucket ${b}`);
  });
});

describe("planRenewals", () => {
  it("places each renewal at its aim when no limit binds, in start order", () => {
    const certs = ["x", "y", "z"].map((n) => cert(n));
    const plan = planRenewals(input(certs));
    assert.equal(plan.now.length, 3);
    for (const p of plan.now) assert.equal(p.at.getTime(), planWindow(certs.find((c) => c.name === p.name)!).aim.getTime());
    assert.deepEqual(
      plan.now.map((p) => p.at.getTime()),
      plan.now.map((p) => p.at.getTime()).sort((a, b) => a - b),
    );
    assert.ok(plan.now.every((p) => !p.late && p.heldBy === undefined));
  });

  it("a window already open starts now; one whose close has passed starts now and is late", () => {
    const open = cert("open", { issuedAt: -56 * DAY });
    const overdue = cert("overdue", { issuedAt: -70 * DAY });
    const plan = planRenewals(input([open, overdue]));
    const byName = new Map(plan.now.map((p) => [p.name, p]));
    assert.ok(byName.get("open")!.at.getTime() >= T0);
    assert.equal(byName.get("overdue")!.at.getTime(), T0);
    assert.equal(byName.get("overdue")!.late, true);
    assert.equal(byName.get("open")!.late, false);
  });

  it("honours the CA's not-before (Retry-After) even past the window", () => {
    const c = cert("limited", { issuedAt: -56 * DAY, caNotBefore: at(5 * DAY) });
    const [p] = planRenewals(input([c])).now;
    assert.equal(p!.at.getTime(), T0 + 5 * DAY);
    assert.equal(p!.heldBy, "ca-not-before");
    assert.equal(p!.late, true);
  });

  it("renewals past the horizon are left to a later run with their moment", () => {
    const plan = planRenewals(input([cert("soon", { issuedAt: -56 * DAY }), cert("later")], { horizonEnd: at(DAY) }));
    assert.deepEqual(
      plan.now.map((p) => p.name),
      ["soon"],
    );
    assert.deepEqual(
      plan.later.map((p) => p.name),
      ["later"],
    );
    assert.equal(plan.later[0]!.at.getTime(), planWindow(cert("later")).aim.getTime());
  });

  it("new orders: never more than 300 in any 3 h per account (1,000 migrations)", () => {
    const certs = Array.from({ length: 1000 }, (_, i) =>
      cert(`m${i}`, { order: "new", issuedAt: -80 * DAY, registeredDomains: [`d${i % 100}.example`] }),
    );
    const plan = planRenewals(input(certs, { azure: LOOSE_AZURE }));
    assert.equal(plan.now.length, 1000);
    const times = plan.now.map((p) => p.at.getTime());
    for (let i = 300; i < times.length; i++)
      assert.ok(times[i]! - times[i - 300]! >= 3 * HOUR, `order ${i} within 3 h of order ${i - 300}`);
    assert.equal(times[299], T0);
    assert.equal(times[300], T0 + 3 * HOUR);
    assert.equal(plan.now[300]!.heldBy, "ca:account");
  });

  it("new certificates per registered domain: the 51st in a week waits a week; past issuances count", () => {
    const certs = Array.from({ length: 60 }, (_, i) =>
      cert(`n${i}`, { order: "new", issuedAt: -80 * DAY, registeredDomains: ["big.example"] }),
    );
    const recent: PastIssuance[] = Array.from({ length: 10 }, () => ({
      at: at(-DAY),
      order: "new",
      registeredDomains: ["big.example"],
      exactSet: "other",
    }));
    const plan = planRenewals(input(certs, { recent, azure: LOOSE_AZURE }));
    const times = plan.now.map((p) => p.at.getTime());
    assert.equal(times.filter((t) => t === T0).length, 40);
    assert.equal(times[40], T0 + 6 * DAY);
    assert.equal(plan.now[40]!.heldBy, "ca:domain:big.example");
    for (let i = 50; i < times.length; i++) assert.ok(times[i]! - times[i - 50]! >= 7 * DAY);
  });

  it("renewals of the same names: at most 5 in 7 days (a 1-day certificate cannot renew daily)", () => {
    const recent: PastIssuance[] = [0, 1, 2, 3, 4].map((d) => ({
      at: at(-(d + 1) * DAY),
      order: "renewal",
      registeredDomains: ["s.example"],
      exactSet: "s",
    }));
    const c = cert("s", { days: 6, issuedAt: -5 * DAY, exactSet: "s" });
    const [p] = planRenewals(input([c], { recent })).now;
    assert.equal(p!.at.getTime(), T0 + 2 * DAY);
    assert.equal(p!.heldBy, "ca:set:s");
  });

  it("ARI renewals inside the window are exempt from the CA's limits", () => {
    const recent: PastIssuance[] = Array.from({ length: 5 }, () => ({
      at: at(-HOUR),
      order: "renewal",
      registeredDomains: [],
      exactSet: "a",
    }));
    const c = cert("a", { issuedAt: -56 * DAY, exactSet: "a", ariWindow: { start: at(-HOUR), end: at(DAY) } });
    const [p] = planRenewals(input([c], { recent })).now;
    assert.equal(p!.ariExempt, true);
    assert.ok(p!.at.getTime() < T0 + DAY);
    assert.equal(p!.heldBy, undefined);
    // The same certificate at a CA that does not exempt ARI renewals waits for the exact-set limit.
    const strict: CaLimits = { ...LETS_ENCRYPT_LIMITS, ariRenewalsExempt: false };
    const [q] = planRenewals(input([c], { recent, ca: strict })).now;
    assert.equal(q!.ariExempt, false);
    assert.equal(q!.heldBy, "ca:set:a");
    assert.equal(q!.at.getTime(), T0 - HOUR + 7 * DAY);
  });

  it("Azure DNS: at most 200 record-set writes per zone per minute", () => {
    const certs = Array.from({ length: 250 }, (_, i) =>
      cert(`z${i}`, { issuedAt: -70 * DAY, dnsWrites: { "shared.example": 2 }, registeredDomains: ["shared.example"] }),
    );
    const plan = planRenewals(input(certs, { azure: { ...AZURE_BUDGETS, keyVaultCreatesPerVault: { count: 10_000, windowMs: 10_000 } } }));
    const times = plan.now.map((p) => p.at.getTime());
    assert.equal(times.filter((t) => t === T0).length, 100);
    assert.equal(times[100], T0 + 60_000);
    assert.equal(plan.now[100]!.heldBy, "dns:shared.example");
  });

  it("Key Vault: at most 20 certificate creates per vault per 10 s", () => {
    const certs = Array.from({ length: 45 }, (_, i) => cert(`k${i}`, { issuedAt: -70 * DAY }));
    const times = planRenewals(input(certs)).now.map((p) => p.at.getTime());
    assert.deepEqual(
      [times.filter((t) => t === T0).length, times.filter((t) => t === T0 + 10_000).length, times.filter((t) => t === T0 + 20_000).length],
      [20, 20, 5],
    );
  });

  it("when a limit binds, the window that closes first goes first", () => {
    const recent: PastIssuance[] = Array.from({ length: 300 }, () => ({
      at: at(-HOUR),
      order: "new",
      registeredDomains: [],
      exactSet: "x",
    }));
    const early = cert("zz-early", { order: "new", issuedAt: -59 * DAY });
    const late = cert("aa-late", { order: "new", issuedAt: -58 * DAY });
    const plan = planRenewals(input([late, early], { recent }));
    assert.deepEqual(
      plan.now.map((p) => p.name),
      ["zz-early", "aa-late"],
    );
    assert.equal(plan.now[0]!.at.getTime(), T0 + 2 * HOUR);
  });

  it("a CA without published limits counts nothing (only Azure budgets)", () => {
    const certs = Array.from({ length: 400 }, (_, i) => cert(`u${i}`, { order: "new", issuedAt: -70 * DAY, vault: `v${i}`, armWrites: 0 }));
    const plan = planRenewals(input(certs, { ca: UNPUBLISHED_LIMITS }));
    assert.ok(plan.now.every((p) => p.at.getTime() === T0));
  });
});

describe("caLimitsFor", () => {
  it("Let's Encrypt production and staging get the published defaults; others none unless configured", () => {
    assert.equal(caLimitsFor("https://acme-v02.api.letsencrypt.org/directory"), LETS_ENCRYPT_LIMITS);
    assert.equal(caLimitsFor("https://acme-staging-v02.api.letsencrypt.org/directory"), LETS_ENCRYPT_LIMITS);
    assert.equal(caLimitsFor("https://acme.zerossl.com/v2/DV90"), UNPUBLISHED_LIMITS);
    assert.equal(caLimitsFor("not a url"), UNPUBLISHED_LIMITS);
    const own: CaLimits = { newOrdersPerAccount: { count: 10, windowMs: HOUR }, ariRenewalsExempt: false };
    assert.equal(caLimitsFor("https://acme-v02.api.letsencrypt.org/directory", own), own);
  });
});

describe("planRenewals at scale", () => {
  it("2,000 renewals behind one vault: 20 starts per 10 s, earliest window close first, every one placed", () => {
    const certs = Array.from({ length: 2000 }, (_, i) => cert(`q${String(i).padStart(4, "0")}`, { issuedAt: -(70 + (i % 7)) * DAY }));
    const plan = planRenewals(input(certs));
    assert.equal(plan.now.length, 2000);
    const times = plan.now.map((p) => p.at.getTime());
    for (let i = 20; i < times.length; i++) assert.ok(times[i]! - times[i - 20]! >= 10_000, `start ${i} within 10 s of start ${i - 20}`);
    assert.equal(times[1999], T0 + 99 * 10_000);
    // Among those held back, the window that closed first starts first.
    const closes = plan.now.map((p) => p.window.close.getTime());
    for (let i = 1; i < closes.length; i++) assert.ok(closes[i]! >= closes[i - 1]!, `start ${i} closes before start ${i - 1}`);
  });

  it("the executor's pace (runner): at most `count` starts per window", () => {
    const certs = Array.from({ length: 30 }, (_, i) => cert(`r${i}`, { issuedAt: -70 * DAY }));
    const plan = planRenewals(input(certs, { runner: { count: 8, windowMs: 60_000 } }));
    const times = plan.now.map((p) => p.at.getTime());
    for (let i = 8; i < times.length; i++) assert.ok(times[i]! - times[i - 8]! >= 60_000);
    assert.equal(plan.now[8]!.heldBy, "runner");
  });

  it("several CAs: each directory's limits count on their own", () => {
    const certs = Array.from({ length: 400 }, (_, i) =>
      cert(`d${i}`, { order: "new", issuedAt: -70 * DAY, directory: i % 2 === 0 ? "le" : "other", registeredDomains: [`d${i}.example`] }),
    );
    const plan = planRenewals(input(certs, { azure: LOOSE_AZURE, cas: { le: LETS_ENCRYPT_LIMITS, other: UNPUBLISHED_LIMITS } }));
    const at0 = plan.now.filter((p) => p.at.getTime() === T0);
    assert.equal(at0.length, 400, "200 at Let's Encrypt (under 300) and 200 at a CA without published limits");
    const le = Array.from({ length: 400 }, (_, i) =>
      cert(`e${i}`, { order: "new", issuedAt: -70 * DAY, directory: "le", registeredDomains: [`e${i}.example`] }),
    );
    const held = planRenewals(input(le, { azure: LOOSE_AZURE, cas: { le: LETS_ENCRYPT_LIMITS } })).now.filter(
      (p) => p.heldBy === "ca@le:account",
    );
    assert.equal(held.length, 100);
    assert.throws(() => planRenewals(input([cert("x", { directory: "unknown" })])), /no CA limits for directory unknown/);
  });
});
