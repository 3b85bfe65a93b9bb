/**
 * Preferred chain, ACME profiles and custom tags against the local stack: Pebble with one alternate root
 * (PEBBLE_ALTERNATE_ROOTS=1, so every certificate URL links a second chain with `Link: rel="alternate"`), reached
 * through the stack's ACME proxy, which adds `meta.profiles` to the directory (the Debian Pebble 2.4 serves no
 * profiles) and records every newOrder payload, so the wire format of `profile` is checked as sent.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { issueCertificate, renewCertificate, runIssuance } from "../../src/issuance";
import { TAG_PREFERRED_CHAIN, TAG_PROFILE } from "../../src/keyvault/tags";
import { pebbleGet } from "../../src/local/pebble";
import { ValidationError } from "../../src/shared/errors";
import { pemBlocks, x509 } from "../../src/shared/x509";
import { startTestStack, type TestStack } from "../support/stack";
import { clients, stackDeps, stackSettings, txtRecords } from "./helpers";

const PROFILES = { classic: "The default profile", shortlived: "Six-day certificates" };

let stack: TestStack;
/** Common names of Pebble's default root (roots/0) and its alternate (roots/1). */
let defaultRoot: string;
let alternateRoot: string;

const label = () => `c${randomBytes(3).toString("hex")}`;
const cn = (pem: string) => new x509.X509Certificate(pem).subjectName.getField("CN")[0] ?? "";

async function rootName(n: number): Promise<string> {
  const res = await pebbleGet(`${stack.info.pebbleManagementUrl}/roots/${n}`, await readFile(stack.info.caFile, "utf8"));
  assert.equal(res.status, 200, `Pebble root ${n}`);
  return cn(res.body);
}

/** The installed chain's top issuer (the issuer of the last certificate of the PEM secret). */
async function topIssuer(certificateName: string): Promise<string> {
  const secret = await clients(stack).secrets.getSecret(certificateName);
  const blocks = pemBlocks(secret.value ?? "");
  assert.ok(blocks.length >= 2, "the secret holds the leaf and its chain");
  return new x509.X509Certificate(blocks[blocks.length - 1] as string).issuerName.getField("CN")[0] ?? "";
}

async function tagsOf(certificateName: string): Promise<Record<string, string>> {
  return (await clients(stack).certificates.getCertificate(certificateName)).properties.tags ?? {};
}

async function exists(certificateName: string): Promise<boolean> {
  try {
    await clients(stack).certificates.getCertificate(certificateName);
    return true;
  } catch {
    return false;
  }
}

const PEM = { contentType: "application/x-pem-file" };

before(async () => {
  stack = await startTestStack({ pebble: { alternateRoots: 1 }, acmeDirectoryMeta: { profiles: PROFILES } });
  defaultRoot = await rootName(0);
  alternateRoot = await rootName(1);
  assert.notEqual(defaultRoot, alternateRoot);
});
after(async () => {
  await stack?.close();
});

describe("preferred chain (Pebble alternate roots)", { concurrency: false }, () => {
  it("without a preference the CA's default chain is installed", async () => {
    await issueCertificate({ dnsNames: [`${label()}.example.com`], certificateName: "chain-default", keyOptions: PEM }, stackDeps(stack));
    assert.equal(await topIssuer("chain-default"), defaultRoot);
  });

  it("a certificate's preferredChain installs the alternate chain, records it in a tag and a renewal keeps it", async () => {
    await issueCertificate(
      { dnsNames: [`${label()}.example.com`], certificateName: "chain-alt", keyOptions: PEM, preferredChain: alternateRoot },
      stackDeps(stack),
    );
    assert.equal(await topIssuer("chain-alt"), alternateRoot);
    assert.equal((await tagsOf("chain-alt"))[TAG_PREFERRED_CHAIN], alternateRoot);
    await renewCertificate("chain-alt", stackDeps(stack));
    assert.equal(await topIssuer("chain-alt"), alternateRoot, "the renewal chose the same chain");
    assert.equal((await tagsOf("chain-alt"))[TAG_PREFERRED_CHAIN], alternateRoot);
  });

  it("the app's PreferredChain applies to certificates without their own (no tag written)", async () => {
    const deps = stackDeps(stack, { order: { caaCheck: true, preferredChain: alternateRoot } });
    await issueCertificate({ dnsNames: [`${label()}.example.com`], certificateName: "chain-app", keyOptions: PEM }, deps);
    assert.equal(await topIssuer("chain-app"), alternateRoot);
    assert.equal((await tagsOf("chain-app"))[TAG_PREFERRED_CHAIN], undefined);
  });

  it("a preference no chain matches installs the default chain and says so in the warnings", async () => {
    const out = await runIssuance(
      { dnsNames: [`${label()}.example.com`], certificateName: "chain-none", keyOptions: PEM, preferredChain: "No Such Root" },
      stackDeps(stack),
    );
    assert.equal(await topIssuer("chain-none"), defaultRoot);
    assert.ok(
      out.warnings?.some((w) => w.includes('No chain issued by "No Such Root"') && w.includes(alternateRoot)),
      String(out.warnings),
    );
  });
});

