import type { webcrypto } from "node:crypto";
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  buildCertificatePolicy,
  describeCsr,
  formatKeyType,
  parseKeyOptions,
  pendingOperationMatches,
  SERVER_AUTH_EKU,
  type KeyOptions,
  type KeyOptionsInput,
} from "../../src/keyvault/policy";
import { keyOptionsFromPolicy } from "../../src/issuance/renew";
import { ValidationError } from "../../src/shared/errors";
import { derToPem, subtle, x509 } from "../../src/shared/x509";

const defaults = { reuseKey: false, exportable: true, contentType: "application/x-pkcs12" } as const;

describe("parseKeyOptions", () => {
  const cases: { name: string; input: KeyOptionsInput | undefined; want: KeyOptions }[] = [
    { name: "defaults", input: undefined, want: { keyType: "RSA", keySize: 2048, ...defaults } },
    { name: "empty object", input: {}, want: { keyType: "RSA", keySize: 2048, ...defaults } },
    { name: "RSA alone is 2048", input: { keyType: "RSA" }, want: { keyType: "RSA", keySize: 2048, ...defaults } },
    { name: "RSA-3072", input: { keyType: "RSA-3072" }, want: { keyType: "RSA", keySize: 3072, ...defaults } },
    { name: "rsa-4096 lower case", input: { keyType: "rsa-4096" }, want: { keyType: "RSA", keySize: 4096, ...defaults } },
    { name: "EC alone is P-256", input: { keyType: "EC" }, want: { keyType: "EC", curve: "P-256", ...defaults } },
    { name: "EC-P256", input: { keyType: "EC-P256" }, want: { keyType: "EC", curve: "P-256", ...defaults } },
    { name: "EC-P-384", input: { keyType: "EC-P-384" }, want: { keyType: "EC", curve: "P-384", ...defaults } },
    { name: "ec-p521", input: { keyType: "ec-p521" }, want: { keyType: "EC", curve: "P-521", ...defaults } },
    {
      name: "reuseKey true, not exportable",
      input: { reuseKey: true, exportable: false },
      want: { keyType: "RSA", keySize: 2048, ...defaults, reuseKey: true, exportable: false },
    },
    {
      name: "string booleans",
      input: { reuseKey: "true", exportable: "false" },
      want: { keyType: "RSA", keySize: 2048, ...defaults, reuseKey: true, exportable: false },
    },
    {
      name: "pem short",
      input: { contentType: "pem" },
      want: { keyType: "RSA", keySize: 2048, ...defaults, contentType: "application/x-pem-file" },
    },
    {
      name: "pem mime",
      input: { contentType: "application/x-pem-file" },
      want: { keyType: "RSA", keySize: 2048, ...defaults, contentType: "application/x-pem-file" },
    },
    { name: "pkcs12 short", input: { contentType: "PKCS12" }, want: { keyType: "RSA", keySize: 2048, ...defaults } },
    { name: "pkcs12 mime", input: { contentType: "application/x-pkcs12" }, want: { keyType: "RSA", keySize: 2048, ...defaults } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(parseKeyOptions(c.input), c.want));

  const bad: { name: string; input: KeyOptionsInput; fields: string[] }[] = [
    { name: "RSA-1024", input: { keyType: "RSA-1024" }, fields: ["keyType"] },
    { name: "RSA-2047", input: { keyType: "RSA-2047" }, fields: ["keyType"] },
    { name: "EC-P224", input: { keyType: "EC-P224" }, fields: ["keyType"] },
    { name: "EC secp256k1", input: { keyType: "EC-P256K" }, fields: ["keyType"] },
    { name: "empty key type", input: { keyType: "" }, fields: ["keyType"] },
    { name: "Ed25519", input: { keyType: "Ed25519" }, fields: ["keyType"] },
    { name: "bad boolean", input: { reuseKey: "maybe" }, fields: ["reuseKey"] },
    { name: "bad content type", input: { contentType: "application/json" }, fields: ["contentType"] },
    {
      name: "all at once",
      input: { keyType: "DSA", reuseKey: "x", exportable: "y", contentType: "der" },
      fields: ["keyType", "reuseKey", "exportable", "contentType"],
    },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => parseKeyOptions(c.input),
        (err: unknown) =>
          err instanceof ValidationError &&
          assert.deepEqual(
            err.problems.map((p) => p.field),
            c.fields,
          ) === undefined,
      );
    });
  }
  it("the key type error lists the accepted values", () => {
    assert.throws(() => parseKeyOptions({ keyType: "RSA-1024" }), /RSA-2048, RSA-3072, RSA-4096, EC-P256, EC-P384, EC-P521/);
  });
});

