/**
 * The ACME order steps (src/acme/order.ts) one by one against Pebble, each answer checked exactly: the order a
 * creation returns and the newOrder payload the CA received (profile, replaces only where the directory offers
 * renewalInfo, the retry without a refused `replaces`), the account's order list (every page, a page loop, entries
 * that are not URLs), which listed orders a new session carries on (pending and ready ones), the DNS-01 tasks and
 * their TXT values (RFC 8555 §8.4, computed here from the account key), answering (idempotent), validation (ready;
 * invalid naming each identifier with the CA's problem), finalization (idempotent, a lost answer, a refusal), the
 * chain download and deactivation. Where Pebble cannot produce an answer (a CA without dns-01, a page link), the
 * session's client is hooked in this file, the way a recorded answer would be replayed.
 */
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import * as acme from "acme-client";
import { internals, type AcmeSession } from "../../src/acme/client";
import {
  answerChallenges,
  createOrder,
  deactivatePendingAuthorizations,
  downloadChain,
  finalizeOrder,
  getDns01Tasks,
  getOrder,
  listAccountOrders,
  placeOrReuseOrder,
  waitForOrderReady,
  waitForValidation,
  type Dns01Task,
  type OrderRef,
} from "../../src/acme/order";
import { caOrders } from "../support/ca-orders";
import { hookAcmeRequests, rejection } from "../support/rejections";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackDeps } from "./helpers";

let stack: TestStack;
before(async () => {
  // Directory meta (none added) puts the ACME proxy in front of Pebble: it records each newOrder payload.
  stack = await startTestStack({ acmeDirectoryMeta: {} });
});
after(async () => stack?.close());

const session = () => stackDeps(stack).acme();
const zone = () => stack.info.zones[0] as string;
const poll = { intervalMs: 50, maxIntervalMs: 200, timeoutMs: 30_000 };

let counter = 0;
/** Names no other test of the file orders (the account's order list is shared by every session). */
function names(label: string, wildcard = false): string[] {
  const name = `${label}-${++counter}.${zone()}`;
  return wildcard ? [name, `*.${name}`] : [name];
}

/** Publishes each task's TXT value in the stack's DNS (Azure DNS stand-in), where Pebble's validation looks. */
async function publish(tasks: readonly Dns01Task[]): Promise<void> {
  const { dns } = clients(stack);
  const byRecord = new Map<string, string[]>();
  for (const t of tasks) {
    const record = `_acme-challenge.${t.identifier.replace(/^\*\./, "")}`.slice(0, -(zone().length + 1));
    byRecord.set(record, [...(byRecord.get(record) ?? []), t.txtValue]);
  }
  for (const [record, values] of byRecord) {
    await dns.recordSets.createOrUpdate(stack.info.resourceGroup, zone(), record, "TXT", {
      ttl: 60,
      txtRecords: values.map((v) => ({ value: [v] })),
    });
  }
}

/** An order validated up to "ready": created, its TXT values published, its challenges answered. */
async function readyOrder(s: AcmeSession, dnsNames: string[]): Promise<{ order: OrderRef; tasks: Dns01Task[] }> {
  const order = await createOrder(s, { dnsNames });
  const tasks = await getDns01Tasks(s, order);
  await publish(tasks);
  await answerChallenges(s, tasks);
  return { order: await waitForValidation(s, order, tasks, poll), tasks };
}

/** A CSR (base64 DER) for the names, from a key made for this run. */
function csrFor(dnsNames: string[]): Promise<string> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return acme.crypto
    .createCsr({ commonName: dnsNames[0], altNames: dnsNames }, privateKey.export({ type: "pkcs8", format: "pem" }))
    .then(([, csr]) => csr.toString().replace(/-----[^-]+-----|\s/g, ""));
}

/** What the CA's newOrder requests carried, from the ACME proxy in front of Pebble. */
const newOrderPayloads = () => stack.acmeProxy!.newOrders;

/** From now on, the CA's answers for `url` (an order or authorization) carry `patch` over what the CA sent. */
function patchAnswers(s: AcmeSession, url: string, patch: (data: Record<string, unknown>) => Record<string, unknown>): void {
  hookAcmeRequests(s, async (original, requested, payload, codes) => {
    const res = await original(requested, payload, codes);
    return requested === url ? { ...res, data: patch(res.data as Record<string, unknown>) } : res;
  });
}

/** Counts the session's order reads (of `url` only, when given): the returned function tells how many so far. */
function countOrderReads(s: AcmeSession, url?: string): () => number {
  let reads = 0;
  const getOrderOf = s.client.getOrder.bind(s.client);
  s.client.getOrder = (o) => {
    if (url === undefined || o.url === url) reads++;
    return getOrderOf(o);
  };
  return () => reads;
}

/** The `service` an UpstreamError names in its details. */
const serviceOf = (err: { details?: Record<string, unknown> }) => err.details?.service;

