/**
 * The renewal planner: when, in the coming horizon (until the next renewal run), each certificate's renewal starts.
 * Pure and deterministic; the renewal run (./run) executes the plan and the scale benchmark (bench/scale) runs it on a
 * virtual clock.
 *
 * - Each certificate aims at a moment inside its window (./plan-window: the ARI window, or a per-certificate offset
 *   between the due time and the safety point before a third of the lifetime is left), or at its due time when the
 *   renewal rules (./decide) make it due earlier: the plan moves renewals forward, never later than the rules say,
 *   except where a limit or the CA's Retry-After holds them.
 * - Never before the CA's not-before for the certificate (a `rateLimited` answer's Retry-After) or `now`.
 * - Limits, counted over sliding windows (never more than the CA's token buckets allow) with the issuances of the
 *   recent past: the CA's (./ca-limits: new orders per account, new certificates per registered domain, certificates
 *   per exact set of names; ARI renewals inside their window are exempt when the CA says so) and Azure's (DNS
 *   record-set writes per zone, Key Vault key creates per vault, ARM writes). A renewal that would exceed one
 *   waits until the window has room.
 * - Starts are placed in time order; among those ready at the same moment the earliest window close goes first.
 *   A start after the window's close is marked late; one after the horizon is left to a later run (`later`), except
 *   a renewal whose window closes before that run (`nextRun`): its aim is moved before the horizon (lastChanceAim).
 */
import type { AzureBudgets, CaLimits, WindowLimit } from "./ca-limits";
import { planWindow, type PlanWindow, type WindowInput } from "./plan-window";
import { Heap } from "../shared/heap";

export interface PlanCertificate extends WindowInput {
  /** The order a renewal makes: "renewal" (the current names again) or "new" (first issuance, changed names). */
  order: "renewal" | "new";
  /** Registered domains (eTLD+1) of its names. */
  registeredDomains: readonly string[];
  /** The names, sorted and joined: the CA's exact-set key. */
  exactSet: string;
  /** The CA's not-before for this certificate (Retry-After of a `rateLimited` answer). */
  caNotBefore?: Date;
  /** Record-set writes per DNS zone one issuance makes (add and remove per name). */
  dnsWrites: Readonly<Record<string, number>>;
  /** ARM writes one issuance makes (the Azure DNS writes; 0 for other providers). */
  armWrites: number;
  /** The vault the certificate lives in (its key create counts there). */
  vault: string;
  /** The ACME directory it renews at, when the plan spans several (a key of PlanInput.cas). */
  directory?: string;
}

/** An issuance of the recent past (what the vault's notBefore dates show), counted against the limits. */
export interface PastIssuance {
  at: Date;
  /** Whether the CA counted it: "ari" renewals are exempt where the CA says so. */
  order: "ari" | "renewal" | "new";
  registeredDomains: readonly string[];
  exactSet: string;
  /** The ACME directory that issued it, when the plan spans several (a key of PlanInput.cas). */
  directory?: string;
}

export interface PlanInput {
  now: Date;
  /** The last moment this run starts a renewal: renewals placed at or after it are left to a later run. */
  horizonEnd: Date;
  /**
   * When the next renewal run starts (default: horizonEnd). A renewal whose window closes before it is not left to
   * that run, which would start it only after the close: it is aimed before horizonEnd instead.
   */
  nextRun?: Date;
  certificates: readonly PlanCertificate[];
  recent?: readonly PastIssuance[];
  /** The CA's limits (of every certificate without a `directory`). */
  ca: CaLimits;
  /**
   * The executor's pace, when the plan should follow it: at most `count` starts per `windowMs` (maxConcurrentRenewals
   * per expected renewal time). Starts that slip behind the plan can bunch up in a CA's window; with the pace the plan
   * matches what the executor can start. (The renewal run passes none: its renewals of the same names are exempt from
   * the new-order limits, where a slip would matter.)
   */
  runner?: WindowLimit;
  /** The limits of each directory named by a certificate's `directory`. */
  cas?: Readonly<Record<string, CaLimits>>;
  azure: AzureBudgets;
}

export interface PlannedRenewal {
  name: string;
  /** When the renewal starts. */
  at: Date;
  window: PlanWindow;
  /** Renewed inside the CA's ARI window (exempt from the CA's limits where it says so). */
  ariExempt: boolean;
  /** Starts after its window's close. */
  late: boolean;
  /** What moved it past its aim: "ca-not-before", a limit's key ("ca:account", "dns:<zone>", …), or undefined. */
  heldBy?: string;
}

export interface Plan {
  /** Renewals starting before horizonEnd, in start order. */
  now: PlannedRenewal[];
  /** Renewals left to a later run, with the moment planned for them. */
  later: PlannedRenewal[];
}

