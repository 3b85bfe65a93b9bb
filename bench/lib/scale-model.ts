/**
 * bench/scale's model of the world: the certificate population, the services' latencies, and the services' limits
 * enforced as the services would (a request over a limit is rejected and counted). Independent of the planner: the
 * CA's limits are token buckets as Let's Encrypt documents them (the planner counts sliding windows), Azure's are
 * fixed 10 s / 1 min windows. Sources: docs/scale.md (limits.md: Let's Encrypt rate limits, Key Vault service limits,
 * ARM throttling, Azure DNS limits).
 */
import { rng } from "./rng";

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export interface SimCert {
  id: number;
  name: string;
  ca: "letsencrypt" | "noari";
  lifetimeDays: number;
  names: string[];
  registeredDomain: string;
  notBefore: number;
  notAfter: number;
  /** A first issuance still to make (the day-one migration). */
  pendingNew: boolean;
  /** The CA's Retry-After from a rejection. */
  caNotBefore?: number;
  /** Renewal (or first issuance) in flight. */
  busy: boolean;
}

export interface PopulationOptions {
  certs: number;
  migration: number;
  registeredDomains: number;
  seed: number;
  start: number;
}

/** Lifetime mix (days → share): 90-day classic, 64-day (2027), 45-day (2028 / tlsserver), 6-day shortlived. */
export const LIFETIME_MIX: [number, number][] = [
  [90, 0.4],
  [64, 0.25],
  [45, 0.25],
  [6, 0.1],
];
/** Share of certificates at a CA with ARI (Let's Encrypt); the rest at an ACME CA without renewalInfo. */
export const ARI_SHARE = 0.7;

/**
 * The population at `start`: `certs` certificates issued at uniformly random points of their lifetime in the past
 * (steady state), names under `registeredDomains` customer domains (a few large ones: the share of domain k falls
 * as 1/(k+1)), one or two names each; plus `migration` new certificates to issue on day one, 25 per new domain.
 */
export function population(o: PopulationOptions): SimCert[] {
  const random = rng(o.seed);
  const weights = Array.from({ length: o.registeredDomains }, (_, k) => 1 / (k + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) cumulative.push((acc += w / total));
  const pickDomain = () => {
    const r = random();
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < r) lo = mid + 1;
      else hi = mid;
    }
    return `customer${lo}.example`;
  };
  const pickLifetime = () => {
    let r = random();
    for (const [days, share] of LIFETIME_MIX) if ((r -= share) < 0) return days;
    return 90;
  };
  const out: SimCert[] = [];
  const make = (i: number, domain: string, pendingNew: boolean): SimCert => {
    const lifetimeDays = pickLifetime();
    const host = `h${i}.${domain}`;
    const names = random() < 0.5 ? [host] : [host, `www.${host}`];
    // Steady state under a renewer that renews inside the windows (by 60 % of the lifetime).
    const age = pendingNew ? 0 : random() * 0.6 * lifetimeDays * DAY;
    const notBefore = o.start - age;
    return {
      id: i,
      name: `c${i}`,
      ca: random() < ARI_SHARE ? "letsencrypt" : "noari",
      lifetimeDays,
      names,
      registeredDomain: domain,
      notBefore,
      notAfter: notBefore + lifetimeDays * DAY,
      pendingNew,
      busy: false,
    };
  };
  for (let i = 0; i < o.certs; i++) out.push(make(i, pickDomain(), false));
  for (let j = 0; j < o.migration; j++) out.push(make(o.certs + j, `migrated${Math.floor(j / 25)}.example`, true));
  return out;
}

/** The CA's ARI window for a certificate (Let's Encrypt-like: 60 %–65 % of the lifetime). */
export function ariWindowOf(c: SimCert): { start: number; end: number } {
  const l = c.notAfter - c.notBefore;
  return { start: c.notBefore + 0.6 * l, end: c.notBefore + 0.65 * l };
}

/** The phases of one issuance, in ms after its start (modelled latencies). */
export interface Timeline {
  dnsAdd: number;
  validated: number;
  dnsRemove: number;
  vaultCreate: number;
  done: number;
}

/**
 * Modelled latencies: ACME newOrder 0.3–1 s, TXT writes 1–2 s, Azure DNS propagation 10–60 s (all name servers
 * within 60 s), CA validation 2–6 s, Key Vault certificate create (a long-running operation) 5–15 s, finalize and
 * download 1–3 s, merge and tags 1–2 s.
 */
export function timeline(random: () => number): Timeline {
  const u = (a: number, b: number) => a + random() * (b - a);
  const dnsAdd = u(0.3, 1) * SECOND;
  const validated = dnsAdd + u(1, 2) * SECOND + u(10, 60) * SECOND + u(2, 6) * SECOND;
  const dnsRemove = validated + 0.5 * SECOND;
  const vaultCreate = dnsRemove + 0.5 * SECOND;
  const done = vaultCreate + u(5, 15) * SECOND + u(1, 3) * SECOND + u(1, 2) * SECOND;
  return { dnsAdd, validated, dnsRemove, vaultCreate, done };
}

/** A token bucket (capacity, refill over `windowMs`), as Let's Encrypt's limits are. */
class TokenBucket {
  tokens: number;
  at: number;
  constructor(
    readonly capacity: number,
    readonly windowMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.at = now;
  }
  /** Takes a token at `now`, or answers the ms until one is available. */
  take(now: number): number {
    const rate = this.capacity / this.windowMs;
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.at) * rate);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.tokens) / rate);
  }
}

