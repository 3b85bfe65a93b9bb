/**
 * The fleet as the Function App sees it: the report store of this runtime (built once, on first use), the vault's
 * current versions from the list API, and the view with stale hosts. Handlers and the fleet timer go through here.
 */
import type { Runtime } from "../app/runtime";
import { everyVault } from "../issuance/deps";
import { listEveryVault, unlessAllDown } from "../keyvault/inventory";
import { KvAcmeError } from "../shared/errors";
import { fleetView, vaultCertificateKey, type CurrentVersion, type CurrentVersions, type FleetHostView, type StalePolicy } from "./stale";
import { createTableFleetStore, type FleetStore } from "./store";

export type { AgentReport, CertificateReport } from "./report";
export { parseAgentReport } from "./report";
export type { FleetStore, HostRecord } from "./store";
export type { CurrentVersions, FleetCertificateView, FleetHostView, StaleFinding } from "./stale";

const stores = new WeakMap<Runtime, FleetStore>();

/** The runtime's fleet store; NotFoundError (404 FleetNotConfigured) when KvAcme__Fleet__TableEndpoint is not set. */
export function fleetStoreOf(runtime: Runtime): FleetStore {
  const hit = stores.get(runtime);
  if (hit) return hit;
  const { tableEndpoint, tableName } = runtime.settings.fleet;
  if (tableEndpoint === undefined) {
    throw new KvAcmeError(
      "FleetNotConfigured",
      "The fleet is not configured: set KvAcme__Fleet__TableEndpoint to the table endpoint of the app's storage account (docs/settings.md).",
      404,
    );
  }
  const store = createTableFleetStore({ endpoint: tableEndpoint, tableName, credential: runtime.credential });
  stores.set(runtime, store);
  return store;
}

/** Replaces the store of a runtime (benchmarks that run the fleet against their own store). */
export function setFleetStore(runtime: Runtime, store: FleetStore): void {
  stores.set(runtime, store);
}

export function stalePolicyOf(runtime: Runtime): StalePolicy {
  const { staleAfterHours, missedIntervals } = runtime.settings.fleet;
  return { staleAfterHours, missedIntervals, expiryWarningDays: runtime.settings.expiryWarningDays };
}

/**
 * The current version of every certificate in every configured vault (list API pages only, the vaults in parallel),
 * keyed by vault URL and name. A vault that cannot be listed leaves its certificates without a current version (its
 * hosts are not judged outdated); when none can be listed the error is thrown.
 */
export async function currentVersions(runtime: Runtime): Promise<CurrentVersions> {
  const vaults = everyVault(runtime.deps);
  const urls = new Map(vaults.map((d) => [d.vault, d.settings.vaultUrl]));
  const listings = unlessAllDown(
    await listEveryVault(
      vaults.map((d) => ({ vault: d.vault, certificates: d.certificates })),
      { includePending: false },
    ),
  );
  const byKey = new Map<string, CurrentVersion>();
  for (const { vault, items } of listings) {
    for (const i of items) {
      const v: CurrentVersion = { name: i.name, vault };
      if (i.thumbprint) v.thumbprint = i.thumbprint;
      const since = i.createdOn ?? i.notBefore;
      if (since) v.since = since;
      if (i.expiresOn) v.expiresOn = i.expiresOn;
      byKey.set(vaultCertificateKey(urls.get(vault) ?? "", i.name), v);
    }
  }
  return { byKey, defaultVaultUrl: runtime.deps.settings.vaultUrl };
}

/** Every host that reported, with stale findings, as of `now`. */
export async function loadFleet(runtime: Runtime, now: Date): Promise<FleetHostView[]> {
  const store = fleetStoreOf(runtime);
  const [hosts, current] = await Promise.all([store.listHosts(), currentVersions(runtime)]);
  return fleetView(hosts, current, now, stalePolicyOf(runtime));
}

/** Hosts per page of GET /api/fleet unless `top` says otherwise (about 0.6 MB of JSON), and the most `top` may ask. */
export const FLEET_PAGE_DEFAULT = 1000;
export const FLEET_PAGE_MAX = 5000;

/** One page of the fleet (host id order) with stale findings; `next` is the host id to continue after. */
export async function loadFleetPage(
  runtime: Runtime,
  now: Date,
  page: { after?: string; limit: number },
): Promise<{ hosts: FleetHostView[]; next?: string }> {
  const store = fleetStoreOf(runtime);
  const [listed, current] = await Promise.all([store.listHostsPage(page), currentVersions(runtime)]);
  const hosts = fleetView(listed.hosts, current, now, stalePolicyOf(runtime));
  return listed.next === undefined ? { hosts } : { hosts, next: listed.next };
}
