/**
 * Azure DNS provider (@azure/arm-dns). Zones come from every configured subscription (optionally only some
 * resource groups). TXT values are added and removed one by one under optimistic concurrency: If-None-Match: *
 * when creating the set, If-Match: <etag> when changing it, a fresh read and retry on 412; the set is deleted
 * only when it becomes empty (cert-manager's Azure DNS solver does the same). The subscription and resource group
 * of a zone are read from its ARM id, so the generic zone reference carries nothing Azure-specific.
 */
import { DnsManagementClient, type RecordSet } from "@azure/arm-dns";
import type { TokenCredential } from "@azure/identity";
import { setting, type SettingDescriptor, readSettings, type SettingsReader } from "../config/descriptor";
import { ENVIRONMENT_SETTING } from "../config/clouds";
import { originUrl, parseGuid, parseGuidList, parseResourceGroups } from "../config/parsers";
import { throttlingClientOptions } from "../shared/azure-throttling";
import { identityFailureOf } from "../shared/credential";
import { UpstreamError, errorMessage, retryAfterOf, statusOf } from "../shared/errors";
import { sleep } from "../shared/time";
import { providerLabel, type DnsProvider, type DnsProviderType, type DnsZone } from "./provider";

export interface AzureDnsOptions {
  subscriptionIds: string[];
  /** When non-empty, only zones in these resource groups (case-insensitive) are used. */
  resourceGroups: string[];
  /** ARM endpoint, like https://management.azure.com. */
  armEndpoint: string;
  /** Token audience for ARM (differs from the endpoint in sovereign clouds and the local stack). */
  armAudience: string;
  /** Client id of the user-assigned managed identity this provider uses; unset: the app's identity. */
  managedIdentityClientId?: string;
}

/** Attempts for one change when concurrent writers keep moving the etag. */
const MAX_CONCURRENCY_ATTEMPTS = 8;

function resourceGroupOf(id: string): string {
  const m = /\/resourceGroups\/([^/]+)\//i.exec(id);
  if (!m?.[1]) throw new UpstreamError("AzureDns", `Unexpected DNS zone id "${id}"`);
  return m[1];
}

function subscriptionOf(id: string): string {
  const m = /\/subscriptions\/([^/]+)\//i.exec(id);
  if (!m?.[1]) throw new UpstreamError("AzureDns", `Unexpected DNS zone id "${id}"`);
  return m[1];
}

/** Where a zone's record sets live, read from its ARM id before any request (a malformed id is not retried). */
interface ZoneScope {
  zone: DnsZone;
  client: DnsManagementClient;
  resourceGroup: string;
}

function txtValues(set: RecordSet | undefined): string[] {
  return (set?.txtRecords ?? []).map((r) => (r.value ?? []).join(""));
}

export class AzureDnsProvider implements DnsProvider {
  readonly type = "azure";
  private readonly clients = new Map<string, DnsManagementClient>();
  private readonly resourceGroups: Set<string>;

  constructor(
    readonly name: string,
    private readonly credential: TokenCredential,
    private readonly options: AzureDnsOptions,
  ) {
    this.resourceGroups = new Set(options.resourceGroups.map((g) => g.toLowerCase()));
  }

  private client(subscriptionId: string): DnsManagementClient {
    let c = this.clients.get(subscriptionId);
    if (!c) {
      // The SDK derives the token scope from a custom endpoint; ARM tokens are issued for the ARM audience instead.
      const audience = this.options.armAudience.replace(/\/+$/, "");
      c = new DnsManagementClient(this.credential, subscriptionId, {
        endpoint: this.options.armEndpoint,
        credentialScopes: [`${audience}/.default`],
        // ARM's 429 + Retry-After fails the call at once: the durable driver waits in a timer, not in this request.
        ...throttlingClientOptions(),
      });
      this.clients.set(subscriptionId, c);
    }
    return c;
  }

