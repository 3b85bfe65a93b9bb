// Exact-outcome tests for src/keyvault/policy.ts and src/keyvault/tags.ts (the keyvault-policy mutation module):
// whole return values and exact problem texts at each rule's edge, so a changed condition, string or branch fails.
import type { webcrypto } from "node:crypto";
import { createHash } from "node:crypto";
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CLIENT_AUTH_EKU,
  SERVER_AUTH_EKU,
  buildCertificatePolicy,
  describeCsr,
  formatKeyType,
  keyTypeName,
  parseKeyOptions,
  pendingOperationMatches,
  type CsrDescription,
  type KeyOptionsInput,
} from "../../src/keyvault/policy";
import {
  decideOwnership,
  dnsNamesDigest,
  formatIssuerPins,
  formatIssuerTag,
  formatRenewalFailures,
  isIgnored,
  managedTags,
  manualPendingTags,
  mergedByHandTags,
  nextRenewalFailures,
  parseIssuerPinsTag,
  parseIssuerTag,
  parseRenewalFailures,
  parseTagTime,
  readManagedTags,
  tagNamesMatch,
} from "../../src/keyvault/tags";
import { ValidationError } from "../../src/shared/errors";
import { derToPem, subtle, x509 } from "../../src/shared/x509";

const SUPPORTED =
  "RSA-2048, RSA-3072, RSA-4096, EC-P256, EC-P384, EC-P521, RSA-HSM-2048, RSA-HSM-3072, RSA-HSM-4096, EC-HSM-P256, EC-HSM-P384, EC-HSM-P521";
const HSM_EXPORTABLE = "an HSM key cannot be exportable: leave exportable unset or false with an -HSM key type";

function problemsOf(fn: () => unknown): { field: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail("expected a ValidationError, nothing was thrown");
}

