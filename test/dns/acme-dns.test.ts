/**
 * acme-dns provider against the acme-dns stand-in (Debian has no acme-dns package): registration and updates as its
 * README and pkg/api define them, the values served over real DNS by the stack's server, the two-value rolling set,
 * bad credentials, a restart, and issuance for an Azure DNS name whose _acme-challenge is a CNAME into acme-dns.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { promises as dns } from "node:dns";
import { after, before, describe, it } from "node:test";
import { AcmeDnsProvider, parseAcmeDnsAccounts, type AcmeDnsAccount } from "../../src/dns/acme-dns";
import type { HostedStandInInfo } from "../../src/local/dns/hosted";
import { issueCertificate } from "../../src/issuance";
import { UpstreamError } from "../../src/shared/errors";
import { stackDeps } from "../integration/helpers";
import { recordFetch } from "../support/recorder";
import { startTestStack, type TestStack } from "../support/stack";

const value = () => randomBytes(32).toString("base64url").slice(0, 43);

describe("acme-dns provider against its stand-in", { concurrency: false }, () => {
  let stack: TestStack;
  let info: HostedStandInInfo;
  let account: AcmeDnsAccount;
  let recorder: ReturnType<typeof recordFetch>;
  const provider = (a: AcmeDnsAccount = account) =>
    new AcmeDnsProvider({ apiUrl: info.options.apiUrl as string, accounts: parseAcmeDnsAccounts(JSON.stringify({ "example.com": a })) });
  const served = async (fqdn: string) => {
    const r = new dns.Resolver();
    r.setServers([stack.info.dnsServer]);
    return (await r.resolveTxt(fqdn).catch(() => [] as string[][])).map((c) => c.join("")).sort();
  };

  before(async () => {
    // The stand-in's fault rule is off until the fault test turns it on.
    stack = await startTestStack({ dns: ["acme-dns"], faults: "acme-dns=503:0%,acme-dns=429/7:0%" });
    info = stack.dns["acme-dns"]?.standIn?.info as HostedStandInInfo;
    recorder = recordFetch();
    const res = await fetch(`${info.options.apiUrl}/register`, { method: "POST" });
    assert.equal(res.status, 201);
    account = (await res.json()) as AcmeDnsAccount;
  });
  after(async () => {
    recorder?.stop();
    await stack?.close();
  });

  it("serves apex + wildcard values at the account's fulldomain over DNS; a third value evicts the oldest", async () => {
    const [zone] = await provider().listZones();
    assert.equal(zone?.name, "acme-dns.example");
    const [a, b, c] = [value(), value(), value()];
    await provider().addTxtValues(zone, account.subdomain, [a, b], 60);
    assert.deepEqual(await served(account.fulldomain), [a, b].sort());
    await provider().addTxtValues(zone, account.subdomain, [c], 60);
    assert.deepEqual(await served(account.fulldomain), [b, c].sort());
  });

  it("refuses more than two values at once, and bad credentials permanently, writing nothing", async () => {
    const [zone] = await provider().listZones();
    assert.ok(zone);
    const before = await served(account.fulldomain);
    const many = await provider()
      .addTxtValues(zone, account.subdomain, [value(), value(), value()], 60)
      .catch((e: unknown) => e);
    assert.ok(many instanceof UpstreamError && /at most 2/.test(many.message), String(many));
    const bad = await provider({ ...account, password: "x".repeat(40) })
      .addTxtValues(zone, account.subdomain, [value()], 60)
      .catch((e: unknown) => e);
    assert.ok(
      bad instanceof UpstreamError &&
        !bad.retryable &&
        bad.status === 401 &&
        bad.message.includes("acme-dns") &&
        bad.message.includes(zone.name),
      String(bad),
    );
    assert.deepEqual(await served(account.fulldomain), before);
  });

  it("fails retryably while its server is down and works with the same account once it is back", async () => {
    const [zone] = await provider().listZones();
    assert.ok(zone);
    const standIn = stack.dns["acme-dns"]?.standIn;
    assert.ok(standIn);
    await standIn.stop();
    const down = await provider()
      .addTxtValues(zone, account.subdomain, [value()], 60)
      .catch((e: unknown) => e);
    assert.ok(down instanceof UpstreamError && down.retryable, String(down));
    await standIn.start();
    const v = value();
    await provider().addTxtValues(zone, account.subdomain, [v], 60);
    assert.ok((await served(account.fulldomain)).includes(v));
  });

  it("issues apex + wildcard of an Azure DNS name whose _acme-challenge is a CNAME to the stack's acme-dns account", async () => {
    const registered = stack.info.dnsProviders?.["acme-dns"]?.account as AcmeDnsAccount;
    const label = `d${randomBytes(3).toString("hex")}`;
    await stack.zoneStore.createOrUpdateRecordSet(stack.info.resourceGroup, "example.com", `_acme-challenge.${label}`, "CNAME", {
      ttl: 60,
      properties: { CNAMERecord: { cname: registered.fulldomain } },
    });
    const issued = await issueCertificate({ dnsNames: [`${label}.example.com`, `*.${label}.example.com`] }, stackDeps(stack));
    assert.deepEqual(issued.dnsNames, [`${label}.example.com`, `*.${label}.example.com`]);
    assert.equal((await served(registered.fulldomain)).length, 2);
  });

  it("every exchange follows acme-dns's documented API", () => {
    const ours = recorder.exchanges.filter((e) => e.url.origin === new URL(info.url).origin);
    assert.ok(ours.length >= 6);
    for (const e of ours) {
      const body = JSON.parse(e.responseBody || "{}") as Record<string, unknown>;
      if (e.url.pathname === "/register") {
        assert.equal(e.status, 201);
        for (const f of ["username", "password", "fulldomain", "subdomain"]) assert.equal(typeof body[f], "string", f);
        assert.ok(Array.isArray(body.allowfrom));
      } else {
        assert.equal(e.url.pathname, "/update");
        assert.match(e.requestHeaders["x-api-user"] ?? "", /^[0-9a-f-]{36}$/);
        assert.equal((e.requestHeaders["x-api-key"] ?? "").length, 40);
        const sent = JSON.parse(e.requestBody) as Record<string, unknown>;
        assert.deepEqual(Object.keys(sent).sort(), ["subdomain", "txt"]);
        if (e.status === 200) assert.deepEqual(body, { txt: sent.txt });
        else assert.ok(e.status === 401 && body.error === "forbidden", `${e.status} ${e.responseBody}`);
      }
    }
  });

  it("honours the stack's fault options: an injected 503 fails an update retryably naming acme-dns, the next passes", async () => {
    const rule = stack.faults?.plan.rules.find((r) => r.target === "acme-dns");
    assert.ok(rule);
    const [zone] = await provider().listZones();
    assert.ok(zone);
    Object.assign(rule, { probability: 1, limit: 1 });
    const v = value();
    const failed = await provider()
      .addTxtValues(zone, account.subdomain, [v], 60)
      .then(
        () => assert.fail("updated through an injected 503"),
        (e: unknown) => e,
      );
    assert.ok(failed instanceof UpstreamError && failed.retryable, String(failed));
    assert.match(failed.message, /acme-dns/);
    assert.equal(stack.faults?.counts["acme-dns:503"], 1);
    await provider().addTxtValues(zone, account.subdomain, [v], 60);
    assert.ok((await served(`${account.fulldomain}`)).includes(v));
  });

  it("a 429 with Retry-After fails the update at once carrying it (the durable driver waits it in a timer)", async () => {
    const rule = stack.faults?.plan.rules.find((r) => r.target === "acme-dns" && r.fault.kind === "status" && r.fault.status === 429);
    assert.ok(rule);
    const [zone] = await provider().listZones();
    assert.ok(zone);
    Object.assign(rule, { probability: 1, limit: 1 });
    const failed = await provider()
      .addTxtValues(zone, account.subdomain, [value()], 60)
      .then(
        () => assert.fail("updated through an injected 429"),
        (e: unknown) => e,
      );
    assert.equal(stack.faults?.counts["acme-dns:429"], 1);
    assert.ok(failed instanceof UpstreamError && failed.retryable, String(failed));
    assert.equal(failed.retryAfterMs, 7_000, failed.message);
    assert.match(failed.message, /\(Retry-After: 7 s\)/);
  });
});
