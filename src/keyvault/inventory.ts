/**
 * Inventory scan of a vault with the LIST API only: one request per page of up to 25 certificates, each item carrying
 * expiry, not-before, tags and x5t. No per-certificate GET, so 1,000 certificates cost about 40 requests (the
 * renewal scan's budget is 50) and stay far below Key Vault's per-vault throttling limits.
 */
import type { CertificateClient } from "@azure/keyvault-certificates";
import { UpstreamError } from "../shared/errors";
import { vaultError } from "./certificates";
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
}

export interface InventoryOptions {
  /** Include certificates that only have a pending operation (default false). */
  includePending?: boolean;
  /** Only certificates managed by kv-acme or adopted from Acmebot tags, never those tagged kv-acme-ignore (default false). */
  managedOnly?: boolean;
  /** Page size; Key Vault caps it at 25. */
  pageSize?: number;
}

function iso(d: Date | undefined): string | undefined {
  return d ? d.toISOString() : undefined;
}

/** Lists the vault's certificates through the list API pages only. */
export async function listInventory(
  client: CertificateClient,
  options: InventoryOptions = {},
): Promise<{ items: InventoryItem[]; pages: number }> {
  const items: InventoryItem[] = [];
  let pages = 0;
  try {
    const pager = client
      .listPropertiesOfCertificates({ includePending: options.includePending ?? false })
      .byPage({ maxPageSize: options.pageSize ?? 25 });
    for await (const page of pager) {
      pages++;
      for (const p of page) {
        const tags = p.tags ?? {};
        const managed = readManagedTags(tags);
        if (options.managedOnly && (!managed.managed || isIgnored(tags))) continue;
        const item: InventoryItem = {
          name: p.name ?? "",
          enabled: p.enabled ?? false,
          pending: !p.x509Thumbprint || p.x509Thumbprint.length === 0,
          tags,
          managed,
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
        items.push(item);
      }
    }
  } catch (err) {
    throw vaultError("listing certificates", err);
  }
  items.sort((a, b) => a.name.localeCompare(b.name));
  return { items, pages };
}

/** One vault's listing, or why it could not be listed. */
export interface VaultListing {
  vault: string;
  items: InventoryItem[];
  pages: number;
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
        const { items, pages } = await listInventory(certificates, options);
        return { vault, items: items.map((i) => ({ ...i, vault })), pages };
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        return { vault, items: [], pages: 0, error: err };
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
