/**
 * The issuance steps (src/issuance/steps.ts) one by one against the local stack (Pebble behind the ACME proxy, the
 * Key Vault and Azure DNS stand-ins, the stack's DNS server), each answer and each progress event checked exactly:
 * mapLimit's order and concurrency, validateRequest's one ValidationError and its normalized result, placeOrder's
 * challenges and progress (created / carried on, deactivation when the challenges cannot be read), grouping by
 * record set, presenting / awaiting / cleaning up TXT values, validation, the pending operation and its tags,
 * finalization, the chain download and abandoning an issuance. Where a remote cannot produce an answer (a DNS
 * provider that fails a removal), the dependency is wrapped in this file.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createOrder } from "../../src/acme/order";
import type { ChallengeTarget } from "../../src/dns/delegation";
import type { DnsZone } from "../../src/dns/provider";
import type { DnsRouter } from "../../src/dns/router";
import type { IssuanceDeps, IssuanceSettings } from "../../src/issuance";
import {
  abandonIssuance,
  awaitPropagation,
  cleanupChallenges,
  downloadCertificateChain,
  finalizeWithVaultCsr,
  groupByRecordSet,
  mapLimit,
  placeOrder,
  preparePendingOperation,
  presentChallenges,
  validateChallenges,
  validateRequest,
  writingProviders,
  type ChallengeRecord,
  type ValidatedRequest,
} from "../../src/issuance/steps";
import { createPending, getPending } from "../../src/keyvault/certificates";
import { buildCertificatePolicy, parseKeyOptions } from "../../src/keyvault/policy";
import { manualPendingTags } from "../../src/keyvault/tags";
import { ConflictError, OwnershipError, UpstreamError, ValidationError } from "../../src/shared/errors";
import { hookAcmeRequests, rejection } from "../support/rejections";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackDeps, txtRecords } from "./helpers";

let stack: TestStack;
let zones: DnsZone[];
before(async () => {
  // Directory meta (none added) puts the ACME proxy in front of Pebble: it records each newOrder payload.
  stack = await startTestStack({ acmeDirectoryMeta: {} });
  zones = await stackDeps(stack).dns.listZones();
});
after(async () => stack?.close());

const zoneName = () => stack.info.zones[0] as string;
const zone = () => zones.find((z) => z.name === zoneName()) as DnsZone;

let counter = 0;
/** A name no other test of the file uses (the account's order list and the vault are shared). */
const unique = (label: string) => `${label}-${++counter}.${zoneName()}`;

type ProgressCall = [step: string, message: string, data?: Record<string, unknown>] | [string, string];
/** Fresh dependencies (a new ACME session) whose progress events are recorded, with the arguments as given. */
function recorded(extra: Partial<IssuanceSettings> = {}): { deps: IssuanceDeps; calls: ProgressCall[] } {
  const calls: ProgressCall[] = [];
  const deps: IssuanceDeps = { ...stackDeps(stack, extra), progress: (...args) => void calls.push(args as ProgressCall) };
  return { deps, calls };
}

/** The deps' DNS router with some methods replaced (the others still reach the stack's Azure DNS stand-in). */
function wrapDns(dns: DnsRouter, overrides: Partial<Pick<DnsRouter, "addTxtValues" | "removeTxtValues" | "waitUntilLive">>): DnsRouter {
  return Object.assign(Object.create(dns) as DnsRouter, overrides);
}

const txt = () => randomBytes(32).toString("base64url");

/** A DNS-01 challenge as placeOrder returns it, for the steps that only handle TXT values. */
function challenge(z: DnsZone, recordName: string, txtValue: string, status = "pending"): ChallengeRecord {
  return {
    authorizationUrl: `https://ca.test/authz/${recordName}`,
    identifier: `${recordName.replace(/^_acme-challenge\.?/, "")}.${z.name}`,
    challengeUrl: `https://ca.test/chall/${recordName}`,
    token: "token",
    txtValue,
    status,
    zone: z,
    recordName,
    fqdn: `${recordName}.${z.name}`,
  };
}

/** The TXT record sets of these names (fqdn -> values), the absent ones left out. */
async function records(...fqdns: string[]): Promise<Record<string, string[]>> {
  const all = await txtRecords(stack);
  return Object.fromEntries(fqdns.filter((f) => all[f] !== undefined).map((f) => [f, all[f] as string[]]));
}

/** The target validateRequest computes for `name` in the stack's first zone (no delegation). */
function ownTarget(name: string): ChallengeTarget {
  const base = name.replace(/^\*\./, "");
  const recordName = `_acme-challenge.${base.slice(0, -(zoneName().length + 1))}`;
  return { zone: zone(), recordName, fqdn: `_acme-challenge.${base}` };
}

