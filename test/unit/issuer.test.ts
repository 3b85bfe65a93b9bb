import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { decideMerge, type PreviousVersion } from "../../src/issuance/merge-guard";
import {
  TAG_ISSUER,
  TAG_ISSUER_PINS,
  TAG_LIFETIME_SHORTENED,
  formatIssuerTag,
  managedTags,
  parseIssuerTag,
  readManagedTags,
} from "../../src/keyvault/tags";
import { ValidationError } from "../../src/shared/errors";
import { issuerOfChain, issuerPinned, parseIssuerPins, sameIssuer, type IssuerInfo } from "../../src/shared/issuer";
import { x509 } from "../../src/shared/x509";
import { makeChain, makeLeaf } from "../agent/helpers";

const A = "A".repeat(40);
const B = "B".repeat(40);
const R10: IssuerInfo = { subject: "CN=R10,O=Let's Encrypt,C=US", keyId: "bb", thumbprint: A };
const R11: IssuerInfo = { subject: "CN=R11,O=Let's Encrypt,C=US", keyId: "cc", thumbprint: B };

test("issuerOfChain: the chain certificate that signed the leaf, with its SHA-1 thumbprint; the leaf's own issuer name without it", async () => {
  const chain = await makeChain();
  const leaf = await makeLeaf(chain, ["a.example.com"]);
  const leafDer = Buffer.from(new x509.X509Certificate(leaf.leafPem).rawData);
  const intDer = Buffer.from(chain.intermediate.cert.rawData);
  const rootDer = Buffer.from(chain.root.cert.rawData);
  const issuer = issuerOfChain([leafDer, rootDer, intDer]);
  assert.equal(issuer.subject, chain.intermediate.cert.subject);
  assert.equal(issuer.thumbprint, createHash("sha1").update(intDer).digest("hex").toUpperCase());
  assert.deepEqual(issuerOfChain([leafDer]), { subject: chain.intermediate.cert.subject }, "no issuer certificate: no thumbprint");
  assert.throws(() => issuerOfChain([]), ValidationError);
});

test("sameIssuer: by thumbprint when both are known, else subject and key id", () => {
  assert.equal(sameIssuer(R10, { ...R10 }), true);
  assert.equal(sameIssuer(R10, R11), false);
  assert.equal(sameIssuer(R10, { ...R10, thumbprint: B }), false, "a re-issued intermediate is another issuer for a pinning cluster");
  assert.equal(sameIssuer({ subject: R10.subject, keyId: "bb" }, R10), true);
  assert.equal(sameIssuer({ subject: R10.subject, keyId: "bb" }, { subject: R10.subject, keyId: "cc" }), false);
});

const pinCases: Array<[string, unknown, string[] | RegExp]> = [
  ["upper-case hex", [A], [A]],
  ["lower case with colons (as Windows shows them)", ["aa:".repeat(19) + "aa"], [A]],
  ["spaces", [`${"a".repeat(20)} ${"a".repeat(20)}`], [A]],
  ["duplicates folded", [A, A.toLowerCase(), B], [A, B]],
  ["comma-separated string (CLI, tag)", `${A},${B}`, [A, B]],
  ["empty list clears", [], []],
  [
    "SHA-256 is not a Service Fabric issuer thumbprint",
    ["A".repeat(64)],
    /issuerPins\[0\]: must be an issuer certificate's SHA-1 thumbprint/,
  ],
  ["not hex", ["Z".repeat(40)], /issuerPins\[0\]/],
  ["not a list", 42, /must be a list/],
  ["a number in the list", [A, 7], /must be a list/],
  ["seven pins", Array.from({ length: 7 }, (_, i) => String(i).repeat(40)), /at most 6 pins/],
];
for (const [name, input, want] of pinCases)
  test(`parseIssuerPins: ${name}`, () => {
    if (want instanceof RegExp)
      assert.throws(
        () => parseIssuerPins(input),
        (err: unknown) => err instanceof ValidationError && want.test(err.message),
      );
    else assert.deepEqual(parseIssuerPins(input), want);
  });

test("issuerPinned: an empty list pins nothing; an unknown thumbprint matches no pin", () => {
  assert.equal(issuerPinned(R10, []), true);
  assert.equal(issuerPinned(R10, [A]), true);
  assert.equal(issuerPinned(R10, [B]), false);
  assert.equal(issuerPinned({ subject: R10.subject }, [A]), false);
});

