/**
 * Whole outcomes of src/acme/ari.ts (ari.test.ts matches messages loosely): every refusal of parseRenewalInfo with its
 * exact message and retryable flag, the RFC 3339 forms accepted (lower-case t and z, a space, offsets), the poll time
 * at the clamp edges, the renewalInfo URL with several slashes, and the certificate id's problems.
 */
import { execFileSync } from "node:child_process";
import type { webcrypto } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
  ariCertificateId,
  derHeader,
  serialBytes,
  DEFAULT_ARI_RETRY_AFTER_MS,
  MAX_ARI_RETRY_AFTER_MS,
  MIN_ARI_RETRY_AFTER_MS,
  parseRenewalInfo,
  renewalInfoUrl,
} from "../../src/acme/ari";
import { UpstreamError, ValidationError } from "../../src/shared/errors";
import { subtle, x509 } from "../../src/shared/x509";

const NOW = new Date("2025-03-01T12:00:00Z");
const START = "2025-03-10T00:00:00Z";
const END = "2025-03-12T00:00:00Z";

function refusal(json: unknown): { message: string; retryable: boolean; code: string } {
  try {
    parseRenewalInfo(json, null, NOW);
  } catch (err) {
    assert.ok(err instanceof UpstreamError, String(err));
    return { message: err.message, retryable: err.retryable, code: err.code };
  }
  throw new Error("accepted");
}

describe("parseRenewalInfo: exact refusals (all retryable, all the CA's fault)", () => {
  const cases: [string, unknown, string][] = [
    ["not JSON text", "<html>", "renewalInfo response is not JSON"],
    [
      "text after a timestamp",
      { suggestedWindow: { start: `${START}x`, end: END } },
      `renewalInfo suggestedWindow.start is not an RFC 3339 timestamp: "${START}x"`,
    ],
    ["a JSON number", 5, "renewalInfo response is not a JSON object"],
    ["JSON text of a number", "5", "renewalInfo response is not a JSON object"],
    ["null", null, "renewalInfo response is not a JSON object"],
    ["no window", {}, "renewalInfo response has no suggestedWindow"],
    ["a null window", { suggestedWindow: null }, "renewalInfo response has no suggestedWindow"],
    ["a string window", { suggestedWindow: "soon" }, "renewalInfo response has no suggestedWindow"],
    ["no start", { suggestedWindow: { end: END } }, "renewalInfo suggestedWindow.start is not an RFC 3339 timestamp: undefined"],
    ["a numeric end", { suggestedWindow: { start: START, end: 1 } }, "renewalInfo suggestedWindow.end is not an RFC 3339 timestamp: 1"],
    [
      "a date without time",
      { suggestedWindow: { start: "2025-03-10", end: END } },
      'renewalInfo suggestedWindow.start is not an RFC 3339 timestamp: "2025-03-10"',
    ],
    [
      "no zone",
      { suggestedWindow: { start: "2025-03-10T00:00:00", end: END } },
      'renewalInfo suggestedWindow.start is not an RFC 3339 timestamp: "2025-03-10T00:00:00"',
    ],
    [
      "text around a timestamp",
      { suggestedWindow: { start: `x${START}`, end: END } },
      `renewalInfo suggestedWindow.start is not an RFC 3339 timestamp: "x${START}"`,
    ],
    [
      "an impossible date",
      { suggestedWindow: { start: "2025-02-30T99:00:00Z", end: END } },
      "renewalInfo suggestedWindow.start is not a valid date: 2025-02-30T99:00:00Z",
    ],
    [
      "start equal to end",
      { suggestedWindow: { start: START, end: START } },
      "renewalInfo window is invalid: start 2025-03-10T00:00:00.000Z is not before end 2025-03-10T00:00:00.000Z",
    ],
  ];
  for (const [name, json, message] of cases)
    it(name, () => assert.deepEqual(refusal(json), { message, retryable: true, code: "AcmeError" }));
});