/** A validated request for names in the stack's first zone, built by hand (the steps take JSON). */
function validated(dnsNames: string[], certificateName = dnsNames[0]!.replace(/\*/g, "wildcard").replace(/\./g, "-")): ValidatedRequest {
  return {
    dnsNames,
    certificateName,
    vault: "default",
    keyOptions: parseKeyOptions({ keyType: "EC-P256" }),
    targets: dnsNames.map(ownTarget),
    tags: {},
  };
}

const newOrderPayloads = () => stack.acmeProxy!.newOrders;
/** Lets every started promise chain run until it waits on something not yet resolved. */
const flush = () => new Promise<void>((r) => setImmediate(r));

/** An issued certificate kv-acme does not manage (Key Vault's self-signed issuer, no tags). */
async function selfSigned(certificateName: string, dnsName: string): Promise<void> {
  const poller = await clients(stack).certificates.beginCreateCertificate(certificateName, {
    issuerName: "Self",
    subject: `CN=${dnsName}`,
    subjectAlternativeNames: { dnsNames: [dnsName] },
    validityInMonths: 12,
  });
  await poller.pollUntilDone();
}

describe("mapLimit", () => {
  it("never has more than `limit` in flight, starts the next as one finishes, and returns results in input order", async () => {
    const started: number[] = [];
    const release = new Map<number, (v: string) => void>();
    let inFlight = 0;
    let maxInFlight = 0;
    const done = mapLimit([0, 1, 2, 3, 4], 2, (i) => {
      started.push(i);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      return new Promise<string>((resolve) =>
        release.set(i, (v) => {
          inFlight--;
          resolve(v);
        }),
      );
    });
    await flush();
    assert.deepEqual(started, [0, 1]);
    release.get(1)!("r1");
    await flush();
    assert.deepEqual(started, [0, 1, 2]);
    release.get(2)!("r2");
    await flush();
    assert.deepEqual(started, [0, 1, 2, 3]);
    for (const i of [3, 0, 4]) {
      release.get(i)!(`r${i}`);
      await flush();
    }
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    assert.deepEqual(await done, ["r0", "r1", "r2", "r3", "r4"]);
    assert.equal(maxInFlight, 2);
  });

  it("a limit larger than the items runs each item once, all at once", async () => {
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const results = await mapLimit(["a", "b", "c"], 10, async (s) => {
      calls.push(s);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await flush();
      inFlight--;
      return s.toUpperCase();
    });
    assert.deepEqual(results, ["A", "B", "C"]);
    assert.deepEqual(calls, ["a", "b", "c"]);
    assert.equal(maxInFlight, 3);
  });

  it("empty input: an empty result and no call", async () => {
    let calls = 0;
    assert.deepEqual(
      await mapLimit([], 4, async () => {
        calls++;
        return 1;
      }),
      [],
    );
    assert.equal(calls, 0);
  });
});

