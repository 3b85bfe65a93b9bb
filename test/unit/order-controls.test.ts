/** The pure parts of the certificate controls: alternate-chain links, profiles, custom tags, CAA decisions. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { alternateLinks } from "../../src/acme/chains";
import { assertProfileOffered, checkPreferredChain, checkProfileName, effectiveOrderOptions } from "../../src/acme/order-options";
import { caaPermits, climbingNames, issuerDomainOf, type CaaRecord } from "../../src/dns/caa";
import { customTagBudget, customTagsOf, isReservedTagName, validateCustomTags } from "../../src/keyvault/custom-tags";
import { ValidationError } from "../../src/shared/errors";

describe("alternate chain links (RFC 8555 §7.4.2, RFC 8288)", () => {
  it("reads every rel=alternate URL, quoted or not, in one header or several, and skips other relations", () => {
    assert.deepEqual(
      alternateLinks('<https://ca/cert/1/1>;rel="alternate", <https://ca/dir>;rel="index", <https://ca/cert/1/2>; rel=alternate'),
      ["https://ca/cert/1/1", "https://ca/cert/1/2"],
    );
    assert.deepEqual(alternateLinks(['<https://ca/a>;rel="up"', '<https://ca/b>;rel="ALTERNATE"']), ["https://ca/b"]);
    assert.deepEqual(alternateLinks(undefined), []);
  });
});

describe("ACME profiles and preferred chains (settings and requests)", () => {
  it("profile names are letters, digits, . _ - up to 64; issuer names 1-64 printable characters", () => {
    assert.equal(checkProfileName(" shortlived "), "shortlived");
    assert.throws(() => checkProfileName("short lived"), /not a profile name/);
    assert.throws(() => checkProfileName("x".repeat(65)), /not a profile name/);
    assert.equal(checkPreferredChain(" ISRG Root X1 "), "ISRG Root X1");
    assert.throws(() => checkPreferredChain("   "), /empty/);
    assert.throws(() => checkPreferredChain("a\nb"), /control/);
  });

  it("a certificate's own choice wins over the app's", () => {
    const app = { caaCheck: true, preferredChain: "App Root", acmeProfile: "classic" };
    assert.deepEqual(effectiveOrderOptions({}, app), { preferredChain: "App Root", profile: "classic" });
    assert.deepEqual(effectiveOrderOptions({ preferredChain: "Own", profile: "shortlived" }, app), {
      preferredChain: "Own",
      profile: "shortlived",
    });
    assert.deepEqual(effectiveOrderOptions({}, { caaCheck: true }), {});
  });

  it("a profile the directory does not list is refused, and so is any profile when it lists none", () => {
    assert.doesNotThrow(() => assertProfileOffered("classic", { classic: "x" }, "https://ca/dir"));
    assert.doesNotThrow(() => assertProfileOffered(undefined, undefined, "https://ca/dir"));
    assert.throws(
      () => assertProfileOffered("tlsclient", { classic: "x", shortlived: "y" }, "https://ca/dir"),
      (e: unknown) => e instanceof ValidationError && /offers classic, shortlived/.test(e.message),
    );
    assert.throws(
      () => assertProfileOffered("classic", undefined, "https://ca/dir"),
      (e: unknown) => e instanceof ValidationError && /offers no profiles/.test(e.message),
    );
  });
});

describe("custom tags (Key Vault limits, kv-acme's and Acmebot's names reserved)", () => {
  it("reserves kv-acme-* and Acmebot's names in any case, nothing else", () => {
    for (const name of ["kv-acme-managed", "KV-ACME-ignore", "Issuer", "endpoint", "DnsProvider", "dnsalias", "Acmebot", "AcmebotV5"])
      assert.equal(isReservedTagName(name), true, name);
    for (const name of ["team", "kv-acmex", "issuer-team", "env"]) assert.equal(isReservedTagName(name), false, name);
  });

  it("budget: 15 minus the 10 kv-acme keeps minus one per dnsAlias, preferred chain, profile", () => {
    assert.equal(customTagBudget(0), 5);
    assert.equal(customTagBudget(3), 2);
  });

  it("accepts valid tags and refuses each bad one by name, duplicates in another case too", () => {
    assert.deepEqual(validateCustomTags({ team: "a", env: "" }, 5), { team: "a", env: "" });
    assert.deepEqual(validateCustomTags(undefined, 5), {});
    assert.throws(
      () => validateCustomTags({ Team: "a", team: "b", " x": "1", ["n".repeat(513)]: "v" }, 5),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.problems.some((p) => p.field === "tags.team" && /same name as "Team"/.test(p.message)) &&
        e.problems.some((p) => p.field === "tags. x") &&
        e.problems.some((p) => /512/.test(p.message)),
    );
    assert.throws(() => validateCustomTags({ a: "1", b: "2", c: "3" }, 2), /3 tags: at most 2/);
    assert.throws(() => validateCustomTags(["a"], 5), /object/);
  });

  it("a version's custom tags are the ones that are neither kv-acme's nor Acmebot's", () => {
    assert.deepEqual(customTagsOf({ "kv-acme-managed": "true", Issuer: "Acmebot", team: "x", Acmebot: "{}" }), { team: "x" });
    assert.deepEqual(customTagsOf(undefined), {});
  });
});

describe("CAA decisions (RFC 8659)", () => {
  const issue = (value: string, critical = false): CaaRecord => ({ critical, tag: "issue", value });
  const wild = (value: string): CaaRecord => ({ critical: false, tag: "issuewild", value });
  const ca = { wildcard: false, identities: ["letsencrypt.org"] };

  it("climbs from the name (wildcard label dropped) to the top-level label, never the root", () => {
    assert.deepEqual(climbingNames("*.www.Example.com."), ["www.example.com", "example.com", "com"]);
  });

  it("issue authorizes the issuer domain (parameters ignored, any case); another CA or ';' refuses", () => {
    assert.equal(issuerDomainOf(" LetsEncrypt.org; validationmethods=dns-01"), "letsencrypt.org");
    assert.deepEqual(caaPermits([issue("letsencrypt.org; accounturi=x")], ca), { ok: true });
    assert.deepEqual(caaPermits([issue("other.example"), issue("LETSENCRYPT.ORG")], ca), { ok: true });
    const other = caaPermits([issue("pki.goog")], ca);
    assert.equal(other.ok, false);
    assert.match((other as { reason: string }).reason, /0 issue "pki.goog" allows pki.goog, not this CA \(letsencrypt.org\)/);
    assert.match((caaPermits([issue(";")], ca) as { reason: string }).reason, /allows no CA/);
  });

  it("a set without issue restricts nothing; issuewild decides wildcards when present, issue otherwise", () => {
    assert.deepEqual(caaPermits([{ critical: false, tag: "iodef", value: "mailto:x@example.com" }], ca), { ok: true });
    const wildCa = { wildcard: true, identities: ["letsencrypt.org"] };
    assert.equal(caaPermits([issue("letsencrypt.org"), wild(";")], wildCa).ok, false);
    assert.equal(caaPermits([issue(";"), wild("letsencrypt.org")], wildCa).ok, true);
    assert.equal(caaPermits([issue(";"), wild("letsencrypt.org")], ca).ok, false, "issuewild does not authorize a non-wildcard name");
    assert.equal(caaPermits([issue("pki.goog")], wildCa).ok, false);
  });

  it("an unknown critical property forbids issuance; an unknown non-critical one is ignored", () => {
    assert.equal(caaPermits([issue("letsencrypt.org"), { critical: true, tag: "tbs", value: "x" }], ca).ok, false);
    assert.equal(caaPermits([issue("letsencrypt.org"), { critical: false, tag: "tbs", value: "x" }], ca).ok, true);
  });
});
