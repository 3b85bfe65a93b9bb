/**
 * TXT record-set changes under a concurrent writer, made deterministic: a hooked Azure DNS client lets another writer
 * change the record set between the provider's read and its write. The provider's write must carry the condition of
 * what it read (If-Match: <etag read>, or If-None-Match: * when the set did not exist), get 412 from the ARM stand-in,
 * read again and retry, and end with both writers' values kept (apex + wildcard orders share one record set).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DnsManagementClient } from "@azure/arm-dns";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { AzureDnsProvider } from "../../src/dns/azure";
import type { DnsZone } from "../../src/dns/provider";
import { startTestStack, type TestStack } from "../support/stack";

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => stack?.close());

const AUDIENCE = "https://management.azure.com";

interface Write {
  method: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  status: number;
}

/** An ARM client for the stand-in, with extra pipeline policies. */
function armClient(policies: PipelinePolicy[] = []): DnsManagementClient {
  return new DnsManagementClient(stack.credential, stack.info.subscriptionId, {
    endpoint: stack.info.armEndpoint,
    credentialScopes: [`${AUDIENCE}/.default`],
    additionalPolicies: policies.map((policy) => ({ policy, position: "perCall" as const })),
  });
}

/**
 * The provider under test, its ARM client hooked: before its first write (PUT or DELETE) of a TXT set, `rival` runs
 * (another writer changing the same set); every write's conditions and status are recorded.
 */
async function hookedProvider(rival: () => Promise<void>): Promise<{ provider: AzureDnsProvider; zone: DnsZone; writes: Write[] }> {
  const writes: Write[] = [];
  let rivalRan = false;
  const hook: PipelinePolicy = {
    name: "rival-writer",
    async sendRequest(request, next) {
      const isWrite = (request.method === "PUT" || request.method === "DELETE") && /\/TXT\//i.test(request.url);
      if (isWrite && !rivalRan) {
        rivalRan = true;
        await rival();
      }
      const record = (status: number) =>
        isWrite &&
        writes.push({
          method: request.method,
          ifMatch: request.headers.get("If-Match"),
          ifNoneMatch: request.headers.get("If-None-Match"),
          status,
        });
      try {
        const response = await next(request);
        record(response.status);
        return response;
      } catch (err) {
        // The SDK's deserialization (below this policy) throws for an error status.
        record((err as { statusCode?: number }).statusCode ?? 0);
        throw err;
      }
    },
  };
  const provider = new AzureDnsProvider("azure", stack.credential, {
    subscriptionIds: [stack.info.subscriptionId],
    resourceGroups: [],
    armEndpoint: stack.info.armEndpoint,
    armAudience: AUDIENCE,
  });
  // The provider builds one client per subscription on first use: hand it the hooked one.
  (provider as unknown as { clients: Map<string, DnsManagementClient> }).clients.set(stack.info.subscriptionId, armClient([hook]));
  const zone = (await provider.listZones()).find((z) => z.name === "example.com");
  assert.ok(zone, "example.com zone");
  return { provider, zone, writes };
}

const rg = () => stack.info.resourceGroup;

async function values(record: string): Promise<string[]> {
  try {
    const set = await armClient().recordSets.get(rg(), "example.com", record, "TXT");
    return (set.txtRecords ?? []).map((r) => (r.value ?? []).join("")).sort();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return [];
    throw err;
  }
}

async function etag(record: string): Promise<string | undefined> {
  return (await armClient().recordSets.get(rg(), "example.com", record, "TXT")).etag;
}

/** The other writer: adds `value` to the set (creating it when absent), unconditionally, as a second order would. */
async function rivalAdds(record: string, value: string): Promise<void> {
  const existing = await values(record);
  await armClient().recordSets.createOrUpdate(rg(), "example.com", record, "TXT", {
    ttl: 60,
    txtRecords: [...existing, value].map((v) => ({ value: [v] })),
  });
}

describe("Azure DNS TXT changes under a concurrent writer", () => {
  it("adding to an existing set: If-Match of the etag read, 412 after the rival's write, retried, all three values kept", async () => {
    const record = "_acme-challenge.race-add";
    await rivalAdds(record, "apex-value");
    const read = await etag(record);
    const { provider, zone, writes } = await hookedProvider(() => rivalAdds(record, "rival-value"));
    await provider.addTxtValues(zone, record, ["wildcard-value"], 60);
    assert.equal(writes.length, 2, JSON.stringify(writes));
    assert.equal(writes[0]?.ifMatch, read, "the first write is conditional on the etag read");
    assert.equal(writes[0]?.status, 412, "the stand-in refused the stale write");
    assert.notEqual(writes[1]?.ifMatch, read, "the retry is conditional on the new etag");
    assert.ok(writes[1]?.ifMatch, "the retry is conditional");
    assert.equal(writes[1]?.status, 200);
    assert.deepEqual(await values(record), ["apex-value", "rival-value", "wildcard-value"]);
  });

  it("creating the set: If-None-Match *, 412 when the rival created it first, retried with If-Match, both values kept", async () => {
    const record = "_acme-challenge.race-create";
    const { provider, zone, writes } = await hookedProvider(() => rivalAdds(record, "rival-value"));
    await provider.addTxtValues(zone, record, ["our-value"], 60);
    assert.equal(writes[0]?.ifNoneMatch, "*", JSON.stringify(writes));
    assert.equal(writes[0]?.status, 412);
    assert.ok(writes[1]?.ifMatch, JSON.stringify(writes));
    assert.equal(writes[1]?.status, 200);
    assert.deepEqual(await values(record), ["our-value", "rival-value"]);
  });

  it("removing our value while the rival adds one: 412, retried, the rival's value kept and ours gone", async () => {
    const record = "_acme-challenge.race-remove";
    await rivalAdds(record, "our-value");
    const read = await etag(record);
    const { provider, zone, writes } = await hookedProvider(() => rivalAdds(record, "rival-value"));
    await provider.removeTxtValues(zone, record, ["our-value"]);
    // The only value was ours: the first write is a conditional DELETE of the set, refused; the retry rewrites it.
    assert.equal(writes[0]?.method, "DELETE", JSON.stringify(writes));
    assert.equal(writes[0]?.ifMatch, read);
    assert.equal(writes[0]?.status, 412);
    assert.equal(writes[1]?.method, "PUT");
    assert.equal(writes[1]?.status, 200);
    assert.deepEqual(await values(record), ["rival-value"]);
  });
});
