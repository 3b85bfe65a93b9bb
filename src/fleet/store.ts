/**
 * The fleet store: agent reports in Azure Table Storage (@azure/data-tables) in the Function App's own storage account,
 * reached with the app's managed identity (Storage Table Data Contributor on that account, infra/azuredeploy.json);
 * locally in Azurite with the stack's token endpoint. One partition per host: the row `host` (last seen, agent version,
 * polling interval, which stale notices were sent) and one row per observed certificate and vault. A report is
 * written as one entity-group transaction, so a host is never half updated.
 */
import type { TokenCredential } from "@azure/core-auth";
import type { TableClient, TableEntityResult, TransactionAction } from "@azure/data-tables";
import { UpstreamError, errorMessage, statusOf } from "../shared/errors";
import { lazyModule } from "../shared/lazy";
import type { AgentReport, CertificateReport } from "./report";

const tables = lazyModule<typeof import("@azure/data-tables")>(() => require("@azure/data-tables"));

/** One host as stored: its last report and the stale notices already sent for it. */
export interface HostRecord {
  hostId: string;
  lastSeen: string;
  agentVersion: string;
  pollingIntervalInS: number;
  certificates: (CertificateReport & { reportedAt: string })[];
  /** Keys of the `certificate.host_stale` notices sent (src/fleet/stale.ts noticeKey), most recent last. */
  notified: string[];
}

export interface FleetStore {
  /** Stores a validated report as the host's current state (certificates no longer reported are removed). */
  saveReport(report: AgentReport, receivedAt: Date): Promise<void>;
  listHosts(): Promise<HostRecord[]>;
  /** One page of hosts in host id order: at most `limit` with a host id after `after`; `next` when more follow. */
  listHostsPage(page: { after?: string; limit: number }): Promise<{ hosts: HostRecord[]; next?: string }>;
  /** Records that the notices with these keys were sent for the host (kept to the newest MAX_NOTIFIED). */
  markNotified(hostId: string, keys: string[]): Promise<void>;
}

/** Notice keys remembered per host. */
export const MAX_NOTIFIED = 50;
const HOST_ROW = "host";
/** One row per vault certificate: `c-<name>` (no vault reported) or `c-<name>@<vault host>` (several vaults, one name). */
const certRow = (r: Pick<CertificateReport, "name" | "vaultUrl">) =>
  `c-${r.name.toLowerCase()}${r.vaultUrl ? `@${new URL(r.vaultUrl).host.toLowerCase()}` : ""}`;

export interface TableFleetStoreOptions {
  /** The account's table endpoint, e.g. https://<account>.table.core.windows.net (Azurite: https://127.0.0.1:<port>/devstoreaccount1). */
  endpoint: string;
  tableName: string;
  credential: TokenCredential;
}

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

export function createTableFleetStore(options: TableFleetStoreOptions): FleetStore {
  let client: TableClient | undefined;
  let created: Promise<void> | undefined;
  const table = async (): Promise<TableClient> => {
    client ??= new (tables().TableClient)(options.endpoint, options.tableName, options.credential);
    created ??= client.createTable().catch((err: unknown) => {
      created = undefined;
      throw storageError(`creating table ${options.tableName}`, err);
    });
    await created;
    return client;
  };
  const hostRows = async (c: TableClient, hostId: string): Promise<TableEntityResult<Record<string, unknown>>[]> => {
    const rows: TableEntityResult<Record<string, unknown>>[] = [];
    const filter = tables().odata`PartitionKey eq ${hostId}`;
    for await (const e of c.listEntities({ queryOptions: { filter } })) rows.push(e);
    return rows;
  };
  return {
    async saveReport(report, receivedAt) {
      const c = await table();
      const now = receivedAt.toISOString();
      try {
        const existing = await hostRows(c, report.hostId);
        const keep = new Set(report.certificates.map((r) => certRow(r)));
        const upserts: TransactionAction[] = [
          [
            "upsert",
            {
              partitionKey: report.hostId,
              rowKey: HOST_ROW,
              lastSeen: now,
              agentVersion: report.agentVersion,
              pollingIntervalInS: report.pollingIntervalInS,
            },
            "Merge",
          ],
          ...report.certificates.map((r): TransactionAction => ["upsert", certificateEntity(report.hostId, r, now), "Replace"]),
        ];
        await c.submitTransaction(upserts);
        const removed = existing.filter((e) => e.rowKey !== HOST_ROW && !keep.has(e.rowKey ?? ""));
        for (let i = 0; i < removed.length; i += 100) {
          await c.submitTransaction(
            removed.slice(i, i + 100).map((e): TransactionAction => ["delete", { partitionKey: report.hostId, rowKey: e.rowKey ?? "" }]),
          );
        }
      } catch (err) {
        throw storageError(`storing the report of host ${report.hostId}`, err);
      }
    },
    async listHosts() {
      return (await listPage(await table(), undefined, Infinity)).hosts;
    },
    async listHostsPage({ after, limit }) {
      return listPage(await table(), after, limit);
    },
    async markNotified(hostId, keys) {
      if (keys.length === 0) return;
      const c = await table();
      try {
        const current = await c.getEntity<Record<string, unknown>>(hostId, HOST_ROW);
        const notified = [...parseList(current.notified).filter((k) => !keys.includes(k)), ...keys].slice(-MAX_NOTIFIED);
        await c.updateEntity({ partitionKey: hostId, rowKey: HOST_ROW, notified: JSON.stringify(notified) }, "Merge", {
          etag: current.etag,
        });
      } catch (err) {
        throw storageError(`recording the stale notices of host ${hostId}`, err);
      }
    },
  };
}

