/**
 * bench/scale's simulation: one population (./scale-model) on a virtual clock for `days` days under two policies,
 * side by side, against the same modelled CA and Azure limits (a request over a limit is a rejection, as the service
 * would answer).
 *
 * - kv-acme: the renewal run every day at 03:00 (the default schedule) with the real decision code
 *   (src/renewal/decide.ts: decideRenewal, renewalTime; src/acme/ari.ts: pickRenewalTime) and the real planner
 *   (src/renewal/plan.ts, 24 h look-ahead), renewals executed at the plan's moments, at most maxConcurrentRenewals
 *   (8) at a time; a `rateLimited` answer's Retry-After becomes the certificate's not-before for the next plan.
 *   ARI certificates renew with `replaces`. The day-one migration goes through the planner as new orders.
 * - acmebot (the C# tool's policy): every day at 00:00, every certificate expiring within 30 days, one at a time, no
 *   ARI; a rejection fails that certificate until the next day. The migration's 10,000 issuances are started at once
 *   through its API (each its own orchestration, 50 at a time); rejected ones are submitted again the next day.
 */
import { pickRenewalTime } from "../../src/acme/ari";
import { AZURE_BUDGETS, LETS_ENCRYPT_LIMITS, type CaLimits } from "../../src/renewal/ca-limits";
import { decideRenewal, renewalTime, type RenewalPolicy, type RenewalState } from "../../src/renewal/decide";
import { planRenewals, type PastIssuance, type PlanCertificate } from "../../src/renewal/plan";
import { planEnd } from "../../src/renewal/run";
import { planWindow } from "../../src/renewal/plan-window";
import {
  AzureModel,
  CaModel,
  DAY,
  HOUR,
  SECOND,
  ariWindowOf,
  population,
  timeline,
  type PopulationOptions,
  type SimCert,
} from "./scale-model";
import { rng } from "./rng";
import { Heap } from "../../src/shared/heap";

export interface SimOptions extends PopulationOptions {
  days: number;
  concurrency: number;
}

export interface PolicyResult {
  issuances: number;
  renewalsPerDay: { min: number; median: number; max: number; mean: number };
  peakNewOrdersPer3h: Record<string, number>;
  newOrdersPer3hLimit: number;
  rateLimitRejections: number;
  rejectedBy: Record<string, number>;
  azureThrottled: { keyVault: number; arm: number; dns: number };
  /** Renewals that completed with under a third of the lifetime left (expired ones included). */
  lateRenewals: number;
  /** Certificates that expired before their renewal completed. */
  expired: number;
  /** kv-acme only: renewals the plan started after their window closed. */
  startedAfterWindow?: number;
  /** kv-acme only: daily timer firings that found the last run still running. */
  skippedRuns?: number;
  migrationCompletedDay: number | null;
  peaks: ReturnType<AzureModel["peaks"]>;
  budgets: { keyVaultCreatesPer10s: number; keyVaultOtherPer10s: number; armWritesPer10s: number; dnsWritesPerZonePerMinute: number };
}

const POLICY: RenewalPolicy = { renewBeforeExpiryDays: 30, renewAtPercentOfLifetime: 66 };
const CAS: Record<string, CaLimits> = { letsencrypt: LETS_ENCRYPT_LIMITS, noari: { ...LETS_ENCRYPT_LIMITS, ariRenewalsExempt: false } };

/** A min-heap keyed by a number (the shared heap, src/shared/heap.ts, ordered by key). */
class MinHeap<T> {
  readonly #heap = new Heap<{ k: number; v: T }>((a, b) => a.k < b.k);
  get size(): number {
    return this.#heap.size;
  }
  peekKey(): number {
    return this.#heap.peek()?.k ?? Number.POSITIVE_INFINITY;
  }
  push(k: number, v: T): void {
    this.#heap.push({ k, v });
  }
  pop(): T | undefined {
    return this.#heap.pop()?.v;
  }
}