  private fail(action: string, err: unknown, zone?: string): never {
    // A token failure is the managed identity's, not ARM's.
    const identity = identityFailureOf(err);
    if (identity) throw identity;
    const status = statusOf(err);
    const hint = status === 403 ? " (the identity needs the DNS Zone Contributor role on the zone)" : "";
    throw new UpstreamError("AzureDns", `${providerLabel(this, zone)}: ${action} failed${hint}: ${errorMessage(err)}`, {
      status: status ?? 502,
      retryable: status === undefined || status === 429 || status >= 500,
      cause: err,
      details: { provider: this.name },
      retryAfterMs: retryAfterOf(err),
    });
  }

  async listZones(): Promise<DnsZone[]> {
    const seen = new Map<string, DnsZone>();
    const groups = [...this.resourceGroups];
    for (const subscriptionId of this.options.subscriptionIds) {
      const c = this.client(subscriptionId);
      // One listing per configured resource group (or the whole subscription), each failing on its own.
      const listings =
        groups.length > 0
          ? groups.map((group) => ({ group, zones: () => c.zones.listByResourceGroup(group) }))
          : [{ group: undefined, zones: () => c.zones.list() }];
      for (const listing of listings) {
        try {
          for await (const zone of listing.zones()) {
            if (!zone.id || !zone.name) continue;
            if (zone.zoneType && zone.zoneType !== "Public") continue;
            const resourceGroup = resourceGroupOf(zone.id);
            if (this.resourceGroups.size > 0 && !this.resourceGroups.has(resourceGroup.toLowerCase())) continue;
            seen.set(zone.id.toLowerCase(), {
              provider: this.name,
              id: zone.id,
              name: zone.name.toLowerCase(),
              nameServers: zone.nameServers ?? [],
            });
          }
        } catch (err) {
          // A configured resource group that does not exist: the others of the subscription are still listed.
          if (listing.group !== undefined && statusOf(err) === 404) continue;
          this.fail(
            `listing zones of ${listing.group === undefined ? "" : `resource group ${listing.group} of `}subscription ${subscriptionId}`,
            err,
          );
        }
      }
    }
    return [...seen.values()];
  }

  private scope(zone: DnsZone): ZoneScope {
    const resourceGroup = resourceGroupOf(zone.id);
    return { zone, client: this.client(subscriptionOf(zone.id)), resourceGroup };
  }

  private async readSet({ zone, client, resourceGroup }: ZoneScope, recordName: string): Promise<RecordSet | undefined> {
    try {
      return await client.recordSets.get(resourceGroup, zone.name, recordName, "TXT");
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      return this.fail(`reading TXT ${recordName}.${zone.name}`, err, zone.name);
    }
  }

  /** Runs one read-modify-write under ETag concurrency; `change` returns false when nothing needs writing. */
  private async withConcurrency(
    scope: ZoneScope,
    recordName: string,
    action: string,
    change: (set: RecordSet | undefined) => Promise<void>,
  ): Promise<void> {
    const { zone } = scope;
    for (let attempt = 1; ; attempt++) {
      const current = await this.readSet(scope, recordName);
      try {
        await change(current);
        return;
      } catch (err) {
        const status = statusOf(err);
        // 412: the etag moved (or the set appeared) since our read; 409: a concurrent write in flight.
        if ((status === 412 || status === 409) && attempt < MAX_CONCURRENCY_ATTEMPTS) {
          await sleep(Math.floor(20 * attempt + Math.random() * 40 * attempt));
          continue;
        }
        this.fail(`${action} TXT ${recordName}.${zone.name}`, err, zone.name);
      }
    }
  }

