/**
 * The Azure DNS provider's exact behaviour against the ARM stand-in: which zones it lists (resource-group scoping,
 * a missing group, a second subscription, what ARM returns that is not a public zone), the error each ARM answer
 * becomes (403 with its role hint, 429/503 with their Retry-After, 400, 500, a reset connection, a token failure),
 * the bound and back-off of the 412/409 retry, and the TXT values, TTL and metadata each add and remove leave.
 * Faults are the stand-in's own (src/local/faults.ts), armed for the next request only, so every error is a real
 * ARM-shaped answer over HTTPS.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DnsManagementClient } from "@azure/arm-dns";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import type { TokenCredential } from "@azure/core-auth";
import { AzureDnsProvider, type AzureDnsOptions } from "../../src/dns/azure";
import type { DnsZone } from "../../src/dns/provider";
import { UpstreamError } from "../../src/shared/errors";
import { identityFailures } from "../../src/shared/credential";
import { throttlingClientOptions } from "../../src/shared/azure-throttling";
import type { Fault } from "../../src/local/faults";
import { rejection } from "../support/rejections";
import { startTestStack, type TestStack } from "../support/stack";

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ faults: { rules: [], latency: {} } });
  await armClient().zones.createOrUpdate("Other-RG", "other.example", { location: "global" });
});
after(async () => stack?.close());

const AUDIENCE = "https://management.azure.com";
const ZONE = "example.com";
const UNKNOWN_SUBSCRIPTION = "11111111-2222-3333-4444-555555555555";
const rg = () => stack.info.resourceGroup;
const sub = () => stack.info.subscriptionId;

/** An ARM client for the stand-in with extra per-call policies (and optionally no SDK retries). */
function armClient(policies: PipelinePolicy[] = [], options: { noRetries?: boolean } = {}): DnsManagementClient {
  return new DnsManagementClient(stack.credential, sub(), {
    endpoint: stack.info.armEndpoint,
    credentialScopes: [`${AUDIENCE}/.default`],
    additionalPolicies: [
      ...throttlingClientOptions().additionalPolicies,
      ...policies.map((policy) => ({ policy, position: "perCall" as const })),
    ],
    ...(options.noRetries ? { retryOptions: { maxRetries: 0 } } : {}),
  });
}

function provider(options: Partial<AzureDnsOptions> = {}, credential: TokenCredential = stack.credential): AzureDnsProvider {
  return new AzureDnsProvider("azure", credential, {
    subscriptionIds: [sub()],
    resourceGroups: [],
    armEndpoint: stack.info.armEndpoint,
    armAudience: AUDIENCE,
    ...options,
  });
}

/** Hands the provider `client` for the stand-in's subscription (it builds one per subscription on first use). */
function withClient(p: AzureDnsProvider, client: DnsManagementClient): AzureDnsProvider {
  (p as unknown as { clients: Map<string, DnsManagementClient> }).clients.set(sub(), client);
  return p;
}

/** Arms one fault of the ARM stand-in for its next request. */
function nextArmRequestFails(fault: Fault): void {
  stack.faults!.plan.rules.push({ target: "arm", fault, probability: 1, limit: 1 });
}
const status = (code: number, retryAfterSeconds = 1): Fault => ({ kind: "status", status: code, retryAfterSeconds });

function zoneId(group: string, name: string): string {
  return `/subscriptions/${sub()}/resourceGroups/${group}/providers/Microsoft.Network/dnszones/${name}`;
}

async function zone(name = ZONE): Promise<DnsZone> {
  const found = (await provider().listZones()).find((z) => z.name === name);
  assert.ok(found, name);
  return found;
}