describe("validateRequest", () => {
  it("collects every input problem into one ValidationError, in the order the fields are checked", async () => {
    const { deps } = recorded();
    const err = await rejection(
      validateRequest(
        {
          vault: "nope",
          dnsNames: ["bad_name.example.com", "ok.example.com"],
          keyOptions: { keyType: "DSA" },
          certificateName: "bad name",
          issuerPins: ["xyz"],
        },
        deps,
      ),
      ValidationError,
    );
    assert.deepEqual(err.problems, [
      { field: "vault", message: 'no vault "nope" is configured (vaults: default)' },
      {
        field: "dnsNames[0]",
        message:
          '"bad_name.example.com": label "bad_name" may only contain letters, digits and hyphens, and may not start or end with a hyphen',
      },
      {
        field: "keyType",
        message:
          '"DSA" is not a supported key type; use one of RSA-2048, RSA-3072, RSA-4096, EC-P256, EC-P384, EC-P521, RSA-HSM-2048, RSA-HSM-3072, RSA-HSM-4096, EC-HSM-P256, EC-HSM-P384, EC-HSM-P521',
      },
      { field: "issuerPins[0]", message: 'must be an issuer certificate\'s SHA-1 thumbprint (40 hex digits), got "xyz"' },
      { field: "certificateName", message: 'certificate name "bad name" may only contain letters, digits and hyphens' },
    ]);
  });

  it("bad names without a certificate name: only the names' problems (no default name is derived)", async () => {
    const { deps } = recorded();
    const err = await rejection(validateRequest({ dnsNames: ["nodots"] }, deps), ValidationError);
    assert.deepEqual(err.problems, [
      { field: "dnsNames[0]", message: '"nodots" is not a fully qualified domain name (it needs at least two labels, like example.com)' },
    ]);
  });

  it("an unknown vault alone is the one problem", async () => {
    const { deps } = recorded();
    const err = await rejection(validateRequest({ vault: "elsewhere", dnsNames: [unique("vault")] }, deps), ValidationError);
    assert.deepEqual(err.problems, [{ field: "vault", message: 'no vault "elsewhere" is configured (vaults: default)' }]);
  });

  it("a request with only names: default certificate name from the first name, default key, own targets, no optional keys", async () => {
    const { deps, calls } = recorded();
    const apex = unique("minimal");
    const result = await validateRequest({ dnsNames: [`*.${apex}`, apex], replacesAriCertId: "", dnsAlias: "" }, deps);
    assert.deepEqual(result, {
      dnsNames: [`*.${apex}`, apex],
      certificateName: `wildcard-${apex.replace(/\./g, "-")}`,
      vault: "default",
      keyOptions: { keyType: "RSA", keySize: 2048, reuseKey: false, exportable: true, contentType: "application/x-pkcs12" },
      targets: [ownTarget(apex), ownTarget(apex)],
      tags: {},
    });
    assert.deepEqual(Object.keys(result), ["dnsNames", "certificateName", "vault", "keyOptions", "targets", "tags"]);
    assert.deepEqual(calls, []);
  });

  it('an empty certificateName ("") is the default name from the first DNS name', async () => {
    const { deps } = recorded();
    const name = unique("Empty-Name");
    const result = await validateRequest({ dnsNames: [name.toUpperCase()], certificateName: "" }, deps);
    assert.equal(result.certificateName, name.toLowerCase().replace(/\./g, "-"));
    assert.deepEqual(result.dnsNames, [name.toLowerCase()]);
  });

  it("every optional field given: copied, the alias trimmed, lower-cased and without its trailing dot, pins normalized", async () => {
    const { deps } = recorded();
    const session = await deps.acme();
    session.directory = { ...session.directory, meta: { ...session.directory.meta, profiles: { shortlived: "6 days" } } };
    const name = unique("full");
    const alias = `alias-${counter}.${zoneName()}`;
    const pin = "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01";
    const result = await validateRequest(
      {
        dnsNames: name,
        certificateName: `Full-${counter}`,
        keyOptions: { keyType: "EC-P384", contentType: "pem" },
        replacesAriCertId: "aaaa.bbbb",
        dnsAlias: ` ${alias.toUpperCase()}. `,
        issuerPins: [pin],
        preferredChain: "Some Root",
        profile: "shortlived",
        tags: { team: "web" },
      },
      deps,
    );
    const aliasTarget = ownTarget(alias);
    assert.deepEqual(result, {
      dnsNames: [name],
      certificateName: `Full-${counter}`,
      vault: "default",
      keyOptions: { keyType: "EC", curve: "P-384", reuseKey: false, exportable: true, contentType: "application/x-pem-file" },
      targets: [{ ...aliasTarget, delegation: { from: aliasTarget.fqdn, via: "dnsAlias", chain: [aliasTarget.fqdn] } }],
      preferredChain: "Some Root",
      profile: "shortlived",
      tags: { team: "web" },
      replacesAriCertId: "aaaa.bbbb",
      dnsAlias: alias,
      issuerPins: ["ABCDEF0123456789ABCDEF0123456789ABCDEF01"],
    });
  });

  it("bad issuer pins alone (names, key and certificate name fine) are a ValidationError", async () => {
    const { deps } = recorded();
    const err = await rejection(
      validateRequest({ dnsNames: [unique("pins-bad")], issuerPins: ["not-a-thumbprint"] }, deps),
      ValidationError,
    );
    assert.deepEqual(
      err.problems.map((p) => p.field),
      ["issuerPins[0]"],
    );
  });

  it("a dnsAlias takes one custom tag from the budget: 5 custom tags pass without one and are refused with one", async () => {
    const { deps } = recorded();
    const tags = Object.fromEntries(["a", "b", "c", "d", "e"].map((k) => [`t-${k}`, "v"]));
    const apex = unique("budget");
    assert.deepEqual((await validateRequest({ dnsNames: [apex], tags }, deps)).tags, tags);
    const alias = unique("budget-alias");
    const err = await rejection(validateRequest({ dnsNames: [unique("budget")], tags, dnsAlias: alias }, deps), ValidationError);
    assert.deepEqual(
      err.problems.map((p) => p.field),
      ["tags"],
    );
  });

  it("an empty issuer pin list is kept (it clears the certificate's pins)", async () => {
    const { deps } = recorded();
    const result = await validateRequest({ dnsNames: [unique("pins")], issuerPins: [] }, deps);
    assert.deepEqual(result.issuerPins, []);
  });

  it("the CAA pre-flight gets the request's validation run (none when it has none)", async () => {
    const { deps } = recorded();
    const session = await deps.acme();
    session.directory = { ...session.directory, meta: { ...session.directory.meta, caaIdentities: ["pebble.test"] } };
    const runs: (string | undefined)[] = [];
    const withCaa: IssuanceDeps = {
      ...deps,
      caaLookup: async (_name, _zones, run) => {
        runs.push(run);
        return { records: [] };
      },
    };
    await validateRequest({ dnsNames: [unique("caa")], validationRun: "run-7" }, withCaa);
    assert.ok(runs.length > 0);
    assert.deepEqual(new Set(runs), new Set(["run-7"]));
    runs.length = 0;
    await validateRequest({ dnsNames: [unique("caa")] }, withCaa);
    assert.ok(runs.length > 0);
    assert.deepEqual(new Set(runs), new Set([undefined]));
  });

  it("an issued certificate kv-acme does not manage is refused unless adopted; another certificate with its name is an overlap", async () => {
    const { deps } = recorded();
    const name = unique("owned");
    const certificateName = `self-${counter}`;
    await selfSigned(certificateName, name);
    const refused = await rejection(validateRequest({ dnsNames: [name], certificateName }, deps), OwnershipError);
    assert.equal(refused.code, "CertificateNotManaged");
    assert.equal((await validateRequest({ dnsNames: [name], certificateName, adopt: true }, deps)).certificateName, certificateName);

    const other = `other-${counter}`;
    const overlap = await rejection(validateRequest({ dnsNames: [name], certificateName: other }, deps), ConflictError);
    assert.equal(overlap.code, "CertificateNamesOverlap");
    assert.equal(
      (await validateRequest({ dnsNames: [name], certificateName: other, allowNameOverlap: true }, deps)).certificateName,
      other,
    );
    const checkedNow = { dnsNames: [name], certificateName: other, overlapCheckedAt: new Date().toISOString() };
    assert.equal((await validateRequest(checkedNow, deps)).certificateName, other, "the guard passed for this request just now");
  });

  it("a certificate whose unissued version is a manual pending operation in progress is refused (409)", async () => {
    const { deps } = recorded();
    const name = unique("manual");
    const certificateName = `manual-${counter}`;
    await createPending(deps.certificates, certificateName, buildCertificatePolicy([name], parseKeyOptions({})), {
      tags: manualPendingTags({ dnsNames: [name], createdAt: new Date() }),
    });
    const err = await rejection(validateRequest({ dnsNames: [name], certificateName }, deps), ConflictError);
    assert.equal(err.code, "ManualPendingOperation");
  });
});