describe("createOrder", () => {
  it("returns the order's URL, status, finalize URL, authorizations, names and expiry, and no certificate yet", async () => {
    const dnsNames = names("create", true);
    const order = await createOrder(await session(), { dnsNames });
    assert.deepEqual(Object.keys(order).sort(), ["authorizations", "expires", "finalize", "identifiers", "status", "url"]);
    assert.equal(order.status, "pending");
    assert.deepEqual([...order.identifiers].sort(), [...dnsNames].sort());
    assert.equal(order.authorizations.length, 2);
    assert.match(order.url, /^https:\/\/.+\/my-order\/.+/);
    assert.match(order.finalize, /^https:\/\/.+\/finalize-order\/.+/);
    assert.ok(Date.parse(order.expires!) > Date.now(), order.expires);
    const payload = newOrderPayloads().at(-1);
    assert.deepEqual(payload, { identifiers: dnsNames.map((value) => ({ type: "dns", value })) });
  });

  it("sends the profile when one is asked for", async () => {
    const dnsNames = names("profile");
    await createOrder(await session(), { dnsNames, profile: "shortlived" });
    assert.deepEqual(newOrderPayloads().at(-1), { identifiers: [{ type: "dns", value: dnsNames[0] }], profile: "shortlived" });
  });

  it("leaves `replaces` out when the directory offers no renewalInfo", async () => {
    const s = await session();
    assert.equal(s.directory.renewalInfo, undefined, "the Debian Pebble serves no renewalInfo");
    const dnsNames = names("no-ari");
    const order = await createOrder(s, { dnsNames, replaces: "aaaa.bbbb" });
    assert.deepEqual(newOrderPayloads().at(-1), { identifiers: [{ type: "dns", value: dnsNames[0] }] });
    assert.equal(order.replaces, undefined);
    const placed = await placeOrReuseOrder(s, { dnsNames: names("no-ari-place"), replaces: "aaaa.bbbb" });
    assert.equal(placed.order.replaces, undefined);
    assert.equal(newOrderPayloads().at(-1)?.replaces, undefined);
  });

  it("sends `replaces` where the directory offers renewalInfo, and records it on the order", async () => {
    const s = await session();
    s.directory = { ...s.directory, renewalInfo: `${s.directoryUrl}/renewal-info` };
    const dnsNames = names("ari");
    const order = await createOrder(s, { dnsNames, replaces: "aaaa.bbbb" });
    assert.deepEqual(newOrderPayloads().at(-1), { identifiers: [{ type: "dns", value: dnsNames[0] }], replaces: "aaaa.bbbb" });
    assert.equal(order.replaces, "aaaa.bbbb");
  });

  for (const refusal of ["urn:ietf:params:acme:error:alreadyReplaced", "the certificate to replace is unknown", "409 conflict"]) {
    it(`retries once without \`replaces\` when the CA refuses it ("${refusal}")`, async () => {
      const s = await session();
      s.directory = { ...s.directory, renewalInfo: `${s.directoryUrl}/renewal-info` };
      const sent: unknown[] = [];
      const create = s.client.createOrder.bind(s.client);
      s.client.createOrder = (payload) => {
        sent.push(payload);
        return sent.length === 1 ? Promise.reject(new Error(refusal)) : create(payload);
      };
      const dnsNames = names("refused");
      const order = await createOrder(s, { dnsNames, replaces: "aaaa.bbbb" });
      const identifiers = [{ type: "dns", value: dnsNames[0] }];
      assert.deepEqual(sent, [{ identifiers, replaces: "aaaa.bbbb" }, { identifiers }]);
      assert.equal(order.replaces, undefined);
      assert.equal(order.status, "pending");
    });
  }

  it("does not retry a refusal that is not about `replaces`, nor one without `replaces`", async () => {
    for (const replaces of ["aaaa.bbbb", undefined]) {
      const s = await session();
      s.directory = { ...s.directory, renewalInfo: `${s.directoryUrl}/renewal-info` };
      let calls = 0;
      s.client.createOrder = () => {
        calls++;
        return Promise.reject(new Error(replaces ? "rejectedIdentifier" : "conflict over replaced names"));
      };
      const err = await rejection(createOrder(s, { dnsNames: names("refused-other"), ...(replaces ? { replaces } : {}) }));
      assert.equal(calls, 1);
      assert.equal(err.message, `ACME: creating the order failed: ${replaces ? "rejectedIdentifier" : "conflict over replaced names"}`);
      assert.equal(err.status, 502);
    }
  });

  it("a retry without `replaces` that fails too is reported as the creation's failure", async () => {
    const s = await session();
    s.directory = { ...s.directory, renewalInfo: `${s.directoryUrl}/renewal-info` };
    let calls = 0;
    s.client.createOrder = () => Promise.reject(new Error(++calls === 1 ? "alreadyReplaced" : "serverInternal: try later"));
    const err = await rejection(createOrder(s, { dnsNames: names("refused-twice"), replaces: "aaaa.bbbb" }));
    assert.equal(calls, 2);
    assert.equal(err.message, "ACME: creating the order failed: serverInternal: try later");
    assert.equal(err.retryable, true);
  });
});