  /**
   * A PUT of a TXT record set with an If-Match that cannot match: ARM authorizes the write first (403
   * AuthorizationFailed without DNS Zone Contributor), then the DNS resource provider refuses the precondition (412).
   * A 412 therefore means "allowed", and nothing is written.
   */
  async probeWriteAccess(zone: DnsZone): Promise<void> {
    const { client, resourceGroup } = this.scope(zone);
    try {
      await client.recordSets.createOrUpdate(
        resourceGroup,
        zone.name,
        "_kv-acme-doctor-probe",
        "TXT",
        { ttl: 60, txtRecords: [{ value: ["kv-acme doctor probe, never written"] }] },
        { ifMatch: '"kv-acme-doctor-probe-never-matches"' },
      );
    } catch (err) {
      if ((err as { statusCode?: unknown }).statusCode === 412) return;
      throw err;
    }
    throw new Error(`the write-access probe was written to ${zone.name}: delete the TXT record _kv-acme-doctor-probe`);
  }

  async addTxtValues(zone: DnsZone, recordName: string, values: string[], ttl: number): Promise<void> {
    const scope = this.scope(zone);
    const { client: c, resourceGroup } = scope;
    await this.withConcurrency(scope, recordName, "adding to", async (current) => {
      const existing = txtValues(current);
      const missing = [...new Set(values)].filter((v) => !existing.includes(v));
      if (current && missing.length === 0) return;
      const txtRecords = [...existing, ...missing].map((v) => ({ value: [v] }));
      await c.recordSets.createOrUpdate(
        resourceGroup,
        zone.name,
        recordName,
        "TXT",
        { ttl: current?.ttl !== undefined ? Math.min(current.ttl, ttl) : ttl, txtRecords, metadata: current?.metadata },
        current ? { ifMatch: current.etag ?? "*" } : { ifNoneMatch: "*" },
      );
    });
  }

