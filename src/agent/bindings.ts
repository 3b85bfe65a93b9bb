/**
 * Pure decisions for Windows: which certificates get a renewal link (linkOnRenewal), which IIS bindings and
 * HTTP.sys sslcert entries move to a new certificate, and whether an old certificate may be removed. Rules follow
 * the Key Vault VM extension (SAN subset linking) and win-acme (host covered by the new certificate, SSL flags
 * kept, SNI for host-name bindings, never remove a certificate still referenced).
 */

export interface CertificateSans {
  thumbprint: string;
  /** DNS names (subjectAltName). */
  sans: string[];
}

const norm = (t: string) => t.replace(/[^0-9a-f]/gi, "").toUpperCase();
const lower = (s: string) => s.trim().toLowerCase().replace(/\.$/, "");

/**
 * The Key Vault VM extension's linking rule (CERT_RENEWAL_PROP_ID): every certificate whose SAN set is a subset of the
 * new certificate's. Partial overlap does not link; the new certificate itself is never linked. On its own this rule
 * links certificates of other vault certificates (the Service Fabric outage), so the agent adds `certificatesToLink`'s
 * guardrails.
 */
export function sanSubsetLinks(existing: CertificateSans[], installed: CertificateSans): CertificateSans[] {
  const target = new Set(installed.sans.map(lower));
  return existing.filter(
    (c) => norm(c.thumbprint) !== norm(installed.thumbprint) && c.sans.length > 0 && c.sans.every((s) => target.has(lower(s))),
  );
}

/** What the agent itself installed for the same vault certificate before (its state), and the new key's accounts. */
export interface LinkGuard {
  /** The version the agent installed for this vault certificate before, with the accounts its key was ACLed to. */
  previous?: { thumbprint: string; keyAccounts?: string[] };
  /** Accounts the new certificate's private key is ACLed to (the observed certificate's `accounts`). */
  keyAccounts: string[];
}

/**
 * Certificates the new one is linked from (linkOnRenewal), with the agent's guardrails over the extension's rule: only
 * the certificate the agent itself installed for the same vault certificate (Schannel follows the chain of links, so
 * the previous version is enough), and only when the new private key is ACLed to at least the accounts the old one
 * was (else the service following the link would fail the handshake with SEC_E_UNKNOWN_CREDENTIALS).
 */
export function certificatesToLink(existing: CertificateSans[], installed: CertificateSans, guard: LinkGuard): CertificateSans[] {
  const previous = guard.previous;
  if (!previous) return [];
  const granted = new Set(guard.keyAccounts.map(lower));
  if (!(previous.keyAccounts ?? []).every((a) => granted.has(lower(a)))) return [];
  return sanSubsetLinks(existing, installed).filter((c) => norm(c.thumbprint) === norm(previous.thumbprint));
}

/** Does `name` match `host`: equal, or a one-label wildcard (`*.example.com` covers `a.example.com`, not `a.b.example.com` nor `example.com`). */
export function nameCovers(name: string, host: string): boolean {
  const n = lower(name);
  const h = lower(host);
  if (n === h) return true;
  if (!n.startsWith("*.")) return false;
  const dot = h.indexOf(".");
  return dot > 0 && h.slice(dot + 1) === n.slice(2);
}

export interface IisBinding {
  site: string;
  protocol: string;
  /** IIS bindingInformation: `ip:port:host` (ip `*` for all unassigned). */
  bindingInformation: string;
  certificateHash?: string;
  certificateStoreName?: string;
  /** IIS sslFlags: 1 = SNI, 2 = central certificate store, 4 = disable HTTP/2, ... */
  sslFlags: number;
}

export interface IisRebinding {
  site: string;
  bindingInformation: string;
  ip: string;
  port: number;
  host: string;
  fromThumbprint: string;
  toThumbprint: string;
  certificateStoreName: string;
  /** Flags to set: the existing flags, plus SNI (1) for host-name bindings. */
  sslFlags: number;
}

export function parseBindingInformation(info: string): { ip: string; port: number; host: string } {
  const last = info.lastIndexOf(":");
  const prev = info.lastIndexOf(":", last - 1);
  return { ip: info.slice(0, prev), port: Number(info.slice(prev + 1, last)), host: info.slice(last + 1) };
}

/**
 * IIS bindings to move from `oldThumbprint` to the new certificate: every https binding that references the old
 * thumbprint and whose host is covered by the new certificate (exact or wildcard). Bindings without a host (IP
 * only) move because the old certificate is being replaced. SSL flags are kept; host bindings get SNI.
 */