describe("listAccountOrders", () => {
  it("lists the account's orders, the new one included", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("listed") });
    const urls = await listAccountOrders(s);
    assert.ok(urls?.includes(order.url), "the new order is listed");
    assert.deepEqual(new Set(urls), new Set((await caOrders(s)).map((o) => o.url)));
  });

  it("follows every Link rel=next page once, stops at a page it has read, and keeps only URL strings", async () => {
    const s = await session();
    const { data: account } = await internals(s.client).api.apiRequest(s.accountUrl, null, [200]);
    const listUrl = (account as { orders: string }).orders;
    const pages: Record<string, { orders: unknown; next?: string }> = {
      [listUrl]: { orders: ["https://ca.test/order/1", 7, null], next: `${listUrl}?cursor=2` },
      [`${listUrl}?cursor=2`]: { orders: ["https://ca.test/order/2"], next: `${listUrl}?cursor=3` },
      [`${listUrl}?cursor=3`]: { orders: "not a list", next: listUrl },
    };
    const requested: string[] = [];
    hookAcmeRequests(s, async (original, url, payload, codes) => {
      const page = pages[url];
      if (!page) return original(url, payload, codes);
      requested.push(url);
      const link = page.next ? { link: `<${page.next}> ;  rel="next", <https://ca.test/tos>;rel="terms-of-service"` } : {};
      return { status: 200, headers: { ...link }, data: { orders: page.orders } };
    });
    assert.deepEqual(await listAccountOrders(s), ["https://ca.test/order/1", "https://ca.test/order/2"]);
    assert.deepEqual(requested, [listUrl, `${listUrl}?cursor=2`, `${listUrl}?cursor=3`]);
  });

  it("a link to another relation is not followed", async () => {
    const s = await session();
    const { data: account } = await internals(s.client).api.apiRequest(s.accountUrl, null, [200]);
    const listUrl = (account as { orders: string }).orders;
    hookAcmeRequests(s, async (original, url, payload, codes) =>
      url === listUrl
        ? { status: 200, headers: { link: `<${listUrl}?cursor=2>;rel="prev"` }, data: { orders: ["https://ca.test/order/9"] } }
        : original(url, payload, codes),
    );
    assert.deepEqual(await listAccountOrders(s), ["https://ca.test/order/9"]);
  });

  it("is undefined for a CA whose account object has no orders list; placing an order there reads no order first", async () => {
    const s = await session();
    patchAnswers(s, s.accountUrl, (data) => ({ ...data, orders: undefined }));
    assert.equal(await listAccountOrders(s), undefined);
    const reads = countOrderReads(s);
    assert.equal((await placeOrReuseOrder(s, { dnsNames: names("no-list") })).reused, false);
    assert.equal(reads(), 0);
  });
});

