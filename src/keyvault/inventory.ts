/**
 * Inventory scan of a vault with the LIST API: one request per page of up to 25 certificates, each item carrying
 * expiry, not-before, tags and x5t of the certificate's latest version. No per-certificate GET for an issued one, so
 * 1,000 certificates cost about 40 requests (the renewal scan's budget is 50) and stay far below Key Vault's
 * per-vault throttling limits. With `newestIssued`, a certificate whose latest version is unissued (its item has no
 * x5t, as Key Vault lists a version that was never merged) costs one read of its versions more: an abandoned
 * issuance leaves such a version as the latest for good, and the certificate is described by its newest issued one.
 */
import type { CertificateClient } from "@azure/keyvault-certificates";
import { UpstreamError } from "../shared/errors";
import { vaultError } from "./certificates";
import { latestIssuedVersion } from "./versions";
import { inProgressManualPending, type ManualPending } from "./manual-pending";
import { isIgnored, readManagedTags, type ManagedTagInfo } from "./tags";

/** One certificate as the list API reports it (its current version). JSON-serializable. */
export interface InventoryItem {
  name: string;
  /** The vault it was listed from (listEveryVault). */
  vault?: string;
  enabled: boolean;
  /** True when the certificate has no issued version yet (only a pending operation). */
  pending: boolean;
  notBefore?: string;
  expiresOn?: string;
  createdOn?: string;
  updatedOn?: string;
  /** SHA-1 thumbprint, upper-case hex. */
  thumbprint?: string;
  tags: Record<string, string>;
  managed: ManagedTagInfo;
  /**
   * The certificate's latest version is unissued (an issuance in progress, or an abandoned one whose disabled
   * version Key Vault keeps as the latest); the item describes its newest issued version (InventoryOptions.newestIssued).
   */
  latestUnissued?: { createdOn?: string; manualPending?: ManualPending };
}

export interface InventoryOptions {
  /** Include certificates that only have a pending operation (default false). */
  includePending?: boolean;
  /** Only certificates managed by kv-acme or adopted from Acmebot tags, never those tagged kv-acme-ignore (default false). */
  managedOnly?: boolean;
  /** Page size; Key Vault caps it at 25. */
  pageSize?: number;
  /**
   * Describe a certificate whose latest version is unissued by its newest issued version (one versions read each;
   * see the module comment). Certificates without any issued version are still left out unless includePending.
   */
  newestIssued?: boolean;
}

/** What listInventory read. */
export interface InventoryListing {
  items: InventoryItem[];
  pages: number;
  /** Certificates whose versions were read (newestIssued: their latest version is unissued). */
  versionReads: number;
}

function iso(d: Date | undefined): string | undefined {
  return d ? d.toISOString() : undefined;
}

/** Lists the vault's certificates through the list API pages (and, with newestIssued, the rare versions read). */
export async function listInventory(client: CertificateClient, options: InventoryOptions = {}): Promise<InventoryListing> {
  const items: InventoryItem[] = [];
  const unissued: InventoryItem[] = [];
  let pages = 0;
  try {
    const pager = client
      .listPropertiesOfCertificates({ includePending: options.newestIssued === true || options.includePending === true })
      .byPage({ maxPageSize: options.pageSize ?? 25 });
    for await (const page of pager) {
      pages++;
      for (const p of page) {
        const tags = p.tags ?? {};
        const item: InventoryItem = {
          name: p.name ?? "",
          enabled: p.enabled ?? false,
          pending: !p.x509Thumbprint || p.x509Thumbprint.length === 0,
          tags,
          managed: readManagedTags(tags),
        };
        const nb = iso(p.notBefore);
        const exp = iso(p.expiresOn);
        const created = iso(p.createdOn);
        const updated = iso(p.updatedOn);
        if (nb) item.notBefore = nb;
        if (exp) item.expiresOn = exp;
        if (created) item.createdOn = created;
        if (updated) item.updatedOn = updated;
        if (p.x509Thumbprint && p.x509Thumbprint.length > 0) item.thumbprint = Buffer.from(p.x509Thumbprint).toString("hex").toUpperCase();
        // An unissued latest version may hide an issued (managed) one: decided once its versions are read.
        if (item.pending && options.newestIssued) unissued.push(item);
        else if (listed(item, options)) items.push(item);
      }
    }
  } catch (err) {
    throw vaultError("listing certificates", err);
  }
  for (const item of unissued) {
    const resolved = await newestIssuedOf(client, item);
    if (listed(resolved, options, item.tags)) items.push(resolved);
  }
  items.sort((a, b) => a.name.localeCompare(b.name));
  return { items, pages, versionReads: unissued.length };
}