/** Counts shared by both policies. */
class Tally {
  readonly perDay: number[];
  issuances = 0;
  late = 0;
  expired = 0;
  migrationLeft: number;
  migrationDoneAt: number | null = null;
  constructor(
    readonly start: number,
    days: number,
    migration: number,
  ) {
    this.perDay = new Array<number>(days).fill(0);
    this.migrationLeft = migration;
  }
  /** An issuance of `c` completed at `at` (c still holds the previous validity). */
  completed(c: SimCert, at: number): void {
    this.issuances++;
    const day = Math.floor((at - this.start) / DAY);
    if (day >= 0 && day < this.perDay.length) this.perDay[day]!++;
    if (c.pendingNew) {
      if (--this.migrationLeft === 0) this.migrationDoneAt = at;
      return;
    }
    const thirdLeft = c.notAfter - (c.notAfter - c.notBefore) / 3;
    if (at > thirdLeft) this.late++;
    if (at > c.notAfter) this.expired++;
  }
  result(ca: CaModel, azure: AzureModel, extra: Partial<PolicyResult> = {}): PolicyResult {
    const days = [...this.perDay].sort((a, b) => a - b);
    const peak: Record<string, number> = {};
    for (const [name, m] of ca.newOrdersPer3h) peak[name] = Math.max(0, ...m.values());
    return {
      issuances: this.issuances,
      renewalsPerDay: {
        min: days[0] ?? 0,
        median: days[Math.floor(days.length / 2)] ?? 0,
        max: days[days.length - 1] ?? 0,
        mean: Math.round(this.perDay.reduce((a, b) => a + b, 0) / Math.max(1, this.perDay.length)),
      },
      peakNewOrdersPer3h: peak,
      newOrdersPer3hLimit: 300,
      rateLimitRejections: ca.rejections,
      rejectedBy: ca.rejectedBy,
      azureThrottled: azure.throttled,
      lateRenewals: this.late,
      expired: this.expired,
      migrationCompletedDay: this.migrationDoneAt === null ? null : Math.round(((this.migrationDoneAt - this.start) / DAY) * 10) / 10,
      peaks: azure.peaks(),
      budgets: {
        keyVaultCreatesPer10s: AzureModel.KV_CREATES_PER_10S,
        keyVaultOtherPer10s: AzureModel.KV_OTHER_PER_10S,
        armWritesPer10s: AzureModel.ARM_WRITES_PER_10S,
        dnsWritesPerZonePerMinute: AzureModel.DNS_WRITES_PER_ZONE_PER_MIN,
      },
      ...extra,
    };
  }
}

function renew(c: SimCert, at: number): void {
  c.notBefore = at;
  c.notAfter = at + c.lifetimeDays * DAY;
  c.pendingNew = false;
  c.caNotBefore = undefined;
  c.busy = false;
}

interface Gathered {
  state: RenewalState;
  dueAt: number;
}

/** What the decision pass gathers for `c`: validity and, at the ARI CA, the window with a moment picked in it. */
function gatherState(c: SimCert, random: () => number): Gathered {
  const state: RenewalState = { notBefore: new Date(c.notBefore), notAfter: new Date(c.notAfter) };
  if (c.ca === "letsencrypt") {
    const w = ariWindowOf(c);
    const window = { start: new Date(w.start), end: new Date(w.end) };
    state.ari = { window, renewAt: pickRenewalTime(window, random) };
  }
  return { state, dueAt: renewalTime(state, POLICY).at.getTime() };
}

