import assert from "node:assert/strict";
import { test } from "node:test";
import {
  canRemoveCertificate,
  certificatesToLink,
  nameCovers,
  sanSubsetLinks,
  parseNetshSslCert,
  planHttpSysUpdates,
  planIisRebinding,
  type IisBinding,
} from "../../src/agent/bindings";

// The Service Fabric article's example: A {alice}, B {bob.universalexports.com, bob.universalexports.net}, and a new
// C {alice, bob.universalexports.com, mallory}: the extension links A to C, never B (its .net name is not in C).
const alice = { thumbprint: "AA".repeat(20), sans: ["alice.universalexports.com"] };
const bob = { thumbprint: "BB".repeat(20), sans: ["bob.universalexports.com", "bob.universalexports.net"] };
const mallory = {
  thumbprint: "CC".repeat(20),
  sans: ["alice.universalexports.com", "bob.universalexports.com", "mallory.universalexports.com"],
};
const aliceRenewed = { thumbprint: "DD".repeat(20), sans: ["alice.universalexports.com"] };
const aliceAndCarol = { thumbprint: "EE".repeat(20), sans: ["alice.universalexports.com", "carol.universalexports.com"] };
const bobOneName = { thumbprint: "FF".repeat(20), sans: ["bob.universalexports.com"] };

const linkCases: Array<[string, Parameters<typeof sanSubsetLinks>[0], Parameters<typeof sanSubsetLinks>[1], string[]]> = [
  ["the guidance's example: Alice is linked to C, Bob (with his .net name) is not", [alice, bob], mallory, [alice.thumbprint]],
  ["Alice renewed links Alice only", [alice, bob, mallory], aliceRenewed, [alice.thumbprint]],
  ["partial overlap does not link (Mallory is not a subset of Alice)", [mallory], aliceRenewed, []],
  ["partial overlap does not link (Alice+Carol vs Bob)", [bob, bobOneName], aliceAndCarol, []],
  ["superset target links the subset", [alice], aliceAndCarol, [alice.thumbprint]],
  ["the new certificate itself is never linked", [aliceRenewed, alice], aliceRenewed, [alice.thumbprint]],
  ["case and trailing dot are ignored", [{ thumbprint: "11", sans: ["Alice.UniversalExports.com."] }], aliceRenewed, ["11"]],
  ["a certificate without SANs is not linked", [{ thumbprint: "22", sans: [] }], aliceRenewed, []],
  ["empty store", [], mallory, []],
];
for (const [name, existing, installed, expected] of linkCases) {
  test(`sanSubsetLinks (the extension's rule): ${name}`, () => {
    assert.deepEqual(
      sanSubsetLinks(existing, installed).map((c) => c.thumbprint),
      expected,
    );
  });
}

const guardCases: Array<[string, Parameters<typeof certificatesToLink>[2], string[]]> = [
  [
    "only the certificate the agent installed for the same vault certificate is linked",
    { previous: { thumbprint: alice.thumbprint }, keyAccounts: [] },
    [alice.thumbprint],
  ],
  [
    "another vault certificate's certificate with a covered SAN set is not linked",
    { previous: { thumbprint: "99".repeat(20) }, keyAccounts: [] },
    [],
  ],
  ["nothing installed by the agent before: nothing is linked", { keyAccounts: [] }, []],
  [
    "the new key ACLed to the old key's accounts (and more): linked",
    { previous: { thumbprint: alice.thumbprint, keyAccounts: ["Network Service"] }, keyAccounts: ["network service", "IIS_IUSRS"] },
    [alice.thumbprint],
  ],
  [
    "the new key not ACLed to an account the old one had: not linked",
    {
      previous: { thumbprint: alice.thumbprint, keyAccounts: ["Network Service", "ServiceFabricAdministrators"] },
      keyAccounts: ["Network Service"],
    },
    [],
  ],
];
for (const [name, guard, expected] of guardCases) {
  test(`certificatesToLink (the agent's guardrails): ${name}`, () => {
    assert.deepEqual(
      certificatesToLink([alice, bobOneName, bob], mallory, guard).map((c) => c.thumbprint),
      expected,
    );
  });
}

const coverCases: Array<[string, string, boolean]> = [
  ["www.example.com", "www.example.com", true],
  ["WWW.example.com", "www.EXAMPLE.com.", true],
  ["*.example.com", "www.example.com", true],
  ["*.example.com", "a.b.example.com", false],
  ["*.example.com", "example.com", false],
  ["example.com", "www.example.com", false],
  ["www.example.com", "*.example.com", false],
];
for (const [name, host, expected] of coverCases) {
  test(`nameCovers(${name}, ${host}) = ${expected}`, () => assert.equal(nameCovers(name, host), expected));
}

