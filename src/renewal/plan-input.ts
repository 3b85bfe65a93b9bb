/**
 * The renewal planner's input from what a renewal run has gathered (the scan and the decision pass): the planned
 * certificates and the issuances of the recent past, which the CA's limits count. Pure apart from the Public Suffix
 * List lookup (tldts, loaded on first use).
 *
 * What the vault shows is all there is: a managed certificate's current version was issued at its notBefore. Those of
 * the last 7 days count as renewals of the same names (kv-acme renews with the current names; ARI renewals are
 * counted too, which only makes the plan more careful). A renewal writes an add and a remove per name in the zone of
 * the name's registered domain (the zone the delegation ends in may be deeper; the registered domain is the widest
 * zone it can be, so the per-zone budget is never undercounted), all through ARM when the DNS provider is Azure.
 */
import { lazyModule } from "../shared/lazy";
import type { PastIssuance, PlanCertificate } from "./plan";
import type { DueCertificate, RenewalCandidate } from "./scan";

const tldts = lazyModule<typeof import("tldts")>(() => require("tldts"));

const WEEK_MS = 7 * 86_400_000;

/** The registered domain (eTLD+1) of a DNS name (wildcards included), or the name itself when it has none. */
export function registeredDomain(dnsName: string): string {
  const name = dnsName.replace(/^\*\./, "").toLowerCase();
  return tldts().getDomain(name, { allowPrivateDomains: true }) ?? name;
}

function namesOf(candidate: RenewalCandidate | undefined, certificateName: string): string[] {
  return candidate?.dnsNames && candidate.dnsNames.length > 0 ? candidate.dnsNames : [certificateName];
}

function exactSet(names: readonly string[]): string {
  return [...new Set(names.map((n) => n.toLowerCase()))].sort().join(",");
}

/** The planner's certificate for a decided one (undefined without validity). */
export function planCertificate(d: DueCertificate, candidate: RenewalCandidate | undefined, vault: string): PlanCertificate | undefined {
  if (!d.notBefore || !d.notAfter) return undefined;
  const names = namesOf(candidate, d.certificateName);
  const dnsWrites: Record<string, number> = {};
  for (const n of names) {
    const zone = registeredDomain(n);
    dnsWrites[zone] = (dnsWrites[zone] ?? 0) + 2;
  }
  const c: PlanCertificate = {
    name: d.certificateName,
    notBefore: new Date(d.notBefore),
    notAfter: new Date(d.notAfter),
    dueAt: new Date(d.decision.renewAt),
    order: "renewal",
    registeredDomains: [...new Set(Object.keys(dnsWrites))],
    exactSet: exactSet(names),
    dnsWrites,
    armWrites: names.length * 2,
    vault,
  };
  if (d.ariWindow) c.ariWindow = { start: new Date(d.ariWindow.start), end: new Date(d.ariWindow.end) };
  // The CA's rateLimited Retry-After (the kv-acme-renew-not-before tag): never before it.
  if (d.renewNotBefore) c.caNotBefore = new Date(d.renewNotBefore);
  return c;
}

/** The issuances of the last 7 days before `now`, from the current versions' notBefore. */
export function recentIssuances(items: readonly RenewalCandidate[], now: Date): PastIssuance[] {
  const out: PastIssuance[] = [];
  for (const item of items) {
    if (!item.notBefore) continue;
    const at = Date.parse(item.notBefore);
    if (!(at > now.getTime() - WEEK_MS && at <= now.getTime())) continue;
    const names = namesOf(item, item.name);
    out.push({
      at: new Date(at),
      order: "renewal",
      registeredDomains: [...new Set(names.map(registeredDomain))],
      exactSet: exactSet(names),
    });
  }
  return out;
}