/** kv-acme: daily planned runs (see the module comment). */
export function simulateKvAcme(o: SimOptions): PolicyResult {
  const certs = population(o);
  const random = rng(o.seed + 1);
  const ca = new CaModel(o.start);
  const azure = new AzureModel();
  const tally = new Tally(o.start, o.days, o.migration);
  const end = o.start + o.days * DAY;
  const gathered = new Map<number, Gathered>();
  // Certificates by the moment a run must look at them (window open, due time, Retry-After).
  const index = new MinHeap<SimCert>();
  const consider = (c: SimCert) => {
    if (c.pendingNew) return index.push(o.start, c);
    const g = gatherState(c, random);
    gathered.set(c.id, g);
    const w = planWindow({ name: c.name, notBefore: g.state.notBefore, notAfter: g.state.notAfter, dueAt: new Date(g.dueAt) });
    index.push(Math.max(Math.min(w.open.getTime(), g.dueAt), c.caNotBefore ?? 0), c);
  };
  for (const c of certs) consider(c);
  const recent: PastIssuance[] = [];
  // The executor's pace: maxConcurrentRenewals starts per 70 s (a modelled renewal takes 55 s on average), so a run's
  // plan fits in the day and the next timer finds it done.
  const runner = { count: o.concurrency, windowMs: 70 * SECOND };
  let startedAfterWindow = 0;

  // Events: renewal starts (planned) and completions, in time order.
  type Ev = { kind: "start"; c: SimCert; close: number } | { kind: "done"; c: SimCert };
  const events = new MinHeap<Ev>();
  const waiting = new MinHeap<{ c: SimCert; close: number }>();
  let inFlight = 0;
  /** Renewals of the current run not finished yet: the next run starts only after them (a singleton run). */
  let runLeft = 0;
  let skippedRuns = 0;
  const startAt = (t: number, c: SimCert, close: number) => {
    inFlight++;
    const g = gathered.get(c.id);
    const ari = c.ca === "letsencrypt" && g?.state.ari && "window" in g.state.ari && t <= g.state.ari.window.end.getTime();
    const kind = c.pendingNew ? "new" : ari ? "ari" : "renewal";
    if (!c.pendingNew && t > close) startedAfterWindow++;
    const wait = ca.order(c, kind, t);
    if (wait > 0) {
      c.caNotBefore = t + wait;
      c.busy = false;
      inFlight--;
      runLeft--;
      consider(c);
      return;
    }
    const tl = timeline(random);
    azure.issuance(c, t, tl);
    events.push(t + tl.done, { kind: "done", c });
    recent.push({ at: new Date(t), order: kind, registeredDomains: [c.registeredDomain], exactSet: c.names.join(","), directory: c.ca });
  };
  const drain = (t: number) => {
    while (inFlight < o.concurrency && waiting.size > 0 && waiting.peekKey() <= t) {
      const w = waiting.pop() as { c: SimCert; close: number };
      startAt(t, w.c, w.close);
    }
  };

  for (let run = o.start + 3 * HOUR; run < end; run += DAY) {
    // Everything before this run: starts and completions.
    while (events.size > 0 && events.peekKey() < run) {
      const t = events.peekKey();
      const ev = events.pop() as Ev;
      if (ev.kind === "start") waiting.push(t, { c: ev.c, close: ev.close });
      else {
        inFlight--;
        runLeft--;
        tally.completed(ev.c, t);
        renew(ev.c, t);
        consider(ev.c);
      }
      drain(t);
    }
    // The timer does not start a run while the last one runs.
    if (runLeft > 0) {
      skippedRuns++;
      continue;
    }
    // The run: the decision pass over what is due or opens within 24 h, then the plan.
    const horizonEnd = run + DAY;
    const planned: PlanCertificate[] = [];
    const byName = new Map<string, SimCert>();
    while (index.size > 0 && index.peekKey() < horizonEnd) {
      const c = index.pop() as SimCert;
      if (c.busy) continue;
      byName.set(c.name, c);
      const g = gathered.get(c.id);
      const base = {
        name: c.name,
        registeredDomains: [c.registeredDomain],
        exactSet: c.names.join(","),
        dnsWrites: { [c.registeredDomain]: 2 * c.names.length },
        armWrites: 2 * c.names.length,
        vault: "vault",
        directory: c.ca,
        ...(c.caNotBefore !== undefined ? { caNotBefore: new Date(c.caNotBefore) } : {}),
      };
      if (c.pendingNew || !g) {
        // A new certificate: due now, in a nominal window of a week (renewals closing sooner go first).
        const notAfter = run + 7 * DAY + 90 * DAY * (1 / 3 + 0.02);
        planned.push({
          ...base,
          order: "new",
          notBefore: new Date(notAfter - 90 * DAY),
          notAfter: new Date(notAfter),
          dueAt: new Date(run),
        });
        continue;
      }
      const decision = decideRenewal(g.state, POLICY, new Date(run));
      const ariWindow = g.state.ari && "window" in g.state.ari ? g.state.ari.window : undefined;
      planned.push({
        ...base,
        order: "renewal",
        notBefore: g.state.notBefore,
        notAfter: g.state.notAfter,
        dueAt: decision.renewAt,
        ...(ariWindow ? { ariWindow } : {}),
      });
    }
    let drop = 0;
    while (drop < recent.length && (recent[drop] as PastIssuance).at.getTime() < run - 7 * DAY) drop++;
    recent.splice(0, drop);
    const plan = planRenewals({
      now: new Date(run),
      horizonEnd: new Date(planEnd(run, horizonEnd)),
      nextRun: new Date(horizonEnd),
      certificates: planned,
      recent,
      ca: LETS_ENCRYPT_LIMITS,
      cas: CAS,
      azure: AZURE_BUDGETS,
      runner,
    });
    for (const p of plan.now) {
      const c = byName.get(p.name) as SimCert;
      c.busy = true;
      runLeft++;
      events.push(p.at.getTime(), { kind: "start", c, close: p.window.close.getTime() });
    }
    for (const p of plan.later) index.push(p.at.getTime(), byName.get(p.name) as SimCert);
    azure.prune(run - HOUR);
  }
  return tally.result(ca, azure, { startedAfterWindow, skippedRuns });
}