describe("placeOrder", () => {
  it("creates the order: each challenge with its target, one progress event naming names and challenges to answer", async () => {
    const { deps, calls } = recorded();
    const [a, b] = [unique("place-a"), unique("place-b")];
    const request = validated([a, `*.${b}`]);
    const plan = await placeOrder(request, deps);
    assert.equal(plan.order.status, "pending");
    assert.deepEqual([...plan.order.identifiers].sort(), [a, `*.${b}`].sort());
    assert.equal(plan.challenges.length, 2);
    for (const c of plan.challenges) {
      assert.deepEqual(Object.keys(c).sort(), [
        "authorizationUrl",
        "challengeUrl",
        "fqdn",
        "identifier",
        "recordName",
        "status",
        "token",
        "txtValue",
        "zone",
      ]);
      assert.equal(c.status, "pending");
      const target = request.targets[request.dnsNames.indexOf(c.identifier)]!;
      assert.deepEqual({ zone: c.zone, recordName: c.recordName, fqdn: c.fqdn }, target);
    }
    assert.deepEqual(calls, [
      ["order", "order created for 2 name(s), 2 challenge(s) to answer", { orderUrl: plan.order.url, reused: false }],
    ]);
    assert.deepEqual(newOrderPayloads().at(-1), { identifiers: [a, `*.${b}`].map((value) => ({ type: "dns", value })) });
  });

  it("sends the request's profile and replaces (where the directory offers renewalInfo); the app's profile otherwise", async () => {
    const { deps } = recorded();
    const session = await deps.acme();
    session.directory = { ...session.directory, renewalInfo: `${session.directoryUrl}/renewal-info` };
    const name = unique("place-controls");
    await placeOrder({ ...validated([name]), profile: "shortlived", replacesAriCertId: "aaaa.bbbb" }, deps);
    assert.deepEqual(newOrderPayloads().at(-1), {
      identifiers: [{ type: "dns", value: name }],
      profile: "shortlived",
      replaces: "aaaa.bbbb",
    });
    const app = recorded({ order: { ...deps.settings.order, acmeProfile: "shortlived" } });
    const other = unique("place-app-profile");
    await placeOrder(validated([other]), app.deps);
    assert.deepEqual(newOrderPayloads().at(-1), { identifiers: [{ type: "dns", value: other }], profile: "shortlived" });
  });

  it("carries on an order the account already has for the names (a new session), and says so", async () => {
    const dnsNames = [unique("place-reuse"), unique("place-reuse")];
    const orphan = await createOrder(await stackDeps(stack).acme(), { dnsNames });
    const { deps, calls } = recorded();
    const plan = await placeOrder(validated(dnsNames), deps);
    assert.equal(plan.order.url, orphan.url);
    assert.deepEqual(calls, [
      ["order", "order carried on for 2 name(s), 2 challenge(s) to answer", { orderUrl: orphan.url, reused: true }],
    ]);
  });

  it("when the challenges cannot be read, the order's authorizations are deactivated and the read's failure thrown", async () => {
    const { deps, calls } = recorded();
    const session = await deps.acme();
    const create = session.client.createOrder.bind(session.client);
    let created: Awaited<ReturnType<typeof create>> | undefined;
    session.client.createOrder = async (payload) => (created = await create(payload));
    const get = session.client.getAuthorizations.bind(session.client);
    let failed = false;
    session.client.getAuthorizations = (o) => {
      if (failed) return get(o);
      failed = true;
      return Promise.reject(new Error("socket hang up"));
    };
    const err = await rejection(placeOrder(validated([unique("place-unreadable"), unique("place-unreadable")]), deps), UpstreamError);
    assert.equal(err.message, "ACME: reading the authorizations failed: socket hang up");
    assert.ok(created);
    assert.deepEqual(
      (await get(created)).map((a) => a.status),
      ["deactivated", "deactivated"],
    );
    assert.deepEqual(calls, []);
  });

  it("a challenge for a name the request has no target for fails naming the identifier; the authorizations are deactivated", async () => {
    const { deps, calls } = recorded();
    const session = await deps.acme();
    const create = session.client.createOrder.bind(session.client);
    let created: Awaited<ReturnType<typeof create>> | undefined;
    session.client.createOrder = async (payload) => (created = await create(payload));
    const [a, b] = [unique("place-extra"), unique("place-extra")];
    const request = { ...validated([a, b]), targets: [ownTarget(a)] };
    await assert.rejects(placeOrder(request, deps), {
      name: "Error",
      message: `the CA returned a challenge for ${b}, which the order did not ask for`,
    });
    assert.ok(created);
    assert.deepEqual(
      (await session.client.getAuthorizations(created)).map((a) => a.status),
      ["deactivated", "deactivated"],
    );
    assert.deepEqual(calls, []);
  });
});