describe("parseKeyOptions exact results", () => {
  const base = { reuseKey: false, exportable: true, contentType: "application/x-pkcs12" };
  const cases: { name: string; input: KeyOptionsInput; want: unknown }[] = [
    {
      name: "RSA-HSM alone: 2048 in the HSM, not exportable",
      input: { keyType: "RSA-HSM" },
      want: { keyType: "RSA", keySize: 2048, ...base, exportable: false, hsm: true },
    },
    {
      name: "rsa-hsm-3072 any case",
      input: { keyType: "rsa-hsm-3072" },
      want: { keyType: "RSA", keySize: 3072, ...base, exportable: false, hsm: true },
    },
    { name: "RSA4096 without a dash", input: { keyType: "RSA4096" }, want: { keyType: "RSA", keySize: 4096, ...base } },
    {
      name: "EC-HSM alone: P-256 in the HSM",
      input: { keyType: "EC-HSM" },
      want: { keyType: "EC", curve: "P-256", ...base, exportable: false, hsm: true },
    },
    {
      name: "EC-HSM-P384",
      input: { keyType: "EC-HSM-P384" },
      want: { keyType: "EC", curve: "P-384", ...base, exportable: false, hsm: true },
    },
    { name: "ECP521 without dashes", input: { keyType: "ECP521" }, want: { keyType: "EC", curve: "P-521", ...base } },
    { name: "surrounding spaces trimmed", input: { keyType: "  EC-P384 " }, want: { keyType: "EC", curve: "P-384", ...base } },
    {
      name: "HSM key with exportable false explicitly",
      input: { keyType: "RSA-HSM-2048", exportable: false },
      want: { keyType: "RSA", keySize: 2048, ...base, exportable: false, hsm: true },
    },
    {
      name: "clientAuth true adds clientAuth",
      input: { clientAuth: true },
      want: { keyType: "RSA", keySize: 2048, ...base, clientAuth: true },
    },
    {
      name: 'clientAuth "yes" (lenient) adds clientAuth',
      input: { clientAuth: "yes" },
      want: { keyType: "RSA", keySize: 2048, ...base, clientAuth: true },
    },
    { name: "clientAuth false leaves no clientAuth key", input: { clientAuth: false }, want: { keyType: "RSA", keySize: 2048, ...base } },
    { name: "contentType pfx is PKCS#12", input: { contentType: "pfx" }, want: { keyType: "RSA", keySize: 2048, ...base } },
    { name: "contentType pkcs12", input: { contentType: "pkcs12" }, want: { keyType: "RSA", keySize: 2048, ...base } },
    {
      name: "contentType application/x-pkcs12 upper case",
      input: { contentType: " APPLICATION/X-PKCS12 " },
      want: { keyType: "RSA", keySize: 2048, ...base },
    },
    {
      name: "contentType PEM",
      input: { contentType: "PEM" },
      want: { keyType: "RSA", keySize: 2048, ...base, contentType: "application/x-pem-file" },
    },
    {
      name: "contentType application/x-pem-file",
      input: { contentType: "application/x-pem-file" },
      want: { keyType: "RSA", keySize: 2048, ...base, contentType: "application/x-pem-file" },
    },
    { name: 'reuseKey "true" string', input: { reuseKey: "true" }, want: { keyType: "RSA", keySize: 2048, ...base, reuseKey: true } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(parseKeyOptions(c.input), c.want));

  /** parseKeyOptions' one problem for a key type it does not know: the name trimmed, every supported one listed. */
  const unsupported = (keyType: string) => [
    { field: "keyType", message: `"${keyType}" is not a supported key type; use one of ${SUPPORTED}` },
  ];
  const refused: { name: string; input: KeyOptionsInput; want: { field: string; message: string }[] }[] = [
    {
      name: "RSA-1024: unsupported key type, listing every name",
      input: { keyType: "RSA-1024" },
      want: unsupported("RSA-1024"),
    },
    {
      name: "EC-P192 refused (trimmed in the message)",
      input: { keyType: " EC-P192 " },
      want: unsupported("EC-P192"),
    },
    {
      name: "prefix-only match refused (XRSA)",
      input: { keyType: "XRSA" },
      want: unsupported("XRSA"),
    },
    {
      name: "suffix garbage refused (EC-P256X)",
      input: { keyType: "EC-P256X" },
      want: unsupported("EC-P256X"),
    },
    {
      name: "suffix garbage refused (RSA-2048X)",
      input: { keyType: "RSA-2048X" },
      want: unsupported("RSA-2048X"),
    },
    {
      name: "prefix garbage refused (XEC-P256)",
      input: { keyType: "XEC-P256" },
      want: unsupported("XEC-P256"),
    },
    {
      name: "HSM key asked exportable",
      input: { keyType: "EC-HSM-P256", exportable: true },
      want: [{ field: "exportable", message: HSM_EXPORTABLE }],
    },
    {
      name: "reuseKey not a boolean",
      input: { reuseKey: "maybe" },
      want: [{ field: "reuseKey", message: '"maybe" is not a boolean (use true or false)' }],
    },
    {
      name: "exportable not a boolean",
      input: { exportable: "nah" },
      want: [{ field: "exportable", message: '"nah" is not a boolean (use true or false)' }],
    },
    {
      name: "clientAuth not a boolean",
      input: { clientAuth: "perhaps" },
      want: [{ field: "clientAuth", message: '"perhaps" is not a boolean (use true or false)' }],
    },
    {
      name: "contentType der refused, untrimmed in the message",
      input: { contentType: " der" },
      want: [{ field: "contentType", message: '" der" is not a supported content type; use pkcs12 or pem' }],
    },
    {
      name: "every invalid field listed in order",
      input: { keyType: "DSA", reuseKey: "x", exportable: "y", contentType: "zip", clientAuth: "z" },
      want: [
        ...unsupported("DSA"),
        { field: "reuseKey", message: '"x" is not a boolean (use true or false)' },
        { field: "exportable", message: '"y" is not a boolean (use true or false)' },
        { field: "contentType", message: '"zip" is not a supported content type; use pkcs12 or pem' },
        { field: "clientAuth", message: '"z" is not a boolean (use true or false)' },
      ],
    },
  ];
  for (const c of refused)
    it(c.name, () =>
      assert.deepEqual(
        problemsOf(() => parseKeyOptions(c.input)),
        c.want,
      ),
    );

  it("the ValidationError message joins field and message", () => {
    assert.throws(() => parseKeyOptions({ reuseKey: "maybe" }), { message: 'reuseKey: "maybe" is not a boolean (use true or false)' });
  });
});

describe("keyTypeName and formatKeyType exact names", () => {
  const cases: { name: string; options: Parameters<typeof keyTypeName>[0]; full: string; short: string }[] = [
    { name: "RSA 3072", options: { keyType: "RSA", keySize: 3072 }, full: "RSA-3072", short: "RSA-3072" },
    { name: "RSA without size is 2048", options: { keyType: "RSA" }, full: "RSA-2048", short: "RSA-2048" },
    { name: "RSA HSM 4096", options: { keyType: "RSA", keySize: 4096, hsm: true }, full: "RSA-HSM-4096", short: "RSA-4096" },
    { name: "EC P-384", options: { keyType: "EC", curve: "P-384" }, full: "EC-P384", short: "EC-P384" },
    { name: "EC without curve is P256", options: { keyType: "EC" }, full: "EC-P256", short: "EC-P256" },
    { name: "EC HSM P-521", options: { keyType: "EC", curve: "P-521", hsm: true }, full: "EC-HSM-P521", short: "EC-P521" },
  ];
  for (const c of cases)
    it(c.name, () => {
      assert.equal(keyTypeName(c.options), c.full);
      assert.equal(formatKeyType(c.options), c.short);
    });
  it("every supported name parses back to itself", () => {
    for (const n of SUPPORTED.split(", ")) assert.equal(keyTypeName(parseKeyOptions({ keyType: n, exportable: false })), n);
  });
});

describe("buildCertificatePolicy exact policy", () => {
  it("RSA HSM with clientAuth: whole policy", () => {
    const opts = parseKeyOptions({ keyType: "RSA-HSM-3072", clientAuth: true, reuseKey: true });
    assert.deepEqual(buildCertificatePolicy(["Example.com", "*.example.com"], opts), {
      issuerName: "Unknown",
      subject: "CN=example.com",
      subjectAlternativeNames: { dnsNames: ["example.com", "*.example.com"] },
      keyType: "RSA-HSM",
      keySize: 3072,
      keyUsage: ["digitalSignature", "keyEncipherment"],
      reuseKey: true,
      exportable: false,
      contentType: "application/x-pkcs12",
      enhancedKeyUsage: [SERVER_AUTH_EKU, CLIENT_AUTH_EKU],
      lifetimeActions: [{ action: "EmailContacts", lifetimePercentage: 80 }],
    });
  });
  it("EC HSM without clientAuth: whole policy", () => {
    const opts = parseKeyOptions({ keyType: "EC-HSM" });
    assert.deepEqual(buildCertificatePolicy(["a.example.com"], opts), {
      issuerName: "Unknown",
      subject: "CN=a.example.com",
      subjectAlternativeNames: { dnsNames: ["a.example.com"] },
      keyType: "EC-HSM",
      keyCurveName: "P-256",
      keyUsage: ["digitalSignature"],
      reuseKey: false,
      exportable: false,
      contentType: "application/x-pkcs12",
      enhancedKeyUsage: [SERVER_AUTH_EKU],
      lifetimeActions: [{ action: "EmailContacts", lifetimePercentage: 80 }],
    });
  });
  it("RSA and EC without hsm: keyType RSA / EC, size and curve defaults", () => {
    const rsa = buildCertificatePolicy(["a.example.com"], {
      keyType: "RSA",
      reuseKey: false,
      exportable: true,
      contentType: "application/x-pem-file",
    });
    assert.equal(rsa.keyType, "RSA");
    assert.equal(rsa.keySize, 2048);
    const ec = buildCertificatePolicy(["a.example.com"], {
      keyType: "EC",
      reuseKey: false,
      exportable: true,
      contentType: "application/x-pem-file",
    });
    assert.equal(ec.keyType, "EC");
    assert.equal(ec.keyCurveName, "P-256");
  });
});

type KeySpec = { name: "RSASSA-PKCS1-v1_5"; modulusLength: number } | { name: "ECDSA"; namedCurve: "P-256" | "P-384" | "P-521" };

async function makeCsr(key: KeySpec, extensions: x509.Extension[]): Promise<x509.Pkcs10CertificateRequest> {
  const alg = key.name === "ECDSA" ? key : { ...key, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
  const keys = (await subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  return x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=Subject.Example.com, O=Example",
    keys,
    signingAlgorithm: key.name === "ECDSA" ? { name: "ECDSA", hash: "SHA-256" } : alg,
    extensions,
  });
}

describe("describeCsr exact descriptions", () => {
  let rsa: x509.Pkcs10CertificateRequest;
  let ec: x509.Pkcs10CertificateRequest;
  let bare: x509.Pkcs10CertificateRequest;
  before(async () => {
    rsa = await makeCsr({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048 }, [
      new x509.SubjectAlternativeNameExtension([
        { type: "dns", value: "WWW.example.com" },
        { type: "ip", value: "192.0.2.1" },
        { type: "dns", value: "b.example.com" },
        { type: "dns", value: "a.example.com" },
      ]),
      new x509.ExtendedKeyUsageExtension([CLIENT_AUTH_EKU, SERVER_AUTH_EKU]),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.digitalSignature),
    ]);
    ec = await makeCsr({ name: "ECDSA", namedCurve: "P-384" }, [
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "*.Example.com" }]),
      new x509.ExtendedKeyUsageExtension([SERVER_AUTH_EKU]),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.nonRepudiation |
          x509.KeyUsageFlags.dataEncipherment |
          x509.KeyUsageFlags.keyAgreement |
          x509.KeyUsageFlags.keyCertSign |
          x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.encipherOnly |
          x509.KeyUsageFlags.decipherOnly,
      ),
    ]);
    bare = await makeCsr({ name: "ECDSA", namedCurve: "P-521" }, []);
  });
  it("RSA with SAN (ip skipped), EKU and key usage: whole description", () => {
    assert.deepEqual(describeCsr(new Uint8Array(rsa.rawData)), {
      subject: "CN=Subject.Example.com, O=Example",
      names: ["a.example.com", "b.example.com", "www.example.com"],
      keyType: "RSA",
      keySize: 2048,
      ekus: [SERVER_AUTH_EKU, CLIENT_AUTH_EKU],
      keyUsage: ["digitalSignature", "keyEncipherment"],
    });
  });
  it("EC P-384 with every other key usage bit: names and sorted usages", () => {
    assert.deepEqual(describeCsr(derToPem(ec.rawData, "CERTIFICATE REQUEST")), {
      subject: "CN=Subject.Example.com, O=Example",
      names: ["*.example.com"],
      keyType: "EC",
      curve: "P-384",
      ekus: [SERVER_AUTH_EKU],
      keyUsage: ["cRLSign", "dataEncipherment", "decipherOnly", "encipherOnly", "keyAgreement", "keyCertSign", "nonRepudiation"],
    });
  });
  it("a CSR without extensions: no names, no ekus, no keyUsage keys", () => {
    assert.deepEqual(describeCsr(`  ${Buffer.from(bare.rawData).toString("base64")}\n`), {
      subject: "CN=Subject.Example.com, O=Example",
      names: [],
      keyType: "EC",
      curve: "P-521",
    });
  });
  it("PEM after leading blank lines is read as PEM", () => {
    assert.equal(describeCsr(`\n  ${derToPem(ec.rawData, "CERTIFICATE REQUEST")}`).curve, "P-384");
  });
  it("the SAN is found when another extension comes first", async () => {
    const csr = await makeCsr({ name: "ECDSA", namedCurve: "P-256" }, [
      new x509.ExtendedKeyUsageExtension([SERVER_AUTH_EKU]),
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "late.example.com" }]),
    ]);
    assert.deepEqual(describeCsr(new Uint8Array(csr.rawData)).names, ["late.example.com"]);
  });
  it("base64 with line breaks and base64url both read", () => {
    const b64 = Buffer.from(rsa.rawData).toString("base64");
    const wrapped = b64.replace(/(.{64})/g, "$1\n");
    assert.deepEqual(describeCsr(wrapped).names, ["a.example.com", "b.example.com", "www.example.com"]);
    assert.deepEqual(describeCsr(Buffer.from(ec.rawData).toString("base64url")).curve, "P-384");
  });
  it("a DER view into a larger buffer reads only its bytes", () => {
    const der = new Uint8Array(rsa.rawData);
    const big = new Uint8Array(der.length + 20);
    big.set(der, 10);
    assert.equal(describeCsr(big.subarray(10, 10 + der.length)).keySize, 2048);
  });
  it("not a CSR: ValidationError on field csr quoting the parser's message (not its String form)", () => {
    let reason = "";
    try {
      new x509.Pkcs10CertificateRequest(new Uint8Array(Buffer.from("bm90IGEgY3Ny", "base64")).buffer);
    } catch (err) {
      reason = (err as Error).message;
    }
    assert.notEqual(reason, "");
    assert.deepEqual(
      problemsOf(() => describeCsr("bm90IGEgY3Ny")),
      [{ field: "csr", message: `not a PKCS#10 certificate signing request (${reason})` }],
    );
  });
});

