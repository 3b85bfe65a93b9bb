/**
 * The vault side of `kv-acme migrate --from-acmebot`: which certificates kv-acme adopts (tagged by Acmebot v4 or v5,
 * not yet kv-acme's, not tagged kv-acme-ignore), which it already manages, and which it leaves alone (neither tool's,
 * or ignored); with `--apply`, the adopted ones get kv-acme's tags on their current version beside every tag they
 * had (Acmebot's stay, so Acmebot keeps working until it is switched off). Applying twice changes nothing the
 * second time; a certificate that is not an adoption candidate is never written.
 */
import type { CertificateClient, KeyVaultCertificateWithPolicy } from "@azure/keyvault-certificates";
import { ariCertificateId } from "../acme/ari";
import { ACME_DIRECTORIES } from "../config/parsers";
import { tagVersion, getCurrentCertificate } from "../keyvault/certificates";
import type { InventoryItem } from "../keyvault/inventory";
import { readAcmebotTags } from "../keyvault/acmebot-tags";
import { isIgnored, managedTags, readManagedTags, TAG_IGNORE } from "../keyvault/tags";

export type CertificateFate = "adopt" | "managed" | "ignored" | "untouched";

export interface CertificatePlan {
  vault: string;
  name: string;
  fate: CertificateFate;
  /** 4 or 5 when Acmebot tagged it. */
  acmebot?: 4 | 5;
  expiresOn?: string;
  /** Why, in a few words. */
  reason: string;
}

/** The plan for one listed certificate (pure). */
export function planCertificate(item: InventoryItem, vault: string): CertificatePlan {
  const acmebot = readAcmebotTags(item.tags);
  const base = {
    vault,
    name: item.name,
    ...(acmebot ? { acmebot: acmebot.version } : {}),
    ...(item.expiresOn ? { expiresOn: item.expiresOn } : {}),
  };
  if (isIgnored(item.tags)) return { ...base, fate: "ignored", reason: `tagged ${TAG_IGNORE}=true: never touched` };
  if (readManagedTags(item.tags).source === "kv-acme") return { ...base, fate: "managed", reason: "already carries kv-acme's tags" };
  if (acmebot) {
    if (item.pending) return { ...base, fate: "untouched", reason: `Acmebot v${acmebot.version}'s, but it has no issued version yet` };
    return { ...base, fate: "adopt", reason: `tagged by Acmebot v${acmebot.version}` };
  }
  return { ...base, fate: "untouched", reason: "neither kv-acme's nor Acmebot's" };
}

/** The directory URL for Acmebot's endpoint host: the app's own when the host matches, a known CA's, else https://host/directory. */
export function directoryForHost(host: string | undefined, appDirectory: string): string {
  if (!host) return appDirectory;
  const sameHost = (url: string) => {
    try {
      return new URL(url).host.toLowerCase() === host;
    } catch {
      return false;
    }
  };
  if (sameHost(appDirectory)) return appDirectory;
  return Object.values(ACME_DIRECTORIES).find(sameHost) ?? `https://${host}/directory`;
}

/** kv-acme's tags for an Acmebot certificate's current version, merged over the tags it has (pure). */
export function adoptionTags(
  cert: Pick<KeyVaultCertificateWithPolicy, "properties" | "policy" | "cer">,
  appDirectory: string,
): Record<string, string> {
  const existing = cert.properties.tags ?? {};
  const acmebot = readAcmebotTags(existing);
  const sans = cert.policy?.subjectAlternativeNames?.dnsNames ?? [];
  const subjectName = /^CN=([^,]+)/i.exec(cert.policy?.subject ?? "")?.[1];
  const dnsNames = sans.length > 0 ? [...sans] : subjectName ? [subjectName] : [];
  const ariCertId = acmebot?.certificateId ?? (cert.cer && cert.cer.length > 0 ? ariCertificateId(cert.cer) : undefined);
  return {
    ...existing,
    ...managedTags({
      acmeDirectoryUrl: directoryForHost(acmebot?.acmeHost, appDirectory),
      dnsNames,
      dnsProvider: acmebot?.dnsProvider ? `acmebot:${acmebot.dnsProvider}`.slice(0, 256) : "acmebot",
      ...(acmebot?.dnsAlias ? { dnsAlias: acmebot.dnsAlias } : {}),
      ...(ariCertId ? { ariCertId } : {}),
    }),
  };
}

/** What applying did to one certificate. */
export interface ApplyResult {
  vault: string;
  name: string;
  version?: string;
  outcome: "tagged" | "unchanged" | "skipped";
  reason?: string;
}

/**
 * Tags one adoption candidate, reading it again first: a certificate that meanwhile became kv-acme's, ignored, or
 * no longer Acmebot's is skipped; tags already equal are left as they are.
 */
export async function adoptCertificate(client: CertificateClient, vault: string, name: string, appDirectory: string): Promise<ApplyResult> {
  const cert = await getCurrentCertificate(client, name);
  const version = cert.properties.version;
  const tags = cert.properties.tags ?? {};
  const out = { vault, name, ...(version ? { version } : {}) };
  if (isIgnored(tags)) return { ...out, outcome: "skipped", reason: `tagged ${TAG_IGNORE}=true` };
  if (readManagedTags(tags).source === "kv-acme") return { ...out, outcome: "unchanged", reason: "already kv-acme's" };
  if (!readAcmebotTags(tags)) return { ...out, outcome: "skipped", reason: "no longer tagged by Acmebot" };
  if (!version) return { ...out, outcome: "skipped", reason: "no current version" };
  const next = adoptionTags(cert, appDirectory);
  await tagVersion(client, name, version, next);
  return { ...out, outcome: "tagged" };
}