describe("groupByRecordSet and writingProviders", () => {
  const z = (provider: string, id: string, name = "example.com"): DnsZone => ({ provider, id, name, nameServers: [] });

  it("apex and wildcard share one record set; a value given twice is kept once; zone ids compared without case", () => {
    const zone1 = z("azure", "/Zones/Example.com");
    const zone1Lower = z("azure", "/zones/example.com");
    const groups = groupByRecordSet([
      challenge(zone1, "_acme-challenge.www", "v1"),
      challenge(zone1Lower, "_acme-challenge.www", "v2"),
      challenge(zone1, "_acme-challenge.www", "v1"),
    ]);
    assert.deepEqual(groups, [
      { zone: zone1, recordName: "_acme-challenge.www", fqdn: "_acme-challenge.www.example.com", values: ["v1", "v2"] },
    ]);
  });

  it("different providers, zones or record names are apart, in first-seen order", () => {
    const [a, b, c] = [z("azure", "/zones/example.com"), z("bind", "/zones/example.com"), z("azure", "/zones/example.org", "example.org")];
    const groups = groupByRecordSet([
      challenge(a, "_acme-challenge", "v1"),
      challenge(b, "_acme-challenge", "v2"),
      challenge(a, "_acme-challenge.www", "v3"),
      challenge(c, "_acme-challenge", "v4"),
      challenge(a, "_acme-challenge", "v5"),
    ]);
    assert.deepEqual(
      groups.map((g) => [g.zone.provider, g.zone.name, g.recordName, g.values]),
      [
        ["azure", "example.com", "_acme-challenge", ["v1", "v5"]],
        ["bind", "example.com", "_acme-challenge", ["v2"]],
        ["azure", "example.com", "_acme-challenge.www", ["v3"]],
        ["azure", "example.org", "_acme-challenge", ["v4"]],
      ],
    );
    assert.deepEqual(groupByRecordSet([]), []);
  });

  it("writingProviders: the providers of the targets, sorted, once each, comma-joined", () => {
    const target = (provider: string): ChallengeTarget => ({ zone: z(provider, provider), recordName: "_acme-challenge", fqdn: "x" });
    assert.equal(writingProviders([target("zeta"), target("alpha"), target("zeta"), target("mid")]), "alpha,mid,zeta");
    assert.equal(writingProviders([target("azure")]), "azure");
    assert.equal(writingProviders([]), "");
  });
});

