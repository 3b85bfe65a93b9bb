/**
 * The tests every hosted DNS provider passes against its stand-in on a private local stack, with Pebble validating
 * the real DNS answers of the stack's authoritative server:
 *   - apex + wildcard sharing one record set, and two concurrent orders writing that same set; no TXT value left;
 *   - bad credentials: a permanent error naming the provider (and the zone on writes), nothing written;
 *   - a name in a zone the provider does not have: 400 at validation, nothing written;
 *   - the provider's server stopped mid-order: cleanup fails retryably, and succeeds once it is back;
 *   - the stack's fault options reach the stand-in: an injected 503 fails one call retryably, naming the provider;
 *   - a 429 with Retry-After in the vendor's envelope fails the call at once (no retry in-process) carrying the
 *     Retry-After, which the durable driver reads back from the activity's failure message and waits;
 *   - every request the provider made and every answer of the stand-in hold against the vendor's schema.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { DnsProvider } from "../../src/dns/provider";
import { DnsRouter } from "../../src/dns/router";
import { issueCertificate } from "../../src/issuance";
import type { HostedProviderName, HostedStandInInfo } from "../../src/local/dns/hosted";
import { taskError } from "../../src/orchestrations/outcome";
import { UpstreamError, ValidationError } from "../../src/shared/errors";
import { stackDeps } from "../integration/helpers";
import { recordFetch, type Exchange } from "../support/recorder";
import { startTestStack, type TestStack } from "../support/stack";

export interface HostedProviderCase {
  name: HostedProviderName;
  /** Builds the kv-acme provider for the stand-in, with some options replaced (bad credentials). */
  provider(info: HostedStandInInfo, overrides?: Record<string, string>): DnsProvider;
  /** Option overrides that make every call fail authentication. */
  badCredentials(info: HostedStandInInfo): Record<string, string>;
  /** Holds one recorded exchange against the vendor's schema; returns its problems. */
  validate(exchange: Exchange): string[];
  /** The number of concurrent orders sharing one record set the provider supports (acme-dns keeps two values). */
  valuesPerRecordSet?: number;
}

const label = () => `t${randomBytes(3).toString("hex")}`;

/** Every TXT value in the stand-in's zones. */
function txtValues(stack: TestStack, zones: string[]): string[] {
  const store = stack.zoneStore;
  return zones.flatMap((zone) =>
    store
      .listRecordSets(zone, "TXT")
      .flatMap((set) => (set.records.TXTRecords ?? []).map((r) => `${set.name}.${zone}=${r.value.join("")}`)),
  );
}