/**
 * Hosts in partition key order after `after`, at most `limit`: entities come sorted by partition and row key (a host's
 * certificate rows `c-...` before its `host` row), so the listing stops as soon as a host beyond the limit shows up.
 */
async function listPage(c: TableClient, after: string | undefined, limit: number): Promise<{ hosts: HostRecord[]; next?: string }> {
  const hosts = new Map<string, HostRecord>();
  const certs = new Map<string, Entity[]>();
  let more = false;
  try {
    const filter = after === undefined ? undefined : tables().odata`PartitionKey gt ${after}`;
    for await (const e of c.listEntities<Record<string, unknown>>(filter ? { queryOptions: { filter } } : {})) {
      const entity = e as unknown as Entity;
      if (!hosts.has(entity.partitionKey) && !certs.has(entity.partitionKey) && hosts.size >= limit) {
        more = true;
        break;
      }
      if (entity.rowKey === HOST_ROW) hosts.set(entity.partitionKey, hostOf(entity));
      else certs.set(entity.partitionKey, [...(certs.get(entity.partitionKey) ?? []), entity]);
    }
  } catch (err) {
    throw storageError("listing the fleet", err);
  }
  for (const [hostId, rows] of certs) for (const e of rows) hosts.get(hostId)?.certificates.push(certificateOf(e));
  const list = [...hosts.values()].sort((a, b) => (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0));
  return more && list.length > 0 ? { hosts: list, next: list[list.length - 1]!.hostId } : { hosts: list };
}

function certificateEntity(hostId: string, r: CertificateReport, reportedAt: string): Entity {
  const e: Entity = {
    partitionKey: hostId,
    rowKey: certRow(r),
    name: r.name,
    bindingsUpdated: JSON.stringify(r.bindingsUpdated),
    reportedAt,
  };
  for (const k of ["vaultUrl", "installedVersion", "thumbprint", "notAfter", "location", "lastError"] as const) {
    if (r[k] !== undefined) e[k] = r[k];
  }
  return e;
}

function hostOf(e: Entity): HostRecord {
  return {
    hostId: e.partitionKey,
    lastSeen: String(e.lastSeen),
    agentVersion: String(e.agentVersion),
    pollingIntervalInS: Number(e.pollingIntervalInS),
    certificates: [],
    notified: parseList(e.notified),
  };
}

function certificateOf(e: Entity): HostRecord["certificates"][number] {
  const out: HostRecord["certificates"][number] = {
    name: String(e.name),
    bindingsUpdated: parseList(e.bindingsUpdated),
    reportedAt: String(e.reportedAt),
  };
  for (const k of ["vaultUrl", "installedVersion", "thumbprint", "notAfter", "location", "lastError"] as const) {
    if (typeof e[k] === "string") out[k] = e[k];
  }
  return out;
}

function parseList(v: unknown): string[] {
  if (typeof v !== "string") return [];
  try {
    const parsed: unknown = JSON.parse(v);
    return Array.isArray(parsed) ? parsed.filter((s): s is string => typeof s === "string") : [];
  } catch {
    return [];
  }
}

function storageError(action: string, err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const status = statusOf(err);
  return new UpstreamError("TableStorage", `Table Storage: ${action} failed: ${errorMessage(err)}`, {
    details: status === undefined ? {} : { upstreamStatus: status },
    retryable: status === undefined || status === 429 || status >= 500,
    cause: err,
  });
}