describe("presentChallenges, awaitPropagation and cleanupChallenges", () => {
  it("presents only pending challenges, one write per record set with the challenge TTL, waits for each, one progress event", async () => {
    const { deps, calls } = recorded();
    const adds: unknown[][] = [];
    const waits: unknown[][] = [];
    const dns = deps.dns;
    const wrapped: IssuanceDeps = {
      ...deps,
      dns: wrapDns(dns, {
        addTxtValues: (...args) => {
          adds.push(args);
          return dns.addTxtValues(...args);
        },
        waitUntilLive: (...args) => {
          waits.push(args);
          return dns.waitUntilLive(...args);
        },
      }),
    };
    const label = `present-${++counter}`;
    const [v1, v2, v3, v4] = [txt(), txt(), txt(), txt()];
    const challenges = [
      challenge(zone(), `_acme-challenge.${label}`, v1),
      challenge(zone(), `_acme-challenge.${label}`, v2),
      challenge(zone(), `_acme-challenge.www.${label}`, v3),
      challenge(zone(), `_acme-challenge.valid.${label}`, v4, "valid"),
    ];
    assert.deepEqual(await presentChallenges(challenges, wrapped), { recordSets: 2 });
    assert.deepEqual(adds, [
      [zone(), `_acme-challenge.${label}`, [v1, v2], 60],
      [zone(), `_acme-challenge.www.${label}`, [v3], 60],
    ]);
    assert.deepEqual(waits, [
      [zone(), undefined, { timeoutMs: 20_000 }],
      [zone(), undefined, { timeoutMs: 20_000 }],
    ]);
    const fqdns = challenges.map((c) => c.fqdn);
    assert.deepEqual(await records(...fqdns), { [fqdns[0]!]: [v1, v2], [fqdns[2]!]: [v3] });
    assert.deepEqual(calls, [["dns", "TXT values added to 2 record set(s) through azure", { providers: ["azure"] }]]);

    // Visible at once on the stack's DNS server: one query per record set, the override resolver as the zone's server.
    calls.length = 0;
    const propagation = await awaitPropagation(challenges, wrapped);
    assert.deepEqual(propagation, { elapsedMs: propagation.elapsedMs, queries: 2, servers: { [zoneName()]: [stack.info.dnsServer] } });
    assert.deepEqual(calls, [["dns", `TXT values visible on all authoritative servers after ${propagation.elapsedMs} ms`]]);

    calls.length = 0;
    assert.deepEqual(await cleanupChallenges(challenges, wrapped), { recordSets: 3 });
    assert.deepEqual(await records(...fqdns), {});
    assert.deepEqual(calls, []);
  });

  it("names each provider once, in the order first seen, joined with a comma and a space", async () => {
    const { deps, calls } = recorded();
    const stubbed: IssuanceDeps = {
      ...deps,
      dns: wrapDns(deps.dns, { addTxtValues: async () => undefined, waitUntilLive: async () => undefined }),
    };
    const zeta: DnsZone = { provider: "zeta", id: "z1", name: "zeta.test", nameServers: [] };
    const alpha: DnsZone = { provider: "alpha", id: "a1", name: "alpha.test", nameServers: [] };
    const result = await presentChallenges(
      [challenge(zeta, "_acme-challenge", "v1"), challenge(alpha, "_acme-challenge", "v2"), challenge(zeta, "_acme-challenge.www", "v3")],
      stubbed,
    );
    assert.deepEqual(result, { recordSets: 3 });
    assert.deepEqual(calls, [["dns", "TXT values added to 3 record set(s) through zeta, alpha", { providers: ["zeta", "alpha"] }]]);
  });

  it("no pending challenge: nothing written or queried, zero record sets, a zero propagation result", async () => {
    const { deps, calls } = recorded();
    let dnsCalls = 0;
    const counted: IssuanceDeps = {
      ...deps,
      dns: wrapDns(deps.dns, {
        addTxtValues: async () => void dnsCalls++,
        waitUntilLive: async () => void dnsCalls++,
      }),
      settings: { ...deps.settings, dnsResolver: "192.0.2.1:53" },
    };
    const valid = [challenge(zone(), `_acme-challenge.none-${++counter}`, txt(), "valid")];
    assert.deepEqual(await awaitPropagation(valid, counted), { elapsedMs: 0, queries: 0, servers: {} });
    assert.deepEqual(await awaitPropagation([], counted), { elapsedMs: 0, queries: 0, servers: {} });
    assert.deepEqual(calls, []);
    assert.deepEqual(await presentChallenges(valid, counted), { recordSets: 0 });
    assert.equal(dnsCalls, 0);
    assert.deepEqual(calls, [["dns", "TXT values added to 0 record set(s) through ", { providers: [] }]]);
  });

  it("cleanup removes exactly our values: another value in the same record set stays", async () => {
    const { deps } = recorded();
    const label = `_acme-challenge.shared-${++counter}`;
    const [ours1, ours2, theirs] = [txt(), txt(), txt()];
    await deps.dns.addTxtValues(zone(), label, [theirs], 60);
    const ours = [challenge(zone(), label, ours1), challenge(zone(), label, ours2, "valid")];
    await presentChallenges(ours, deps);
    const fqdn = `${label}.${zoneName()}`;
    assert.deepEqual(await records(fqdn), { [fqdn]: [theirs, ours1] });
    await deps.dns.addTxtValues(zone(), label, [ours2], 60);
    assert.deepEqual(await cleanupChallenges(ours, deps), { recordSets: 1 });
    assert.deepEqual(await records(fqdn), { [fqdn]: [theirs] });
    await deps.dns.removeTxtValues(zone(), label, [theirs]);
  });

  it("failed removals: one Error naming each record set and its failure, the others still removed", async () => {
    const { deps } = recorded();
    const n = ++counter;
    const [fa, ok, fb] = [`_acme-challenge.fail-a-${n}`, `_acme-challenge.ok-${n}`, `_acme-challenge.fail-b-${n}`];
    const value = txt();
    await deps.dns.addTxtValues(zone(), ok, [value], 60);
    const dns = deps.dns;
    const failing: IssuanceDeps = {
      ...deps,
      dns: wrapDns(dns, {
        removeTxtValues: (z, recordName, values) =>
          recordName === ok ? dns.removeTxtValues(z, recordName, values) : Promise.reject(new Error(`refused ${recordName}`)),
      }),
    };
    await assert.rejects(
      cleanupChallenges([challenge(zone(), fa, txt()), challenge(zone(), ok, value), challenge(zone(), fb, txt())], failing),
      {
        name: "Error",
        message: `Could not remove TXT values: ${fa}.${zoneName()}: refused ${fa}; ${fb}.${zoneName()}: refused ${fb}`,
      },
    );
    assert.deepEqual(await records(`${ok}.${zoneName()}`), {});
  });
});

