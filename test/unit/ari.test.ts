import type { webcrypto } from "node:crypto";
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ariCertificateId, parseRenewalInfo, pickRenewalTime, renewalInfoUrl } from "../../src/acme/ari";
import { UpstreamError, ValidationError } from "../../src/shared/errors";
import { subtle, x509 } from "../../src/shared/x509";

let keys: webcrypto.CryptoKeyPair;

async function makeCert(serialNumber: string, akiKeyId?: string): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber,
    subject: "CN=example.com",
    issuer: "CN=Test CA",
    notBefore: new Date("2025-01-01T00:00:00Z"),
    notAfter: new Date("2025-04-01T00:00:00Z"),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: akiKeyId ? [new x509.AuthorityKeyIdentifierExtension(akiKeyId)] : [],
  });
}

describe("ariCertificateId", () => {
  before(async () => {
    keys = (await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  });
  const RFC_AKI = "69885B6B87464041E1B37B847BA0AE2CDE01C8D4";
  it("RFC 9773 §4.1 example: AKI 69:88:5B... serial 00:87:65:43:21", async () => {
    const cert = await makeCert("0087654321", RFC_AKI);
    assert.equal(ariCertificateId(cert.toString("pem")), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  });
  it("same id from DER bytes and from base64 DER", async () => {
    const cert = await makeCert("0087654321", RFC_AKI);
    assert.equal(ariCertificateId(new Uint8Array(cert.rawData)), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    assert.equal(ariCertificateId(Buffer.from(cert.rawData).toString("base64")), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  });
  it("a serial without the high bit keeps no leading zero", async () => {
    const cert = await makeCert("1234", RFC_AKI);
    assert.equal(ariCertificateId(cert.toString("pem")).split(".")[1], Buffer.from([0x12, 0x34]).toString("base64url"));
  });
  it("a long (20-byte) serial survives a long-form DER length", async () => {
    const serial = "7f" + "ab".repeat(19);
    const cert = await makeCert(serial, RFC_AKI);
    assert.equal(ariCertificateId(cert.toString("pem")).split(".")[1], Buffer.from(serial, "hex").toString("base64url"));
  });
  it("uses the first certificate of a chain PEM", async () => {
    const leaf = await makeCert("0087654321", RFC_AKI);
    const other = await makeCert("01", "0102030405060708090a0b0c0d0e0f1011121314");
    assert.equal(ariCertificateId(leaf.toString("pem") + "\n" + other.toString("pem")), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  });
  it("no AKI is a ValidationError", async () => {
    const cert = await makeCert("01");
    assert.throws(() => ariCertificateId(cert.toString("pem")), /Authority Key Identifier/);
  });
  it("garbage is a ValidationError", () => {
    assert.throws(() => ariCertificateId(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])), ValidationError);
    assert.throws(() => ariCertificateId("not a certificate"), ValidationError);
  });
});

describe("renewalInfoUrl", () => {
  const cases = [
    { name: "plain", base: "https://ca.example/renewal-info", want: "https://ca.example/renewal-info/a.b" },
    { name: "trailing slash", base: "https://ca.example/renewal-info/", want: "https://ca.example/renewal-info/a.b" },
  ];
  for (const c of cases) it(c.name, () => assert.equal(renewalInfoUrl(c.base, "a.b"), c.want));
});

describe("parseRenewalInfo", () => {
  const now = new Date("2025-03-01T12:00:00Z");
  const window = { start: "2025-03-10T00:00:00Z", end: "2025-03-12T00:00:00Z" };
  const ok: { name: string; json: unknown; retryAfter: string | null; wantRetryAfter: string; explanation?: string }[] = [
    {
      name: "no Retry-After: 6 h default",
      json: { suggestedWindow: window },
      retryAfter: null,
      wantRetryAfter: "2025-03-01T18:00:00.000Z",
    },
    { name: "Retry-After seconds", json: { suggestedWindow: window }, retryAfter: "3600", wantRetryAfter: "2025-03-01T13:00:00.000Z" },
    {
      name: "Retry-After below 1 min clamped",
      json: { suggestedWindow: window },
      retryAfter: "5",
      wantRetryAfter: "2025-03-01T12:01:00.000Z",
    },
    {
      name: "Retry-After above 24 h clamped",
      json: { suggestedWindow: window },
      retryAfter: "604800",
      wantRetryAfter: "2025-03-02T12:00:00.000Z",
    },
    {
      name: "Retry-After HTTP-date",
      json: { suggestedWindow: window },
      retryAfter: "Sat, 01 Mar 2025 14:30:00 GMT",
      wantRetryAfter: "2025-03-01T14:30:00.000Z",
    },
    {
      name: "Retry-After date in the past clamped to 1 min",
      json: { suggestedWindow: window },
      retryAfter: "Sat, 01 Mar 2025 10:00:00 GMT",
      wantRetryAfter: "2025-03-01T12:01:00.000Z",
    },
    {
      name: "unusable Retry-After falls back to 6 h",
      json: { suggestedWindow: window },
      retryAfter: "soon-ish",
      wantRetryAfter: "2025-03-01T18:00:00.000Z",
    },
    {
      name: "JSON text body",
      json: JSON.stringify({ suggestedWindow: window }),
      retryAfter: "120",
      wantRetryAfter: "2025-03-01T12:02:00.000Z",
    },
    {
      name: "explanationURL kept",
      json: { suggestedWindow: window, explanationURL: "https://ca.example/incident/42" },
      retryAfter: null,
      wantRetryAfter: "2025-03-01T18:00:00.000Z",
      explanation: "https://ca.example/incident/42",
    },
    {
      name: "malformed explanationURL dropped",
      json: { suggestedWindow: window, explanationURL: "not a url" },
      retryAfter: null,
      wantRetryAfter: "2025-03-01T18:00:00.000Z",
    },
  ];
  for (const c of ok) {
    it(c.name, () => {
      const info = parseRenewalInfo(c.json, c.retryAfter, now);
      assert.equal(info.window.start.toISOString(), "2025-03-10T00:00:00.000Z");
      assert.equal(info.window.end.toISOString(), "2025-03-12T00:00:00.000Z");
      assert.equal(info.retryAfter.toISOString(), c.wantRetryAfter);
      assert.equal(info.explanationUrl, c.explanation);
    });
  }
  it("offsets and fractional seconds accepted", () => {
    const info = parseRenewalInfo({ suggestedWindow: { start: "2025-03-10T02:00:00.5+02:00", end: "2025-03-11T00:00:00Z" } }, null, now);
    assert.equal(info.window.start.toISOString(), "2025-03-10T00:00:00.500Z");
  });

  const bad: { name: string; json: unknown; want: RegExp }[] = [
    { name: "start equals end", json: { suggestedWindow: { start: window.start, end: window.start } }, want: /not before end/ },
    { name: "start after end", json: { suggestedWindow: { start: window.end, end: window.start } }, want: /not before end/ },
    { name: "missing window", json: {}, want: /no suggestedWindow/ },
    { name: "missing end", json: { suggestedWindow: { start: window.start } }, want: /suggestedWindow\.end/ },
    { name: "not a timestamp", json: { suggestedWindow: { start: "tomorrow", end: window.end } }, want: /suggestedWindow\.start/ },
    { name: "numeric timestamp", json: { suggestedWindow: { start: 1741564800, end: window.end } }, want: /RFC 3339/ },
    { name: "impossible date", json: { suggestedWindow: { start: "2025-02-30T99:00:00Z", end: window.end } }, want: /valid date/ },
    { name: "null body", json: null, want: /not a JSON object/ },
    { name: "not JSON text", json: "<html>", want: /not JSON/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => parseRenewalInfo(c.json, null, now),
        (err: unknown) => err instanceof UpstreamError && c.want.test(err.message),
      );
    });
  }
});

describe("pickRenewalTime", () => {
  const window = { start: new Date("2025-03-10T00:00:00Z"), end: new Date("2025-03-12T00:00:00Z") };
  const cases: { name: string; r: number; want: string }[] = [
    { name: "random 0 gives the start", r: 0, want: "2025-03-10T00:00:00.000Z" },
    { name: "random 0.5 gives the middle", r: 0.5, want: "2025-03-11T00:00:00.000Z" },
    { name: "random 0.25", r: 0.25, want: "2025-03-10T12:00:00.000Z" },
    { name: "random just below 1 stays before end", r: 0.9999999999, want: "2025-03-11T23:59:59.999Z" },
    { name: "out-of-range random 1 clamped inside", r: 1, want: "2025-03-11T23:59:59.999Z" },
    { name: "negative random clamped to start", r: -3, want: "2025-03-10T00:00:00.000Z" },
  ];
  for (const c of cases) it(c.name, () => assert.equal(pickRenewalTime(window, () => c.r).toISOString(), c.want));
  it("Math.random always lands inside the window", () => {
    for (let i = 0; i < 1000; i++) {
      const t = pickRenewalTime(window, Math.random).getTime();
      assert.ok(t >= window.start.getTime() && t < window.end.getTime());
    }
  });
});
