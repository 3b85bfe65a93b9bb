/**
 * src/issuance/tag-repair.ts: the pins in force when the newest version's merge could not tag it, and the tags that
 * repair it (certificate-wide tags from the last tagged version, issuer and ARI id from its own leaf).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lastTagged, mergeTagsMissing, pinsInForce, repairedTags } from "../../src/issuance/tag-repair";
import {
  TAG_ACME_DIRECTORY,
  TAG_ARI_CERT_ID,
  TAG_DNS_NAMES,
  TAG_DNS_PROVIDER,
  TAG_ISSUER,
  TAG_ISSUER_PINS,
  TAG_MANAGED,
  TAG_RENEWAL_FAILURES,
  formatIssuerTag,
  readManagedTags,
} from "../../src/keyvault/tags";
import type { IssuedVersion } from "../../src/keyvault/versions";

const A = "A".repeat(40);
const B = "B".repeat(40);
const issuer = { subject: "CN=Pebble Intermediate", thumbprint: A };
const atCreate = { [TAG_MANAGED]: "true", [TAG_DNS_NAMES]: "www.example.com" };
const merged = (extra: Record<string, string> = {}) => ({
  ...atCreate,
  [TAG_ACME_DIRECTORY]: "https://acme.example/directory",
  [TAG_DNS_PROVIDER]: "azure",
  [TAG_ARI_CERT_ID]: "old.ari",
  [TAG_ISSUER]: formatIssuerTag(issuer),
  ...extra,
});
const version = (id: string, tags: Record<string, string>): IssuedVersion => ({
  version: id,
  thumbprint: id.toUpperCase().padEnd(40, "0"),
  notAfter: "2027-01-01T00:00:00.000Z",
  createdOn: "2026-12-01T00:00:00.000Z",
  enabled: true,
  tags,
});

describe("pinsInForce (versions newest first)", () => {
  const table: [string, IssuedVersion[], string[] | undefined][] = [
    ["no versions", [], undefined],
    [
      "the newest tagged: its own pins",
      [version("v2", merged({ [TAG_ISSUER_PINS]: B })), version("v1", merged({ [TAG_ISSUER_PINS]: A }))],
      [B],
    ],
    [
      "the newest tagged without pins: none (cleared)",
      [version("v2", merged()), version("v1", merged({ [TAG_ISSUER_PINS]: A }))],
      undefined,
    ],
    ["the newest untagged: the last tagged version's", [version("v2", atCreate), version("v1", merged({ [TAG_ISSUER_PINS]: A }))], [A]],
    [
      "two untagged in a row: still the last tagged one's",
      [version("v3", atCreate), version("v2", atCreate), version("v1", merged({ [TAG_ISSUER_PINS]: `${A},${B}` }))],
      [A, B],
    ],
    [
      "the newest untagged but pinned by hand since: its own",
      [version("v2", { ...atCreate, [TAG_ISSUER_PINS]: B }), version("v1", merged({ [TAG_ISSUER_PINS]: A }))],
      [B],
    ],
    ["untagged, nothing tagged before: none", [version("v1", atCreate)], undefined],
  ];
  for (const [what, versions, pins] of table)
    it(what, () => {
      assert.deepEqual(pinsInForce(versions), pins);
    });
  it("lastTagged skips the versions whose merge could not tag them", () => {
    assert.equal(lastTagged([version("v3", atCreate), version("v2", merged()), version("v1", merged())])?.version, "v2");
  });
});

describe("repairedTags", () => {
  const leaf = { issuer: { subject: "CN=New Intermediate", thumbprint: B }, ariCertId: "new.ari" };
  it("nothing to repair on a tagged version, nor on one kv-acme does not manage", () => {
    assert.equal(repairedTags(merged(), merged(), leaf), undefined);
    assert.equal(repairedTags({ Owner: "someone" }, merged(), leaf), undefined);
  });
  it("copies the certificate-wide tags it lacks, records its own issuer and ARI id, keeps per-version tags of the source out", () => {
    const source = merged({ [TAG_ISSUER_PINS]: A, [TAG_RENEWAL_FAILURES]: "2;2026-12-01T00:00:00.000Z;f" });
    assert.deepEqual(repairedTags({ ...atCreate, Owner: "ops" }, source, leaf), {
      ...atCreate,
      Owner: "ops",
      [TAG_ACME_DIRECTORY]: "https://acme.example/directory",
      [TAG_DNS_PROVIDER]: "azure",
      [TAG_ISSUER_PINS]: A,
      [TAG_ISSUER]: formatIssuerTag(leaf.issuer),
      [TAG_ARI_CERT_ID]: "new.ari",
    });
  });
  it("keeps what the version has (pins set by hand since), and repairs without a source", () => {
    assert.equal(repairedTags({ ...atCreate, [TAG_ISSUER_PINS]: B }, merged({ [TAG_ISSUER_PINS]: A }), leaf)?.[TAG_ISSUER_PINS], B);
    assert.deepEqual(repairedTags(atCreate, undefined, { issuer: leaf.issuer }), {
      ...atCreate,
      [TAG_ISSUER]: formatIssuerTag(leaf.issuer),
    });
  });
});

describe("mergeTagsMissing", () => {
  it("a version with only the tags set at create; not an adopted Acmebot one (no issuer, Acmebot's tags kept), nor a tagged one", () => {
    assert.equal(mergeTagsMissing(readManagedTags(atCreate)), true);
    assert.equal(mergeTagsMissing(readManagedTags({ ...atCreate, [TAG_ACME_DIRECTORY]: "https://acme.example/directory" })), true);
    assert.equal(
      mergeTagsMissing(readManagedTags({ ...atCreate, [TAG_ACME_DIRECTORY]: "https://acme.example/directory", Issuer: "Acmebot" })),
      false,
    );
    assert.equal(mergeTagsMissing(readManagedTags(merged())), false);
    assert.equal(mergeTagsMissing(readManagedTags({ Owner: "someone" })), false);
  });
});