  async removeTxtValues(zone: DnsZone, recordName: string, values: string[]): Promise<void> {
    const scope = this.scope(zone);
    const { client: c, resourceGroup } = scope;
    await this.withConcurrency(scope, recordName, "removing from", async (current) => {
      if (!current) return;
      const existing = txtValues(current);
      const remaining = existing.filter((v) => !values.includes(v));
      if (remaining.length === existing.length) return;
      const ifMatch = current.etag ?? "*";
      if (remaining.length === 0) {
        try {
          await c.recordSets.delete(resourceGroup, zone.name, recordName, "TXT", { ifMatch });
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      } else {
        await c.recordSets.createOrUpdate(
          resourceGroup,
          zone.name,
          recordName,
          "TXT",
          { ttl: current.ttl, txtRecords: remaining.map((v) => ({ value: [v] })), metadata: current.metadata },
          { ifMatch },
        );
      }
    });
  }
}

/** The settings of one Azure DNS instance, declared once with the key pattern of an instance or of the top level. */
function azureSettings(keys: {
  subscriptionIds: string;
  resourceGroups: string;
  armEndpoint: string;
  armAudience: string;
  clientId: string;
}) {
  const named = keys.subscriptionIds.startsWith("Dns__");
  return {
    subscriptionIds: setting({
      key: keys.subscriptionIds,
      aliases: named ? [] : ["Acmebot__AzureDns__SubscriptionId"],
      field: "subscriptionIds",
      type: "GUID list",
      required: true,
      doc: "Azure subscriptions whose DNS zones this provider may write (comma separated).",
      parse: parseGuidList,
    }),
    resourceGroups: setting({
      key: keys.resourceGroups,
      aliases: [],
      field: "resourceGroups",
      type: "name list",
      default: [] as string[],
      defaultDoc: "(all)",
      doc: "Only use DNS zones in these resource groups (comma separated); use it when two zones share a name.",
      parse: parseResourceGroups,
    }),
    armEndpoint: setting({
      key: keys.armEndpoint,
      aliases: [],
      field: "armEndpoint",
      type: "URL",
      defaultDoc: "(the Environment's Resource Manager)",
      doc: "Azure Resource Manager endpoint, when it is not the cloud's (KvAcme__Environment), e.g. the local stack's.",
      parse: originUrl,
    }),
    armAudience: setting({
      key: keys.armAudience,
      aliases: [],
      field: "armAudience",
      type: "URL",
      defaultDoc: "(the Environment's Resource Manager)",
      doc: "Token audience for Azure Resource Manager, when it is not the cloud's (KvAcme__Environment).",
      parse: originUrl,
    }),
    managedIdentityClientId: setting({
      key: keys.clientId,
      aliases: named ? [] : ["Acmebot__AzureDns__ManagedIdentityClientId"],
      field: "managedIdentityClientId",
      type: "GUID",
      defaultDoc: "(the app's identity)",
      doc: "Client id of a user-assigned managed identity used for this provider only (e.g. one per subscription owner).",
      parse: parseGuid,
    }),
  };
}

/** `KvAcme__Dns__<instance>__SubscriptionIds`, ... */
export const AZURE_DNS_SETTINGS = azureSettings({
  subscriptionIds: "Dns__<n>__SubscriptionIds",
  resourceGroups: "Dns__<n>__ResourceGroups",
  armEndpoint: "Dns__<n>__ArmEndpoint",
  armAudience: "Dns__<n>__ArmAudience",
  clientId: "Dns__<n>__ManagedIdentityClientId",
});

/**
 * The top-level names of the instance called "azure" (`KvAcme__DnsSubscriptionIds`, ...), as kv-acme read them before
 * there were several providers, and the leading C# tool's `Acmebot__AzureDns__SubscriptionId`.
 */
export const AZURE_DNS_TOP_LEVEL_SETTINGS = azureSettings({
  subscriptionIds: "DnsSubscriptionIds",
  resourceGroups: "DnsResourceGroups",
  armEndpoint: "ArmEndpoint",
  armAudience: "ArmAudience",
  clientId: "DnsManagedIdentityClientId",
});

/** Builds one Azure DNS instance's settings from either descriptor set. */
export function buildAzureDnsSettings(reader: SettingsReader, d: ReturnType<typeof azureSettings>): AzureDnsOptions | undefined {
  const values = readSettings(reader, d);
  const cloud = reader.get(ENVIRONMENT_SETTING);
  if (!values) return undefined;
  // The endpoints default to the cloud's (KvAcme__Environment), a value of another setting.
  return { ...values, armEndpoint: values.armEndpoint ?? cloud.resourceManager, armAudience: values.armAudience ?? cloud.resourceManager };
}

export const azure: DnsProviderType<AzureDnsOptions> = {
  type: "azure",
  title: "Azure DNS (public zones, Azure Resource Manager)",
  description: [
    "Lists the public DNS zones of the configured subscriptions (optionally only some resource groups) and adds or removes single",
    "values of the TXT record set under ETag concurrency (`If-None-Match: *` to create, `If-Match` to change, re-read on 412).",
    "The identity needs **DNS Zone Contributor** on the zones (or a custom role with `Microsoft.Network/dnsZones/TXT/*`).",
    "The instance named `azure` can also be configured with the top-level names `KvAcme__DnsSubscriptionIds`,",
    "`KvAcme__DnsResourceGroups`, `KvAcme__ArmEndpoint` (and the leading C# tool's `Acmebot__AzureDns__SubscriptionId`).",
  ].join("\n"),
  testedAgainst:
    "The local Azure DNS stand-in (src/local/dns: the ARM `Microsoft.Network/dnsZones` API with `@azure/arm-dns`, and its authoritative DNS server).",
  settings: AZURE_DNS_SETTINGS as Readonly<Record<string, SettingDescriptor<unknown>>>,
  example: { Type: "azure", SubscriptionIds: "00000000-0000-0000-0000-000000000000" },
  build: (reader) => buildAzureDnsSettings(reader, AZURE_DNS_SETTINGS),
  topLevel: {
    instance: "azure",
    settings: AZURE_DNS_TOP_LEVEL_SETTINGS as Readonly<Record<string, SettingDescriptor<unknown>>>,
    isDefault: true,
    build: (reader) => buildAzureDnsSettings(reader, AZURE_DNS_TOP_LEVEL_SETTINGS),
  },
  create: (settings, context) => new AzureDnsProvider(context.instance, context.credential(settings.managedIdentityClientId), settings),
};
