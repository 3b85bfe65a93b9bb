/**
 * The CAA pre-flight (RFC 8659) against real authoritative servers: BIND 9 (example.net), Knot DNS (example.info) and
 * PowerDNS (example.edu) serving CAA records from their zone files, asked through the stack's DNS server (the
 * resolver override, which forwards each zone to its server). The CA's directory names its CAA identity through the
 * stack's ACME proxy (`meta.caaIdentities`; Pebble publishes none). A refusal is a 400 naming the record, before
 * anything is written.
 */
import assert from "node:assert/strict";
import { promises as dnsPromises } from "node:dns";
import { after, before, describe, it } from "node:test";
import { relevantCaa } from "../../src/dns/caa";
import { issueCertificate, validateRequest } from "../../src/issuance";
import { ValidationError } from "../../src/shared/errors";
import { clients, stackDeps, txtRecords } from "../integration/helpers";
import { startTestStack, type TestStack } from "../support/stack";

const CA = "ca.kv-acme.test";

let stack: TestStack;
before(async () => {
  stack = await startTestStack({
    dns: ["rfc2136", "knot", "powerdns"],
    acmeDirectoryMeta: { caaIdentities: [CA] },
    dnsRecords: {
      // BIND: the apex allows another CA only; two names below it allow this one (one of them not for wildcards).
      "example.net": [
        '@ IN CAA 0 issue "other-ca.example"',
        `ok IN CAA 0 issue "${CA}; validationmethods=dns-01"`,
        `wild IN CAA 0 issue "${CA}"`,
        'wild IN CAA 0 issuewild ";"',
      ],
      // Knot: a CNAME into the PowerDNS zone, a critical property nobody knows, and no CAA at the apex.
      "example.info": ["alias IN CNAME target.example.edu.", 'crit IN CAA 128 tbs "x"', `crit IN CAA 0 issue "${CA}"`],
      // PowerDNS: the CNAME's target allows another CA; the rest of the zone has no CAA.
      "example.edu": ['target IN CAA 0 issue "other-ca.example"'],
    },
  });
});
after(async () => {
  await stack?.close();
});

/** The problems of a refused validation, by field. */
async function refused(dnsNames: string[]): Promise<Record<string, string>> {
  const txt = await txtRecords(stack);
  try {
    await validateRequest({ dnsNames, certificateName: "caa-refused" }, stackDeps(stack));
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    assert.deepEqual(await txtRecords(stack), txt, "no TXT written");
    return Object.fromEntries(err.problems.map((p) => [p.field, p.message]));
  }
  assert.fail(`${dnsNames.join(", ")} passed the CAA pre-flight`);
}

describe("CAA pre-flight at BIND, Knot and PowerDNS", { concurrency: false }, () => {
  it("climbs from a name without CAA to the zone apex (BIND) and refuses naming the apex record", async () => {
    const problems = await refused(["www.x.example.net"]);
    assert.match(
      problems["dnsNames[0]"] ?? "",
      /CAA at example\.net forbids issuing www\.x\.example\.net: 0 issue "other-ca.example" allows other-ca\.example, not this CA \(ca\.kv-acme\.test\)/,
    );
  });

  it("a record closer to the name allows this CA (parameters ignored) and the certificate is issued through BIND", async () => {
    const result = await issueCertificate({ dnsNames: ["ok.example.net"], certificateName: "caa-ok" }, stackDeps(stack));
    assert.deepEqual(result.dnsNames, ["ok.example.net"]);
  });

  it("issuewild decides for the wildcard, issue for the name itself: only the wildcard is refused", async () => {
    const problems = await refused(["wild.example.net", "*.wild.example.net"]);
    assert.equal(problems["dnsNames[0]"], undefined);
    assert.match(
      problems["dnsNames[1]"] ?? "",
      /CAA at wild\.example\.net forbids issuing \*\.wild\.example\.net: 0 issuewild ";" allows no CA/,
    );
  });

  it("follows a CNAME in the Knot zone to the PowerDNS zone and names the chain", async () => {
    const problems = await refused(["alias.example.info"]);
    assert.match(
      problems["dnsNames[0]"] ?? "",
      /CAA at alias\.example\.info \(CNAME alias\.example\.info -> target\.example\.edu\) forbids issuing alias\.example\.info: 0 issue "other-ca.example"/,
    );
  });

  it("a critical property kv-acme does not know forbids issuance (Knot)", async () => {
    const problems = await refused(["crit.example.info"]);
    assert.match(problems["dnsNames[0]"] ?? "", /critical property 128 tbs "x"/);
  });

  it("names with no CAA up the tree (PowerDNS, Knot apexes) pass; every refused name of a request is listed at once", async () => {
    await validateRequest({ dnsNames: ["free.example.edu", "free.example.info"], certificateName: "caa-free" }, stackDeps(stack));
    const problems = await refused(["free.example.edu", "a.example.net", "crit.example.info"]);
    assert.deepEqual(Object.keys(problems).sort(), ["dnsNames[1]", "dnsNames[2]"]);
  });

  it("KvAcme__CaaCheck=false skips the pre-flight", async () => {
    await validateRequest(
      { dnsNames: ["www.x.example.net"], certificateName: "caa-off" },
      stackDeps(stack, { order: { caaCheck: false } }),
    );
  });

  it("an apex and its wildcard ask each climbed name once (PowerDNS zone: 6 CAA queries before, 3 now)", async () => {
    const names = ["free.example.edu", "*.free.example.edu"];
    // Before: each name climbed on its own (free.example.edu, example.edu, edu; twice).
    const before = await countCaaQueries(async () => {
      const lookup = stackDeps(stack).caaLookup;
      for (const name of names) assert.equal(await relevantCaa(name, [], lookup), undefined);
    });
    assert.equal(before, 6);
    const now = await countCaaQueries(() => validateRequest({ dnsNames: names, certificateName: "caa-once" }, stackDeps(stack)));
    assert.equal(now, 3);
  });

  it("the validations of one run share their answers (two certificates in one zone: 6 queries before, 4 now); other runs ask again", async () => {
    const deps = stackDeps(stack);
    const validate = (label: string, validationRun?: string) =>
      validateRequest(
        { dnsNames: [`${label}.example.edu`], certificateName: `caa-${label}`, ...(validationRun ? { validationRun } : {}) },
        deps,
      );
    assert.equal(await countCaaQueries(async () => (await validate("one"), await validate("two"))), 6, "no run: each validation asks");
    assert.equal(await countCaaQueries(async () => (await validate("one", "run-a"), await validate("two", "run-a"))), 4);
    assert.equal(await countCaaQueries(() => validate("one", "run-a")), 0, "the same run asks nothing again");
    assert.equal(await countCaaQueries(() => validate("one", "run-b")), 3, "another run asks again");
  });

  it("nothing was written for the refused requests", async () => {
    for (const name of ["caa-refused"]) {
      await assert.rejects(
        clients(stack).certificates.getCertificate(name),
        (e: unknown) => (e as { statusCode?: number }).statusCode === 404,
      );
    }
  });
});

/** The CAA queries sent (to the real servers, through the stack's DNS server) while `fn` runs. */
async function countCaaQueries(fn: () => Promise<unknown>): Promise<number> {
  const proto = dnsPromises.Resolver.prototype;
  const original = proto.resolveCaa;
  let count = 0;
  proto.resolveCaa = function (this: InstanceType<typeof dnsPromises.Resolver>, name: string) {
    count++;
    return original.call(this, name);
  };
  try {
    await fn();
  } finally {
    proto.resolveCaa = original;
  }
  return count;
}