const OLD = "0A".repeat(20);
const NEW = "0B".repeat(20);
const OTHER = "0C".repeat(20);
const b = (site: string, info: string, hash: string | undefined, sslFlags = 0, protocol = "https"): IisBinding => ({
  site,
  protocol,
  bindingInformation: info,
  certificateHash: hash,
  certificateStoreName: "My",
  sslFlags,
});

test("planIisRebinding: covered hosts move with SNI, flags kept; uncovered, other-cert and http bindings stay", () => {
  const bindings = [
    b("Default", "*:443:", OLD.toLowerCase(), 0), // IP-only: moves
    b("Shop", "*:443:shop.example.com", OLD, 0), // covered by wildcard: moves, gets SNI
    b("Api", "10.0.0.5:8443:api.example.com", OLD, 4 | 1), // covered exactly: keeps flags 5
    b("Deep", "*:443:a.b.example.com", OLD, 1), // not covered by *.example.com: stays
    b("Other", "*:443:www.example.com", OTHER, 1), // other certificate: stays
    b("Plain", "*:80:www.example.com", undefined, 0, "http"), // not https
  ];
  const plan = planIisRebinding(bindings, OLD, { thumbprint: NEW, sans: ["*.example.com", "api.example.com"] });
  assert.deepEqual(
    plan.map((p) => [p.site, p.ip, p.port, p.host, p.sslFlags, p.fromThumbprint, p.toThumbprint]),
    [
      ["Default", "*", 443, "", 0, OLD, NEW],
      ["Shop", "*", 443, "shop.example.com", 1, OLD, NEW],
      ["Api", "10.0.0.5", 8443, "api.example.com", 5, OLD, NEW],
    ],
  );
});

test("planIisRebinding: IPv6 binding information parses", () => {
  const plan = planIisRebinding([b("V6", "[::1]:443:www.example.com", OLD, 0)], OLD, { thumbprint: NEW, sans: ["www.example.com"] });
  assert.deepEqual([plan[0].ip, plan[0].port, plan[0].host, plan[0].sslFlags], ["[::1]", 443, "www.example.com", 1]);
});

test("canRemoveCertificate: never while a binding or sslcert entry references it", () => {
  assert.equal(canRemoveCertificate(OLD, [b("A", "*:443:", OLD)]), false);
  assert.equal(canRemoveCertificate(OLD, [b("A", "*:443:", NEW)]), true);
  assert.equal(
    canRemoveCertificate(
      OLD,
      [],
      [{ bindingKind: "ipport", binding: "0.0.0.0:443", certificateHash: OLD.toLowerCase(), appId: "{x}", settings: {} }],
    ),
    false,
  );
  assert.equal(canRemoveCertificate(OLD, []), true);
});

const NETSH = `
SSL Certificate bindings:
-------------------------

    IP:port                      : 0.0.0.0:443
    Certificate Hash             : ${OLD.toLowerCase()}
    Application ID               : {4dc3e181-e14b-4a21-b022-59fc669b0914}
    Certificate Store Name       : My
    Verify Client Certificate Revocation : Enabled
    Verify Revocation Using Cached Client Certificate Only : Disabled
    Usage Check                  : Enabled
    Revocation Freshness Time    : 0
    URL Retrieval Timeout        : 0
    Ctl Identifier               : (null)
    Ctl Store Name               : (null)
    DS Mapper Usage              : Disabled
    Negotiate Client Certificate : Enabled

    Hostname:port                : www.example.com:443
    Certificate Hash             : ${OLD.toLowerCase()}
    Application ID               : {12345678-1234-1234-1234-123456789abc}
    Certificate Store Name       : WebHosting
    Negotiate Client Certificate : Disabled

    IP:port                      : 0.0.0.0:8443
    Certificate Hash             : ${OTHER.toLowerCase()}
    Application ID               : {00000000-0000-0000-0000-000000000000}
    Certificate Store Name       : My
`;

test("parseNetshSslCert + planHttpSysUpdates keep appid, store and client-certificate settings", () => {
  const entries = parseNetshSslCert(NETSH);
  assert.equal(entries.length, 3);
  const plan = planHttpSysUpdates(entries, OLD, NEW.toLowerCase());
  assert.deepEqual(plan, [
    {
      bindingKind: "ipport",
      binding: "0.0.0.0:443",
      certificateHash: NEW,
      appId: "{4dc3e181-e14b-4a21-b022-59fc669b0914}",
      certStoreName: "My",
      settings: {
        verifyclientcertrevocation: "enable",
        verifyrevocationwithcachedclientcertonly: "disable",
        usagecheck: "enable",
        revocationfreshnesstime: "0",
        urlretrievaltimeout: "0",
        dsmapperusage: "disable",
        clientcertnegotiation: "enable",
      },
    },
    {
      bindingKind: "hostnameport",
      binding: "www.example.com:443",
      certificateHash: NEW,
      appId: "{12345678-1234-1234-1234-123456789abc}",
      certStoreName: "WebHosting",
      settings: { clientcertnegotiation: "disable" },
    },
  ]);
});