describe("placeOrReuseOrder", () => {
  it("carries on a listed order that is ready (validated, not finalized), once", async () => {
    const dnsNames = names("reuse-ready");
    const { order } = await readyOrder(await session(), dnsNames);
    assert.equal(order.status, "ready");
    const s = await session();
    const first = await placeOrReuseOrder(s, { dnsNames });
    assert.deepEqual(first, { order: { ...order, status: "ready" }, reused: true });
    const second = await placeOrReuseOrder(s, { dnsNames });
    assert.equal(second.reused, false);
    assert.equal(second.order.status, "pending");
  });

  it("does not carry on a listed order that is valid (finalized)", async () => {
    const dnsNames = names("reuse-valid");
    const s0 = await session();
    const { order } = await readyOrder(s0, dnsNames);
    await finalizeOrder(s0, order, await csrFor(dnsNames), poll);
    const placed = await placeOrReuseOrder(await session(), { dnsNames });
    assert.equal(placed.reused, false);
    assert.notEqual(placed.order.url, order.url);
  });

  it("a listed order whose read fails is skipped and a new one created", async () => {
    const dnsNames = names("reuse-unreadable");
    const orphan = await createOrder(await session(), { dnsNames });
    const s = await session();
    const getOrderOf = s.client.getOrder.bind(s.client);
    s.client.getOrder = (o) => (o.url === orphan.url ? Promise.reject(new Error("connection reset")) : getOrderOf(o));
    const placed = await placeOrReuseOrder(s, { dnsNames });
    assert.equal(placed.reused, false);
    assert.notEqual(placed.order.url, orphan.url);
  });

  it("a finished listed order is read once, while listing, and not again when placing", async () => {
    const dnsNames = names("reuse-finished");
    const s0 = await session();
    const { order } = await readyOrder(s0, dnsNames);
    await finalizeOrder(s0, order, await csrFor(dnsNames), poll);
    const s = await session();
    const reads = countOrderReads(s, order.url);
    assert.equal((await placeOrReuseOrder(s, { dnsNames })).reused, false);
    assert.equal(reads(), 1);
  });

  // Pebble keeps neither a profile nor `replaces` on its orders: the listed order's answers carry them here.
  const cases: {
    title: string;
    listed: { profile?: string; replaces?: string };
    asked: { profile?: string; replaces?: string };
    renewalInfo: boolean;
    reused: boolean;
  }[] = [
    { title: "the same profile", listed: { profile: "shortlived" }, asked: { profile: "shortlived" }, renewalInfo: false, reused: true },
    { title: "a profile not asked for", listed: { profile: "shortlived" }, asked: {}, renewalInfo: false, reused: false },
    { title: "no profile where one is asked", listed: {}, asked: { profile: "shortlived" }, renewalInfo: false, reused: false },
    { title: "the same `replaces`", listed: { replaces: "aaaa.bbbb" }, asked: { replaces: "aaaa.bbbb" }, renewalInfo: true, reused: true },
    { title: "a `replaces` not asked for", listed: { replaces: "aaaa.bbbb" }, asked: {}, renewalInfo: true, reused: false },
    {
      title: "a `replaces` the directory cannot take (no renewalInfo)",
      listed: { replaces: "aaaa.bbbb" },
      asked: { replaces: "aaaa.bbbb" },
      renewalInfo: false,
      reused: false,
    },
  ];
  for (const c of cases) {
    it(`a listed order with ${c.title} is ${c.reused ? "carried on" : "not carried on"}`, async () => {
      const dnsNames = names("reuse-match");
      const orphan = await createOrder(await session(), { dnsNames });
      const s = await session();
      if (c.renewalInfo) s.directory = { ...s.directory, renewalInfo: `${s.directoryUrl}/renewal-info` };
      patchAnswers(s, orphan.url, (data) => ({ ...data, ...c.listed }));
      const placed = await placeOrReuseOrder(s, { dnsNames, ...c.asked });
      assert.equal(placed.reused, c.reused);
      if (c.reused) assert.deepEqual(placed.order, { ...orphan, ...(c.listed.replaces ? { replaces: c.listed.replaces } : {}) });
      else assert.notEqual(placed.order.url, orphan.url);
    });
  }

  it("a listed order that expires within ten minutes of `now` is not carried on", async () => {
    const dnsNames = names("reuse-expiring");
    const orphan = await createOrder(await session(), { dnsNames });
    const now = new Date(Date.parse(orphan.expires!) - 9 * 60_000);
    const placed = await placeOrReuseOrder(await session(), { dnsNames }, now);
    assert.equal(placed.reused, false);
    assert.notEqual(placed.order.url, orphan.url);
  });
});

describe("getOrder", () => {
  it("a failed read names the read, as the CA's failure (502, Acme)", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("read-fails") });
    s.client.getOrder = () => Promise.reject(new Error("connection reset"));
    const err = await rejection(getOrder(s, order));
    assert.equal(err.message, "ACME: reading the order failed: connection reset");
    assert.equal(err.status, 502);
    assert.equal(serviceOf(err), "Acme");
  });
});