/**
 * Whether the options keep an item: its pending state and, for managedOnly, its tags (also `latestTags`, those of an
 * unissued latest version: kv-acme-ignore set on it, e.g. in the portal, is honoured too).
 */
function listed(item: InventoryItem, options: InventoryOptions, latestTags: Record<string, string> = {}): boolean {
  if (item.pending && !options.includePending) return false;
  return !options.managedOnly || (item.managed.managed && !isIgnored(item.tags) && !isIgnored(latestTags));
}

/**
 * The item of a certificate whose latest version is unissued, described by its newest issued version (its validity,
 * thumbprint, state and tags) and, when that latest version is a pending operation created by hand and still in
 * progress, when it was created (one operation read more: ./manual-pending); the item as listed when it has no issued
 * version (a first issuance in progress).
 */
async function newestIssuedOf(client: CertificateClient, item: InventoryItem): Promise<InventoryItem> {
  const issued = await latestIssuedVersion(client, item.name);
  if (!issued) return item;
  const manualPending = await inProgressManualPending(client, item.name, item.tags);
  const resolved: InventoryItem = {
    name: item.name,
    enabled: issued.enabled,
    pending: false,
    expiresOn: issued.notAfter,
    createdOn: issued.createdOn,
    thumbprint: issued.thumbprint,
    tags: issued.tags,
    managed: readManagedTags(issued.tags),
    latestUnissued: {
      ...(item.createdOn ? { createdOn: item.createdOn } : {}),
      ...(manualPending ? { manualPending } : {}),
    },
  };
  if (issued.notBefore) resolved.notBefore = issued.notBefore;
  if (issued.updatedOn) resolved.updatedOn = issued.updatedOn;
  return resolved;
}

/** One vault's listing, or why it could not be listed. */
export interface VaultListing {
  vault: string;
  items: InventoryItem[];
  pages: number;
  /** Certificates whose versions were read (InventoryListing.versionReads). */
  versionReads: number;
  /** The vault could not be listed (its items are empty); the others still are. */
  error?: UpstreamError;
}

/**
 * Lists every vault (the list API pages only, the vaults in parallel), each item marked with its vault. A vault that
 * cannot be listed is reported in its listing's `error` and does not stop the others.
 */
export async function listEveryVault(
  vaults: readonly { vault: string; certificates: CertificateClient }[],
  options: InventoryOptions = {},
): Promise<VaultListing[]> {
  return Promise.all(
    vaults.map(async ({ vault, certificates }): Promise<VaultListing> => {
      try {
        const { items, pages, versionReads } = await listInventory(certificates, options);
        return { vault, items: items.map((i) => ({ ...i, vault })), pages, versionReads };
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        return { vault, items: [], pages: 0, versionReads: 0, error: err };
      }
    }),
  );
}

/** The listings when at least one vault answered; the first vault's error (retryable as it was) when none did. */
export function unlessAllDown(listings: VaultListing[]): VaultListing[] {
  const down = listings.filter((l) => l.error);
  if (listings.length > 0 && down.length === listings.length) throw down[0]?.error;
  return listings;
}