describe("formatKeyType", () => {
  const cases = [
    { name: "RSA", input: { keyType: "RSA" as const, keySize: 4096 as const }, want: "RSA-4096" },
    { name: "EC", input: { keyType: "EC" as const, curve: "P-384" as const }, want: "EC-P384" },
  ];
  for (const c of cases) it(c.name, () => assert.equal(formatKeyType(c.input), c.want));
});

describe("buildCertificatePolicy", () => {
  it("RSA, apex + wildcard", () => {
    const policy = buildCertificatePolicy(["Example.com", "*.example.com"], parseKeyOptions({ keyType: "RSA-3072", reuseKey: true }));
    assert.deepEqual(policy, {
      issuerName: "Unknown",
      subject: "CN=example.com",
      subjectAlternativeNames: { dnsNames: ["example.com", "*.example.com"] },
      keyType: "RSA",
      keySize: 3072,
      keyUsage: ["digitalSignature", "keyEncipherment"],
      reuseKey: true,
      exportable: true,
      contentType: "application/x-pkcs12",
      enhancedKeyUsage: ["1.3.6.1.5.5.7.3.1"],
      lifetimeActions: [{ action: "EmailContacts", lifetimePercentage: 80 }],
    });
  });
  it("EC, wildcard first name used as CN as is, PEM, not exportable", () => {
    const policy = buildCertificatePolicy(
      ["*.example.com"],
      parseKeyOptions({ keyType: "EC-P384", exportable: false, contentType: "pem" }),
    );
    assert.equal(policy.subject, "CN=*.example.com");
    assert.equal(policy.keyType, "EC");
    assert.equal(policy.keyCurveName, "P-384");
    assert.equal(policy.keySize, undefined);
    assert.deepEqual(policy.keyUsage, ["digitalSignature"]);
    assert.equal(policy.exportable, false);
    assert.equal(policy.contentType, "application/x-pem-file");
  });
  it("Key Vault never auto-renews: no AutoRenew action", () => {
    const policy = buildCertificatePolicy(["a.example.com"], parseKeyOptions());
    assert.ok(policy.lifetimeActions?.every((a) => a.action !== "AutoRenew"));
  });
  it("invalid names are rejected", () => {
    assert.throws(() => buildCertificatePolicy(["bad_name.example.com"], parseKeyOptions()), ValidationError);
    assert.throws(() => buildCertificatePolicy([], parseKeyOptions()), ValidationError);
  });
});

type KeySpec = { keyType: "RSA"; keySize: number } | { keyType: "EC"; curve: "P-256" | "P-384" | "P-521" };