describe("getDns01Tasks and answerChallenges", () => {
  it("one task per authorization: the identifier as asked (wildcard with *.), the dns-01 challenge and its TXT value", async () => {
    const s = await session();
    const dnsNames = names("tasks", true);
    const order = await createOrder(s, { dnsNames });
    const tasks = await getDns01Tasks(s, order);
    // RFC 7638: the SHA-256 of the key's required members in lexicographic order.
    const jwk = (s.client as unknown as { http: { getJwk(): Record<string, string> } }).http.getJwk();
    const members = jwk.kty === "EC" ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
    const thumbprint = createHash("sha256").update(JSON.stringify(members)).digest("base64url");
    assert.deepEqual(tasks.map((t) => t.identifier).sort(), [...dnsNames].sort());
    for (const t of tasks) {
      assert.deepEqual(Object.keys(t).sort(), ["authorizationUrl", "challengeUrl", "identifier", "status", "token", "txtValue"]);
      assert.equal(t.status, "pending");
      assert.ok(order.authorizations.includes(t.authorizationUrl));
      assert.match(t.challengeUrl, /\/chalZ?\//);
      assert.equal(t.txtValue, createHash("sha256").update(`${t.token}.${thumbprint}`).digest("base64url"));
    }
  });

  it("an authorization without a dns-01 challenge fails naming the identifier and the offered types", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("no-dns01") });
    const get = s.client.getAuthorizations.bind(s.client);
    s.client.getAuthorizations = async (o) =>
      // Pebble offers its three challenge types in any order: sorted here, so the message is known.
      (await get(o)).map((a) => ({
        ...a,
        challenges: a.challenges.filter((c) => c.type !== "dns-01").sort((x, y) => x.type.localeCompare(y.type)),
      }));
    const err = await rejection(getDns01Tasks(s, order));
    assert.equal(err.message, `ACME: the CA offers no dns-01 challenge for ${order.identifiers[0]} (offered: http-01, tls-alpn-01)`);
    assert.equal(serviceOf(err), "Acme");
  });

  it("a failed read of the authorizations names the read", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("authz-unreadable") });
    s.client.getAuthorizations = () => Promise.reject(new Error("socket hang up"));
    const err = await rejection(getDns01Tasks(s, order));
    assert.equal(err.message, "ACME: reading the authorizations failed: socket hang up");
  });

  it("answers each pending challenge once: a second call answers none", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("answer", true) });
    const tasks = await getDns01Tasks(s, order);
    await publish(tasks);
    assert.deepEqual(await answerChallenges(s, tasks), { answered: 2 });
    assert.deepEqual(await answerChallenges(s, tasks), { answered: 0 });
    assert.equal((await waitForValidation(s, order, tasks, poll)).status, "ready");
    assert.deepEqual(await answerChallenges(s, tasks), { answered: 0 }, "valid authorizations are not answered");
  });

  it("answers only the task's own challenge, and a failed answer names the identifier", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("answer-own") });
    const [task] = await getDns01Tasks(s, order);
    assert.ok(task);
    const completed: string[] = [];
    const complete = s.client.completeChallenge.bind(s.client);
    s.client.completeChallenge = (c) => {
      completed.push(c.url);
      return complete(c);
    };
    assert.deepEqual(await answerChallenges(s, [{ ...task, challengeUrl: `${task.challengeUrl}-elsewhere` }]), { answered: 0 });
    assert.deepEqual(completed, []);
    s.client.completeChallenge = () => Promise.reject(new Error("malformed"));
    const err = await rejection(answerChallenges(s, [task]));
    assert.equal(err.message, `ACME: answering the challenge for ${task.identifier} failed: malformed`);
  });
});

describe("answerChallenges on an authorization that is no longer pending", () => {
  it("a deactivated authorization is not answered, whatever its challenge says", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("answer-deactivated") });
    const [task] = await getDns01Tasks(s, order);
    assert.ok(task);
    assert.deepEqual(await deactivatePendingAuthorizations(s, order.authorizations), { deactivated: 1 });
    // Pebble lists no challenges on a deactivated authorization; another CA may still list its challenge as pending.
    patchAnswers(s, task.authorizationUrl, (data) => ({
      ...data,
      challenges: [{ type: "dns-01", url: task.challengeUrl, token: task.token, status: "pending" }],
    }));
    let completed = 0;
    s.client.completeChallenge = () => {
      completed++;
      return Promise.reject(new Error("the authorization is deactivated"));
    };
    assert.deepEqual(await answerChallenges(s, [task]), { answered: 0 });
    assert.equal(completed, 0);
  });
});