describe("parseRenewalInfo: accepted forms and poll times", () => {
  it("lower-case t and z, a space for T, an offset: the same instants", () => {
    for (const [start, iso] of [
      ["2025-03-10t00:00:00z", "2025-03-10T00:00:00.000Z"],
      ["2025-03-10 01:00:00+01:00", "2025-03-10T00:00:00.000Z"],
      ["2025-03-09T19:00:00.250-05:00", "2025-03-10T00:00:00.250Z"],
    ])
      assert.equal(parseRenewalInfo({ suggestedWindow: { start, end: END } }, null, NOW).window.start.toISOString(), iso, start);
  });

  it("a window one millisecond long is valid", () => {
    const info = parseRenewalInfo({ suggestedWindow: { start: "2025-03-10T00:00:00.000Z", end: "2025-03-10T00:00:00.001Z" } }, null, NOW);
    assert.equal(info.window.end.getTime() - info.window.start.getTime(), 1);
  });

  it("poll times: the default 6 h, exactly 1 min and exactly 24 h kept, one second beyond clamped", () => {
    assert.deepEqual([DEFAULT_ARI_RETRY_AFTER_MS, MIN_ARI_RETRY_AFTER_MS, MAX_ARI_RETRY_AFTER_MS], [21_600_000, 60_000, 86_400_000]);
    const after = (header: string | null) =>
      parseRenewalInfo({ suggestedWindow: { start: START, end: END } }, header, NOW).retryAfter.getTime() - NOW.getTime();
    assert.equal(after(null), 21_600_000);
    assert.equal(after("60"), 60_000);
    assert.equal(after("59"), 60_000);
    assert.equal(after("0"), 60_000);
    assert.equal(after("86400"), 86_400_000);
    assert.equal(after("86401"), 86_400_000);
  });

  it("explanationURL: kept when a URL, dropped when not a string or not a URL", () => {
    const explanation = (explanationURL: unknown) =>
      parseRenewalInfo({ suggestedWindow: { start: START, end: END }, explanationURL }, null, NOW).explanationUrl;
    assert.equal(explanation("https://ca.example/why"), "https://ca.example/why");
    assert.equal(explanation(42), undefined);
    assert.equal(explanation(""), undefined);
    assert.equal("explanationUrl" in parseRenewalInfo({ suggestedWindow: { start: START, end: END } }, null, NOW), false);
  });
});

