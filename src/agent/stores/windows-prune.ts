/**
 * Windows `keepVersions` (opt-in, like the Linux store's): after a new version is in service, remove older versions
 * of the same vault certificate from the store, keeping the newest `keepVersions`. Only certificates the agent
 * installed itself for that vault certificate are candidates: the import marks each with the friendly name
 * `kv-acme:<vault>/<name>/<version>` (windowsFriendlyName); nothing else in the store is ever touched. Never removed:
 * the version in service, a certificate an IIS binding or an HTTP.sys entry still references, and a certificate that
 * carries a renewal link (CERT_RENEWAL_PROP_ID, linkOnRenewal): Schannel follows the chain of links from the
 * certificate an application holds, so every link in that chain stays.
 *
 * The decision is pure (`windowsVersionsToRemove`); the scripts are constant text with their values as data.
 */
import { canRemoveCertificate, type IisBinding, type SslCertEntry } from "../bindings";
import type { ObservedCertificate } from "../settings";
import type { PsCommand } from "./windows-executor";
import type { StoreLocation } from "./windows";

const PREFIX = "kv-acme:";

/** The friendly name the agent gives a version it imports (its ownership mark). */
export function windowsFriendlyName(cert: Pick<ObservedCertificate, "vaultName" | "name">, version: string): string {
  return `${PREFIX}${cert.vaultName}/${cert.name}/${version}`;
}

/** One certificate of the store as the listing script reports it. */
export interface StoreVersion {
  thumbprint: string;
  friendlyName: string;
  /** ISO 8601. */
  notBefore: string;
  /** Carries CERT_RENEWAL_PROP_ID: an application holding it follows the link to a newer certificate. */
  linked: boolean;
}

export interface PruneDecision {
  remove: string[];
  /** Kept versions of this vault certificate and why (in service, among the newest, bound, linked). */
  kept: { thumbprint: string; reason: "in service" | "newest" | "bound" | "linked" }[];
}

const norm = (t: string) => t.replace(/[^0-9a-f]/gi, "").toUpperCase();

/**
 * Which older versions of one vault certificate to remove (pure): those marked as the agent's for this vault
 * certificate, beyond the newest `keep` (by NotBefore, the one in service always counted), unless bound or linked.
 */
export function windowsVersionsToRemove(
  store: readonly StoreVersion[],
  o: {
    cert: Pick<ObservedCertificate, "vaultName" | "name">;
    keep: number;
    inService: string;
    bindings: readonly IisBinding[];
    sslcerts: readonly SslCertEntry[];
  },
): PruneDecision {
  const mark = windowsFriendlyName(o.cert, "").toLowerCase();
  const ours = store
    .filter((c) => c.friendlyName.toLowerCase().startsWith(mark) && c.friendlyName.length > mark.length)
    .sort((a, b) => Date.parse(b.notBefore) - Date.parse(a.notBefore));
  const inService = norm(o.inService);
  const newest = new Set([inService, ...ours.map((c) => norm(c.thumbprint)).filter((t) => t !== inService)].slice(0, Math.max(1, o.keep)));
  const decision: PruneDecision = { remove: [], kept: [] };
  for (const c of ours) {
    const t = norm(c.thumbprint);
    const reason =
      t === inService
        ? "in service"
        : newest.has(t)
          ? "newest"
          : !canRemoveCertificate(t, [...o.bindings], [...o.sslcerts])
            ? "bound"
            : c.linked
              ? "linked"
              : undefined;
    if (reason) decision.kept.push({ thumbprint: t, reason });
    else decision.remove.push(t);
  }
  return decision;
}

/** Lists the store's certificates with friendly name, NotBefore and whether a renewal link is set (id 64, via crypt32). */
export function listStoreVersionsScript(o: { storeLocation: StoreLocation; storeName: string; path: string }): PsCommand {
  const script = [
    `if (-not ('KvAcme.CertProps' -as [type])) {`,
    `  Add-Type -Namespace KvAcme -Name CertProps -MemberDefinition '[DllImport("crypt32.dll", SetLastError = true)] public static extern bool CertGetCertificateContextProperty(IntPtr ctx, uint id, IntPtr data, ref uint size);'`,
    `}`,
    `$list = @(Get-ChildItem -LiteralPath ([string]$KvAcme.path) | ForEach-Object {`,
    `  $size = [uint32]0`,
    `  $linked = [KvAcme.CertProps]::CertGetCertificateContextProperty($_.Handle, 64, [IntPtr]::Zero, [ref]$size)`,
    `  [pscustomobject]@{ thumbprint = $_.Thumbprint; friendlyName = [string]$_.FriendlyName; notBefore = $_.NotBefore.ToUniversalTime().ToString('o'); linked = [bool]$linked }`,
    `})`,
    `ConvertTo-Json -InputObject $list -Depth 3 -Compress`,
  ].join("\n");
  return { script, input: { path: o.path } };
}

/** Removes the given certificates and their private keys (`Remove-Item -DeleteKey`); paths are data. */
export function removeVersionsScript(paths: string[]): PsCommand {
  if (paths.length === 0) return { script: "", input: {} };
  const script = [
    `foreach ($p in @($KvAcme.paths)) {`,
    `  if (Test-Path -LiteralPath ([string]$p)) { Remove-Item -LiteralPath ([string]$p) -DeleteKey }`,
    `}`,
  ].join("\n");
  return { script, input: { paths } };
}