describe("pendingOperationMatches exact reasons", () => {
  const rsa2048: CsrDescription = { subject: "CN=a", names: ["a.example.com", "b.example.com"], keyType: "RSA", keySize: 2048 };
  const rsaOpts = { keyType: "RSA" as const, keySize: 2048 as const };
  const cases: {
    name: string;
    csr: CsrDescription;
    names: string[];
    opts: Parameters<typeof pendingOperationMatches>[2];
    want: { reuse: boolean; reason: string };
  }[] = [
    {
      name: "two EKUs against a serverAuth-only request: both listed, comma-separated",
      csr: { ...rsa2048, ekus: [SERVER_AUTH_EKU, CLIENT_AUTH_EKU] },
      names: ["a.example.com", "b.example.com"],
      opts: rsaOpts,
      want: {
        reuse: false,
        reason: `the pending CSR asks for extended key usage ${SERVER_AUTH_EKU}, ${CLIENT_AUTH_EKU}, the request wants ${SERVER_AUTH_EKU}`,
      },
    },
    {
      name: "two key usages against an EC request: both listed, comma-separated",
      csr: { subject: "", names: ["a.example.com"], keyType: "EC", curve: "P-256", keyUsage: ["digitalSignature", "keyEncipherment"] },
      names: ["a.example.com"],
      opts: { keyType: "EC", curve: "P-256" },
      want: {
        reuse: false,
        reason: "the pending CSR asks for key usage digitalSignature, keyEncipherment, the request wants digitalSignature",
      },
    },
    {
      name: "same names (case, duplicates) and key: reuse, counting distinct names",
      csr: rsa2048,
      names: ["B.example.com", "a.example.com", "a.example.com"],
      opts: rsaOpts,
      want: { reuse: true, reason: "the pending CSR has the same 2 names and key RSA-2048" },
    },
    {
      name: "one missing name",
      csr: rsa2048,
      names: ["a.example.com", "b.example.com", "c.example.com"],
      opts: rsaOpts,
      want: { reuse: false, reason: "the pending CSR lacks c.example.com" },
    },
    {
      name: "two missing names joined with a comma",
      csr: rsa2048,
      names: ["a.example.com", "b.example.com", "d.example.com", "c.example.com"],
      opts: rsaOpts,
      want: { reuse: false, reason: "the pending CSR lacks c.example.com, d.example.com" },
    },
    {
      name: "extra names",
      csr: { ...rsa2048, names: ["a.example.com", "b.example.com", "c.example.com"] },
      names: ["b.example.com"],
      opts: rsaOpts,
      want: { reuse: false, reason: "the pending CSR has extra names a.example.com, c.example.com" },
    },
    {
      name: "missing, extra and key size: every reason joined by semicolons",
      csr: rsa2048,
      names: ["a.example.com", "z.example.com"],
      opts: { keyType: "RSA", keySize: 4096 },
      want: {
        reuse: false,
        reason:
          "the pending CSR lacks z.example.com; the pending CSR has extra names b.example.com; the pending CSR has key RSA-2048, the request wants RSA-4096",
      },
    },
    {
      name: "RSA CSR without a size",
      csr: { subject: "", names: ["a.example.com"], keyType: "RSA" },
      names: ["a.example.com"],
      opts: rsaOpts,
      want: { reuse: false, reason: "the pending CSR has key RSA-?, the request wants RSA-2048" },
    },
    {
      name: "EC CSR P-384 against EC P-256",
      csr: { subject: "", names: ["a.example.com"], keyType: "EC", curve: "P-384" },
      names: ["a.example.com"],
      opts: { keyType: "EC", curve: "P-256" },
      want: { reuse: false, reason: "the pending CSR has key EC-P384, the request wants EC-P256" },
    },
    {
      name: "EC CSR P-384 matches EC P-384",
      csr: { subject: "", names: ["a.example.com"], keyType: "EC", curve: "P-384" },
      names: ["a.example.com"],
      opts: { keyType: "EC", curve: "P-384" },
      want: { reuse: true, reason: "the pending CSR has the same 1 names and key EC-P384" },
    },
    {
      name: "EC CSR without a curve",
      csr: { subject: "", names: ["a.example.com"], keyType: "EC" },
      names: ["a.example.com"],
      opts: { keyType: "EC" },
      want: { reuse: false, reason: "the pending CSR has key EC-?, the request wants EC-P256" },
    },
    {
      name: "unknown key type",
      csr: { subject: "", names: ["a.example.com"], keyType: "unknown" },
      names: ["a.example.com"],
      opts: rsaOpts,
      want: { reuse: false, reason: "the pending CSR has key an unknown key type, the request wants RSA-2048" },
    },
    {
      name: "EKUs serverAuth only: reused for a request without clientAuth",
      csr: { ...rsa2048, ekus: [SERVER_AUTH_EKU], keyUsage: ["digitalSignature", "keyEncipherment"] },
      names: ["a.example.com", "b.example.com"],
      opts: rsaOpts,
      want: { reuse: true, reason: "the pending CSR has the same 2 names and key RSA-2048" },
    },
    {
      name: "EKUs serverAuth only against a clientAuth request",
      csr: { ...rsa2048, ekus: [SERVER_AUTH_EKU] },
      names: ["a.example.com", "b.example.com"],
      opts: { ...rsaOpts, clientAuth: true },
      want: {
        reuse: false,
        reason: `the pending CSR asks for extended key usage ${SERVER_AUTH_EKU}, the request wants ${SERVER_AUTH_EKU}, ${CLIENT_AUTH_EKU}`,
      },
    },
    {
      name: "both EKUs match a clientAuth request",
      csr: { ...rsa2048, ekus: [SERVER_AUTH_EKU, CLIENT_AUTH_EKU] },
      names: ["a.example.com", "b.example.com"],
      opts: { ...rsaOpts, clientAuth: true },
      want: { reuse: true, reason: "the pending CSR has the same 2 names and key RSA-2048" },
    },
    {
      name: "an empty EKU list reads none",
      csr: { ...rsa2048, ekus: [] },
      names: ["a.example.com", "b.example.com"],
      opts: rsaOpts,
      want: { reuse: false, reason: `the pending CSR asks for extended key usage none, the request wants ${SERVER_AUTH_EKU}` },
    },
    {
      name: "RSA key usage without keyEncipherment",
      csr: { ...rsa2048, keyUsage: ["digitalSignature"] },
      names: ["a.example.com", "b.example.com"],
      opts: rsaOpts,
      want: {
        reuse: false,
        reason: "the pending CSR asks for key usage digitalSignature, the request wants digitalSignature, keyEncipherment",
      },
    },
    {
      name: "EC key usage digitalSignature matches",
      csr: { subject: "", names: ["a.example.com"], keyType: "EC", curve: "P-256", keyUsage: ["digitalSignature"] },
      names: ["a.example.com"],
      opts: { keyType: "EC", curve: "P-256" },
      want: { reuse: true, reason: "the pending CSR has the same 1 names and key EC-P256" },
    },
    {
      name: "an empty key usage list reads none",
      csr: { subject: "", names: ["a.example.com"], keyType: "EC", curve: "P-256", keyUsage: [] },
      names: ["a.example.com"],
      opts: { keyType: "EC", curve: "P-256" },
      want: { reuse: false, reason: "the pending CSR asks for key usage none, the request wants digitalSignature" },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(pendingOperationMatches(c.csr, c.names, c.opts), c.want));
});

const LE = "https://acme-v02.api.letsencrypt.org/directory";
const PIN_A = "A".repeat(40);
const PIN_B = "0123456789ABCDEF0123456789ABCDEF01234567";

describe("tag time and renewal-failure parsers", () => {
  const times: { name: string; value: string | undefined; want: string | undefined }[] = [
    { name: "absent", value: undefined, want: undefined },
    { name: "empty", value: "", want: undefined },
    { name: "ISO with offset normalized to UTC", value: " 2026-03-01T10:00:00+02:00 ", want: "2026-03-01T08:00:00.000Z" },
    { name: "date only (no T) refused", value: "2026-03-01", want: undefined },
    { name: "not starting with the date refused", value: "x2026-03-01T10:00:00Z", want: undefined },
    { name: "a date form Date.parse refuses", value: "2026-13-45T99:00:00Z", want: undefined },
  ];
  for (const c of times) it(`parseTagTime: ${c.name}`, () => assert.equal(parseTagTime(c.value), c.want));

  const failures: { name: string; value: string | undefined; want: unknown }[] = [
    { name: "absent", value: undefined, want: undefined },
    {
      name: "well-formed, time normalized",
      value: " 3;2026-03-01T10:00:00+01:00;run-7 ",
      want: { attempts: 3, at: "2026-03-01T09:00:00.000Z", failureId: "run-7" },
    },
    {
      name: "empty failure id allowed",
      value: "1;2026-03-01T10:00:00Z;",
      want: { attempts: 1, at: "2026-03-01T10:00:00.000Z", failureId: "" },
    },
    {
      name: "six-digit count allowed",
      value: "999999;2026-03-01T10:00:00Z;x",
      want: { attempts: 999999, at: "2026-03-01T10:00:00.000Z", failureId: "x" },
    },
    { name: "seven-digit count refused", value: "1000000;2026-03-01T10:00:00Z;x", want: undefined },
    { name: "zero attempts refused", value: "0;2026-03-01T10:00:00Z;x", want: undefined },
    { name: "unparsable time refused", value: "2;yesterday;x", want: undefined },
    { name: "four parts refused", value: "2;2026-03-01T10:00:00Z;x;y", want: undefined },
    { name: "missing time refused", value: "2;;x", want: undefined },
    { name: "leading garbage refused", value: "a2;2026-03-01T10:00:00Z;x", want: undefined },
  ];
  for (const c of failures) it(`parseRenewalFailures: ${c.name}`, () => assert.deepEqual(parseRenewalFailures(c.value), c.want));

  it("nextRenewalFailures: first failure counts 1", () => {
    assert.deepEqual(nextRenewalFailures(undefined, "run 1;a", new Date("2026-03-01T10:00:00Z")), {
      attempts: 1,
      at: "2026-03-01T10:00:00.000Z",
      failureId: "run_1_a",
    });
  });
  it("nextRenewalFailures: the same failure recorded again is unchanged (same object)", () => {
    const current = { attempts: 2, at: "2026-03-01T10:00:00.000Z", failureId: "run_1" };
    assert.equal(nextRenewalFailures(current, "run 1", new Date("2026-03-02T10:00:00Z")), current);
  });
  it("nextRenewalFailures: another failure adds one", () => {
    const current = { attempts: 2, at: "2026-03-01T10:00:00.000Z", failureId: "run_1" };
    assert.deepEqual(nextRenewalFailures(current, "run_2", new Date("2026-03-02T10:00:00Z")), {
      attempts: 3,
      at: "2026-03-02T10:00:00.000Z",
      failureId: "run_2",
    });
  });
  it("nextRenewalFailures: the id is clipped to 64 characters", () => {
    assert.equal(nextRenewalFailures(undefined, "x".repeat(70), new Date(0)).failureId, "x".repeat(64));
  });
  it("formatRenewalFailures: attempts;at;id with the id made safe and clipped", () => {
    assert.equal(
      formatRenewalFailures({ attempts: 4, at: "2026-03-01T10:00:00.000Z", failureId: `a;b c\t${"y".repeat(70)}` }),
      `4;2026-03-01T10:00:00.000Z;a_b_c_${"y".repeat(58)}`,
    );
  });
});

describe("managedTags, length check and manual pending tags", () => {
  it("every optional tag written, custom tags beside and overridden by kv-acme's", () => {
    assert.deepEqual(
      managedTags({
        acmeDirectoryUrl: LE,
        dnsNames: ["A.example.com"],
        dnsProvider: "azure-dns",
        dnsAlias: "_acme.alias.example.net",
        ariCertId: "aid.sid",
        issuer: { thumbprint: PIN_A, keyId: "ab01", subject: "CN=R11, O=Let's Encrypt" },
        issuerPins: [PIN_A, PIN_B],
        lifetimeShortened: { previousNotAfter: "2026-05-01T00:00:00.000Z", previousVersion: "v1" },
        preferredChain: "ISRG Root X1",
        profile: "shortlived",
        customTags: { team: "web", "kv-acme-managed": "false" },
      }),
      {
        team: "web",
        "kv-acme-managed": "true",
        "kv-acme-acme-directory": LE,
        "kv-acme-dns-names": "a.example.com",
        "kv-acme-dns-provider": "azure-dns",
        "kv-acme-ari-cert-id": "aid.sid",
        "kv-acme-dns-alias": "_acme.alias.example.net",
        "kv-acme-preferred-chain": "ISRG Root X1",
        "kv-acme-profile": "shortlived",
        "kv-acme-issuer": `${PIN_A};ab01;CN=R11, O=Let's Encrypt`,
        "kv-acme-issuer-pins": `${PIN_A},${PIN_B}`,
        "kv-acme-lifetime-shortened": "2026-05-01T00:00:00.000Z;v1",
      },
    );
  });
  it("empty issuer pins write no pin tag", () => {
    assert.ok(
      !("kv-acme-issuer-pins" in managedTags({ acmeDirectoryUrl: LE, dnsNames: ["a.example.com"], dnsProvider: "p", issuerPins: [] })),
    );
  });
  const tooLong: { name: string; field: string; extra: Record<string, unknown> }[] = [
    { name: "directory URL", field: "kv-acme-acme-directory", extra: { acmeDirectoryUrl: "h".repeat(257) } },
    { name: "DNS provider", field: "kv-acme-dns-provider", extra: { dnsProvider: "h".repeat(257) } },
    { name: "ARI id", field: "kv-acme-ari-cert-id", extra: { ariCertId: "h".repeat(257) } },
    { name: "DNS alias", field: "kv-acme-dns-alias", extra: { dnsAlias: "h".repeat(257) } },
    { name: "preferred chain", field: "kv-acme-preferred-chain", extra: { preferredChain: "h".repeat(257) } },
    { name: "profile", field: "kv-acme-profile", extra: { profile: "h".repeat(257) } },
    {
      name: "lifetime shortened",
      field: "kv-acme-lifetime-shortened",
      extra: { lifetimeShortened: { previousNotAfter: "2026-05-01T00:00:00.000Z", previousVersion: "v".repeat(232) } },
    },
  ];
  for (const c of tooLong)
    it(`257 characters of ${c.name} refused with the exact text`, () => {
      assert.deepEqual(
        problemsOf(() => managedTags({ acmeDirectoryUrl: LE, dnsNames: ["a.example.com"], dnsProvider: "p", ...c.extra })),
        [{ field: c.field, message: "257 characters do not fit in a Key Vault tag value (at most 256)" }],
      );
    });
  it("exactly 256 characters of a value are kept", () => {
    assert.equal(
      managedTags({ acmeDirectoryUrl: LE, dnsNames: ["a.example.com"], dnsProvider: "p".repeat(256) })["kv-acme-dns-provider"],
      "p".repeat(256),
    );
  });
  it("names of 257 characters take the digest form", () => {
    const names = [
      "a".repeat(60) + ".example.com",
      "b".repeat(60) + ".example.com",
      "c".repeat(60) + ".example.com",
      "d".repeat(26) + ".example.com",
    ];
    assert.equal(names.join(",").length, 257);
    const d = createHash("sha256")
      .update([...names].sort().join(","))
      .digest("hex")
      .slice(0, 32);
    assert.equal(managedTags({ acmeDirectoryUrl: LE, dnsNames: names, dnsProvider: "p" })["kv-acme-dns-names"], `4 names sha256:${d}`);
  });
  it("dnsNamesDigest: normalized, deduplicated, sorted", () => {
    const d = createHash("sha256").update("a.example.com,b.example.com").digest("hex").slice(0, 32);
    assert.deepEqual(dnsNamesDigest(["B.example.com", "a.example.com", "b.example.com"]), { count: 2, sha256Prefix: d });
  });
  it("manualPendingTags: managed, names and the creation time only", () => {
    assert.deepEqual(manualPendingTags({ dnsNames: ["B.example.com", "a.example.com"], createdAt: new Date("2026-03-01T10:00:00Z") }), {
      "kv-acme-managed": "true",
      "kv-acme-dns-names": "b.example.com,a.example.com",
      "kv-acme-manual-pending": "2026-03-01T10:00:00.000Z",
    });
  });
});

describe("mergedByHandTags, issuer and issuer-pins tags", () => {
  const issuer = { thumbprint: PIN_B, keyId: "0a", subject: "CN=R11" };
  it("managed: manual-pending mark removed, issuer recorded, pins written", () => {
    assert.deepEqual(
      mergedByHandTags({ "kv-acme-managed": "true", "kv-acme-manual-pending": "2026-03-01T10:00:00.000Z", team: "x" }, issuer, [PIN_A]),
      {
        "kv-acme-managed": "true",
        team: "x",
        "kv-acme-issuer": `${PIN_B};0a;CN=R11`,
        "kv-acme-issuer-pins": PIN_A,
      },
    );
  });
  it("managed: only the manual-pending mark removed (fewer tags, the rest equal): the new tags", () => {
    const tags = {
      "kv-acme-managed": "true",
      "kv-acme-issuer": `${PIN_B};0a;CN=R11`,
      "kv-acme-manual-pending": "2026-03-01T10:00:00.000Z",
    };
    assert.deepEqual(mergedByHandTags(tags, issuer, []), { "kv-acme-managed": "true", "kv-acme-issuer": `${PIN_B};0a;CN=R11` });
  });
  it("not managed, no pins: nothing changes (undefined)", () => {
    assert.equal(mergedByHandTags({ team: "x", "kv-acme-manual-pending": "2026-03-01T10:00:00.000Z" }, issuer, []), undefined);
  });
  it("not managed with pins: only the pin tag added", () => {
    assert.deepEqual(mergedByHandTags({ team: "x" }, issuer, [PIN_A, PIN_B]), { team: "x", "kv-acme-issuer-pins": `${PIN_A},${PIN_B}` });
  });
  it("managed and already as it would be written: undefined", () => {
    const tags = { "kv-acme-managed": "true", "kv-acme-issuer": `${PIN_B};0a;CN=R11`, "kv-acme-issuer-pins": PIN_A };
    assert.equal(mergedByHandTags(tags, issuer, [PIN_A]), undefined);
  });
  it("managed, same count of tags but a different issuer value: the new tags", () => {
    const tags = { "kv-acme-managed": "true", "kv-acme-issuer": `;;CN=Old` };
    assert.deepEqual(mergedByHandTags(tags, issuer, []), { "kv-acme-managed": "true", "kv-acme-issuer": `${PIN_B};0a;CN=R11` });
  });
  it("formatIssuerTag: empty parts when unknown, subject clipped to fit 256", () => {
    assert.equal(formatIssuerTag({ subject: "CN=X" }), ";;CN=X");
    const v = formatIssuerTag({ thumbprint: PIN_A, keyId: "ff", subject: "S".repeat(300) });
    assert.equal(v, `${PIN_A};ff;${"S".repeat(256 - 44)}`);
    assert.equal(v.length, 256);
  });
  const parsed: { name: string; value: string | undefined; want: unknown }[] = [
    { name: "absent", value: undefined, want: undefined },
    { name: "all parts", value: `${PIN_A};ab;CN=R11`, want: { subject: "CN=R11", keyId: "ab", thumbprint: PIN_A } },
    { name: "subject only", value: ";;CN=R11", want: { subject: "CN=R11" } },
    { name: "subject with semicolons and a newline kept", value: ";;CN=a;b\nc", want: { subject: "CN=a;b\nc" } },
    { name: "lower-case thumbprint refused", value: `${"a".repeat(40)};;CN=R11`, want: undefined },
    { name: "39-digit thumbprint refused", value: `${"A".repeat(39)};;CN=R11`, want: undefined },
    { name: "upper-case key id refused", value: ";AB;CN=R11", want: undefined },
    { name: "empty subject refused", value: `${PIN_A};ab;`, want: undefined },
    { name: "leading garbage refused", value: `x;;CN=R11`, want: undefined },
  ];
  for (const c of parsed) it(`parseIssuerTag: ${c.name}`, () => assert.deepEqual(parseIssuerTag(c.value), c.want));
  it("formatIssuerPins: six allowed, seven refused with the exact text", () => {
    assert.equal(formatIssuerPins(Array(6).fill(PIN_A)), Array(6).fill(PIN_A).join(","));
    assert.deepEqual(
      problemsOf(() => formatIssuerPins(Array(7).fill(PIN_A))),
      [{ field: "kv-acme-issuer-pins", message: "at most 6 issuer pins" }],
    );
  });
  const pins: { name: string; value: string | undefined; want: string[] | undefined }[] = [
    { name: "absent", value: undefined, want: undefined },
    { name: "blank", value: "  ", want: undefined },
    { name: "only junk", value: "nope,also-no", want: undefined },
    { name: "normalized, junk dropped", value: `${PIN_B.toLowerCase()}, junk ,${PIN_A}`, want: [PIN_B, PIN_A] },
  ];
  for (const c of pins) it(`parseIssuerPinsTag: ${c.name}`, () => assert.deepEqual(parseIssuerPinsTag(c.value), c.want));
});

describe("readManagedTags whole results", () => {
  it("kv-acme: every tag read back (keys any case, names trimmed, times normalized)", () => {
    assert.deepEqual(
      readManagedTags({
        "KV-ACME-MANAGED": "TRUE",
        "kv-acme-acme-directory": "https://ACME.Example.com:14000/dir",
        "kv-acme-dns-names": " a.example.com , ,b.example.com",
        "kv-acme-dns-provider": "azure-dns",
        "kv-acme-ari-cert-id": "aid.sid",
        "kv-acme-dns-alias": "alias.example.net",
        "kv-acme-preferred-chain": "  ISRG Root X1 ",
        "kv-acme-profile": " tlsserver ",
        "kv-acme-renewal-failures": "2;2026-03-01T10:00:00Z;r1",
        "kv-acme-renew-not-before": "2026-03-02T10:00:00+00:00",
        "kv-acme-manual-pending": "2026-03-01T09:00:00Z",
        "kv-acme-issuer": `${PIN_A};ab;CN=R11`,
        "kv-acme-issuer-pins": PIN_B,
        "kv-acme-lifetime-shortened": "2026-05-01T00:00:00.000Z;v1",
      }),
      {
        managed: true,
        source: "kv-acme",
        acmeDirectoryUrl: "https://ACME.Example.com:14000/dir",
        acmeHost: "acme.example.com:14000",
        dnsNames: ["a.example.com", "b.example.com"],
        dnsProvider: "azure-dns",
        ariCertId: "aid.sid",
        dnsAlias: "alias.example.net",
        preferredChain: "ISRG Root X1",
        profile: "tlsserver",
        renewalFailures: { attempts: 2, at: "2026-03-01T10:00:00.000Z", failureId: "r1" },
        renewNotBefore: "2026-03-02T10:00:00.000Z",
        manualPending: "2026-03-01T09:00:00.000Z",
        issuer: { subject: "CN=R11", keyId: "ab", thumbprint: PIN_A },
        issuerPins: [PIN_B],
        lifetimeShortened: { previousNotAfter: "2026-05-01T00:00:00.000Z", previousVersion: "v1" },
      },
    );
  });
  it("kv-acme with only the managed tag: nothing else set", () => {
    assert.deepEqual(readManagedTags({ "kv-acme-managed": "true" }), { managed: true, source: "kv-acme" });
  });
  it("kv-acme: blank or malformed optional tags are left out", () => {
    assert.deepEqual(
      readManagedTags({
        "kv-acme-managed": "true",
        "kv-acme-acme-directory": "not a url",
        "kv-acme-dns-names": "",
        "kv-acme-dns-provider": "",
        "kv-acme-ari-cert-id": "",
        "kv-acme-dns-alias": "",
        "kv-acme-preferred-chain": "  ",
        "kv-acme-profile": " ",
        "kv-acme-renewal-failures": "0;2026-03-01T10:00:00Z;r",
        "kv-acme-renew-not-before": "soon",
        "kv-acme-manual-pending": "2026-03-01",
        "kv-acme-issuer": "garbage",
        "kv-acme-issuer-pins": "x",
        "kv-acme-lifetime-shortened": "never;v1",
      }),
      { managed: true, source: "kv-acme", acmeDirectoryUrl: "not a url" },
    );
  });
  it("kv-acme: digest form of the names", () => {
    assert.deepEqual(readManagedTags({ "kv-acme-managed": "true", "kv-acme-dns-names": `100 names sha256:${"0a".repeat(16)}` }), {
      managed: true,
      source: "kv-acme",
      dnsNamesDigest: { count: 100, sha256Prefix: "0a".repeat(16) },
    });
  });
  it("kv-acme: a names value only resembling the digest form is a name list", () => {
    const h = "0a".repeat(16);
    assert.deepEqual(readManagedTags({ "kv-acme-managed": "true", "kv-acme-dns-names": `x 100 names sha256:${h}` }).dnsNames, [
      `x 100 names sha256:${h}`,
    ]);
    assert.deepEqual(readManagedTags({ "kv-acme-managed": "true", "kv-acme-dns-names": `100 names sha256:${h} x` }).dnsNames, [
      `100 names sha256:${h} x`,
    ]);
  });
  it("kv-acme: a lifetime-shortened value starting with ';' is ignored", () => {
    assert.equal(
      readManagedTags({ "kv-acme-managed": "true", "kv-acme-lifetime-shortened": ";2026-05-01T00:00:00.000Z;v1" }).lifetimeShortened,
      undefined,
    );
  });
  it("kv-acme-managed other than true: not managed", () => {
    assert.deepEqual(readManagedTags({ "kv-acme-managed": "yes", "kv-acme-dns-names": "a.example.com" }), {
      managed: false,
      source: undefined,
    });
  });
  it("undefined tags: not managed", () => {
    assert.deepEqual(readManagedTags(undefined), { managed: false, source: undefined });
  });
  it("kv-acme certificate keeping Acmebot v4 tags records the Acmebot version", () => {
    assert.deepEqual(readManagedTags({ "kv-acme-managed": "true", Issuer: "Acmebot" }), {
      managed: true,
      source: "kv-acme",
      acmebotVersion: 4,
    });
  });
  it("Acmebot v4: host, provider, alias and renewal state", () => {
    assert.deepEqual(
      readManagedTags({
        Issuer: "Acmebot",
        Endpoint: "https://acme-v02.api.letsencrypt.org",
        DnsProvider: "Azure DNS",
        DnsAlias: "alias.example.net",
        "kv-acme-renewal-failures": "1;2026-03-01T10:00:00Z;r",
        "kv-acme-renew-not-before": "2026-03-02T10:00:00Z",
        "kv-acme-issuer-pins": PIN_A,
      }),
      {
        managed: true,
        source: "acmebot",
        acmebotVersion: 4,
        acmeHost: "acme-v02.api.letsencrypt.org",
        dnsProvider: "Azure DNS",
        dnsAlias: "alias.example.net",
        renewalFailures: { attempts: 1, at: "2026-03-01T10:00:00.000Z", failureId: "r" },
        renewNotBefore: "2026-03-02T10:00:00.000Z",
        issuerPins: [PIN_A],
      },
    );
  });
  it("Acmebot v5: the certificate id becomes the ARI id", () => {
    const v5 = JSON.stringify({
      endpoint: "acme.example",
      dnsProvider: "Azure DNS",
      dnsAlias: "alias.example.net",
      certificateId: "aid.sid",
    });
    assert.deepEqual(readManagedTags({ Acmebot: v5 }), {
      managed: true,
      source: "acmebot",
      acmebotVersion: 5,
      acmeHost: "acme.example",
      dnsProvider: "Azure DNS",
      dnsAlias: "alias.example.net",
      ariCertId: "aid.sid",
    });
  });
  it("Acmebot v4 with the Issuer tag alone: managed, nothing else", () => {
    assert.deepEqual(readManagedTags({ Issuer: "Acmebot" }), { managed: true, source: "acmebot", acmebotVersion: 4 });
  });
});

describe("tagNamesMatch, isIgnored", () => {
  const digest = dnsNamesDigest(["a.example.com", "b.example.com"]);
  const cases: { name: string; info: Parameters<typeof tagNamesMatch>[0]; names: string[]; want: boolean | undefined }[] = [
    {
      name: "same set, other order and case",
      info: { managed: true, source: "kv-acme", dnsNames: ["b.example.com", "A.example.com"] },
      names: ["a.example.com", "B.example.com", "a.example.com"],
      want: true,
    },
    {
      name: "one name fewer",
      info: { managed: true, source: "kv-acme", dnsNames: ["a.example.com", "b.example.com"] },
      names: ["a.example.com"],
      want: false,
    },
    {
      name: "one name more requested than recorded",
      info: { managed: true, source: "kv-acme", dnsNames: ["a.example.com"] },
      names: ["a.example.com", "b.example.com"],
      want: false,
    },
    {
      name: "same count, other name",
      info: { managed: true, source: "kv-acme", dnsNames: ["a.example.com", "b.example.com"] },
      names: ["a.example.com", "c.example.com"],
      want: false,
    },
    {
      name: "digest equal",
      info: { managed: true, source: "kv-acme", dnsNamesDigest: digest },
      names: ["B.example.com", "a.example.com"],
      want: true,
    },
    {
      name: "digest: count differs",
      info: { managed: true, source: "kv-acme", dnsNamesDigest: { ...digest, count: 3 } },
      names: ["a.example.com", "b.example.com"],
      want: false,
    },
    {
      name: "digest: prefix differs",
      info: { managed: true, source: "kv-acme", dnsNamesDigest: { ...digest, sha256Prefix: "0".repeat(32) } },
      names: ["a.example.com", "b.example.com"],
      want: false,
    },
    { name: "no names recorded", info: { managed: true, source: "acmebot" }, names: ["a.example.com"], want: undefined },
  ];
  it("tagNamesMatch: requested names out of order still match", () => {
    assert.equal(
      tagNamesMatch({ managed: true, source: "kv-acme", dnsNames: ["a.example.com", "b.example.com"] }, ["b.example.com", "a.example.com"]),
      true,
    );
  });
  for (const c of cases) it(`tagNamesMatch: ${c.name}`, () => assert.equal(tagNamesMatch(c.info, c.names), c.want));
  it("isIgnored: true in any case and key case, trimmed; anything else not", () => {
    assert.equal(isIgnored({ "KV-ACME-IGNORE": " True " }), true);
    assert.equal(isIgnored({ "kv-acme-ignore": "false" }), false);
    assert.equal(isIgnored({ "kv-acme-ignore": "truex" }), false);
    assert.equal(isIgnored({}), false);
    assert.equal(isIgnored(undefined), false);
  });
});

describe("decideOwnership exact decisions", () => {
  const NOT_MANAGED_TAIL = `kv-acme does not replace another owner's policy, issuer or tags. Send "adopt": true to take it over deliberately`;
  it("no certificate: ok, not adopting", () =>
    assert.deepEqual(decideOwnership("c", undefined, { adopt: true }), { ok: true, adopting: false }));
  it("ignored: refused even with adopt, with the exact message and a copy of the tags", () => {
    const tags = { "kv-acme-ignore": "TRUE", "kv-acme-managed": "true" };
    const d = decideOwnership("web", { tags }, { adopt: true });
    assert.deepEqual(d, {
      ok: false,
      code: "CertificateIgnored",
      ownerTags: { "kv-acme-ignore": "TRUE", "kv-acme-managed": "true" },
      message:
        "Certificate web is tagged kv-acme-ignore=true, so kv-acme never changes it (adopt does not override this); remove the tag to let kv-acme manage it",
    });
    assert.notEqual(d.ok === false && d.ownerTags, tags);
  });
  it("ignored: refused with ignoreOnly too", () => {
    assert.equal(decideOwnership("web", { tags: { "kv-acme-ignore": "true" } }, { ignoreOnly: true }).ok, false);
  });
  it("managed: ok, not adopting", () =>
    assert.deepEqual(decideOwnership("c", { tags: { "kv-acme-managed": "true" } }), { ok: true, adopting: false }));
  it("Acmebot's: ok, not adopting", () =>
    assert.deepEqual(decideOwnership("c", { tags: { Issuer: "Acmebot" } }), { ok: true, adopting: false }));
  it("ignoreOnly: someone else's is ok, not adopting", () =>
    assert.deepEqual(decideOwnership("c", { tags: {} }, { ignoreOnly: true }), { ok: true, adopting: false }));
  it("not issued yet: ok, not adopting", () =>
    assert.deepEqual(decideOwnership("c", { tags: {}, issued: false }), { ok: true, adopting: false }));
  it("issued undefined is not 'not issued': refused", () => assert.equal(decideOwnership("c", { tags: {} }).ok, false));
  it("adopt true: ok, adopting", () =>
    assert.deepEqual(decideOwnership("c", { tags: { team: "x" }, issued: true }, { adopt: true }), { ok: true, adopting: true }));
  it("adopt false: refused", () => assert.equal(decideOwnership("c", { tags: {} }, { adopt: false }).ok, false));
  it("someone else's without tags or issuer: exact message", () => {
    assert.deepEqual(decideOwnership("web", { tags: {}, issued: true }), {
      ok: false,
      code: "CertificateNotManaged",
      ownerTags: {},
      message: `Certificate web exists and is not managed by kv-acme (tags: no tags); ${NOT_MANAGED_TAIL}`,
    });
  });
  it("someone else's with issuer and tags: issuer named, values over 64 characters clipped with an ellipsis", () => {
    const d = decideOwnership("web", {
      tags: { team: "x", long: "v".repeat(65), exact: "w".repeat(64), ["k".repeat(70)]: "y" },
      issuerName: "DigiCert",
    });
    assert.equal(
      d.ok === false && d.message,
      `Certificate web exists and is not managed by kv-acme (issuer DigiCert, tags: team=x, long=${"v".repeat(64)}…, exact=${"w".repeat(64)}, ${"k".repeat(64)}=y); ${NOT_MANAGED_TAIL}`,
    );
  });
  it("an empty issuer name is not shown", () => {
    const d = decideOwnership("web", { tags: { a: "1" }, issuerName: "" });
    assert.equal(d.ok === false && d.message, `Certificate web exists and is not managed by kv-acme (tags: a=1); ${NOT_MANAGED_TAIL}`);
  });
  it("at most 15 tags shown", () => {
    const tags = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, `${i}`]));
    const d = decideOwnership("web", { tags });
    const shown = Array.from({ length: 15 }, (_, i) => `t${i}=${i}`).join(", ");
    assert.equal(d.ok === false && d.message, `Certificate web exists and is not managed by kv-acme (tags: ${shown}); ${NOT_MANAGED_TAIL}`);
  });
});
