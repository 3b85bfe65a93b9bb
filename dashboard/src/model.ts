/**
 * The dashboard's pure decisions over API data: days to expiry and urgency, short-lived certificates, the zone a
 * certificate belongs to, search and filters, renewals per day. No DOM, no fetch: unit-tested in node.
 */
import { effectiveRoles, NAME_CLAIM_TYPES, ROLE_CLAIM_TYPES } from "../../src/api/roles";
import type { CertificateSummary } from "../../src/api/views";

export type { CertificateSummary };

export interface DnsZone {
  name: string;
  id?: string;
  provider: string;
  resourceGroup?: string;
  subscriptionId?: string;
  nameServers?: string[];
}

const DAY_MS = 86_400_000;

/** Certificates living at most this many days are "short-lived". */
export const SHORT_LIVED_DAYS = 10;
/** Expiring within this many days is urgent (red). */
export const URGENT_DAYS = 7;
/** Expiring within this many days is a warning (amber); the "expiring" filter uses it too. */
export const WARNING_DAYS = 30;

export type Urgency = "expired" | "urgent" | "warning" | "ok" | "none";

/** Whole days until expiry (negative once expired); undefined without an issued version. */
export function daysToExpiry(c: Pick<CertificateSummary, "expiresOn">, now: number): number | undefined {
  if (!c.expiresOn) return undefined;
  return Math.floor((Date.parse(c.expiresOn) - now) / DAY_MS);
}

export function urgency(days: number | undefined): Urgency {
  if (days === undefined) return "none";
  if (days < 0) return "expired";
  if (days <= URGENT_DAYS) return "urgent";
  if (days <= WARNING_DAYS) return "warning";
  return "ok";
}

/** Lifetime (notBefore to expiry) of at most SHORT_LIVED_DAYS days. */
export function isShortLived(c: Pick<CertificateSummary, "notBefore" | "expiresOn">): boolean {
  if (!c.notBefore || !c.expiresOn) return false;
  return Date.parse(c.expiresOn) - Date.parse(c.notBefore) <= SHORT_LIVED_DAYS * DAY_MS;
}

/** The longest zone that holds `name` (a wildcard counts as its base name), or undefined. */
export function zoneOf(name: string, zones: readonly string[]): string | undefined {
  const n = name.toLowerCase().replace(/^\*\./, "").replace(/\.$/, "");
  let best: string | undefined;
  for (const z of zones) {
    const zone = z.toLowerCase();
    if ((n === zone || n.endsWith(`.${zone}`)) && (best === undefined || zone.length > best.length)) best = zone;
  }
  return best;
}

/** The group a certificate is listed under: the zone of its first DNS name, else "other". */
export const NO_ZONE = "(no zone)";

export function groupByZone<T extends Pick<CertificateSummary, "dnsNames">>(certs: readonly T[], zones: readonly string[]) {
  const groups = new Map<string, T[]>();
  for (const c of certs) {
    const key = (c.dnsNames[0] && zoneOf(c.dnsNames[0], zones)) || NO_ZONE;
    const list = groups.get(key);
    if (list) list.push(c);
    else groups.set(key, [c]);
  }
  return [...groups.entries()].sort(([a], [b]) => (a === NO_ZONE ? 1 : b === NO_ZONE ? -1 : a.localeCompare(b)));
}

export type Source = "all" | "kv-acme" | "acmebot" | "unmanaged";
export type Status = "all" | "expiring" | "failed" | "pending";

export interface CertificateFilter {
  search: string;
  source: Source;
  status: Status;
  /** Issuing CA host ("" for any). */
  issuer: string;
}

export const NO_FILTER: CertificateFilter = { search: "", source: "all", status: "all", issuer: "" };

