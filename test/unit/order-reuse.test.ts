import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isReusableOrder, REUSE_MIN_REMAINING_MS, sameNames, type ListedOrder } from "../../src/acme/order-reuse";

const NOW = new Date("2026-01-01T00:00:00.000Z");
const later = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const pending: ListedOrder = { status: "pending", identifiers: ["example.com", "*.example.com"], expires: later(86_400_000) };
const wanted = { dnsNames: ["*.example.com", "example.com"] };

describe("isReusableOrder: which listed order stands in for a new one", () => {
  it("a pending or ready order for the same names, in any order and case, is reused", () => {
    assert.equal(isReusableOrder(pending, wanted, NOW), true);
    assert.equal(isReusableOrder({ ...pending, status: "ready" }, wanted, NOW), true);
    assert.equal(isReusableOrder({ ...pending, identifiers: ["EXAMPLE.com", "*.example.COM"] }, wanted, NOW), true);
    assert.equal(isReusableOrder({ ...pending, expires: undefined }, wanted, NOW), true, "an order without expiry");
  });

  it("an order being finalized, issued, failed or deactivated is not", () => {
    for (const status of ["processing", "valid", "invalid", "deactivated", "expired"])
      assert.equal(isReusableOrder({ ...pending, status }, wanted, NOW), false, status);
  });

  it("other names are not: one more, one fewer, another one", () => {
    assert.equal(isReusableOrder({ ...pending, identifiers: ["example.com"] }, wanted, NOW), false);
    assert.equal(isReusableOrder({ ...pending, identifiers: [...pending.identifiers, "www.example.com"] }, wanted, NOW), false);
    assert.equal(isReusableOrder({ ...pending, identifiers: ["example.com", "*.example.org"] }, wanted, NOW), false);
  });

  it("another profile or replaces value, or one missing on either side, is not", () => {
    assert.equal(isReusableOrder({ ...pending, profile: "tlsserver" }, { ...wanted, profile: "tlsserver" }, NOW), true);
    assert.equal(isReusableOrder({ ...pending, profile: "shortlived" }, { ...wanted, profile: "tlsserver" }, NOW), false);
    assert.equal(isReusableOrder(pending, { ...wanted, profile: "tlsserver" }, NOW), false);
    assert.equal(isReusableOrder({ ...pending, profile: "tlsserver" }, wanted, NOW), false);
    assert.equal(isReusableOrder({ ...pending, replaces: "aki.serial" }, { ...wanted, replaces: "aki.serial" }, NOW), true);
    assert.equal(isReusableOrder({ ...pending, replaces: "aki.other" }, { ...wanted, replaces: "aki.serial" }, NOW), false);
    assert.equal(isReusableOrder(pending, { ...wanted, replaces: "aki.serial" }, NOW), false);
    assert.equal(isReusableOrder({ ...pending, replaces: "aki.serial" }, wanted, NOW), false);
  });

  it("an order expiring within REUSE_MIN_REMAINING_MS (10 min) is not; exactly that much left is", () => {
    assert.equal(REUSE_MIN_REMAINING_MS, 600_000);
    assert.equal(isReusableOrder({ ...pending, expires: later(REUSE_MIN_REMAINING_MS) }, wanted, NOW), true);
    assert.equal(isReusableOrder({ ...pending, expires: later(REUSE_MIN_REMAINING_MS - 1) }, wanted, NOW), false);
    assert.equal(isReusableOrder({ ...pending, expires: later(-1) }, wanted, NOW), false);
    assert.equal(isReusableOrder({ ...pending, expires: "not a date" }, wanted, NOW), false);
  });

  it("sameNames ignores case, order and repeats, nothing else", () => {
    assert.equal(sameNames(["a.example", "B.example", "a.example"], ["b.example", "A.EXAMPLE"]), true);
    assert.equal(sameNames(["a.example"], ["a.example", "b.example"]), false);
    assert.equal(sameNames([], []), true);
    assert.equal(sameNames(["a.example"], ["*.a.example"]), false);
  });
});
