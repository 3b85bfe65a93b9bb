/**
 * The renewal planner: when, in the coming horizon (until the next renewal run), each certificate's renewal starts.
 * Pure and deterministic; the renewal run (./run) executes the plan and the scale benchmark (bench/scale) runs it on a
 * virtual clock.
 *
 * - Each certificate aims at a moment inside its window (./plan-window: the ARI window, or a per-certificate offset
 *   between the due time and the safety point before a third of the lifetime is left).
 * - Never before the CA's not-before for the certificate (a `rateLimited` answer's Retry-After) or `now`.
 * - Limits, counted over sliding windows (never more than the CA's token buckets allow) with the issuances of the
 *   recent past: the CA's (./ca-limits: new orders per account, new certificates per registered domain, certificates
 *   per exact set of names; ARI renewals inside their window are exempt when the CA says so) and Azure's (DNS
 *   record-set writes per zone, Key Vault key creates per vault, ARM writes). A renewal that would exceed one
 *   waits until the window has room.
 * - Starts are placed in time order; among those ready at the same moment the earliest window close goes first.
 *   A start after the window's close is marked late; one after the horizon is left to a later run (`later`).
 */
import type { AzureBudgets, CaLimits, WindowLimit } from "./ca-limits";
import { planWindow, type PlanWindow, type WindowInput } from "./plan-window";

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
}

/** An issuance of the recent past (what the vault's notBefore dates show), counted against the limits. */
export interface PastIssuance {
  at: Date;
  /** Whether the CA counted it: "ari" renewals are exempt where the CA says so. */
  order: "ari" | "renewal" | "new";
  registeredDomains: readonly string[];
  exactSet: string;
}

export interface PlanInput {
  now: Date;
  /** The next renewal run: renewals placed at or after it are left to that run. */
  horizonEnd: Date;
  certificates: readonly PlanCertificate[];
  recent?: readonly PastIssuance[];
  ca: CaLimits;
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

/** A binary min-heap of pending renewals by (ready, window close, name). */
class Heap {
  readonly items: Pending[] = [];
  static before(a: Pending, b: Pending): boolean {
    if (a.ready !== b.ready) return a.ready < b.ready;
    const ac = a.window.close.getTime();
    const bc = b.window.close.getTime();
    if (ac !== bc) return ac < bc;
    return a.c.name < b.c.name;
  }
  push(p: Pending): void {
    const a = this.items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!Heap.before(a[i] as Pending, a[parent] as Pending)) break;
      [a[i], a[parent]] = [a[parent] as Pending, a[i] as Pending];
      i = parent;
    }
  }
  pop(): Pending | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && Heap.before(a[l] as Pending, a[m] as Pending)) m = l;
        if (r < a.length && Heap.before(a[r] as Pending, a[m] as Pending)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as Pending, a[i] as Pending];
        i = m;
      }
    }
    return top;
  }
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
  if (!exempt) {
    if (isNew && ca.newOrdersPerAccount) out.push(["ca:account", ca.newOrdersPerAccount, 1]);
    if (isNew && ca.newCertificatesPerRegisteredDomain)
      for (const d of c.registeredDomains) out.push([`ca:domain:${d}`, ca.newCertificatesPerRegisteredDomain, 1]);
    if (ca.certificatesPerExactSet) out.push([`ca:set:${c.exactSet}`, ca.certificatesPerExactSet, 1]);
  }
  if (azure && "dnsWrites" in c) {
    for (const [zone, writes] of Object.entries(c.dnsWrites)) if (writes > 0) out.push([`dns:${zone}`, azure.dnsWritesPerZone, writes]);
    out.push([`kv:${c.vault}`, azure.keyVaultCreatesPerVault, 1]);
    if (c.armWrites > 0) out.push(["arm", azure.armWrites, c.armWrites]);
  }
  return out;
}

/** Plans the renewals of `input.certificates` (see the module comment). */
export function planRenewals(input: PlanInput): Plan {
  const now = input.now.getTime();
  const horizon = input.horizonEnd.getTime();
  const windows = new Map<string, Window>();
  const windowFor = (key: string, limit: WindowLimit): Window => {
    let w = windows.get(key);
    if (!w) windows.set(key, (w = new Window(limit)));
    return w;
  };
  const ariExemptAt = (p: Pending, t: number): boolean =>
    input.ca.ariRenewalsExempt && p.window.ari && p.c.order === "renewal" && t <= (p.c.ariWindow?.end.getTime() ?? 0);

  const recent = [...(input.recent ?? [])].sort((a, b) => a.at.getTime() - b.at.getTime());
  for (const r of recent) {
    const exempt = r.order === "ari" && input.ca.ariRenewalsExempt;
    for (const [key, limit, weight] of chargesOf(r, exempt, r.order === "new", input.ca)) windowFor(key, limit).add(r.at.getTime(), weight);
  }

  const heap = new Heap();
  for (const c of input.certificates) {
    const window = planWindow(c);
    let ready = Math.max(now, window.aim.getTime());
    let heldBy: string | undefined;
    if (c.caNotBefore && c.caNotBefore.getTime() > ready) {
      ready = c.caNotBefore.getTime();
      heldBy = "ca-not-before";
    }
    heap.push({ c, window, ready, heldBy });
  }

  const plan: Plan = { now: [], later: [] };
  for (let p = heap.pop(); p; p = heap.pop()) {
    const t = p.ready;
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
    const charges = chargesOf(p.c, exempt, p.c.order === "new", input.ca, input.azure);
    let next = t;
    let heldBy: string | undefined;
    for (const [key, limit, weight] of charges) {
      const at = windowFor(key, limit).earliest(t, weight);
      if (at > next) {
        next = at;
        heldBy = key;
      }
    }
    if (next > t) {
      // Not yet: back in the queue at the moment the binding limit has room (limits never fit: left to later runs).
      heap.push({ ...p, ready: Number.isFinite(next) ? next : horizon, heldBy });
      continue;
    }
    for (const [key, limit, weight] of charges) windowFor(key, limit).add(t, weight);
    plan.now.push(planned(t));
  }
  return plan;
}