describe("waitForValidation and waitForOrderReady", () => {
  for (const status of ["processing", "valid"]) {
    it(`an order already "${status}" (finalized by an earlier run) is validated and ready`, async () => {
      const s = await session();
      const order = await createOrder(s, { dnsNames: names(`already-${status}`) });
      const tasks = await getDns01Tasks(s, order);
      patchAnswers(s, order.url, (data) => ({ ...data, status }));
      assert.deepEqual(await waitForValidation(s, order, tasks, poll), { ...order, status });
      assert.deepEqual(await waitForOrderReady(s, order, poll), { ...order, status });
    });
  }

  it("an order still pending is polled until it is ready", async () => {
    const s = await session();
    const dnsNames = names("still-pending");
    const order = await createOrder(s, { dnsNames });
    const tasks = await getDns01Tasks(s, order);
    await publish(tasks);
    await answerChallenges(s, tasks);
    let reads = 0;
    // The first two reads find the order pending, as a CA that takes a while to validate answers.
    patchAnswers(s, order.url, (data) => (++reads <= 2 ? { ...data, status: "pending" } : data));
    assert.equal((await waitForValidation(s, order, tasks, poll)).status, "ready");
    assert.ok(reads >= 3, `${reads} reads`);
  });

  it("an order answered without `expires` or authorizations gives an order without expiry and with none", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("bare-answer") });
    patchAnswers(s, order.url, ({ expires: _, authorizations: __, ...data }) => ({ ...data, status: "ready" }));
    const { expires: _e, ...rest } = order;
    assert.deepEqual(await waitForOrderReady(s, order, poll), { ...rest, status: "ready", authorizations: [] });
  });

  it("every failed authorization is named, one after the other", async () => {
    const s = await session();
    const dnsNames = names("invalid-two", true);
    const order = await createOrder(s, { dnsNames });
    const tasks = await getDns01Tasks(s, order);
    patchAnswers(s, order.url, (data) => ({ ...data, status: "invalid" }));
    for (const task of tasks) {
      patchAnswers(s, task.authorizationUrl, (data) => ({
        ...data,
        status: "invalid",
        challenges: [
          {
            type: "dns-01",
            url: task.challengeUrl,
            token: task.token,
            status: "invalid",
            error: { detail: `no TXT for ${task.identifier}` },
          },
        ],
      }));
    }
    const err = await rejection(waitForValidation(s, order, tasks, poll));
    const failures = (err.details as { failures: string[] }).failures;
    assert.deepEqual([...failures].sort(), tasks.map((t) => `${t.identifier}: no TXT for ${t.identifier}`).sort());
    assert.equal(err.message, `ACME: validation failed (order invalid): ${failures[0]}; ${failures[1]}`);
  });

  it("a failed authorization is named with its dns-01 challenge's problem, not another challenge's", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("invalid-dns01") });
    const tasks = await getDns01Tasks(s, order);
    const [task] = tasks;
    assert.ok(task);
    patchAnswers(s, order.url, (data) => ({ ...data, status: "invalid" }));
    patchAnswers(s, task.authorizationUrl, (data) => ({
      ...data,
      status: "invalid",
      challenges: [
        {
          type: "http-01",
          url: `${task.challengeUrl}-http`,
          token: "t",
          status: "invalid",
          error: { detail: "not this one", type: "urn:a" },
        },
        { type: "dns-01", url: task.challengeUrl, token: task.token, status: "invalid", error: { detail: "no TXT", type: "urn:b" } },
      ],
    }));
    const err = await rejection(waitForValidation(s, order, tasks, poll));
    assert.deepEqual((err.details as { failures: string[] }).failures, [`${task.identifier}: no TXT (urn:b)`]);
  });

  it("an order whose TXT is missing fails naming each identifier with the CA's dns-01 problem, status 400", async () => {
    const s = await session();
    const dnsNames = names("invalid");
    const order = await createOrder(s, { dnsNames });
    const tasks = await getDns01Tasks(s, order);
    await answerChallenges(s, tasks);
    const err = await rejection(waitForValidation(s, order, tasks, poll));
    assert.equal(err.status, 400);
    const failures = (err.details as { failures: string[] }).failures;
    assert.deepEqual(err.details, { service: "Acme", orderUrl: order.url, failures });
    assert.equal(failures.length, 1);
    assert.match(failures[0]!, new RegExp(`^${dnsNames[0]!.replace(/\./g, "\\.")}: .+ \\(urn:ietf:params:acme:error:[a-zA-Z]+\\)$`));
    assert.equal(err.message, `ACME: validation failed (order invalid): ${failures[0]}`);

    const ready = await rejection(waitForOrderReady(s, order, poll));
    assert.equal(ready.status, 400);
    assert.match(ready.message, new RegExp(`^ACME: order ${order.url.replace(/[./?]/g, "\\$&")} is invalid: `));
  });

  it("when the authorizations cannot be read, the order's own problem is the reason", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("invalid-unread") });
    const tasks = await getDns01Tasks(s, order);
    await answerChallenges(s, tasks);
    await rejection(waitForValidation(s, order, tasks, poll));
    const raw = (await internals(s.client).api.apiRequest(order.url, null, [200])).data as { error?: { detail?: string; type?: string } };
    s.client.getAuthorizations = () => Promise.reject(new Error("unreadable"));
    const err = await rejection(waitForValidation(s, order, tasks, poll));
    const reason = raw.error ? `${raw.error.detail ?? "no detail"}${raw.error.type ? ` (${raw.error.type})` : ""}` : "no detail given";
    assert.equal(err.message, `ACME: validation failed (order invalid): ${reason}`);
    assert.deepEqual(err.details, { service: "Acme", orderUrl: order.url, failures: [] });
  });

  it("a problem without detail or type is said so", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("invalid-bare") });
    const tasks = await getDns01Tasks(s, order);
    for (const [error, reason] of [
      [undefined, "no detail given"],
      [{}, "no detail"],
      [{ type: "urn:x" }, "no detail (urn:x)"],
      [{ detail: "bad" }, "bad"],
    ] as const) {
      hookAcmeRequests(s, async (original, url, payload, codes) =>
        url === order.url ? { status: 200, headers: {}, data: { status: "invalid", error } } : original(url, payload, codes),
      );
      s.client.getAuthorizations = () => Promise.reject(new Error("unreadable"));
      const err = await rejection(waitForValidation(s, order, tasks, poll));
      assert.equal(err.message, `ACME: validation failed (order invalid): ${reason}`);
      const ready = await rejection(waitForOrderReady(s, order, poll));
      assert.equal(ready.message, `ACME: order ${order.url} is invalid: ${reason}`);
      assert.equal(serviceOf(ready), "Acme");
    }
  });

  it("an authorization already valid is not listed among the failures", async () => {
    const s = await session();
    const dnsNames = names("half-valid");
    const order = await createOrder(s, { dnsNames: [dnsNames[0]!, `other-${dnsNames[0]}`] });
    const tasks = await getDns01Tasks(s, order);
    const [good, bad] = [tasks.find((t) => t.identifier === dnsNames[0])!, tasks.find((t) => t.identifier !== dnsNames[0])!];
    await publish([good]);
    await answerChallenges(s, [good]);
    await pollUntil(
      async () => (await s.client.getAuthorizations({ authorizations: [good.authorizationUrl] } as acme.Order))[0]?.status === "valid",
    );
    await answerChallenges(s, [bad]);
    const err = await rejection(waitForValidation(s, order, tasks, poll));
    const failures = (err.details as { failures: string[] }).failures;
    assert.equal(failures.length, 1);
    assert.ok(failures[0]!.startsWith(`${bad.identifier}: `), failures[0]);
  });

  it("an order still pending at the deadline: 504, retryable, naming the status", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("pending") });
    const err = await rejection(waitForOrderReady(s, order, { intervalMs: 50, timeoutMs: 200 }));
    assert.equal(err.status, 504);
    assert.equal(err.message, `ACME: ${order.url} still "pending" after 0 s`);
  });
});

