/**
 * SigV4 against AWS's published Signature Version 4 test suite (the 2015-08-30 vectors: AKIDEXAMPLE, region
 * us-east-1, service "service"): each case's Authorization header must come out exactly.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalRequest, parseAuthorization, signRequest } from "../../src/dns/sigv4";

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const scope = { region: "us-east-1", service: "service" };
const base = { host: "example.amazonaws.com", "x-amz-date": "20150830T123600Z" };
const sig = (signed: string, signature: string) =>
  `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${signed}, Signature=${signature}`;

const vectors: { name: string; method: string; path: string; headers?: Record<string, string>; body?: string; authorization: string }[] = [
  {
    name: "get-vanilla",
    method: "GET",
    path: "/",
    authorization: sig("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
  },
  {
    name: "get-vanilla-query-order-key-case",
    method: "GET",
    path: "/?Param2=value2&Param1=value1",
    authorization: sig("host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
  },
  {
    name: "get-vanilla-query-unreserved",
    method: "GET",
    path: "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    authorization: sig("host;x-amz-date", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
  },
  {
    name: "get-vanilla-utf8-query",
    method: "GET",
    path: "/?ሴ=bar",
    authorization: sig("host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
  },
  {
    name: "get-unreserved",
    method: "GET",
    path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    authorization: sig("host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
  },
  {
    name: "get-header-value-trim",
    method: "GET",
    path: "/",
    headers: { "my-header1": "value1", "my-header2": '"a   b   c"' },
    authorization: sig("host;my-header1;my-header2;x-amz-date", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
  },
  {
    name: "post-vanilla",
    method: "POST",
    path: "/",
    authorization: sig("host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
  },
  {
    name: "post-header-key-sort",
    method: "POST",
    path: "/",
    headers: { "my-header1": "value1" },
    authorization: sig("host;my-header1;x-amz-date", "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
  },
  {
    name: "post-vanilla-query-nonunreserved",
    method: "POST",
    path: `/?${new URLSearchParams([
      ["@#$%^", ""],
      ["+", '/,?><`";:\\|][{}'],
    ])}`,
    authorization: sig("host;x-amz-date", "66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e"),
  },
  {
    name: "post-x-www-form-urlencoded",
    method: "POST",
    path: "/",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "Param1=value1",
    authorization: sig("content-type;host;x-amz-date", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
  },
];

describe("SigV4 (AWS Signature Version 4 test suite)", () => {
  for (const v of vectors) {
    it(`${v.name}: the Authorization header matches AWS's`, () => {
      const headers = signRequest(
        {
          method: v.method,
          url: new URL(`https://example.amazonaws.com${v.path}`),
          headers: { ...base, ...v.headers },
          body: v.body ?? "",
        },
        credentials,
        scope,
      );
      assert.equal(headers.authorization, v.authorization);
    });
  }

  it("post-sts-header-before: a session token is sent as x-amz-security-token and signed", () => {
    const token =
      "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
    const headers = signRequest(
      { method: "POST", url: new URL("https://example.amazonaws.com/"), headers: { ...base }, body: "" },
      { ...credentials, sessionToken: token },
      scope,
    );
    assert.equal(headers["x-amz-security-token"], token);
    assert.equal(
      headers.authorization,
      sig("host;x-amz-date;x-amz-security-token", "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
    );
  });

  it("the canonical request of get-vanilla-query-order-key-case sorts the query", () => {
    const creq = canonicalRequest(
      { method: "GET", url: new URL("https://example.amazonaws.com/?Param2=value2&Param1=value1"), headers: base, body: "" },
      ["host", "x-amz-date"],
    );
    assert.equal(creq.split("\n")[2], "Param1=value1&Param2=value2");
  });

  it("parses its own Authorization header and refuses others", () => {
    const parsed = parseAuthorization(sig("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
    assert.deepEqual(parsed?.signedHeaders, ["host", "x-amz-date"]);
    assert.equal(parseAuthorization("Bearer abc"), undefined);
  });
});