async function recordSet(record: string) {
  try {
    return await armClient().recordSets.get(rg(), ZONE, record, "TXT");
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

async function values(record: string): Promise<string[]> {
  return ((await recordSet(record))?.txtRecords ?? []).map((r) => (r.value ?? []).join("")).sort();
}

async function putSet(record: string, value: string[][], ttl = 60, metadata?: Record<string, string>): Promise<string | undefined> {
  const set = await armClient().recordSets.createOrUpdate(rg(), ZONE, record, "TXT", {
    ttl,
    metadata,
    txtRecords: value.map((v) => ({ value: v })),
  });
  return set.etag;
}

interface Seen {
  method: string;
  url: string;
  status: number;
  at: number;
  ifMatch?: string;
  ifNoneMatch?: string;
}

/** A policy recording every request (method, conditions, status, when it was sent); `before` runs ahead of each. */
function recorder(seen: Seen[], beforeEach?: (method: string, url: string) => Promise<void> | void): PipelinePolicy {
  return {
    name: "recorder",
    async sendRequest(request, next) {
      await beforeEach?.(request.method, request.url);
      const entry: Seen = {
        method: request.method,
        url: request.url,
        status: 0,
        at: performance.now(),
        ifMatch: request.headers.get("If-Match"),
        ifNoneMatch: request.headers.get("If-None-Match"),
      };
      seen.push(entry);
      try {
        const response = await next(request);
        entry.status = response.status;
        return response;
      } catch (err) {
        entry.status = (err as { statusCode?: number }).statusCode ?? 0;
        throw err;
      }
    },
  };
}

const isTxtWrite = (method: string, url: string) => (method === "PUT" || method === "DELETE") && /\/TXT\//i.test(url);

describe("Azure DNS zones", () => {
  it("lists every public zone of the subscription: ARM's id, the name lower-cased, the zone's name servers", async () => {
    const arm = armClient();
    const expected = await Promise.all(
      [
        [rg(), "example.com"],
        [rg(), "example.org"],
        ["Other-RG", "other.example"],
      ].map(async ([group, name]) => ({
        provider: "azure",
        id: zoneId(group!, name!),
        name: name!,
        nameServers: (await arm.zones.get(group!, name!)).nameServers ?? [],
      })),
    );
    assert.ok(expected.every((z) => z.nameServers.length > 0));
    const zones = await provider().listZones();
    assert.deepEqual(
      zones.sort((a, b) => a.name.localeCompare(b.name)),
      expected,
    );
  });

  it("lists each zone once when a subscription is configured twice", async () => {
    const zones = await provider({ subscriptionIds: [sub(), sub()] }).listZones();
    assert.deepEqual(zones.map((z) => z.name).sort(), ["example.com", "example.org", "other.example"]);
  });

  it("with resource groups, lists only theirs, the names matched without regard to case", async () => {
    const zones = await provider({ resourceGroups: ["OTHER-rg"] }).listZones();
    assert.deepEqual(
      zones.map((z) => [z.name, z.id]),
      [["other.example", zoneId("Other-RG", "other.example")]],
    );
  });

  it("skips a configured resource group ARM answers 404 for and still lists the next one", async () => {
    const before = stack.faults!.counts["arm:404"] ?? 0;
    nextArmRequestFails(status(404));
    const zones = await provider({ resourceGroups: ["missing-rg", "other-rg"] }).listZones();
    assert.equal(stack.faults!.counts["arm:404"], before + 1, "the first group's listing was answered 404");
    assert.deepEqual(
      zones.map((z) => z.name),
      ["other.example"],
    );
  });

  it("fails on a subscription ARM does not know (404 without resource groups is not skipped)", async () => {
    const err = await rejection(provider({ subscriptionIds: [sub(), UNKNOWN_SUBSCRIPTION] }).listZones());
    assert.equal(err.status, 404);
    assert.equal(err.retryable, false);
    assert.equal(err.code, "AzureDnsError");
    assert.deepEqual(err.details, { service: "AzureDns", provider: "azure" });
    assert.equal(
      err.message,
      `DNS provider "azure": listing zones of subscription ${UNKNOWN_SUBSCRIPTION} failed: The subscription '${UNKNOWN_SUBSCRIPTION}' could not be found.`,
    );
  });

  it("fails a resource group's listing that ARM answers other than 404, naming the group", async () => {
    nextArmRequestFails(status(400));
    const err = await rejection(provider({ resourceGroups: ["other-rg"] }).listZones());
    assert.equal(err.status, 400);
    assert.equal(
      err.message,
      `DNS provider "azure": listing zones of resource group other-rg of subscription ${sub()} failed: Bad Request (local fault injection).`,
    );
  });

  it("leaves out what a listing holds that is not a public zone of a configured group", async () => {
    // ARM's list answers as they can come: a Private zone, an entry without a name, a zone of another group, and a
    // zone without a zoneType (older api-versions), which is public.
    const extra = [
      { id: zoneId("other-rg", "private.example"), name: "private.example", zoneType: "Private" },
      { id: zoneId("other-rg", "nameless.example") },
      { name: "idless.example", zoneType: "Public" },
      { id: zoneId("Third-RG", "third.example"), name: "third.example", zoneType: "Public" },
      { id: zoneId("other-rg", "Untyped.Example"), name: "Untyped.Example", nameServers: ["ns1.untyped.test."] },
      { id: zoneId("other-rg", "bare.example"), name: "bare.example", zoneType: "Public" },
    ];
    const addsToListings: PipelinePolicy = {
      name: "adds-to-listings",
      async sendRequest(request, next) {
        const response = await next(request);
        const body = (response as { parsedBody?: { value?: unknown[] } }).parsedBody;
        if (request.method === "GET" && /\/dnszones\?/i.test(request.url) && Array.isArray(body?.value)) body.value.push(...extra);
        return response;
      },
    };
    const zones = await withClient(provider({ resourceGroups: ["other-rg"] }), armClient([addsToListings])).listZones();
    assert.deepEqual(
      zones.map((z) => [z.name, z.id]),
      [
        ["other.example", zoneId("Other-RG", "other.example")],
        ["untyped.example", zoneId("other-rg", "Untyped.Example")],
        ["bare.example", zoneId("other-rg", "bare.example")],
      ],
    );
    assert.deepEqual(zones[1]?.nameServers, ["ns1.untyped.test."]);
    assert.deepEqual(zones[2]?.nameServers, [], "a zone ARM lists without name servers has none");
  });
});

describe("Azure DNS errors", () => {
  const record = "_acme-challenge.errors";

  it("403: not retryable, with the role the identity needs, and nothing written", async () => {
    const z = await zone();
    nextArmRequestFails(status(403));
    const err = await rejection(provider().addTxtValues(z, record, ["v"], 60));
    assert.equal(err.status, 403);
    assert.equal(err.retryable, false);
    assert.equal(
      err.message,
      `DNS provider "azure", zone example.com: reading TXT ${record}.example.com failed (the identity needs the DNS Zone Contributor role on the zone): Forbidden (local fault injection).`,
    );
    assert.deepEqual(err.details, { service: "AzureDns", provider: "azure" });
    assert.equal(err.retryAfterMs, undefined);
    assert.deepEqual(await values(record), []);
  });

  for (const [code, seconds] of [
    [429, 7],
    [503, 3],
  ] as const) {
    it(`${code}: retryable, at once, with ARM's Retry-After (${seconds} s)`, async () => {
      const z = await zone();
      nextArmRequestFails(status(code, seconds));
      const err = await rejection(provider().addTxtValues(z, record, ["v"], 60));
      assert.equal(err.status, code);
      assert.equal(err.retryable, true);
      assert.equal(err.retryAfterMs, seconds * 1000);
      assert.ok(err.message.endsWith(`(Retry-After: ${seconds} s)`), err.message);
      assert.deepEqual(await values(record), []);
    });
  }

  for (const [code, retryable] of [
    [400, false],
    [404, false],
    [500, true],
    [502, true],
  ] as const) {
    it(`${code} on a write: ${retryable ? "retryable" : "not retryable"}, with ARM's status`, async () => {
      const z = await zone();
      const seen: Seen[] = [];
      const p = withClient(
        provider(),
        armClient([recorder(seen, (method, url) => (isTxtWrite(method, url) ? nextArmRequestFails(status(code)) : undefined))], {
          noRetries: true,
        }),
      );
      const err = await rejection(p.addTxtValues(z, record, ["v"], 60));
      assert.equal(err.status, code);
      assert.equal(err.retryable, retryable);
      assert.ok(
        err.message.startsWith(`DNS provider "azure", zone example.com: adding to TXT ${record}.example.com failed: `),
        err.message,
      );
      assert.deepEqual(
        seen.map((s) => [s.method, s.status]),
        [
          ["GET", 404],
          ["PUT", code],
        ],
      );
    });
  }

  it("a reset connection (no status): 502, retryable", async () => {
    const z = await zone();
    const p = withClient(
      provider(),
      armClient([recorder([], (method, url) => (isTxtWrite(method, url) ? nextArmRequestFails({ kind: "reset" }) : undefined))], {
        noRetries: true,
      }),
    );
    const err = await rejection(p.addTxtValues(z, record, ["v"], 60));
    assert.equal(err.status, 502);
    assert.equal(err.retryable, true);
    assert.deepEqual(await values(record), []);
  });

  it("a token failure is the managed identity's error, not ARM's", async () => {
    const credential = identityFailures({
      getToken: () => Promise.reject(new Error("ManagedIdentityCredential: connect ECONNREFUSED 169.254.169.254:80")),
    });
    const err = await rejection(provider({}, credential).listZones());
    assert.equal(err.code, "IdentityError");
    assert.equal(err.status, 503);
    assert.equal(err.retryable, true);
    assert.match(err.message, /^Managed identity: getting a token for https:\/\/management\.azure\.com failed: /);
  });

  for (const slashes of ["/", "//"]) {
    it(`an ARM audience written with trailing slashes (${slashes}) asks for the audience's token`, async () => {
      const scopes: string[] = [];
      const credential: TokenCredential = {
        getToken: (scope, options) => {
          scopes.push(...[scope].flat());
          return stack.credential.getToken(scope, options);
        },
      };
      const zones = await provider({ armAudience: `${AUDIENCE}${slashes}` }, credential).listZones();
      assert.ok(zones.some((z) => z.name === ZONE));
      assert.deepEqual([...new Set(scopes)], [`${AUDIENCE}/.default`]);
    });
  }

  it("a failed removal names the removal and the record", async () => {
    const removing = "_acme-challenge.remove-fails";
    await putSet(removing, [["ours"], ["theirs"]]);
    const p = withClient(
      provider(),
      armClient([recorder([], (method, url) => (isTxtWrite(method, url) ? nextArmRequestFails(status(400)) : undefined))], {
        noRetries: true,
      }),
    );
    const err = await rejection(p.removeTxtValues(await zone(), removing, ["ours"]));
    assert.equal(err.status, 400);
    assert.ok(
      err.message.startsWith(`DNS provider "azure", zone example.com: removing from TXT ${removing}.example.com failed: `),
      err.message,
    );
    assert.deepEqual(await values(removing), ["ours", "theirs"]);
  });
});

describe("Azure DNS concurrency retry", () => {
  it("gives up after 8 attempts when every write meets a moved etag, backing off 20·n + up to 40·n ms", async () => {
    const record = "_acme-challenge.always-moved";
    await putSet(record, [["first"]]);
    const z = await zone();
    const seen: Seen[] = [];
    let rivals = 0;
    const rival = async (method: string, url: string) => {
      if (!isTxtWrite(method, url)) return;
      rivals++;
      await putSet(record, [["first"], [`rival-${rivals}`]]);
    };
    const p = withClient(provider(), armClient([recorder(seen, rival)]));
    const random = Math.random;
    Math.random = () => 0.999;
    let err: UpstreamError;
    try {
      err = await rejection(p.addTxtValues(z, record, ["ours"], 60));
    } finally {
      Math.random = random;
    }
    assert.equal(err.status, 412);
    assert.equal(err.retryable, false);
    assert.ok(err.message.startsWith(`DNS provider "azure", zone example.com: adding to TXT ${record}.example.com failed: `), err.message);
    const writes = seen.filter((s) => s.method === "PUT");
    assert.equal(writes.length, 8, "eight conditional writes");
    assert.ok(
      writes.every((w) => w.status === 412 && w.ifMatch),
      JSON.stringify(writes),
    );
    // Each retry's read is sent at least the back-off after the refused write: floor(20·n + 0.999·40·n) ms.
    for (let n = 1; n < 8; n++) {
      const refused = seen.indexOf(writes[n - 1]!);
      const reread = seen[refused + 1]!;
      assert.equal(reread.method, "GET");
      const wait = reread.at - writes[n - 1]!.at;
      assert.ok(wait >= Math.floor(20 * n + 0.999 * 40 * n) - 1, `back-off ${n}: ${wait.toFixed(1)} ms`);
    }
    assert.deepEqual(await values(record), ["first", `rival-${rivals}`], "our value was never written");
  });

  it("retries a write ARM answers 409 (a concurrent write in flight) and then writes", async () => {
    const record = "_acme-challenge.conflict";
    const z = await zone();
    const seen: Seen[] = [];
    let armed = false;
    const conflictOnce = (method: string, url: string) => {
      if (!armed && isTxtWrite(method, url)) {
        armed = true;
        nextArmRequestFails(status(409));
      }
    };
    await withClient(provider(), armClient([recorder(seen, conflictOnce)])).addTxtValues(z, record, ["ours"], 60);
    assert.deepEqual(
      seen.map((s) => [s.method, s.status, s.ifNoneMatch]),
      [
        ["GET", 404, undefined],
        ["PUT", 409, "*"],
        ["GET", 404, undefined],
        ["PUT", 201, "*"],
      ],
    );
    assert.deepEqual(await values(record), ["ours"]);
  });
});

describe("Azure DNS TXT values", () => {
  it("adds each value once, keeps the values and metadata there, and takes the lower TTL", async () => {
    const record = "_acme-challenge.add";
    await putSet(record, [["existing"]], 300, { owner: "someone" });
    const z = await zone();
    await provider().addTxtValues(z, record, ["new", "new"], 60);
    const set = await recordSet(record);
    assert.deepEqual(await values(record), ["existing", "new"]);
    assert.equal(set?.ttl, 60);
    assert.deepEqual(set?.metadata, { owner: "someone" });

    await putSet(record, [["existing"]], 30);
    await provider().addTxtValues(z, record, ["new"], 60);
    assert.equal((await recordSet(record))?.ttl, 30, "a lower TTL already there is kept");
  });

  it("creates a missing set with the TTL asked for and no other value", async () => {
    const record = "_acme-challenge.create";
    await provider().addTxtValues(await zone(), record, ["a", "b"], 120);
    const set = await recordSet(record);
    assert.equal(set?.ttl, 120);
    assert.deepEqual(await values(record), ["a", "b"]);
  });

  it("writes nothing when every value is there, a value split in strings included", async () => {
    const record = "_acme-challenge.present";
    const etag = await putSet(record, [["split-", "value"], ["other"]]);
    const seen: Seen[] = [];
    await withClient(provider(), armClient([recorder(seen)])).addTxtValues(await zone(), record, ["split-value", "other"], 60);
    assert.deepEqual(
      seen.map((s) => s.method),
      ["GET"],
    );
    assert.equal((await recordSet(record))?.etag, etag);
  });

  it("removing one of two values rewrites the set under If-Match, keeping the other value, the TTL and metadata", async () => {
    const record = "_acme-challenge.remove-one";
    const etag = await putSet(record, [["ours"], ["theirs"]], 90, { owner: "someone" });
    const seen: Seen[] = [];
    await withClient(provider(), armClient([recorder(seen)])).removeTxtValues(await zone(), record, ["ours"]);
    assert.deepEqual(
      seen.map((s) => [s.method, s.status, s.ifMatch]),
      [
        ["GET", 200, undefined],
        ["PUT", 200, etag],
      ],
    );
    const set = await recordSet(record);
    assert.deepEqual(await values(record), ["theirs"]);
    assert.equal(set?.ttl, 90);
    assert.deepEqual(set?.metadata, { owner: "someone" });
  });

  it("removing the last value deletes the set under If-Match", async () => {
    const record = "_acme-challenge.remove-last";
    const etag = await putSet(record, [["ours"]]);
    const seen: Seen[] = [];
    await withClient(provider(), armClient([recorder(seen)])).removeTxtValues(await zone(), record, ["ours", "never-there"]);
    assert.deepEqual(
      seen.map((s) => [s.method, s.status, s.ifMatch]),
      [
        ["GET", 200, undefined],
        ["DELETE", 200, etag],
      ],
    );
    assert.equal(await recordSet(record), undefined);
  });

  it("a delete answered 404 (the set already gone) is done", async () => {
    const record = "_acme-challenge.gone";
    await putSet(record, [["ours"]]);
    const seen: Seen[] = [];
    const goneOnDelete = (method: string) => (method === "DELETE" ? nextArmRequestFails(status(404)) : undefined);
    await withClient(provider(), armClient([recorder(seen, goneOnDelete)], { noRetries: true })).removeTxtValues(await zone(), record, [
      "ours",
    ]);
    assert.deepEqual(
      seen.map((s) => [s.method, s.status]),
      [
        ["GET", 200],
        ["DELETE", 404],
      ],
    );
  });

  it("writes nothing when the set is absent or holds none of the values", async () => {
    const record = "_acme-challenge.untouched";
    const seen: Seen[] = [];
    const p = withClient(provider(), armClient([recorder(seen)]));
    await p.removeTxtValues(await zone(), record, ["x"]);
    const etag = await putSet(record, [["theirs"]]);
    await p.removeTxtValues(await zone(), record, ["x"]);
    assert.deepEqual(
      seen.map((s) => [s.method, s.status]),
      [
        ["GET", 404],
        ["GET", 200],
      ],
    );
    assert.equal((await recordSet(record))?.etag, etag);
  });
});

describe("Azure DNS zone ids", () => {
  it("addresses the record set from an id whose segments ARM wrote in upper case", async () => {
    const z = await zone();
    const upper = { ...z, id: z.id.replace("/subscriptions/", "/SUBSCRIPTIONS/").replace("/resourceGroups/", "/RESOURCEGROUPS/") };
    await provider().addTxtValues(upper, "_acme-challenge.upper", ["v"], 60);
    assert.deepEqual(await values("_acme-challenge.upper"), ["v"]);
  });

  for (const id of [
    "/subscriptions//resourceGroups/rg/providers/Microsoft.Network/dnszones/example.com",
    "/subscriptions/s/resourceGroups//providers/Microsoft.Network/dnszones/example.com",
    "example.com",
  ]) {
    it(`refuses a zone id it cannot read (${id}) without a request`, async () => {
      const seen: Seen[] = [];
      const p = withClient(provider(), armClient([recorder(seen)]));
      const err = await rejection(p.addTxtValues({ provider: "azure", id, name: ZONE, nameServers: [] }, "_acme-challenge.bad", ["v"], 60));
      assert.equal(err.message, `Unexpected DNS zone id "${id}"`);
      assert.equal(err.status, 502);
      assert.equal(err.code, "AzureDnsError");
      assert.deepEqual(seen, []);
    });
  }
});

describe("Azure DNS write-access probe", () => {
  const PROBE = "_kv-acme-doctor-probe";
  interface Put {
    url: string;
    ifMatch?: string;
    body: unknown;
  }
  /** Records each PUT (its If-Match and body); with `dropIfMatch` it sends the PUT unconditionally, as a careless client would. */
  function puts(seen: Put[], dropIfMatch = false): PipelinePolicy {
    return {
      name: "puts",
      async sendRequest(request, next) {
        if (request.method === "PUT") {
          seen.push({ url: request.url, ifMatch: request.headers.get("If-Match"), body: JSON.parse(String(request.body)) });
          if (dropIfMatch) request.headers.delete("If-Match");
        }
        return next(request);
      },
    };
  }

  it("passes when ARM authorizes the write and refuses its If-Match (412); nothing is written", async () => {
    const seen: Put[] = [];
    await withClient(provider(), armClient([puts(seen)])).probeWriteAccess(await zone());
    assert.equal(seen.length, 1);
    assert.match(seen[0]!.url, new RegExp(`/dnszones/${ZONE}/TXT/${PROBE}\\?`, "i"));
    assert.equal(seen[0]!.ifMatch, '"kv-acme-doctor-probe-never-matches"');
    assert.deepEqual(seen[0]!.body, { properties: { TTL: 60, TXTRecords: [{ value: ["kv-acme doctor probe, never written"] }] } });
    assert.equal(await recordSet(PROBE), undefined);
  });

  it("fails with ARM's error when ARM refuses the write (403)", async () => {
    const z = await zone();
    nextArmRequestFails(status(403));
    await assert.rejects(withClient(provider(), armClient([], { noRetries: true })).probeWriteAccess(z), (err: unknown) => {
      assert.equal((err as { statusCode?: number }).statusCode, 403);
      return true;
    });
    assert.equal(await recordSet(PROBE), undefined);
  });

  it("fails naming the record to delete when the probe was written after all", async () => {
    const z = await zone();
    try {
      await assert.rejects(
        withClient(provider(), armClient([puts([], true)])).probeWriteAccess(z),
        new Error(`the write-access probe was written to ${ZONE}: delete the TXT record ${PROBE}`),
      );
      assert.deepEqual(await values(PROBE), ["kv-acme doctor probe, never written"]);
    } finally {
      await armClient().recordSets.delete(rg(), ZONE, PROBE, "TXT");
    }
  });
});