/** Events counted against one limit, appended in time order, with weights. */
class Window {
  readonly times: number[] = [];
  /** prefix[i] = sum of the weights of events 0..i-1. */
  readonly prefix: number[] = [0];
  constructor(readonly limit: WindowLimit) {}
  add(t: number, w: number): void {
    this.times.push(t);
    this.prefix.push((this.prefix[this.prefix.length - 1] as number) + w);
  }
  /** The earliest time ≥ t at which `w` more fits: at most limit.count in (s - windowMs, s]. */
  earliest(t: number, w: number): number {
    const { count, windowMs } = this.limit;
    if (w > count) return Number.POSITIVE_INFINITY;
    const n = this.times.length;
    const total = this.prefix[n] as number;
    // Events in (t - windowMs, t]: from the first index with time > t - windowMs.
    const from = upperBound(this.times, t - windowMs);
    if (total - (this.prefix[from] as number) + w <= count) return t;
    // Drop the oldest until it fits: the smallest j ≥ from with total - prefix[j] + w <= count; then start once
    // event j-1 has left the window.
    let lo = from;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (total - (this.prefix[mid] as number) + w <= count) hi = mid;
      else lo = mid + 1;
    }
    return (this.times[lo - 1] as number) + windowMs;
  }
}

/** First index with a[i] > x (a sorted ascending). */
function upperBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((a[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Pending {
  c: PlanCertificate;
  window: PlanWindow;
  ready: number;
  heldBy?: string;
}

/** Earliest window close first, then name: who goes first among renewals ready at the same moment. */
function closesFirst(a: Pending, b: Pending): boolean {
  const ac = a.window.close.getTime();
  const bc = b.window.close.getTime();
  return ac !== bc ? ac < bc : a.c.name < b.c.name;
}

/** The queue entries: a renewal ready at `ready`, or a limit that has room again at `ready` (its parked renewals). */
type Entry = { kind: "renewal"; p: Pending; ready: number } | { kind: "wake"; key: string; ready: number };

/**
 * Entries in time order; at the same moment wakes before renewals, so the renewals the wakes release and those ready
 * anyway are all in the queue together and start earliest close first.
 */
function entryBefore(a: Entry, b: Entry): boolean {
  if (a.ready !== b.ready) return a.ready < b.ready;
  if (a.kind !== b.kind) return a.kind === "wake";
  return a.kind === "renewal" && b.kind === "renewal" ? closesFirst(a.p, b.p) : false;
}

/** The limits one issuance counts against, with its weight in each: [key, limit, weight]. */
function chargesOf(
  c: PlanCertificate | PastIssuance,
  exempt: boolean,
  isNew: boolean,
  ca: CaLimits,
  azure?: AzureBudgets,
): [string, WindowLimit, number][] {
  const out: [string, WindowLimit, number][] = [];
  const dir = c.directory === undefined ? "ca" : `ca@${c.directory}`;
  if (!exempt) {
    if (isNew && ca.newOrdersPerAccount) out.push([`${dir}:account`, ca.newOrdersPerAccount, 1]);
    if (isNew && ca.newCertificatesPerRegisteredDomain)
      for (const d of c.registeredDomains) out.push([`${dir}:domain:${d}`, ca.newCertificatesPerRegisteredDomain, 1]);
    if (ca.certificatesPerExactSet) out.push([`${dir}:set:${c.exactSet}`, ca.certificatesPerExactSet, 1]);
  }
  if (azure && "dnsWrites" in c) {
    for (const [zone, writes] of Object.entries(c.dnsWrites)) if (writes > 0) out.push([`dns:${zone}`, azure.dnsWritesPerZone, writes]);
    out.push([`kv:${c.vault}`, azure.keyVaultCreatesPerVault, 1]);
    if (c.armWrites > 0) out.push(["arm", azure.armWrites, c.armWrites]);
  }
  return out;
}

/**
 * The aim of a renewal the next run would start only after its window closed (its aim at or after the horizon, its
 * close before the next run): at the same share of what is left of its window before the horizon (from its open, or
 * now), so such renewals still spread; just before the horizon when its whole window lies after it (earlier than the
 * window, never later). Otherwise its aim.
 */
export function lastChanceAim(window: PlanWindow, now: number, horizon: number, nextRun: number): number {
  const aim = window.aim.getTime();
  const close = window.close.getTime();
  if (aim < horizon || close >= nextRun) return aim;
  const open = window.open.getTime();
  const from = Math.max(now, open);
  if (from >= horizon) return Math.max(now, horizon - 1);
  const share = close > open ? (aim - open) / (close - open) : 0;
  return from + Math.floor(share * (horizon - from));
}

/** Plans the renewals of `input.certificates` (see the module comment). */
export function planRenewals(input: PlanInput): Plan {
  const now = input.now.getTime();
  const horizon = input.horizonEnd.getTime();
  const nextRun = Math.max(horizon, input.nextRun?.getTime() ?? horizon);
  const windows = new Map<string, Window>();
  const windowFor = (key: string, limit: WindowLimit): Window => {
    let w = windows.get(key);
    if (!w) windows.set(key, (w = new Window(limit)));
    return w;
  };
  const limitsOf = (x: { directory?: string }): CaLimits => {
    const named = x.directory === undefined ? undefined : input.cas?.[x.directory];
    if (x.directory !== undefined && !named) throw new Error(`no CA limits for directory ${x.directory}`);
    return named ?? input.ca;
  };
  const ariExemptAt = (p: Pending, t: number): boolean =>
    limitsOf(p.c).ariRenewalsExempt && p.window.ari && p.c.order === "renewal" && t <= (p.c.ariWindow?.end.getTime() ?? 0);

  const recent = [...(input.recent ?? [])].sort((a, b) => a.at.getTime() - b.at.getTime());
  for (const r of recent) {
    const ca = limitsOf(r);
    const exempt = r.order === "ari" && ca.ariRenewalsExempt;
    for (const [key, limit, weight] of chargesOf(r, exempt, r.order === "new", ca)) windowFor(key, limit).add(r.at.getTime(), weight);
  }

  const queue = new Heap<Entry>(entryBefore);
  const wake = (key: string, lot: { wakeAt?: number }, at: number) => {
    lot.wakeAt = at;
    queue.push({ kind: "wake", key, ready: at });
  };
  for (const c of input.certificates) {
    const window = planWindow(c);
    // The aim, or the due time when the rules make it due earlier: the plan pulls renewals forward, never back.
    let ready = Math.max(now, Math.min(lastChanceAim(window, now, horizon, nextRun), c.dueAt.getTime()));
    let heldBy: string | undefined;
    if (c.caNotBefore && c.caNotBefore.getTime() > ready) {
      ready = c.caNotBefore.getTime();
      heldBy = "ca-not-before";
    }
    queue.push({ kind: "renewal", p: { c, window, ready, heldBy }, ready });
  }

  // Renewals a full limit holds back wait parked on that limit (earliest close first); one wake per limit lets as
  // many back as fit when it has room, so a long queue behind one limit costs linear work, not quadratic.
  const parked = new Map<string, { heap: Heap<Pending>; weight: number; wakeAt?: number }>();
  const plan: Plan = { now: [], later: [] };
  for (let e = queue.pop(); e; e = queue.pop()) {
    const t = e.ready;
    if (e.kind === "wake") {
      const lot = parked.get(e.key);
      if (!lot || lot.wakeAt !== t) continue;
      lot.wakeAt = undefined;
      const window = windows.get(e.key) as Window;
      // Release the parked renewals that fit now, then wake again when the limit next has room.
      let room = 0;
      while (t < horizon && room < lot.heap.size && window.earliest(t, lot.weight * (room + 1)) <= t) room++;
      const release = t >= horizon ? lot.heap.size : Math.max(1, room);
      for (let i = 0; i < release && lot.heap.size > 0; i++) {
        const p = lot.heap.pop() as Pending;
        p.ready = t;
        queue.push({ kind: "renewal", p, ready: t });
      }
      if (lot.heap.size > 0) wake(e.key, lot, window.earliest(t + 1, lot.weight));
      continue;
    }
    const p = e.p;
    const exempt = ariExemptAt(p, t);
    const planned = (at: number): PlannedRenewal => {
      const r: PlannedRenewal = {
        name: p.c.name,
        at: new Date(at),
        window: p.window,
        ariExempt: exempt,
        late: at > p.window.close.getTime(),
      };
      if (p.heldBy) r.heldBy = p.heldBy;
      return r;
    };
    if (t >= horizon) {
      plan.later.push(planned(t));
      continue;
    }
    const charges = chargesOf(p.c, exempt, p.c.order === "new", limitsOf(p.c), input.azure);
    if (input.runner) charges.push(["runner", input.runner, 1]);
    let next = t;
    let binding: [string, WindowLimit, number] | undefined;
    for (const charge of charges) {
      const at = windowFor(charge[0], charge[1]).earliest(t, charge[2]);
      if (at > next) {
        next = at;
        binding = charge;
      }
    }
    if (binding) {
      const [key, , weight] = binding;
      p.heldBy = key;
      if (!Number.isFinite(next)) {
        // More than the limit allows at all (e.g. more DNS writes than a zone takes in a minute): left to later runs.
        plan.later.push({ ...planned(horizon), heldBy: key });
        continue;
      }
      let lot = parked.get(key);
      if (!lot) parked.set(key, (lot = { heap: new Heap<Pending>(closesFirst), weight }));
      lot.weight = Math.min(lot.weight, weight);
      lot.heap.push(p);
      if (lot.wakeAt === undefined || next < lot.wakeAt) wake(key, lot, next);
      continue;
    }
    for (const [key, limit, weight] of charges) windowFor(key, limit).add(t, weight);
    plan.now.push(planned(t));
  }
  return plan;
}