export function planIisRebinding(
  bindings: IisBinding[],
  oldThumbprint: string,
  newCert: CertificateSans,
  storeName = "My",
): IisRebinding[] {
  const old = norm(oldThumbprint);
  const plan: IisRebinding[] = [];
  for (const b of bindings) {
    if (b.protocol.toLowerCase() !== "https" || !b.certificateHash || norm(b.certificateHash) !== old) continue;
    const { ip, port, host } = parseBindingInformation(b.bindingInformation);
    if (host && !newCert.sans.some((s) => nameCovers(s, host))) continue;
    plan.push({
      site: b.site,
      bindingInformation: b.bindingInformation,
      ip,
      port,
      host,
      fromThumbprint: old,
      toThumbprint: norm(newCert.thumbprint),
      certificateStoreName: b.certificateStoreName || storeName,
      sslFlags: host ? b.sslFlags | 1 : b.sslFlags,
    });
  }
  return plan;
}

/** One `netsh http show sslcert` entry. Unknown settings are kept verbatim in `settings`. */
export interface SslCertEntry {
  /** `ipport=0.0.0.0:443`, `hostnameport=www.example.com:443` or `ccs=443`. */
  bindingKind: "ipport" | "hostnameport" | "ccs";
  binding: string;
  certificateHash: string;
  appId: string;
  certStoreName?: string;
  /** netsh parameter name -> value, e.g. clientcertnegotiation -> enable. */
  settings: Record<string, string>;
}

export interface HttpSysUpdate {
  bindingKind: SslCertEntry["bindingKind"];
  binding: string;
  certificateHash: string;
  appId: string;
  certStoreName?: string;
  settings: Record<string, string>;
}

/** sslcert entries on the old thumbprint, re-specified in full with the new hash (netsh update drops what is not given). */
export function planHttpSysUpdates(entries: SslCertEntry[], oldThumbprint: string, newThumbprint: string): HttpSysUpdate[] {
  const old = norm(oldThumbprint);
  return entries
    .filter((e) => e.bindingKind !== "ccs" && norm(e.certificateHash) === old)
    .map((e) => ({
      bindingKind: e.bindingKind,
      binding: e.binding,
      certificateHash: norm(newThumbprint),
      appId: e.appId,
      certStoreName: e.certStoreName,
      settings: { ...e.settings },
    }));
}

/** An old certificate may be removed only when no IIS binding and no HTTP.sys entry references it. */
export function canRemoveCertificate(thumbprint: string, bindings: IisBinding[], sslcerts: SslCertEntry[] = []): boolean {
  const t = norm(thumbprint);
  return !bindings.some((b) => b.certificateHash && norm(b.certificateHash) === t) && !sslcerts.some((e) => norm(e.certificateHash) === t);
}

/** Label (English netsh output) -> netsh update parameter. Values Enabled/Disabled map to enable/disable. */
const NETSH_FIELDS: Record<string, string> = {
  "verify client certificate revocation": "verifyclientcertrevocation",
  "verify revocation using cached client certificate only": "verifyrevocationwithcachedclientcertonly",
  "usage check": "usagecheck",
  "revocation freshness time": "revocationfreshnesstime",
  "url retrieval timeout": "urlretrievaltimeout",
  "ctl identifier": "sslctlidentifier",
  "ctl store name": "sslctlstorename",
  "ds mapper usage": "dsmapperusage",
  "negotiate client certificate": "clientcertnegotiation",
  "reject connections": "rejectconnections",
  "disable http2": "disablehttp2",
  "disable quic": "disablequic",
  "disable tls1.2": "disabletls12",
  "disable tls1.3": "disabletls13",
  "disable ocsp stapling": "disableocspstapling",
  "disable legacy tls versions": "disablelegacytls",
  "disable session id tls1.2": "disablesessionid",
};

/** Parses English `netsh http show sslcert` output (pure). */
export function parseNetshSslCert(text: string): SslCertEntry[] {
  const entries: SslCertEntry[] = [];
  let cur: SslCertEntry | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(.+?)\s+:\s+(.*?)\s*$/.exec(raw);
    if (!m) continue;
    const label = m[1].toLowerCase();
    const value = m[2];
    if (label === "ip:port" || label === "hostname:port" || label === "central certificate store") {
      cur = {
        bindingKind: label === "ip:port" ? "ipport" : label === "hostname:port" ? "hostnameport" : "ccs",
        binding: value,
        certificateHash: "",
        appId: "",
        settings: {},
      };
      entries.push(cur);
    } else if (!cur) continue;
    else if (label === "certificate hash") cur.certificateHash = value;
    else if (label === "application id") cur.appId = value;
    else if (label === "certificate store name") {
      if (value && value !== "(null)") cur.certStoreName = value;
    } else if (NETSH_FIELDS[label] && value && value !== "(null)") {
      const v = value === "Enabled" ? "enable" : value === "Disabled" ? "disable" : value;
      cur.settings[NETSH_FIELDS[label]] = v;
    }
  }
  return entries;
}