async function makeCsr(names: string[], key: KeySpec): Promise<x509.Pkcs10CertificateRequest> {
  const alg =
    key.keyType === "RSA"
      ? { name: "RSASSA-PKCS1-v1_5", modulusLength: key.keySize, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }
      : { name: "ECDSA", namedCurve: key.curve };
  const keys = (await subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  return x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${names[0]}`,
    keys,
    signingAlgorithm: key.keyType === "RSA" ? alg : { name: "ECDSA", hash: "SHA-256" },
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: "dns" as const, value })))],
  });
}

describe("describeCsr and pendingOperationMatches", () => {
  const csrs: Record<string, x509.Pkcs10CertificateRequest> = {};
  before(async () => {
    csrs.rsa2048 = await makeCsr(["www.Example.com", "example.com"], { keyType: "RSA", keySize: 2048 });
    csrs.rsa3072 = await makeCsr(["example.com"], { keyType: "RSA", keySize: 3072 });
    csrs.p256 = await makeCsr(["*.example.com", "example.com"], { keyType: "EC", curve: "P-256" });
    csrs.p384 = await makeCsr(["a.example.com"], { keyType: "EC", curve: "P-384" });
    csrs.p521 = await makeCsr(["a.example.com"], { keyType: "EC", curve: "P-521" });
  });

  it("RSA 2048 from base64 DER (Key Vault's form): names lowercased and sorted", () => {
    const b64 = Buffer.from(csrs.rsa2048!.rawData).toString("base64");
    assert.deepEqual(describeCsr(b64), {
      subject: "CN=www.Example.com",
      names: ["example.com", "www.example.com"],
      keyType: "RSA",
      keySize: 2048,
    });
  });
  it("RSA 3072 from DER bytes", () => {
    const d = describeCsr(new Uint8Array(csrs.rsa3072!.rawData));
    assert.equal(d.keyType, "RSA");
    assert.equal(d.keySize, 3072);
  });
  it("EC P-256 from PEM", () => {
    const d = describeCsr(derToPem(csrs.p256!.rawData, "CERTIFICATE REQUEST"));
    assert.deepEqual(d.names, ["*.example.com", "example.com"]);
    assert.equal(d.keyType, "EC");
    assert.equal(d.curve, "P-256");
  });
  it("EC P-384 and P-521 curves", () => {
    assert.equal(describeCsr(new Uint8Array(csrs.p384!.rawData)).curve, "P-384");
    assert.equal(describeCsr(new Uint8Array(csrs.p521!.rawData)).curve, "P-521");
  });
  it("base64url input", () => {
    const b64url = Buffer.from(csrs.p256!.rawData).toString("base64url");
    assert.equal(describeCsr(b64url).curve, "P-256");
  });
  it("garbage is a ValidationError", () => {
    assert.throws(() => describeCsr("bm90IGEgY3Ny"), ValidationError);
    assert.throws(() => describeCsr(new Uint8Array([1, 2, 3])), ValidationError);
  });

  const cases: { name: string; csr: string; names: string[]; key: string; reuse: boolean; reason: RegExp }[] = [
    {
      name: "identical names and key, other order and case",
      csr: "rsa2048",
      names: ["WWW.example.com", "example.com"],
      key: "RSA-2048",
      reuse: true,
      reason: /same 2 names and key RSA-2048/,
    },
    {
      name: "a name was added",
      csr: "rsa2048",
      names: ["example.com", "www.example.com", "api.example.com"],
      key: "RSA-2048",
      reuse: false,
      reason: /lacks api\.example\.com/,
    },
    {
      name: "a name was removed",
      csr: "rsa2048",
      names: ["example.com"],
      key: "RSA-2048",
      reuse: false,
      reason: /extra names www\.example\.com/,
    },
    {
      name: "same count, different names",
      csr: "rsa3072",
      names: ["other.example.com"],
      key: "RSA-3072",
      reuse: false,
      reason: /lacks other\.example\.com.*extra names example\.com/,
    },
    {
      name: "RSA size differs",
      csr: "rsa3072",
      names: ["example.com"],
      key: "RSA-2048",
      reuse: false,
      reason: /key RSA-3072, the request wants RSA-2048/,
    },
    {
      name: "RSA vs EC",
      csr: "rsa2048",
      names: ["example.com", "www.example.com"],
      key: "EC-P256",
      reuse: false,
      reason: /key RSA-2048, the request wants EC-P256/,
    },
    {
      name: "EC curve differs",
      csr: "p384",
      names: ["a.example.com"],
      key: "EC-P256",
      reuse: false,
      reason: /EC-P384, the request wants EC-P256/,
    },
    {
      name: "EC identical with wildcard",
      csr: "p256",
      names: ["example.com", "*.example.com"],
      key: "EC",
      reuse: true,
      reason: /same 2 names/,
    },
  ];
  for (const c of cases) {
    it(`pending op: ${c.name}`, () => {
      const result = pendingOperationMatches(
        describeCsr(new Uint8Array(csrs[c.csr]!.rawData)),
        c.names,
        parseKeyOptions({ keyType: c.key }),
      );
      assert.equal(result.reuse, c.reuse, result.reason);
      assert.match(result.reason, c.reason);
    });
  }
  it("pending op: unknown key type never matches", () => {
    const result = pendingOperationMatches({ subject: "", names: ["a.com"], keyType: "unknown" }, ["a.com"], parseKeyOptions());
    assert.equal(result.reuse, false);
    assert.match(result.reason, /unknown key type/);
  });
});

describe("client authentication EKU (private CAs; public CAs no longer include it)", () => {
  const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  it("is off by default: serverAuth only", () => {
    assert.deepEqual(buildCertificatePolicy(["a.example.com"], parseKeyOptions({})).enhancedKeyUsage, [SERVER_AUTH_EKU]);
  });
  it("clientAuth: true asks for serverAuth and clientAuth (Service Fabric cluster certificates authenticate both ways)", () => {
    const o = parseKeyOptions({ clientAuth: true });
    assert.equal(o.clientAuth, true);
    assert.deepEqual(buildCertificatePolicy(["a.example.com"], o).enhancedKeyUsage, [SERVER_AUTH_EKU, CLIENT_AUTH]);
  });
  it("a non-boolean is a field problem", () => {
    assert.throws(
      () => parseKeyOptions({ clientAuth: "maybe" }),
      (e: unknown) => e instanceof ValidationError && e.problems.some((p) => p.field === "clientAuth"),
    );
  });
  it("renewal keeps it: key options read back from a policy with clientAuth", () => {
    const policy = buildCertificatePolicy(["a.example.com"], parseKeyOptions({ keyType: "EC-P256", clientAuth: true }));
    assert.equal(keyOptionsFromPolicy(policy).clientAuth, true);
    assert.equal(keyOptionsFromPolicy(buildCertificatePolicy(["a.example.com"], parseKeyOptions({}))).clientAuth, undefined);
  });
});