/** The order with its lists sorted (Pebble returns identifiers and authorizations in any order). */
function sorted(order: OrderRef): OrderRef {
  return { ...order, authorizations: [...order.authorizations].sort(), identifiers: [...order.identifiers].sort() };
}

async function pollUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail("condition not met within 15 s");
}

describe("finalizeOrder", () => {
  it("finalizes a ready order with the CSR and returns it valid with its certificate URL; again, it only reads", async () => {
    const s = await session();
    const dnsNames = names("finalize", true);
    const { order } = await readyOrder(s, dnsNames);
    const finalized: string[] = [];
    const finalize = s.client.finalizeOrder.bind(s.client);
    s.client.finalizeOrder = (o, csr) => {
      finalized.push(o.finalize);
      return finalize(o, csr);
    };
    const valid = await finalizeOrder(s, order, await csrFor(dnsNames), poll);
    assert.equal(valid.status, "valid");
    assert.match(valid.certificate!, /\/certZ?\//);
    assert.deepEqual(finalized, [order.finalize]);
    const { certificate: _, ...rest } = valid;
    assert.deepEqual(sorted({ ...rest, status: "ready" }), sorted(order));

    let reads = 0;
    hookAcmeRequests(s, async (original, url, payload, codes) => {
      if (url === order.url) reads++;
      return original(url, payload, codes);
    });
    const again = await finalizeOrder(s, valid, await csrFor(dnsNames), poll);
    assert.deepEqual(sorted(again), sorted(valid));
    assert.deepEqual(finalized, [order.finalize], "a valid order is not finalized again");
    assert.equal(reads, 1, "a valid order with its certificate URL is read once");
  });

  it("a finalize whose answer was lost while the CA moved the order on carries on", async () => {
    const s = await session();
    const dnsNames = names("finalize-lost");
    const { order } = await readyOrder(s, dnsNames);
    const finalize = s.client.finalizeOrder.bind(s.client);
    s.client.finalizeOrder = async (o, csr) => {
      await finalize(o, csr);
      throw new Error("socket hang up");
    };
    const valid = await finalizeOrder(s, order, await csrFor(dnsNames), poll);
    assert.equal(valid.status, "valid");
    assert.ok(valid.certificate);
  });

  it("a finalize whose answer was lost while the order is processing carries on and polls until valid", async () => {
    const s = await session();
    const dnsNames = names("finalize-lost-processing");
    const { order } = await readyOrder(s, dnsNames);
    const finalize = s.client.finalizeOrder.bind(s.client);
    let lost = false;
    s.client.finalizeOrder = async (o, csr) => {
      await finalize(o, csr);
      lost = true;
      throw new Error("socket hang up");
    };
    let reads = 0;
    // The first read after the lost answer finds the order processing.
    patchAnswers(s, order.url, (data) => (lost && ++reads === 1 ? { ...data, status: "processing" } : data));
    const valid = await finalizeOrder(s, order, await csrFor(dnsNames), poll);
    assert.equal(valid.status, "valid");
    assert.ok(valid.certificate);
    assert.equal(reads, 2);
  });

  it("a refused finalize whose order then cannot be read fails naming the finalize", async () => {
    const s = await session();
    const dnsNames = names("finalize-refused-unread");
    const { order } = await readyOrder(s, dnsNames);
    s.client.finalizeOrder = () => Promise.reject(new Error("serverInternal"));
    s.client.getOrder = () => Promise.reject(new Error("connection reset"));
    const err = await rejection(finalizeOrder(s, order, await csrFor(dnsNames), poll));
    assert.equal(err.message, "ACME: finalizing the order failed: serverInternal");
  });

  it("a refused finalize of an order still ready fails naming the finalize", async () => {
    const s = await session();
    const dnsNames = names("finalize-refused");
    const { order } = await readyOrder(s, dnsNames);
    s.client.finalizeOrder = () => Promise.reject(new Error("badCSR: the CSR names other identifiers"));
    const err = await rejection(finalizeOrder(s, order, await csrFor(dnsNames), poll));
    assert.equal(err.message, "ACME: finalizing the order failed: badCSR: the CSR names other identifiers");
    assert.equal((await getOrder(s, order)).status, "ready");
  });

  it("an order that turns invalid after finalize fails naming its status and problem", async () => {
    const s = await session();
    const dnsNames = names("finalize-invalid");
    const { order } = await readyOrder(s, dnsNames);
    let finalized = false;
    const finalize = s.client.finalizeOrder.bind(s.client);
    s.client.finalizeOrder = async (o, csr) => {
      const raw = await finalize(o, csr);
      finalized = true;
      return { ...raw, status: "processing", certificate: undefined } as typeof raw;
    };
    hookAcmeRequests(s, async (original, url, payload, codes) =>
      finalized && url === order.url
        ? { status: 200, headers: {}, data: { status: "invalid", error: { detail: "issuance failed", type: "urn:x" } } }
        : original(url, payload, codes),
    );
    const err = await rejection(finalizeOrder(s, order, await csrFor(dnsNames), poll));
    assert.equal(err.status, 400);
    assert.equal(err.message, `ACME: order ${order.url} became invalid after finalize: issuance failed (urn:x)`);
    assert.equal(serviceOf(err), "Acme");
  });

  it("an order processing after finalize is polled until valid", async () => {
    const s = await session();
    const dnsNames = names("finalize-processing");
    const { order } = await readyOrder(s, dnsNames);
    const finalize = s.client.finalizeOrder.bind(s.client);
    let finalized = false;
    let reads = 0;
    s.client.finalizeOrder = async (o, csr) => {
      const raw = await finalize(o, csr);
      finalized = true;
      return { ...raw, status: "processing" } as typeof raw;
    };
    hookAcmeRequests(s, async (original, url, payload, codes) => {
      const res = await original(url, payload, codes);
      if (!finalized || url !== order.url || ++reads > 2) return res;
      return { ...res, data: { ...(res.data as object), status: reads === 1 ? "processing" : "ready" } };
    });
    const valid = await finalizeOrder(s, order, await csrFor(dnsNames), poll);
    assert.equal(valid.status, "valid");
    assert.equal(reads, 3);
  });
});

describe("downloadChain and deactivatePendingAuthorizations", () => {
  it("downloads the chain, leaf first; an order without a certificate URL fails naming its status", async () => {
    const s = await session();
    const dnsNames = names("download");
    const { order } = await readyOrder(s, dnsNames);
    const err = await rejection(downloadChain(s, order));
    assert.equal(err.message, `ACME: order ${order.url} has no certificate URL yet (status ready)`);
    assert.equal(serviceOf(err), "Acme");
    const valid = await finalizeOrder(s, order, await csrFor(dnsNames), poll);
    const { chain, choice } = await downloadChain(s, valid);
    assert.equal(choice, undefined);
    assert.equal(chain.length, 2, "leaf and Pebble's intermediate");
    assert.ok(chain.every((b) => b.startsWith("-----BEGIN CERTIFICATE-----")));
  });

  it("an answer without a PEM certificate fails the download", async () => {
    const s = await session();
    const dnsNames = names("download-empty");
    const { order } = await readyOrder(s, dnsNames);
    const valid = await finalizeOrder(s, order, await csrFor(dnsNames), poll);
    hookAcmeRequests(s, async (original, url, payload, codes) =>
      url === valid.certificate ? { status: 200, headers: {}, data: "no certificate here" } : original(url, payload, codes),
    );
    const err = await rejection(downloadChain(s, valid));
    assert.equal(err.message, "ACME: downloading the certificate failed: the CA returned no PEM certificate");
  });

  it("deactivates the pending authorizations only; unreadable ones are skipped", async () => {
    const s = await session();
    const order = await createOrder(s, { dnsNames: names("deactivate", true) });
    const result = await deactivatePendingAuthorizations(s, [...order.authorizations, `${order.authorizations[0]}-missing`]);
    assert.deepEqual(result, { deactivated: 2 });
    assert.deepEqual(await deactivatePendingAuthorizations(s, order.authorizations), { deactivated: 0 });
    const authzs = await s.client.getAuthorizations({ authorizations: order.authorizations } as acme.Order);
    assert.deepEqual(
      authzs.map((a) => a.status),
      ["deactivated", "deactivated"],
    );
  });
});
