/**
 * Pending operations created by hand: the renewal rule that holds a due certificate while one is in progress and not
 * stale (ManualPendingOperation), the hold's end, and the tags of a manual create and of the version merged into it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { manualPendingHoldEnd } from "../../src/keyvault/manual-pending";
import {
  TAG_DNS_NAMES,
  TAG_ISSUER,
  TAG_ISSUER_PINS,
  TAG_MANAGED,
  TAG_MANUAL_PENDING,
  manualPendingTags,
  mergedByHandTags,
  readManagedTags,
} from "../../src/keyvault/tags";
import { decideRenewal } from "../../src/renewal/decide";

const policy = { renewBeforeExpiryDays: 30, renewAtPercentOfLifetime: 66 };
const d = (iso: string) => new Date(iso);
// A 90-day certificate: due at day 59.4 by the lifetime fraction, expired after day 90.
const state = { notBefore: d("2026-01-01T00:00:00Z"), notAfter: d("2026-04-01T00:00:00Z") };
const manual = { createdAt: d("2026-03-10T00:00:00Z"), holdUntil: d("2026-03-13T00:00:00Z") };

describe("the ManualPendingOperation hold", () => {
  it("holds a due certificate until the operation is stale, renewAt = the hold's end", () => {
    const held = decideRenewal({ ...state, manualPending: manual }, policy, d("2026-03-11T00:00:00Z"));
    assert.equal(held.due, false);
    assert.equal(held.reason, "ManualPendingOperation");
    assert.equal(held.renewAt.toISOString(), "2026-03-13T00:00:00.000Z");
    assert.match(held.message, /due \(WithinRenewBeforeExpiry\) but a pending operation created by hand at 2026-03-10T00:00:00.000Z/);
  });
  it("holds an expired certificate too (the person is completing it)", () => {
    const late = { createdAt: d("2026-03-31T00:00:00Z"), holdUntil: d("2026-04-03T00:00:00Z") };
    const held = decideRenewal({ ...state, manualPending: late }, policy, d("2026-04-02T00:00:00Z"));
    assert.deepEqual([held.due, held.reason], [false, "ManualPendingOperation"]);
  });
  it("lets the certificate renew once the operation is stale", () => {
    const due = decideRenewal({ ...state, manualPending: manual }, policy, d("2026-03-13T00:00:00Z"));
    assert.deepEqual([due.due, due.reason], [true, "WithinRenewBeforeExpiry"]);
  });
  it("changes nothing for a certificate that is not due", () => {
    const notDue = decideRenewal({ ...state, manualPending: manual }, policy, d("2026-02-01T00:00:00Z"));
    assert.deepEqual([notDue.due, notDue.reason], [false, "NotDue"]);
  });
  it("waits for a failure backoff that ends after the hold", () => {
    const lastFailure = { at: d("2026-03-12T23:00:00Z"), attempts: 3 }; // next attempt 4 h later
    const held = decideRenewal({ ...state, manualPending: manual, lastFailure }, policy, d("2026-03-12T23:30:00Z"));
    assert.equal(held.reason, "ManualPendingOperation");
    assert.equal(held.renewAt.toISOString(), "2026-03-13T03:00:00.000Z");
  });
  it("ends ManualPendingHoldHours after the operation was created", () => {
    assert.equal(manualPendingHoldEnd({ createdAt: "2026-03-10T00:00:00.000Z" }, 72).toISOString(), "2026-03-13T00:00:00.000Z");
    assert.equal(manualPendingHoldEnd({ createdAt: "2026-03-10T00:00:00.000Z" }, 0).toISOString(), "2026-03-10T00:00:00.000Z");
  });
});

describe("tags of a manual pending create and of the version merged into it", () => {
  const issuer = { subject: "CN=Other CA", thumbprint: "AB".repeat(20), keyId: "0a0b" };
  it("a manual create is managed by kv-acme, with its names and its creation time", () => {
    const tags = manualPendingTags({ dnsNames: ["A.example.org", "b.example.org"], createdAt: d("2026-03-10T00:00:00Z") });
    assert.deepEqual(tags, {
      [TAG_MANAGED]: "true",
      [TAG_DNS_NAMES]: "a.example.org,b.example.org",
      [TAG_MANUAL_PENDING]: "2026-03-10T00:00:00.000Z",
    });
    const info = readManagedTags(tags);
    assert.deepEqual([info.managed, info.manualPending], [true, "2026-03-10T00:00:00.000Z"]);
  });
  it("the merged version loses the mark, gains the issuer, keeps the pins", () => {
    const tags = manualPendingTags({ dnsNames: ["a.example.org"], createdAt: d("2026-03-10T00:00:00Z") });
    const merged = mergedByHandTags(tags, issuer, ["CD".repeat(20)]);
    assert.equal(merged?.[TAG_MANUAL_PENDING], undefined);
    assert.equal(merged?.[TAG_ISSUER], `${"AB".repeat(20)};0a0b;CN=Other CA`);
    assert.equal(merged?.[TAG_ISSUER_PINS], "CD".repeat(20));
    assert.equal(merged?.[TAG_MANAGED], "true");
  });
  it("a pending operation made elsewhere (no kv-acme tags) is not tagged, unless the certificate has pins", () => {
    assert.equal(mergedByHandTags({ team: "web" }, issuer, []), undefined);
    assert.deepEqual(mergedByHandTags({ team: "web" }, issuer, ["CD".repeat(20)]), { team: "web", [TAG_ISSUER_PINS]: "CD".repeat(20) });
  });
});
