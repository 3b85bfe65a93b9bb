/**
 * Following the pages of GET /api/fleet (continuationToken) into one fleet: the CLI (--endpoint) and the dashboard do
 * it the same way. No I/O of its own: `get` fetches one path relative to the API (`fleet`, `fleet?continuationToken=`).
 */

/** What every page of GET /api/fleet carries (hosts of any shape: the caller's view type). */
export interface FleetPage<H> {
  generatedAt?: string;
  defaultVault?: string;
  staleHosts: number;
  hosts: H[];
  continuationToken?: string;
}

/** Most pages followed: 1,000 hosts a page (FLEET_PAGE_DEFAULT) makes this 1,000,000 hosts; beyond it, an error. */
export const MAX_FLEET_PAGES = 1000;

/** Every page, in order, as one page without a token (`staleHosts` summed). */
export async function allFleetPages<H>(get: (path: string) => Promise<FleetPage<H>>): Promise<FleetPage<H>> {
  let page = await get("fleet");
  const all: FleetPage<H> = { ...page, hosts: [...page.hosts] };
  delete all.continuationToken;
  for (let n = 1; page.continuationToken !== undefined; n++) {
    if (n >= MAX_FLEET_PAGES) throw new Error(`GET /api/fleet: more than ${MAX_FLEET_PAGES} pages`);
    page = await get(`fleet?continuationToken=${encodeURIComponent(page.continuationToken)}`);
    all.hosts.push(...page.hosts);
    all.staleHosts += page.staleHosts;
  }
  return all;
}