export function hostedProviderSuite(c: HostedProviderCase): void {
  describe(`${c.name} DNS provider against its stand-in`, { concurrency: false }, () => {
    let stack: TestStack;
    let info: HostedStandInInfo;
    let recorder: ReturnType<typeof recordFetch>;
    before(async () => {
      // The stand-in's fault rule is off until the fault test turns it on.
      stack = await startTestStack({ dns: [c.name], faults: `${c.name}=503:0%,${c.name}=429/7:0%` });
      info = stack.dns[c.name]?.standIn?.info as HostedStandInInfo;
      recorder = recordFetch();
    });
    after(async () => {
      recorder?.stop();
      await stack?.close();
    });
    const zone = () => info.zones[0] as string;
    // The stack's own settings (its Azure DNS and this provider, read through the descriptors), or one provider alone.
    const deps = (provider?: DnsProvider) => (provider ? { ...stackDeps(stack), dns: new DnsRouter([provider]) } : stackDeps(stack));
    /** A provider, the test zone, a fresh record name and challenge values (`count`). */
    const scene = async (count: number) => {
      const provider = c.provider(info);
      const [target] = (await provider.listZones()).filter((z) => z.name === zone());
      assert.ok(target, `the stand-in lists ${zone()}`);
      const values = Array.from({ length: count }, () => randomBytes(32).toString("base64url").slice(0, 43));
      return { provider, target, record: `_acme-challenge.${label()}`, values };
    };
    /** Turns the stack's fault rule `status` for this provider on for the next request and adds one value through it. */
    const writeThroughFault = async (status: 503 | 429) => {
      const rule = stack.faults?.plan.rules.find((r) => r.target === c.name && r.fault.kind === "status" && r.fault.status === status);
      assert.ok(rule, `a ${c.name} ${status} rule`);
      const write = await scene(1);
      Object.assign(rule, { probability: 1, limit: 1 });
      const failed = await write.provider.addTxtValues(write.target, write.record, write.values, 60).then(
        () => assert.fail(`written through an injected ${status}`),
        (e: unknown) => e,
      );
      assert.equal(stack.faults?.counts[`${c.name}:${status}`], 1, `one injected ${status}`);
      assert.ok(failed instanceof UpstreamError && failed.retryable, String(failed));
      return { ...write, failed };
    };

    it("issues apex + wildcard (one record set) and two concurrent orders on one set, leaving no TXT value", async () => {
      const base = `${label()}.${zone()}`;
      const apex = await issueCertificate({ dnsNames: [base, `*.${base}`], certificateName: `${c.name}-apex` }, deps());
      assert.equal(apex.dnsNames.length, 2);
      const shared = `${label()}.${zone()}`;
      const [one, two] = await Promise.all([
        issueCertificate({ dnsNames: [shared], certificateName: `${c.name}-one` }, deps()),
        issueCertificate({ dnsNames: [`*.${shared}`], certificateName: `${c.name}-two` }, deps()),
      ]);
      assert.deepEqual([one.dnsNames, two.dnsNames], [[shared], [`*.${shared}`]]);
      assert.deepEqual(txtValues(stack, info.zones), []);
    });

    it("bad credentials fail permanently, naming the provider (and the zone on writes), and write nothing", async () => {
      const bad = c.provider(info, c.badCredentials(info));
      const err = await issueCertificate({ dnsNames: [`${label()}.${zone()}`] }, deps(bad)).then(
        () => assert.fail("issued with bad credentials"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof UpstreamError, String(err));
      assert.equal(err.retryable, false);
      assert.match(err.message, new RegExp(c.name.replace("-", "[- ]?"), "i"));
      const [target] = (await c.provider(info).listZones()).filter((z) => z.name === zone());
      assert.ok(target, `the stand-in lists ${zone()}`);
      const write = await bad.addTxtValues(target, `_acme-challenge.${label()}`, ["x".repeat(43)], 60).then(
        () => assert.fail("wrote with bad credentials"),
        (e: unknown) => e,
      );
      assert.ok(write instanceof UpstreamError && !write.retryable && write.message.includes(zone()), String(write));
      assert.deepEqual(txtValues(stack, info.zones), []);
    });

    it("a name in a zone the provider does not have is a 400 at validation, nothing written", async () => {
      const err = await issueCertificate({ dnsNames: [`${label()}.not-a-${c.name}-zone.example`] }, deps()).then(
        () => assert.fail("issued outside the provider's zones"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ValidationError && err.status === 400, String(err));
      assert.deepEqual(txtValues(stack, info.zones), []);
    });

    it("cleans up after its server was stopped mid-order and came back", async () => {
      const { provider, target, record, values } = await scene(2);
      await provider.addTxtValues(target, record, values, 60);
      assert.equal(txtValues(stack, info.zones).length, 2);
      const standIn = stack.dns[c.name]?.standIn;
      assert.ok(standIn);
      await standIn.stop();
      const down = await provider.removeTxtValues(target, record, values).then(
        () => assert.fail("removed while the server was down"),
        (e: unknown) => e,
      );
      assert.ok(down instanceof UpstreamError && down.retryable, String(down));
      await standIn.start();
      await provider.removeTxtValues(target, record, values);
      assert.deepEqual(txtValues(stack, info.zones), []);
    });

    it("every request and answer holds against the vendor's published schema", () => {
      const ours = recorder.exchanges.filter((e) => e.url.origin === new URL(info.url).origin);
      assert.ok(ours.length > 10, `recorded ${ours.length} exchanges`);
      assert.deepEqual(ours.flatMap(c.validate), []);
    });

    it("honours the stack's fault options: an injected 503 fails the call retryably naming the provider, the next passes", async () => {
      const { provider, target, record, values, failed } = await writeThroughFault(503);
      assert.match(failed.message, new RegExp(`"${c.name}"|${c.name}`, "i"), "the error names the provider");
      await provider.addTxtValues(target, record, values, 60);
      await provider.removeTxtValues(target, record, values);
      assert.deepEqual(txtValues(stack, info.zones), []);
    });

    it("a 429 with Retry-After fails the call at once carrying it; the durable driver reads it back from the failure", async () => {
      // Failed at once: a retry in-process would have written through the single injected 429.
      const { failed } = await writeThroughFault(429);
      assert.equal(failed.retryAfterMs, 7_000, `the Retry-After is kept: ${failed.message}`);
      assert.match(failed.message, /\(Retry-After: 7 s\)/);
      // On Azure an orchestrator gets a failed activity's message only: the Retry-After travels in it.
      const seen = taskError(new Error(`Activity function 'presentChallenges' failed: ${failed.message} \n Result: Failure`));
      assert.equal(seen.retryAfterMs, 7_000);
      assert.deepEqual(txtValues(stack, info.zones), [], "nothing written");
    });
  });
}
