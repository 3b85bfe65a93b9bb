/**
 * Azure DNS provider (@azure/arm-dns). Zones come from every configured subscription (optionally only some
 * resource groups). TXT values are added and removed one by one under optimistic concurrency: If-None-Match: *
 * when creating the set, If-Match: <etag> when changing it, a fresh read and retry on 412; the set is deleted
 * only when it becomes empty (cert-manager's Azure DNS solver does the same).
 */
import { DnsManagementClient, type RecordSet } from "@azure/arm-dns";
import type { TokenCredential } from "@azure/identity";
import { UpstreamError, errorMessage } from "../shared/errors";
import type { DnsProvider, DnsZone } from "./provider";

export interface AzureDnsOptions {
  subscriptionIds: string[];
  /** When non-empty, only zones in these resource groups (case-insensitive) are used. */
  resourceGroups?: string[];
  /** ARM endpoint, default https://management.azure.com. */
  armEndpoint?: string;
  /** Token audience for ARM, default https://management.azure.com (set it for sovereign clouds). */
  armAudience?: string;
  /** Attempts for one change when concurrent writers keep moving the etag; default 8. */
  maxConcurrencyAttempts?: number;
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === "number" ? s : undefined;
}

function resourceGroupOf(id: string): string {
  const m = /\/resourceGroups\/([^/]+)\//i.exec(id);
  if (!m?.[1]) throw new UpstreamError("AzureDns", `Unexpected DNS zone id "${id}"`);
  return m[1];
}

function subscriptionOf(id: string): string {
  return /\/subscriptions\/([^/]+)\//i.exec(id)?.[1] ?? "";
}

function txtValues(set: RecordSet | undefined): string[] {
  return (set?.txtRecords ?? []).map((r) => (r.value ?? []).join(""));
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class AzureDnsProvider implements DnsProvider {
  readonly name = "azure";
  private readonly clients = new Map<string, DnsManagementClient>();
  private readonly resourceGroups: Set<string>;
  private readonly maxAttempts: number;

  constructor(
    private readonly credential: TokenCredential,
    private readonly options: AzureDnsOptions,
  ) {
    this.resourceGroups = new Set((options.resourceGroups ?? []).map((g) => g.toLowerCase()));
    this.maxAttempts = options.maxConcurrencyAttempts ?? 8;
  }

  private client(subscriptionId: string): DnsManagementClient {
    let c = this.clients.get(subscriptionId);
    if (!c) {
      // The SDK derives the token scope from a custom endpoint; ARM tokens are issued for the ARM audience instead.
      const audience = (this.options.armAudience ?? "https://management.azure.com").replace(/\/+$/, "");
      c = new DnsManagementClient(this.credential, subscriptionId, {
        ...(this.options.armEndpoint ? { endpoint: this.options.armEndpoint } : {}),
        credentialScopes: [`${audience}/.default`],
      });
      this.clients.set(subscriptionId, c);
    }
    return c;
  }

  private fail(action: string, err: unknown): never {
    const status = statusOf(err);
    const hint = status === 403 ? " (the identity needs the DNS Zone Contributor role on the zone)" : "";
    throw new UpstreamError("AzureDns", `Azure DNS: ${action} failed${hint}: ${errorMessage(err)}`, {
      status: status ?? 502,
      retryable: status === undefined || status === 429 || status >= 500,
      cause: err,
    });
  }

  async listZones(): Promise<DnsZone[]> {
    const seen = new Map<string, DnsZone>();
    const groups = [...this.resourceGroups];
    for (const subscriptionId of this.options.subscriptionIds) {
      const c = this.client(subscriptionId);
      try {
        const iterators = groups.length > 0 ? groups.map((g) => c.zones.listByResourceGroup(g)) : [c.zones.list()];
        for (const it of iterators) {
          for await (const zone of it) {
            if (!zone.id || !zone.name) continue;
            if (zone.zoneType && zone.zoneType !== "Public") continue;
            const resourceGroup = resourceGroupOf(zone.id);
            if (this.resourceGroups.size > 0 && !this.resourceGroups.has(resourceGroup.toLowerCase())) continue;
            seen.set(zone.id.toLowerCase(), {
              provider: this.name,
              id: zone.id,
              name: zone.name.toLowerCase(),
              resourceGroup,
              subscriptionId: subscriptionOf(zone.id) || subscriptionId,
              nameServers: zone.nameServers ?? [],
            });
          }
        }
      } catch (err) {
        if (statusOf(err) === 404 && groups.length > 0) continue; // a configured resource group that does not exist
        this.fail(`listing zones of subscription ${subscriptionId}`, err);
      }
    }
    return [...seen.values()];
  }

  private async readSet(zone: DnsZone, recordName: string): Promise<RecordSet | undefined> {
    try {
      return await this.client(zone.subscriptionId ?? "").recordSets.get(zone.resourceGroup ?? "", zone.name, recordName, "TXT");
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      return this.fail(`reading TXT ${recordName}.${zone.name}`, err);
    }
  }

  /** Runs one read-modify-write under ETag concurrency; `change` returns false when nothing needs writing. */
  private async withConcurrency(
    zone: DnsZone,
    recordName: string,
    action: string,
    change: (set: RecordSet | undefined) => Promise<boolean>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.readSet(zone, recordName);
      try {
        await change(current);
        return;
      } catch (err) {
        const status = statusOf(err);
        // 412: the etag moved (or the set appeared) since our read; 409: a concurrent write in flight.
        if ((status === 412 || status === 409) && attempt < this.maxAttempts) {
          await delay(Math.floor(20 * attempt + Math.random() * 40 * attempt));
          continue;
        }
        this.fail(`${action} TXT ${recordName}.${zone.name}`, err);
      }
    }
  }

  async addTxtValues(zone: DnsZone, recordName: string, values: string[], ttl: number): Promise<void> {
    const c = this.client(zone.subscriptionId ?? "");
    await this.withConcurrency(zone, recordName, "adding to", async (current) => {
      const existing = txtValues(current);
      const missing = [...new Set(values)].filter((v) => !existing.includes(v));
      if (current && missing.length === 0) return false;
      const txtRecords = [...existing, ...missing].map((v) => ({ value: [v] }));
      await c.recordSets.createOrUpdate(
        zone.resourceGroup ?? "",
        zone.name,
        recordName,
        "TXT",
        { ttl: current?.ttl !== undefined ? Math.min(current.ttl, ttl) : ttl, txtRecords, metadata: current?.metadata },
        current ? { ifMatch: current.etag ?? "*" } : { ifNoneMatch: "*" },
      );
      return true;
    });
  }

  async removeTxtValues(zone: DnsZone, recordName: string, values: string[]): Promise<void> {
    const c = this.client(zone.subscriptionId ?? "");
    await this.withConcurrency(zone, recordName, "removing from", async (current) => {
      if (!current) return false;
      const existing = txtValues(current);
      const remaining = existing.filter((v) => !values.includes(v));
      if (remaining.length === existing.length) return false;
      const ifMatch = current.etag ?? "*";
      if (remaining.length === 0) {
        try {
          await c.recordSets.delete(zone.resourceGroup ?? "", zone.name, recordName, "TXT", { ifMatch });
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      } else {
        await c.recordSets.createOrUpdate(
          zone.resourceGroup ?? "",
          zone.name,
          recordName,
          "TXT",
          { ttl: current.ttl, txtRecords: remaining.map((v) => ({ value: [v] })), metadata: current.metadata },
          { ifMatch },
        );
      }
      return true;
    });
  }
}