/** The CAs' limits as Let's Encrypt enforces them (the no-ARI CA configured alike); answers Retry-After or 0. */
export class CaModel {
  readonly #buckets = new Map<string, TokenBucket>();
  rejections = 0;
  /** Rejections by limit (account, domain, set). */
  readonly rejectedBy: Record<string, number> = {};
  /** New orders in each 3 h window (fixed windows from the start), per CA. */
  readonly newOrdersPer3h = new Map<string, Map<number, number>>();
  constructor(readonly start: number) {}
  #bucket(key: string, capacity: number, windowMs: number, now: number): TokenBucket {
    let b = this.#buckets.get(key);
    if (!b) this.#buckets.set(key, (b = new TokenBucket(capacity, windowMs, now)));
    return b;
  }
  /** An order for `c` at `now`: "new" (first issuance), "ari" (replaces, inside the window) or "renewal". */
  order(c: SimCert, kind: "new" | "ari" | "renewal", now: number): number {
    if (kind === "ari" && c.ca === "letsencrypt") return 0;
    const checks: [string, number, number][] = [[`${c.ca}:set:${c.names.join(",")}`, 5, 7 * DAY]];
    if (kind === "new") checks.push([`${c.ca}:account`, 300, 3 * HOUR], [`${c.ca}:domain:${c.registeredDomain}`, 50, 7 * DAY]);
    let wait = 0;
    // As Boulder: a request over any limit is refused with the latest reset; no token is taken then.
    const buckets = checks.map(([key, cap, win]) => this.#bucket(key, cap, win, now));
    buckets.forEach((b, i) => {
      const rate = b.capacity / b.windowMs;
      const tokens = Math.min(b.capacity, b.tokens + (now - b.at) * rate);
      if (tokens >= 1) return;
      wait = Math.max(wait, Math.ceil((1 - tokens) / rate));
      const limit = (checks[i] as [string, number, number])[0].split(":")[1] as string;
      this.rejectedBy[limit] = (this.rejectedBy[limit] ?? 0) + 1;
    });
    if (wait > 0) {
      this.rejections++;
      return wait;
    }
    for (const b of buckets) b.take(now);
    if (kind === "new") {
      const w = Math.floor((now - this.start) / (3 * HOUR));
      const m = this.newOrdersPer3h.get(c.ca) ?? new Map<number, number>();
      this.newOrdersPer3h.set(c.ca, m);
      m.set(w, (m.get(w) ?? 0) + 1);
    }
    return 0;
  }
}

/** Azure's budgets in fixed windows: Key Vault per vault per 10 s, ARM writes per 10 s, Azure DNS per zone per minute. */
export class AzureModel {
  readonly kvCreates = new Map<number, number>();
  readonly kvOther = new Map<number, number>();
  readonly armWrites = new Map<number, number>();
  readonly dnsWrites = new Map<string, number>();
  throttled = { keyVault: 0, arm: 0, dns: 0 };
  static readonly KV_CREATES_PER_10S = 20;
  static readonly KV_OTHER_PER_10S = 4000;
  /** ARM: bucket 200 refilled 10/s: at most 300 in any 10 s. */
  static readonly ARM_WRITES_PER_10S = 300;
  static readonly DNS_WRITES_PER_ZONE_PER_MIN = 200;
  static #count(m: Map<number, number>, t: number, n: number): number {
    const k = Math.floor(t / (10 * SECOND));
    const v = (m.get(k) ?? 0) + n;
    m.set(k, v);
    return v;
  }
  /** One issuance's Azure requests at the times of its timeline (TXT add/remove per name, vault create and others). */
  issuance(c: SimCert, start: number, t: Timeline): void {
    for (const at of [start + t.dnsAdd, start + t.dnsRemove]) {
      const key = `${c.registeredDomain}@${Math.floor(at / MINUTE)}`;
      const v = (this.dnsWrites.get(key) ?? 0) + c.names.length;
      this.dnsWrites.set(key, v);
      if (v > AzureModel.DNS_WRITES_PER_ZONE_PER_MIN) this.throttled.dns++;
      if (AzureModel.#count(this.armWrites, at, c.names.length) > AzureModel.ARM_WRITES_PER_10S) this.throttled.arm++;
    }
    if (AzureModel.#count(this.kvCreates, start + t.vaultCreate, 1) > AzureModel.KV_CREATES_PER_10S) this.throttled.keyVault++;
    // Pending-operation reads, the CSR, merge, tag update, the renewal's own reads: about 6 other vault requests.
    if (AzureModel.#count(this.kvOther, start + t.done, 6) > AzureModel.KV_OTHER_PER_10S) this.throttled.keyVault++;
  }
  /** Drops the per-zone minute counters older than `before` (memory). */
  prune(before: number): void {
    const minute = Math.floor(before / MINUTE);
    for (const k of this.dnsWrites.keys()) if (Number(k.slice(k.lastIndexOf("@") + 1)) < minute) this.dnsWrites.delete(k);
  }
  peaks(): { keyVaultCreatesPer10s: number; keyVaultOtherPer10s: number; armWritesPer10s: number } {
    const max = (m: Map<number, number>) => {
      let v = 0;
      for (const x of m.values()) if (x > v) v = x;
      return v;
    };
    return { keyVaultCreatesPer10s: max(this.kvCreates), keyVaultOtherPer10s: max(this.kvOther), armWritesPer10s: max(this.armWrites) };
  }
}