/** The C# tool's policy (see the module comment). */
export function simulateAcmebot(o: SimOptions): PolicyResult {
  const certs = population(o);
  const random = rng(o.seed + 2);
  const ca = new CaModel(o.start);
  const azure = new AzureModel();
  const tally = new Tally(o.start, o.days, o.migration);
  const end = o.start + o.days * DAY;
  // By expiry: the daily run takes every certificate expiring within 30 days.
  const byExpiry = new MinHeap<SimCert>();
  for (const c of certs) if (!c.pendingNew) byExpiry.push(c.notAfter, c);
  let migration = certs.filter((c) => c.pendingNew);
  let t = o.start;
  for (let run = o.start; run < end; run += DAY) {
    // API-started issuances (the migration), 50 orchestrations at a time.
    if (migration.length > 0) {
      const lanes = new Array<number>(50).fill(run);
      const failed: SimCert[] = [];
      for (const c of migration) {
        const lane = lanes.indexOf(Math.min(...lanes));
        const at = lanes[lane] as number;
        if (ca.order(c, "new", at) > 0) {
          failed.push(c);
          lanes[lane] = at + SECOND;
          continue;
        }
        const tl = timeline(random);
        azure.issuance(c, at, tl);
        lanes[lane] = at + tl.done;
        tally.completed(c, at + tl.done);
        renew(c, at + tl.done);
        byExpiry.push(c.notAfter, c);
      }
      migration = failed;
    }
    // The renewal run, one certificate at a time, starting when the previous run ended.
    if (t < run) t = run;
    if (t >= run + DAY) continue;
    const due: SimCert[] = [];
    while (byExpiry.size > 0 && byExpiry.peekKey() <= run + 30 * DAY) due.push(byExpiry.pop() as SimCert);
    for (const c of due) {
      if (ca.order(c, "renewal", t) > 0) {
        t += SECOND;
        byExpiry.push(c.notAfter, c); // failed: tried again by a later run
        continue;
      }
      const tl = timeline(random);
      azure.issuance(c, t, tl);
      t += tl.done;
      tally.completed(c, t);
      renew(c, t);
      byExpiry.push(c.notAfter, c);
    }
    azure.prune(run - HOUR);
  }
  return tally.result(ca, azure);
}
