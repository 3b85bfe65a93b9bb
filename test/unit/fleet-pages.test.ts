/** allFleetPages (src/fleet/pages.ts): the CLI's and the dashboard's way through GET /api/fleet's pages. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_FLEET_PAGES, allFleetPages, type FleetPage } from "../../src/fleet/pages";

describe("allFleetPages", () => {
  it("follows continuationToken page after page, keeps the order and sums staleHosts", async () => {
    const pages: Record<string, FleetPage<string>> = {
      fleet: { generatedAt: "t", defaultVault: "default", staleHosts: 1, hosts: ["a", "b"], continuationToken: "Yg" },
      "fleet?continuationToken=Yg": { staleHosts: 0, hosts: ["c"], continuationToken: "Yy+/" },
      "fleet?continuationToken=Yy%2B%2F": { staleHosts: 2, hosts: ["d", "e"] },
    };
    const asked: string[] = [];
    const all = await allFleetPages(async (p) => {
      asked.push(p);
      return pages[p] ?? assert.fail(`unexpected ${p}`);
    });
    assert.deepEqual(asked, Object.keys(pages), "each token once, URL-encoded");
    assert.deepEqual(all, { generatedAt: "t", defaultVault: "default", staleHosts: 3, hosts: ["a", "b", "c", "d", "e"] });
  });

  it("one page without a token is the fleet as it came", async () => {
    const all = await allFleetPages(async () => ({ staleHosts: 0, hosts: ["only"] }));
    assert.deepEqual(all, { staleHosts: 0, hosts: ["only"] });
  });

  it("stops with an error instead of following tokens forever", async () => {
    let n = 0;
    await assert.rejects(
      allFleetPages(async () => ({ staleHosts: 0, hosts: [String(n++)], continuationToken: "again" })),
      /more than 1000 pages/,
    );
    assert.equal(n, MAX_FLEET_PAGES);
  });
});