describe("renewalInfoUrl and ariCertificateId: exact", () => {
  it("every trailing slash of the resource is dropped, one added", () => {
    assert.equal(renewalInfoUrl("https://ca.example/ri///", "a.b"), "https://ca.example/ri/a.b");
    assert.equal(renewalInfoUrl("https://ca.example/ri", "a.b"), "https://ca.example/ri/a.b");
  });

  let keys: webcrypto.CryptoKeyPair;
  before(async () => {
    keys = (await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  });
  const cert = (extensions: x509.Extension[]) =>
    x509.X509CertificateGenerator.create({
      serialNumber: "0102",
      subject: "CN=example.com",
      issuer: "CN=Test CA",
      notBefore: new Date("2025-01-01T00:00:00Z"),
      notAfter: new Date("2025-04-01T00:00:00Z"),
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      extensions,
    });
  const problemOf = (input: string | Uint8Array) => {
    try {
      ariCertificateId(input);
    } catch (err) {
      assert.ok(err instanceof ValidationError);
      return err.problems;
    }
    throw new Error("accepted");
  };

  it("a certificate without an AKI, or with an AKI that has no keyIdentifier, has no id: the exact problem", async () => {
    const problem = [
      {
        field: "certificate",
        message: "the certificate has no Authority Key Identifier keyIdentifier, so it has no ARI identifier (RFC 9773 §4.1)",
      },
    ];
    assert.deepEqual(problemOf((await cert([])).toString("pem")), problem);
    const issuerOnly = new x509.AuthorityKeyIdentifierExtension(new x509.GeneralNames([{ type: "dns", value: "ca.example" }]) as never);
    assert.deepEqual(problemOf((await cert([issuerOnly])).toString("pem")), problem);
  });

  it("the AKI keyIdentifier and the serial, base64url, joined by a dot (the AKI found among other extensions)", async () => {
    const c = await cert([new x509.BasicConstraintsExtension(false), new x509.AuthorityKeyIdentifierExtension("0A0B0C")]);
    assert.equal(
      ariCertificateId(c.toString("pem")),
      `${Buffer.from([10, 11, 12]).toString("base64url")}.${Buffer.from([1, 2]).toString("base64url")}`,
    );
  });

  it("a version 1 certificate (no version field before the serial) is read to its serial: it is refused for its missing AKI", () => {
    // openssl x509 -req without extensions writes a v1 certificate (keys made here, at run time).
    const dir = mkdtempSync(path.join(os.tmpdir(), "kvacme-ari-v1-"));
    try {
      const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
      run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "k.pem");
      run("req", "-new", "-key", "k.pem", "-subj", "/CN=v1.example", "-out", "r.csr");
      run("x509", "-req", "-in", "r.csr", "-signkey", "k.pem", "-days", "1", "-set_serial", "0x8001", "-out", "c.pem");
      const pem = readFileSync(path.join(dir, "c.pem"), "utf8");
      assert.equal(new x509.X509Certificate(pem).extensions.length, 0);
      assert.deepEqual(problemOf(pem), [
        {
          field: "certificate",
          message: "the certificate has no Authority Key Identifier keyIdentifier, so it has no ARI identifier (RFC 9773 §4.1)",
        },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("garbage names the parser's complaint in the problem", () => {
    const [p] = problemOf("bm90IGEgY2VydA==");
    assert.equal(p?.field, "certificate");
    assert.match(p?.message ?? "", /^not an X\.509 certificate \(.+\)$/);
  });
});

describe("the DER reader behind the certificate id", () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  const throwsWith = (fn: () => unknown, message: string) =>
    assert.throws(fn, (err: unknown) => err instanceof Error && err.message === message);

  it("short and long form lengths: where the value starts and how long it is", () => {
    assert.deepEqual(derHeader(bytes(0x02, 0x7f), 0), { tag: 0x02, start: 2, length: 127 });
    assert.deepEqual(derHeader(bytes(0x30, 0x81, 0x80), 0), { tag: 0x30, start: 3, length: 128 });
    assert.deepEqual(derHeader(bytes(0x30, 0x82, 0x01, 0x02), 0), { tag: 0x30, start: 4, length: 258 });
    assert.deepEqual(derHeader(bytes(0x00, 0x30, 0x84, 0x01, 0x02, 0x03, 0x04), 1), { tag: 0x30, start: 7, length: 0x01020304 });
  });

  it("truncated headers, an indefinite length (0x80) and lengths over 4 bytes are refused", () => {
    throwsWith(() => derHeader(bytes(), 0), "truncated DER");
    throwsWith(() => derHeader(bytes(0x30), 0), "truncated DER");
    throwsWith(() => derHeader(bytes(0x30, 0x82, 0x01), 0), "truncated DER");
    throwsWith(() => derHeader(bytes(0x30, 0x80), 0), "unsupported DER length");
    throwsWith(() => derHeader(bytes(0x30, 0x85, 1, 2, 3, 4, 5), 0), "unsupported DER length");
  });

  it("serialBytes: the INTEGER after the [0] version, or first when there is no version; anything else is refused", () => {
    // SEQUENCE { SEQUENCE { [0] { INTEGER 2 }, INTEGER 00 80 01 ... } }
    const v3 = bytes(0x30, 0x0b, 0x30, 0x09, 0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x02, 0x00, 0x80);
    assert.deepEqual([...serialBytes(v3)], [0x00, 0x80]);
    const v1 = bytes(0x30, 0x06, 0x30, 0x04, 0x02, 0x02, 0x12, 0x34);
    assert.deepEqual([...serialBytes(v1)], [0x12, 0x34]);
    throwsWith(() => serialBytes(bytes(0x31, 0x06, 0x30, 0x04, 0x02, 0x02, 0x12, 0x34)), "not an X.509 certificate");
    throwsWith(() => serialBytes(bytes(0x30, 0x06, 0x31, 0x04, 0x02, 0x02, 0x12, 0x34)), "not an X.509 certificate");
    throwsWith(() => serialBytes(bytes(0x30, 0x06, 0x30, 0x04, 0x04, 0x02, 0x12, 0x34)), "serialNumber not found");
  });
});
