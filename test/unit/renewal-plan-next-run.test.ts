/**
 * The planner and the gap between a run's last start (horizonEnd, an hour before the next run) and the next run: a
 * renewal aimed inside that gap was left to the next run, which started it after its window had closed (bench/scale's
 * 23 "started after the window" 6-day certificates at 20,000 certificates x 30 days). Table cases of lastChanceAim and
 * the plan.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AZURE_BUDGETS, LETS_ENCRYPT_LIMITS } from "../../src/renewal/ca-limits";
import { lastChanceAim, planRenewals, type PlanCertificate } from "../../src/renewal/plan";
import { AIM_MARGIN_FRACTION, planWindow } from "../../src/renewal/plan-window";
import { planEnd } from "../../src/renewal/run";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RUN = Date.parse("2027-03-05T03:00:00Z");
const NEXT_RUN = RUN + DAY;
const HORIZON = planEnd(RUN, NEXT_RUN);

/** A 6-day certificate without ARI issued at `issuedAt` (due at 66 %: its window opens 5 % before the safety point). */
function shortLived(name: string, issuedAt: number): PlanCertificate {
  return {
    name,
    notBefore: new Date(issuedAt),
    notAfter: new Date(issuedAt + 6 * DAY),
    dueAt: new Date(issuedAt + 6 * DAY * 0.66),
    order: "renewal",
    registeredDomains: [`${name}.example`],
    exactSet: `${name}.example`,
    dnsWrites: { [`${name}.example`]: 2 },
    armWrites: 2,
    vault: "v1",
  };
}

/** A certificate whose window closes at `close` (before the next run) and whose aim lies at or after the horizon. */
function aimedIntoTheGap(close: number): PlanCertificate {
  for (let i = 0; i < 1000; i++) {
    const probe = shortLived(`gap${i}`, 0);
    const w = planWindow(probe);
    const issuedAt = close - w.close.getTime();
    const c = shortLived(`gap${i}`, issuedAt);
    if (planWindow(c).aim.getTime() >= HORIZON) return c;
  }
  throw new Error("no name aims into the gap");
}

const plan = (certificates: PlanCertificate[], nextRun?: number) =>
  planRenewals({
    now: new Date(RUN),
    horizonEnd: new Date(HORIZON),
    ...(nextRun === undefined ? {} : { nextRun: new Date(nextRun) }),
    certificates,
    ca: LETS_ENCRYPT_LIMITS,
    azure: AZURE_BUDGETS,
  });

describe("renewals whose window closes between the horizon and the next run", () => {
  it("without nextRun the plan leaves one aimed into the gap to the next run, which starts after the window closed (the reproduced bug)", () => {
    const c = aimedIntoTheGap(HORIZON + 55 * 60_000);
    const p = plan([c]);
    assert.equal(p.now.length, 0);
    assert.equal(p.later.length, 1);
    assert.ok(p.later[0]!.window.close.getTime() < NEXT_RUN, "its window closes before the next run could start it");
  });

  it("with nextRun the same renewal starts in this run, before the horizon, inside its window, not late", () => {
    const c = aimedIntoTheGap(HORIZON + 55 * 60_000);
    const p = plan([c], NEXT_RUN);
    assert.equal(p.later.length, 0);
    const [r] = p.now;
    assert.ok(r, "planned now");
    assert.ok(r.at.getTime() < HORIZON && r.at.getTime() >= RUN, r.at.toISOString());
    assert.ok(r.at.getTime() >= r.window.open.getTime(), "not before its window");
    assert.equal(r.late, false);
  });

  it("many such renewals keep spreading over what is left of their windows before the horizon", () => {
    const certs = Array.from({ length: 200 }, (_, i) => {
      const c = shortLived(`spread${i}`, 0);
      return shortLived(c.name, HORIZON + 55 * 60_000 - planWindow(c).close.getTime());
    });
    const p = plan(certs, NEXT_RUN);
    const gapAimed = certs.filter((c) => planWindow(c).aim.getTime() >= HORIZON).length;
    assert.ok(gapAimed >= 2, `${gapAimed} certificates aimed into the gap`);
    assert.equal(p.later.length, 0);
    assert.equal(p.now.filter((r) => r.late).length, 0);
    const moments = new Set(p.now.map((r) => r.at.getTime()));
    assert.equal(moments.size, certs.length, "each its own moment");
  });

  it("a window's last 10 % is kept free of aims: a renewal held back a little (by the executor's pace) still starts in its window", () => {
    for (let i = 0; i < 200; i++) {
      const w = planWindow(shortLived(`m${i}`, 0));
      const margin = (w.close.getTime() - w.open.getTime()) * AIM_MARGIN_FRACTION;
      assert.ok(w.aim.getTime() <= w.close.getTime() - margin + 1, `m${i}: aim ${w.aim.toISOString()} in the last 10 % of its window`);
    }
  });

  const cases: { name: string; window: [number, number, number]; expect: number }[] = [
    { name: "aim before the horizon: unchanged", window: [RUN - HOUR, RUN + 2 * HOUR, RUN + 5 * HOUR], expect: RUN + 2 * HOUR },
    {
      name: "closes after the next run: unchanged (the next run starts it in time)",
      window: [RUN + 20 * HOUR, HORIZON + 10 * 60_000, NEXT_RUN + HOUR],
      expect: HORIZON + 10 * 60_000,
    },
    {
      name: "aim in the gap, closing before the next run: the same share of the window left before the horizon",
      window: [RUN + 19 * HOUR, RUN + 23.5 * HOUR, RUN + 23.75 * HOUR],
      // share (23.5 - 19) / (23.75 - 19) of [19 h, 23 h]
      expect: RUN + 19 * HOUR + Math.floor(((23.5 - 19) / (23.75 - 19)) * 4 * HOUR),
    },
    {
      name: "whole window in the gap: just before the horizon (earlier than the window, never after it)",
      window: [HORIZON + 5 * 60_000, HORIZON + 20 * 60_000, HORIZON + 50 * 60_000],
      expect: HORIZON - 1,
    },
    {
      name: "window opened before now: the share counts from now",
      window: [RUN - 4 * HOUR, RUN + 23.5 * HOUR, RUN + 23.9 * HOUR],
      expect: RUN + Math.floor(((23.5 + 4) / (23.9 + 4)) * 23 * HOUR),
    },
  ];
  for (const c of cases)
    it(`lastChanceAim: ${c.name}`, () => {
      const [open, aim, close] = c.window;
      const w = { open: new Date(open), aim: new Date(aim), close: new Date(close), ari: false, thirdLeft: new Date(close + HOUR) };
      assert.equal(lastChanceAim(w, RUN, HORIZON, NEXT_RUN), c.expect);
    });
});