describe("ACME profiles (directory meta.profiles through the proxy)", { concurrency: false }, () => {
  it("sends the certificate's profile in newOrder, tags it, and a renewal orders with it again", async () => {
    const proxy = stack.acmeProxy;
    assert.ok(proxy);
    const before = proxy.newOrders.length;
    await issueCertificate({ dnsNames: [`${label()}.example.com`], certificateName: "profiled", profile: "shortlived" }, stackDeps(stack));
    assert.equal(proxy.newOrders.at(-1)?.profile, "shortlived");
    assert.equal((await tagsOf("profiled"))[TAG_PROFILE], "shortlived");
    await renewCertificate("profiled", stackDeps(stack));
    assert.equal(proxy.newOrders.at(-1)?.profile, "shortlived", "the renewal's order");
    // Pebble refuses 5 % of nonces: a re-signed newOrder is recorded again, so at least the two orders.
    assert.ok(proxy.newOrders.length >= before + 2);
    assert.ok(proxy.newOrders.slice(before).every((o) => o.profile === "shortlived"));
  });

  it("the app's AcmeProfile is sent for certificates without their own; none set: no profile field", async () => {
    const proxy = stack.acmeProxy;
    assert.ok(proxy);
    await issueCertificate(
      { dnsNames: [`${label()}.example.com`], certificateName: "profile-app" },
      stackDeps(stack, { order: { caaCheck: true, acmeProfile: "classic" } }),
    );
    assert.equal(proxy.newOrders.at(-1)?.profile, "classic");
    await issueCertificate({ dnsNames: [`${label()}.example.com`], certificateName: "profile-none" }, stackDeps(stack));
    assert.equal("profile" in (proxy.newOrders.at(-1) ?? {}), false);
  });

  it("a profile the CA does not offer is a 400 naming the offered ones, before any order, TXT or vault write", async () => {
    const proxy = stack.acmeProxy;
    assert.ok(proxy);
    const orders = proxy.newOrders.length;
    const txtBefore = await txtRecords(stack);
    await assert.rejects(
      issueCertificate(
        { dnsNames: [`${label()}.example.com`], certificateName: "profile-unknown", profile: "tlsclient" },
        stackDeps(stack),
      ),
      (e: unknown) =>
        e instanceof ValidationError &&
        e.problems.some((p) => p.field === "profile" && /does not offer the ACME profile "tlsclient".*classic, shortlived/.test(p.message)),
    );
    assert.equal(proxy.newOrders.length, orders, "no order placed");
    assert.deepEqual(await txtRecords(stack), txtBefore);
    assert.equal(await exists("profile-unknown"), false);
  });
});

describe("custom tags", { concurrency: false }, () => {
  it("are written beside kv-acme's and kept by a renewal; {} removes them", async () => {
    const tags = { team: "payments", "cost-center": "4711" };
    await issueCertificate({ dnsNames: [`${label()}.example.com`], certificateName: "tagged", tags }, stackDeps(stack));
    const first = await tagsOf("tagged");
    assert.equal(first.team, "payments");
    assert.equal(first["cost-center"], "4711");
    assert.equal(first["kv-acme-managed"], "true");
    const version = (await clients(stack).certificates.getCertificate("tagged")).properties.version;
    await renewCertificate("tagged", stackDeps(stack));
    const renewed = await clients(stack).certificates.getCertificate("tagged");
    assert.notEqual(renewed.properties.version, version);
    assert.equal(renewed.properties.tags?.team, "payments");
    assert.equal(renewed.properties.tags?.["cost-center"], "4711");
    const names = (await tagsOf("tagged"))["kv-acme-dns-names"]?.split(",") ?? [];
    await issueCertificate({ dnsNames: names, certificateName: "tagged", tags: {} }, stackDeps(stack));
    const cleared = await tagsOf("tagged");
    assert.equal(cleared.team, undefined);
    assert.equal(cleared["kv-acme-managed"], "true");
  });

  it("kv-acme's or Acmebot's names, too many tags and over-long values are one 400, nothing written", async () => {
    const settings = stackSettings(stack);
    const bad = {
      "kv-acme-managed": "false",
      issuer: "someone",
      Acmebot: "{}",
      note: "x".repeat(257),
      a: "1",
      b: "2",
    };
    const txtBefore = await txtRecords(stack);
    await assert.rejects(
      issueCertificate({ dnsNames: [`${label()}.example.com`], certificateName: "tags-bad", tags: bad }, stackDeps(stack)),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError, String(e));
        const fields = e.problems.map((p) => p.field);
        assert.ok(fields.includes("tags.kv-acme-managed"), fields.join());
        assert.ok(fields.includes("tags.issuer"), fields.join());
        assert.ok(fields.includes("tags.Acmebot"), fields.join());
        assert.ok(fields.includes("tags.note"), fields.join());
        assert.ok(
          e.problems.some((p) => p.field === "tags" && /6 tags: at most 5/.test(p.message)),
          JSON.stringify(e.problems),
        );
        return true;
      },
    );
    assert.ok(settings.order.caaCheck);
    assert.deepEqual(await txtRecords(stack), txtBefore);
    assert.equal(await exists("tags-bad"), false);
  });
});
