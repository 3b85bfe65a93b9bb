/**
 * Route 53 and Google Cloud DNS list in pages, as their published schemas say (ListHostedZones: maxitems <= 100,
 * IsTruncated + NextMarker; managedZones.list / resourceRecordSets.list: maxResults, pageToken -> nextPageToken):
 * the stand-ins page like the vendors, and kv-acme's providers read every page, so an account with more zones than
 * one page holds has every zone routed. Each exchange is held to the vendor's schema.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { GcloudDnsProvider, GCLOUD_DNS_SCOPE, parseServiceAccountKey, serviceAccountAssertion } from "../../src/dns/gcloud";
import { Route53DnsProvider } from "../../src/dns/route53";
import { GCLOUD_RESOURCE_GROUP } from "../../src/local/dns/gcloud-server";
import type { HostedStandInInfo } from "../../src/local/dns/hosted";
import { ROUTE53_RESOURCE_GROUP } from "../../src/local/dns/route53-server";
import { ensureZones } from "../../src/local/dns/standin";
import gcloudDiscovery from "../fixtures/schemas/gcloud-dns-discovery.subset.json";
import route53Model from "../fixtures/schemas/route53-smithy.subset.json";
import { discoveryValidator } from "../support/discovery";
import { recordFetch, type Exchange } from "../support/recorder";
import { smithyValidator } from "../support/smithy";
import { startTestStack, type TestStack } from "../support/stack";

/** More zones than two pages of 100 hold. */
const EXTRA = 230;
const extraZones = (prefix: string) => Array.from({ length: EXTRA }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}.example`);

describe("Route 53 and Google Cloud DNS: every page", { concurrency: false }, () => {
  let stack: TestStack;
  let recorder: ReturnType<typeof recordFetch>;
  const info = (name: "route53" | "gcloud") => stack.dns[name]?.standIn?.info as HostedStandInInfo;
  const ours = (name: "route53" | "gcloud", path: RegExp): Exchange[] =>
    recorder.exchanges.filter((e) => e.url.origin === new URL(info(name).url).origin && path.test(e.url.pathname));

  before(async () => {
    stack = await startTestStack({ dns: ["route53", "gcloud"] });
    await ensureZones(stack.zoneStore, ROUTE53_RESOURCE_GROUP, extraZones("r53"));
    await ensureZones(stack.zoneStore, GCLOUD_RESOURCE_GROUP, extraZones("gc"));
    recorder = recordFetch();
  });
  after(async () => {
    recorder?.stop();
    await stack?.close();
  });

  it("Route 53: ListHostedZones in pages of 100 (NextMarker), every hosted zone listed, every exchange held to the Smithy model", async () => {
    const o = info("route53").options;
    const provider = new Route53DnsProvider({
      accessKeyId: o.accessKeyId as string,
      secretAccessKey: o.secretAccessKey as string,
      endpoint: o.endpoint as string,
    });
    const zones = await provider.listZones();
    const want = [...info("route53").zones, ...extraZones("r53")].sort();
    assert.deepEqual(zones.map((z) => z.name).sort(), want);
    assert.equal(new Set(zones.map((z) => z.id)).size, want.length, "zone ids are distinct");
    const pages = ours("route53", /^\/2013-04-01\/hostedzone$/);
    assert.equal(pages.length, Math.ceil(want.length / 100));
    assert.deepEqual(
      pages.map((p) => p.url.searchParams.has("marker")),
      pages.map((_, i) => i > 0),
      "the first page without a marker, each later one with the previous NextMarker",
    );
    const validate = smithyValidator(route53Model as unknown as Parameters<typeof smithyValidator>[0]);
    assert.deepEqual(pages.flatMap(validate), []);
  });

  it("Google Cloud DNS: managedZones.list in pages (nextPageToken), every managed zone listed, held to the discovery document", async () => {
    const o = info("gcloud").options;
    const provider = new GcloudDnsProvider({
      project: o.project as string,
      serviceAccountKey: parseServiceAccountKey(o.serviceAccountKey as string),
      apiUrl: o.apiUrl as string,
    });
    const zones = await provider.listZones();
    const want = [...info("gcloud").zones, ...extraZones("gc")].sort();
    assert.deepEqual(zones.map((z) => z.name).sort(), want);
    const pages = ours("gcloud", /\/managedZones$/);
    assert.equal(pages.length, Math.ceil(want.length / 100));
    assert.deepEqual(
      pages.map((p) => p.url.searchParams.has("pageToken")),
      pages.map((_, i) => i > 0),
    );
    const validate = discoveryValidator(gcloudDiscovery as unknown as Parameters<typeof discoveryValidator>[0]);
    assert.deepEqual(pages.flatMap(validate), []);
  });

  it("Google Cloud DNS stand-in: resourceRecordSets.list pages by maxResults, a token of another list or a bad maxResults is a 400", async () => {
    const o = info("gcloud").options;
    const key = parseServiceAccountKey(o.serviceAccountKey as string);
    const tokenRes = await fetch(key.token_uri, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion: serviceAccountAssertion(key, GCLOUD_DNS_SCOPE),
      }),
    });
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    const provider = new GcloudDnsProvider({ project: o.project as string, serviceAccountKey: key, apiUrl: o.apiUrl as string });
    const [zone] = (await provider.listZones()).filter((z) => z.name === info("gcloud").zones[0]);
    assert.ok(zone);
    const names = ["_acme-challenge.a", "_acme-challenge.b", "_acme-challenge.c"];
    for (const n of names) await provider.addTxtValues(zone, n, [`value-of-${n.slice(-1)}`.padEnd(43, "x")], 60);
    const base = `${o.apiUrl as string}/projects/${o.project as string}/managedZones/${zone.id}/rrsets`;
    const get = async (query: string) => {
      const res = await fetch(`${base}?${query}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as { rrsets?: { name: string }[]; nextPageToken?: string } };
    };
    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const r = await get(new URLSearchParams({ maxResults: "1", ...(pageToken ? { pageToken } : {}) }).toString());
      assert.equal(r.status, 200);
      assert.ok((r.body.rrsets ?? []).length <= 1);
      seen.push(...(r.body.rrsets ?? []).map((s) => s.name));
      pageToken = r.body.nextPageToken;
      pages++;
    } while (pageToken && pages < 10);
    assert.deepEqual(seen.sort(), names.map((n) => `${n}.${zone.name}.`).sort());
    assert.equal(pages, names.length);
    const first = await get("maxResults=1");
    assert.ok(first.body.nextPageToken);
    const zonesUrl = `${o.apiUrl as string}/projects/${o.project as string}/managedZones?pageToken=${first.body.nextPageToken}`;
    assert.equal((await fetch(zonesUrl, { headers: { authorization: `Bearer ${token}` } })).status, 400, "a token of another list");
    assert.equal((await get("maxResults=0")).status, 400);
    for (const n of names) await provider.removeTxtValues(zone, n, [`value-of-${n.slice(-1)}`.padEnd(43, "x")]);
    assert.equal((await get("")).body.rrsets?.length ?? 0, 0, "no TXT value left");
  });
});