const previous: PreviousVersion = { version: "v1", thumbprint: "1".repeat(40), notAfter: "2026-03-01T00:00:00.000Z", issuer: R10 };
const mergeCases: Array<{
  name: string;
  issuer: IssuerInfo;
  notAfter: string;
  requestedPins?: string[];
  previous?: PreviousVersion;
  want: { refused: boolean; issuerChanged: boolean; shortened: boolean; pins: string[] };
}> = [
  {
    name: "first version",
    issuer: R10,
    notAfter: "2026-06-01T00:00:00Z",
    want: { refused: false, issuerChanged: false, shortened: false, pins: [] },
  },
  {
    name: "same issuer, later expiry",
    issuer: R10,
    notAfter: "2026-06-01T00:00:00Z",
    previous,
    want: { refused: false, issuerChanged: false, shortened: false, pins: [] },
  },
  {
    name: "new intermediate, no pins: merged, issuer change",
    issuer: R11,
    notAfter: "2026-06-01T00:00:00Z",
    previous,
    want: { refused: false, issuerChanged: true, shortened: false, pins: [] },
  },
  {
    name: "earlier NotAfter: shorter lifetime",
    issuer: R10,
    notAfter: "2026-02-01T00:00:00Z",
    previous,
    want: { refused: false, issuerChanged: false, shortened: true, pins: [] },
  },
  {
    name: "pins carried from the previous version refuse another issuer",
    issuer: R11,
    notAfter: "2026-06-01T00:00:00Z",
    previous: { ...previous, issuerPins: [A] },
    want: { refused: true, issuerChanged: true, shortened: false, pins: [A] },
  },
  {
    name: "pins carried on: the pinned issuer merges",
    issuer: R11,
    notAfter: "2026-06-01T00:00:00Z",
    previous: { ...previous, issuerPins: [A, B] },
    want: { refused: false, issuerChanged: true, shortened: false, pins: [A, B] },
  },
  {
    name: "the request's pins replace the previous version's",
    issuer: R10,
    notAfter: "2026-06-01T00:00:00Z",
    requestedPins: [B],
    previous: { ...previous, issuerPins: [A] },
    want: { refused: true, issuerChanged: false, shortened: false, pins: [B] },
  },
  {
    name: "an empty request list clears the pins",
    issuer: R11,
    notAfter: "2026-06-01T00:00:00Z",
    requestedPins: [],
    previous: { ...previous, issuerPins: [A] },
    want: { refused: false, issuerChanged: true, shortened: false, pins: [] },
  },
  {
    name: "pins on a first issuance",
    issuer: R10,
    notAfter: "2026-06-01T00:00:00Z",
    requestedPins: [B],
    want: { refused: true, issuerChanged: false, shortened: false, pins: [B] },
  },
];
for (const c of mergeCases)
  test(`decideMerge: ${c.name}`, () => {
    const d = decideMerge({
      certificateName: "cluster",
      issuer: c.issuer,
      notAfter: c.notAfter,
      requestedPins: c.requestedPins,
      previous: c.previous,
    });
    assert.equal(d.refused !== undefined, c.want.refused, d.refused);
    assert.equal(d.issuerChanged, c.want.issuerChanged);
    assert.equal(d.lifetimeShortened !== undefined, c.want.shortened);
    assert.deepEqual(d.issuerPins, c.want.pins);
    if (d.refused) {
      assert.ok(d.refused.includes(c.issuer.thumbprint as string), "the refusal names the issuer's thumbprint");
      assert.match(d.refused, /not in its issuer pins .*not merged and the current version stays in use/);
    }
    if (d.lifetimeShortened) assert.deepEqual(d.lifetimeShortened, { previousVersion: "v1", previousNotAfter: previous.notAfter });
  });

test("issuer, pins and shorter-lifetime tags round-trip; every value fits a Key Vault tag", () => {
  const long: IssuerInfo = { subject: `CN=${"x".repeat(400)}`, keyId: "ab".repeat(20), thumbprint: A };
  const tags = managedTags({
    acmeDirectoryUrl: "https://acme.example/dir",
    dnsNames: ["a.example.com"],
    dnsProvider: "azure",
    issuer: R10,
    issuerPins: [A, B],
    lifetimeShortened: { previousVersion: "v1", previousNotAfter: previous.notAfter },
  });
  assert.equal(tags[TAG_ISSUER], `${A};bb;CN=R10,O=Let's Encrypt,C=US`);
  assert.equal(tags[TAG_ISSUER_PINS], `${A},${B}`);
  assert.equal(tags[TAG_LIFETIME_SHORTENED], `${previous.notAfter};v1`);
  const read = readManagedTags(tags);
  assert.deepEqual(read.issuer, R10);
  assert.deepEqual(read.issuerPins, [A, B]);
  assert.deepEqual(read.lifetimeShortened, { previousVersion: "v1", previousNotAfter: previous.notAfter });
  const clipped = formatIssuerTag(long);
  assert.equal(clipped.length, 256);
  assert.equal(parseIssuerTag(clipped)?.thumbprint, A);
  assert.deepEqual(parseIssuerTag(";;CN=Only a name"), { subject: "CN=Only a name" });
  assert.equal(parseIssuerTag("garbage"), undefined);
  const six = managedTags({
    acmeDirectoryUrl: "u",
    dnsNames: ["a.example.com"],
    dnsProvider: "azure",
    issuerPins: parseIssuerPins(Array.from({ length: 6 }, (_, i) => String(i).repeat(40))),
  });
  assert.ok((six[TAG_ISSUER_PINS] as string).length <= 256);
  assert.equal(
    readManagedTags({ "kv-acme-managed": "true", [TAG_ISSUER_PINS]: "junk, " + A }).issuerPins?.join(),
    A,
    "a hand-edited tag keeps only thumbprints",
  );
  const none = managedTags({ acmeDirectoryUrl: "u", dnsNames: ["a.example.com"], dnsProvider: "azure", issuerPins: [] });
  assert.equal(TAG_ISSUER_PINS in none, false, "no pins, no tag");
});
