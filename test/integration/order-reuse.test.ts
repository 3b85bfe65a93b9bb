/**
 * The order step after a crash, against Pebble: an order the CA created but the caller never recorded (created here
 * with createOrder, as the killed host did) is carried on by the next placeOrReuseOrder of a new session (a restarted
 * process), at most once; other names get an order of their own, and so does an order no longer pending. The whole
 * crash is test/e2e/crash.test.ts ("order-created").
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createOrder, deactivatePendingAuthorizations, getOrder, placeOrReuseOrder } from "../../src/acme/order";
import { caOrders } from "../support/ca-orders";
import { startTestStack, type TestStack } from "../support/stack";
import { stackDeps } from "./helpers";

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

/** A new session for the stack's account: what a restarted process has (the listing is kept per session). */
const freshSession = () => stackDeps(stack).acme();

describe("placeOrReuseOrder: an order the caller never recorded is carried on", () => {
  it("a restarted process's order step carries on the unrecorded order once, then creates new ones", async () => {
    const names = ["reuse.example.com", "*.reuse.example.com"];
    const orphan = await createOrder(await freshSession(), { dnsNames: names });
    assert.equal(orphan.status, "pending");

    const session = await freshSession();
    const first = await placeOrReuseOrder(session, { dnsNames: [...names].reverse() });
    assert.equal(first.reused, true);
    assert.equal(first.order.url, orphan.url);
    assert.deepEqual([...first.order.authorizations].sort(), [...orphan.authorizations].sort());

    // Claimed: the same session never hands it out again, whatever the CA still lists.
    const second = await placeOrReuseOrder(session, { dnsNames: names });
    assert.equal(second.reused, false);
    assert.notEqual(second.order.url, orphan.url);

    const atCa = (await caOrders(session)).filter((o) => o.identifiers.includes("reuse.example.com"));
    assert.deepEqual(atCa.map((o) => o.url).sort(), [orphan.url, second.order.url].sort(), "two orders at the CA, not three");
    await deactivatePendingAuthorizations(session, [...orphan.authorizations, ...second.order.authorizations]);
  });

  it("an unrecorded order for other names is left alone: the request gets its own", async () => {
    const other = await createOrder(await freshSession(), { dnsNames: ["other.example.com"] });
    const placed = await placeOrReuseOrder(await freshSession(), { dnsNames: ["other.example.com", "www.other.example.com"] });
    assert.equal(placed.reused, false);
    assert.notEqual(placed.order.url, other.url);
    const session = await freshSession();
    await deactivatePendingAuthorizations(session, [...other.authorizations, ...placed.order.authorizations]);
  });

  it("an unrecorded order that is no longer pending (its authorizations deactivated) is not carried on", async () => {
    const names = ["gone.example.com"];
    const session = await freshSession();
    const orphan = await createOrder(session, { dnsNames: names });
    assert.deepEqual(await deactivatePendingAuthorizations(session, orphan.authorizations), { deactivated: 1 });
    assert.notEqual((await getOrder(session, orphan)).status, "pending");
    const placed = await placeOrReuseOrder(await freshSession(), { dnsNames: names });
    assert.equal(placed.reused, false);
    assert.notEqual(placed.order.url, orphan.url);
    await deactivatePendingAuthorizations(session, placed.order.authorizations);
  });
});