describe("one issuance step by step: validation, pending operation, finalize, chain", () => {
  it("runs every step with its progress events and results", async () => {
    const { deps, calls } = recorded();
    const apex = unique("flow");
    const request = await validateRequest(
      { dnsNames: [apex, `*.${apex}`], keyOptions: { keyType: "EC-P256" }, tags: { team: "web" }, preferredChain: "Chain CN" },
      deps,
    );
    const plan = await placeOrder(request, deps);
    assert.deepEqual(await presentChallenges(plan.challenges, deps), { recordSets: 1 });
    await awaitPropagation(plan.challenges, deps);
    calls.length = 0;

    const ready = await validateChallenges(plan, deps);
    assert.equal(ready.status, "ready");
    assert.equal(ready.url, plan.order.url);
    assert.deepEqual(calls, [["acme", "all 2 authorization(s) valid"]]);

    // A restarted process (a new session) carries the ready order on: nothing left to answer.
    const reuse = recorded();
    const again = await placeOrder(request, reuse.deps);
    assert.equal(again.order.url, plan.order.url);
    assert.deepEqual(
      again.challenges.map((c) => c.status),
      ["valid", "valid"],
    );
    assert.deepEqual(reuse.calls, [
      ["order", "order carried on for 2 name(s), 0 challenge(s) to answer", { orderUrl: plan.order.url, reused: true }],
    ]);

    calls.length = 0;
    const pending = await preparePendingOperation(request, deps);
    assert.equal(pending.action, "created");
    assert.equal(pending.reason, "no usable pending operation");
    assert.deepEqual(calls, [["keyvault", `pending operation created for ${request.certificateName}: no usable pending operation`]]);
    const versions: Record<string, string>[] = [];
    for await (const p of clients(stack).certificates.listPropertiesOfCertificateVersions(request.certificateName))
      versions.push(p.tags ?? {});
    assert.deepEqual(versions, [
      {
        team: "web",
        "kv-acme-managed": "true",
        "kv-acme-acme-directory": stack.info.acmeDirectoryUrl,
        "kv-acme-dns-names": `${apex},*.${apex}`,
        "kv-acme-dns-provider": "azure",
        "kv-acme-preferred-chain": "Chain CN",
      },
    ]);
    calls.length = 0;
    const reused = await preparePendingOperation(request, deps);
    assert.equal(reused.action, "reused");
    assert.deepEqual(calls, [["keyvault", `pending operation reused for ${request.certificateName}: ${reused.reason}`]]);

    calls.length = 0;
    const valid = await finalizeWithVaultCsr({ order: ready, csr: pending.pending.csr }, deps);
    assert.equal(valid.status, "valid");
    assert.match(valid.certificate!, /\/certZ?\//);
    assert.deepEqual(calls, [["acme", "certificate issued"]]);

    calls.length = 0;
    const plain = await downloadCertificateChain({ order: valid }, deps);
    assert.equal(plain.choice, undefined);
    assert.equal(plain.chain.length, 2);
    assert.deepEqual(calls, [], "no preferred chain: no progress event");

    const chosen = await downloadCertificateChain({ order: valid, preferredChain: "nope" }, deps);
    const offered = chosen.choice!.offered;
    assert.deepEqual(chosen.choice, { preferredChain: "nope", matched: false, offered });
    assert.equal(offered.length, 1);
    assert.deepEqual(calls, [["acme", `no chain issued by "nope" among 1 offered (${offered[0]}): the default chain`]]);

    // The app's preferred chain applies when the certificate has none.
    const app = recorded({ order: { ...deps.settings.order, preferredChain: offered[0] } });
    const matched = await downloadCertificateChain({ order: valid }, app.deps);
    assert.deepEqual(matched.choice, { preferredChain: offered[0], matched: true, offered });
    assert.deepEqual(app.calls, [["acme", `chain issued by "${offered[0]}" chosen among 1 offered`]]);

    assert.deepEqual(await cleanupChallenges(plan.challenges, deps), { recordSets: 1 });
    assert.deepEqual(await records(`_acme-challenge.${apex}`), {});
  });
});

describe("abandonIssuance", () => {
  /** Fresh dependencies counting how often the ACME session is asked for. */
  function counting(): { deps: IssuanceDeps; acmeCalls: () => number } {
    const base = stackDeps(stack);
    let n = 0;
    return {
      deps: {
        ...base,
        acme: () => {
          n++;
          return base.acme();
        },
      },
      acmeCalls: () => n,
    };
  }

  it("nothing given, or an empty authorization list: nothing discarded or deactivated, no ACME session", async () => {
    const { deps, acmeCalls } = counting();
    assert.deepEqual(await abandonIssuance({}, deps), { pendingDiscarded: false, authorizationsDeactivated: 0 });
    assert.deepEqual(await abandonIssuance({ authorizationUrls: [] }, deps), { pendingDiscarded: false, authorizationsDeactivated: 0 });
    assert.deepEqual(await abandonIssuance({ certificateName: "" }, deps), { pendingDiscarded: false, authorizationsDeactivated: 0 });
    assert.equal(acmeCalls(), 0);
  });

  it("discards the certificate's pending operation with the attempt's request id only", async () => {
    const { deps, acmeCalls } = counting();
    const request = validated([unique("abandon-pending")]);
    const { pending } = await preparePendingOperation(request, deps);
    assert.equal(typeof pending.requestId, "string");
    const other = { certificateName: request.certificateName, requestId: "another-attempt" };
    assert.deepEqual(await abandonIssuance(other, deps), { pendingDiscarded: false, authorizationsDeactivated: 0 });
    assert.equal((await getPending(deps.certificates, request.certificateName))?.status, "inProgress");
    const own = { certificateName: request.certificateName, requestId: pending.requestId };
    assert.deepEqual(await abandonIssuance(own, deps), { pendingDiscarded: true, authorizationsDeactivated: 0 });
    assert.equal(await getPending(deps.certificates, request.certificateName), undefined);
    assert.deepEqual(await abandonIssuance(own, deps), { pendingDiscarded: false, authorizationsDeactivated: 0 });
    assert.equal(acmeCalls(), 0);
  });

  it("deactivates the authorizations still pending, and counts them", async () => {
    const { deps } = counting();
    const name = unique("abandon-authz");
    const order = await createOrder(await deps.acme(), { dnsNames: [name, `*.${name}`] });
    const input = { authorizationUrls: order.authorizations };
    assert.deepEqual(await abandonIssuance(input, deps), { pendingDiscarded: false, authorizationsDeactivated: 2 });
    assert.deepEqual(await abandonIssuance(input, deps), { pendingDiscarded: false, authorizationsDeactivated: 0 });
  });
});

describe("the settings' time budgets reach the waits (seconds, as milliseconds)", () => {
  /** Makes every read of `url` through the session answer `status` (a CA that never moves the order on). */
  async function stuckAt(deps: IssuanceDeps, url: string, status: string): Promise<void> {
    hookAcmeRequests(await deps.acme(), async (original, u, payload, codes) => {
      const res = await original(u, payload, codes);
      return u === url ? { ...res, data: { ...(res.data as object), status } } : res;
    });
  }

  it("validateChallenges waits acmeTimeoutSeconds for the order", async () => {
    const { deps } = recorded({ acmeTimeoutSeconds: 1 });
    const plan = await placeOrder(validated([unique("acme-timeout")]), deps);
    await stuckAt(deps, plan.order.url, "pending");
    const err = await rejection(validateChallenges(plan, deps), UpstreamError);
    assert.equal(err.message, `ACME: ${plan.order.url} still "pending" after 1 s`);
    assert.equal(err.status, 504);
  });

  it("finalizeWithVaultCsr waits acmeTimeoutSeconds for the certificate", async () => {
    const { deps } = recorded({ acmeTimeoutSeconds: 1 });
    const plan = await placeOrder(validated([unique("finalize-timeout")]), deps);
    await stuckAt(deps, plan.order.url, "processing");
    const err = await rejection(finalizeWithVaultCsr({ order: plan.order, csr: "" }, deps), UpstreamError);
    assert.equal(err.message, `ACME: ${plan.order.url} still "processing" after 1 s`);
  });

  it("awaitPropagation waits propagationTimeoutSeconds for the TXT values", async () => {
    const { deps } = recorded({ propagationTimeoutSeconds: 1 });
    const name = unique("propagation-timeout");
    const recordName = `_acme-challenge.${name.slice(0, -(zoneName().length + 1))}`;
    const err = await rejection(awaitPropagation([challenge(zone(), recordName, txt())], deps), UpstreamError);
    assert.ok(err.message.startsWith("TXT records not visible on every authoritative server after 1 s: "), err.message);
  });
});