/** Search (name or any DNS name, case-insensitive) and the filters, combined. */
export function matches(c: CertificateSummary, f: CertificateFilter, now: number): boolean {
  const q = f.search.trim().toLowerCase();
  if (q && !c.name.toLowerCase().includes(q) && !c.dnsNames.some((d) => d.toLowerCase().includes(q))) return false;
  if (f.source !== "all" && c.managedBy !== f.source) return false;
  if (f.issuer && c.issuer !== f.issuer) return false;
  if (f.status === "pending") return c.pending || c.lastOperation?.status === "Running" || c.lastOperation?.status === "Pending";
  if (f.status === "failed") return c.lastOperation?.status === "Failed";
  if (f.status === "expiring") {
    const d = daysToExpiry(c, now);
    return d !== undefined && d <= WARNING_DAYS;
  }
  return true;
}

/** Distinct issuing CA hosts, sorted. */
export function issuers(certs: readonly CertificateSummary[]): string[] {
  return [...new Set(certs.map((c) => c.issuer).filter((i): i is string => !!i))].sort();
}

/** Renewals per UTC day from `now` for `days` days: [{ day: "YYYY-MM-DD", count }], every day present. */
export function renewalsPerDay(renewAts: readonly string[], now: number, days: number): { day: string; count: number }[] {
  const start = Math.floor(now / DAY_MS) * DAY_MS;
  const counts = new Array<number>(days).fill(0);
  for (const at of renewAts) {
    const i = Math.floor((Math.max(Date.parse(at), start) - start) / DAY_MS);
    if (i >= 0 && i < days) counts[i]++;
  }
  return counts.map((count, i) => ({ day: new Date(start + i * DAY_MS).toISOString().slice(0, 10), count }));
}

/** The DNS names built from a zone: apex, wildcard and labels under it (`www`, `api.eu`), without duplicates. */
export function buildNames(zone: string, options: { apex: boolean; wildcard: boolean; labels: readonly string[] }): string[] {
  const out: string[] = [];
  if (options.apex) out.push(zone);
  if (options.wildcard) out.push(`*.${zone}`);
  for (const raw of options.labels) {
    const label = raw.trim().toLowerCase().replace(/\.$/, "");
    if (label) out.push(label === zone || label.endsWith(`.${zone}`) ? label : `${label}.${zone}`);
  }
  return [...new Set(out)];
}

/** Zones whose name contains the query, best first (prefix matches before others), at most `limit`. */
export function searchZones<T extends { name: string }>(zones: readonly T[], query: string, limit: number): T[] {
  const q = query.trim().toLowerCase();
  if (!q) return zones.slice(0, limit);
  const prefix: T[] = [];
  const other: T[] = [];
  for (const z of zones) {
    const n = z.name.toLowerCase();
    if (n.startsWith(q)) prefix.push(z);
    else if (n.includes(q)) other.push(z);
    if (prefix.length >= limit) break;
  }
  return [...prefix, ...other].slice(0, limit);
}

/** Field problems of an RFC 9457 body keyed by their top-level field (`dnsNames[2]` -> `dnsNames`). */
export function fieldErrors(problem: { errors?: { field: string; message: string }[] } | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of problem?.errors ?? []) {
    const key = e.field.replace(/\[\d+\]$/, "");
    (out[key] ??= []).push(e.field === key ? e.message : `${e.field}: ${e.message}`);
  }
  return out;
}

/** Who /.auth/me says is signed in and the app roles they hold (Issue and Revoke imply Read, as the API decides). */
export function rolesFromAuthMe(body: unknown): { name: string; roles: string[] } | undefined {
  if (!Array.isArray(body) || body.length === 0) return undefined;
  const id = body[0] as { user_id?: string; user_claims?: { typ: string; val: string }[] };
  const claims = Array.isArray(id.user_claims) ? id.user_claims : [];
  const roleTypes = new Set<string>(ROLE_CLAIM_TYPES);
  const name = NAME_CLAIM_TYPES.map((t) => claims.find((c) => c.typ === t)?.val).find(Boolean) ?? id.user_id ?? "signed in";
  return { name, roles: effectiveRoles(claims.filter((c) => roleTypes.has(c.typ)).map((c) => c.val)) };
}
