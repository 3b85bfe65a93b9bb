/**
 * Which hosts are stale, and why: pure functions of the stored hosts, the vault's current versions and the clock.
 * A host is stale when
 *   - `unseen`:   it has not reported for 3 of its polling intervals;
 *   - `outdated`: a certificate it observes is still on an older version `staleAfterHours` after a newer one became
 *                 current in the vault;
 *   - `expiring`: the certificate installed there expires within the warning window.
 * Each stale finding carries a notice key, so `certificate.host_stale` is sent once per host and version.
 * Several vaults: each reported certificate is compared with the current version in the vault it came from (its
 * `vaultUrl`; none: the default vault). A certificate of a vault the app does not manage has no current version here.
 */
import type { HostRecord } from "./store";

/** The vault's current version of one certificate, from the list API (thumbprint = x5t of the current version). */
export interface CurrentVersion {
  name: string;
  /** The configured vault's name (docs/vaults.md). */
  vault?: string;
  /** SHA-1 of the current version, upper-case hex; undefined while the certificate has no issued version. */
  thumbprint?: string;
  /** When the current version was created (became current). */
  since?: string;
  expiresOn?: string;
}

/** Every managed vault's current versions, by vaultCertificateKey; reports without a vault URL mean the default vault. */
export interface CurrentVersions {
  byKey: ReadonlyMap<string, CurrentVersion>;
  defaultVaultUrl: string;
}

/** The key of a vault certificate: the vault's origin and the certificate name, both lower case (pure). */
export function vaultCertificateKey(vaultUrl: string, name: string): string {
  let origin = vaultUrl;
  try {
    origin = new URL(vaultUrl).origin;
  } catch {
    // not a URL: used as it is (never matches a configured vault)
  }
  return `${origin.toLowerCase()}|${name.toLowerCase()}`;
}

/** The current version a host's certificate is compared with: its own vault's (pure). */
export function currentOf(current: CurrentVersions, c: { name: string; vaultUrl?: string }): CurrentVersion | undefined {
  return current.byKey.get(vaultCertificateKey(c.vaultUrl ?? current.defaultVaultUrl, c.name));
}

export interface StalePolicy {
  /** Hours a host may stay on an older version after a newer one became current. */
  staleAfterHours: number;
  /** Polling intervals without a report after which a host is stale. */
  missedIntervals: number;
  /** Days before NotAfter from which an installed certificate counts as expiring. */
  expiryWarningDays: number;
}

export type StaleReason = "unseen" | "outdated" | "expiring";

export interface StaleFinding {
  reason: StaleReason;
  message: string;
  /** The certificate concerned (none for `unseen`). */
  certificate?: string;
  /** Its vault's URL, as the host reported it (none for `unseen`, or a report without one). */
  vaultUrl?: string;
  /** The version installed on the host (outdated, expiring). */
  installedVersion?: string;
  /** Sent once per key: reason, certificate and the version concerned (or the last report for `unseen`). */
  noticeKey: string;
}

export interface FleetCertificateView {
  name: string;
  /** The vault the host installs it from (as reported) and that vault's configured name, when the app manages it. */
  vaultUrl?: string;
  vault?: string;
  installedVersion?: string;
  thumbprint?: string;
  /** The installed version is the vault's current one. */
  current: boolean;
  notAfter?: string;
  stale: boolean;
  staleReasons: StaleReason[];
  location?: string;
  bindingsUpdated: string[];
  lastError?: string;
  reportedAt: string;
}

export interface FleetHostView {
  hostId: string;
  lastSeen: string;
  agentVersion: string;
  pollingIntervalInS: number;
  stale: boolean;
  findings: StaleFinding[];
  certificates: FleetCertificateView[];
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** Every stale finding for one host (pure), each certificate against its own vault's current version. */
export function staleFindings(host: HostRecord, current: CurrentVersions, now: Date, policy: StalePolicy): StaleFinding[] {
  const out: StaleFinding[] = [];
  const silentMs = now.getTime() - Date.parse(host.lastSeen);
  if (silentMs > policy.missedIntervals * host.pollingIntervalInS * 1000) {
    out.push({
      reason: "unseen",
      message: `no report since ${host.lastSeen} (${Math.round(silentMs / 60_000)} min, more than ${policy.missedIntervals} polling intervals of ${host.pollingIntervalInS} s)`,
      noticeKey: `unseen:${host.lastSeen}`,
    });
  }
  for (const c of host.certificates) {
    const vault = currentOf(current, c);
    const where = c.vaultUrl ? { vaultUrl: c.vaultUrl } : {};
    if (vault?.thumbprint && c.thumbprint !== vault.thumbprint && vault.since) {
      const behindMs = now.getTime() - Date.parse(vault.since);
      if (behindMs >= policy.staleAfterHours * HOUR) {
        out.push({
          reason: "outdated",
          certificate: c.name,
          ...where,
          ...(c.installedVersion ? { installedVersion: c.installedVersion } : {}),
          message: `${c.name}: ${c.installedVersion ? `version ${c.installedVersion} installed` : "nothing installed"}, the vault's current version (${vault.thumbprint}) is current since ${vault.since}, more than ${policy.staleAfterHours} h ago`,
          noticeKey: `outdated:${c.name.toLowerCase()}:${vault.thumbprint}`,
        });
      }
    }
    if (c.notAfter && Date.parse(c.notAfter) - now.getTime() < policy.expiryWarningDays * DAY) {
      out.push({
        reason: "expiring",
        certificate: c.name,
        ...where,
        ...(c.installedVersion ? { installedVersion: c.installedVersion } : {}),
        message: `${c.name}: the installed certificate expires ${c.notAfter}, within ${policy.expiryWarningDays} days`,
        noticeKey: `expiring:${c.name.toLowerCase()}:${c.thumbprint ?? c.installedVersion ?? "none"}`,
      });
    }
  }
  return out;
}

/** The fleet as GET /api/fleet shows it (pure). */
export function fleetView(hosts: readonly HostRecord[], current: CurrentVersions, now: Date, policy: StalePolicy): FleetHostView[] {
  return hosts.map((h) => {
    const findings = staleFindings(h, current, now, policy);
    return {
      hostId: h.hostId,
      lastSeen: h.lastSeen,
      agentVersion: h.agentVersion,
      pollingIntervalInS: h.pollingIntervalInS,
      stale: findings.length > 0,
      findings,
      certificates: h.certificates
        .map((c) => {
          const reasons = findings.filter((f) => f.certificate === c.name && f.vaultUrl === c.vaultUrl).map((f) => f.reason);
          const vault = currentOf(current, c);
          const view: FleetCertificateView = {
            name: c.name,
            ...(vault?.vault ? { vault: vault.vault } : {}),
            current: vault?.thumbprint !== undefined && vault.thumbprint === c.thumbprint,
            stale: reasons.length > 0,
            staleReasons: reasons,
            bindingsUpdated: c.bindingsUpdated,
            reportedAt: c.reportedAt,
          };
          for (const k of ["vaultUrl", "installedVersion", "thumbprint", "notAfter", "location", "lastError"] as const)
            if (c[k] !== undefined) view[k] = c[k];
          return view;
        })
        .sort((a, b) => a.name.localeCompare(b.name) || (a.vaultUrl ?? "").localeCompare(b.vaultUrl ?? "")),
    };
  });
}

/** The stale findings of a host whose notice was not sent yet (pure). */
export function unsentFindings(host: HostRecord, findings: readonly StaleFinding[]): StaleFinding[] {
  return findings.filter((f) => !host.notified.includes(f.noticeKey));
}
