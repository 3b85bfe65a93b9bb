/**
 * Overlapping names between the certificates of one vault. Service Fabric's guidance: never mix SANs of different
 * vault certificates — with linkOnRenewal the VM extension links every certificate whose SANs are all in a renewed
 * one, and Schannel follows the link whatever the subject, issuer or key ACL. kv-acme refuses, at issuance, names
 * another certificate of the vault already has or covers (unless the request sets allowNameOverlap) and shows overlaps in the
 * inventory; a wildcard counts as covering each name one label below it. Names come from the list API's tags (kv-acme-dns-names); a certificate without them (not managed, or a
 * name list too long for a tag) is read once with a GET only when its names are needed at issuance.
 */
import type { CertificateClient } from "@azure/keyvault-certificates";
import { normalizeDnsName } from "../acme/names";
import { ConflictError } from "../shared/errors";
import { describeVersion, getCurrentCertificate } from "./certificates";
import { listInventory } from "./inventory";

export interface NamedCertificate {
  name: string;
  dnsNames: string[];
}

export interface NameOverlap {
  certificateName: string;
  /** The names both certificates have. */
  dnsNames: string[];
}

/**
 * Whether two SANs name a common host (case-insensitive): equal, or one is the wildcard `*.X` covering the other's
 * single label under X (RFC 6125 §6.4.3: a wildcard covers exactly one label, never X itself or deeper names).
 */
export function namesCover(a: string, b: string): boolean {
  if (a === b) return true;
  const coveredBy = (name: string, wildcard: string): boolean => {
    if (!wildcard.startsWith("*.") || name.startsWith("*.")) return false;
    const dot = name.indexOf(".");
    return dot > 0 && name.slice(dot + 1) === wildcard.slice(2);
  };
  return coveredBy(a, b) || coveredBy(b, a);
}

/**
 * The other certificates sharing any of `names` (pure): an exact SAN in both, or a wildcard on either side covering
 * a name on the other (`*.example.com` and `a.example.com`). `dnsNames` lists the other certificate's names involved.
 */
export function nameOverlaps(certificateName: string, names: readonly string[], others: readonly NamedCertificate[]): NameOverlap[] {
  const wanted = [...new Set(names.map(normalizeDnsName))];
  const out: NameOverlap[] = [];
  for (const other of others) {
    if (other.name.toLowerCase() === certificateName.toLowerCase()) continue;
    const shared = [...new Set(other.dnsNames.map(normalizeDnsName))].filter((n) => wanted.some((w) => namesCover(w, n))).sort();
    if (shared.length > 0) out.push({ certificateName: other.name, dnsNames: shared });
  }
  return out.sort((a, b) => a.certificateName.localeCompare(b.certificateName));
}

/** For each certificate, the other certificates it shares a name with (pure; only certificates with overlaps). */
export function inventoryOverlaps(items: readonly NamedCertificate[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const item of items) {
    const others = nameOverlaps(item.name, item.dnsNames, items).map((o) => o.certificateName);
    if (others.length > 0) out.set(item.name, others);
  }
  return out;
}

const SHOWN_OVERLAPS = 10;

/**
 * How long a passed guard stands for a later validation of the same request: the HTTP API checks the names before it
 * answers 202, and the orchestration it starts validates the request again moments later; within this window that
 * second validation reuses the answer instead of listing the vault again (one listing per issuance). Later (a queue
 * backlog, a retried validation) the vault is listed again.
 */
export const OVERLAP_CHECK_REUSE_MS = 60_000;

/**
 * Whether the guard must list the vault (pure): always, unless the same request passed it at `checkedAt` (ISO time,
 * set only by the code that ran the guard), less than OVERLAP_CHECK_REUSE_MS before `now`. A time in the future (clock
 * skew) or unreadable counts as not checked.
 */
export function overlapCheckDue(checkedAt: string | undefined, now: Date): boolean {
  if (checkedAt === undefined) return true;
  const age = now.getTime() - Date.parse(checkedAt);
  return !(age >= 0 && age <= OVERLAP_CHECK_REUSE_MS);
}

/**
 * Throws ConflictError (409 CertificateNamesOverlap, `overlaps` in the problem) when another certificate of the vault
 * has one of `names`. One listing of the vault, plus one GET per certificate whose tags do not hold its names.
 */
export async function assertNoNameOverlap(client: CertificateClient, certificateName: string, names: readonly string[]): Promise<void> {
  const { items } = await listInventory(client, { includePending: true });
  const known: NamedCertificate[] = [];
  for (const item of items) {
    if (item.name.toLowerCase() === certificateName.toLowerCase()) continue;
    if (item.managed.dnsNames) known.push({ name: item.name, dnsNames: item.managed.dnsNames });
    else if (!item.pending) {
      try {
        known.push({ name: item.name, dnsNames: describeVersion(await getCurrentCertificate(client, item.name)).dnsNames });
      } catch {
        // Gone or unreadable meanwhile: nothing to compare.
      }
    }
  }
  const overlaps = nameOverlaps(certificateName, names, known);
  if (overlaps.length === 0) return;
  const shown = overlaps.slice(0, SHOWN_OVERLAPS);
  const list = shown.map((o) => `${o.certificateName} (${o.dnsNames.slice(0, 5).join(", ")}${o.dnsNames.length > 5 ? ", …" : ""})`);
  throw new ConflictError(
    `Names of ${certificateName} are already on other certificates in the vault: ${list.join("; ")}${overlaps.length > shown.length ? `; and ${overlaps.length - shown.length} more` : ""}. ` +
      "Certificates of one vault should not share names (Service Fabric's linkOnRenewal links them); send allowNameOverlap: true to issue anyway",
    { certificateName, overlaps: shown },
    "CertificateNamesOverlap",
  );
}
