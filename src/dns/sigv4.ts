/**
 * AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), the
 * header form, for the Route 53 provider (the AWS SDK would load dozens of modules for four REST calls). Checked
 * against AWS's published SigV4 test suite (test/unit/sigv4.test.ts). The local Route 53 stand-in verifies requests
 * with the same canonicalisation.
 */
import { createHash, createHmac } from "node:crypto";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** STS session token (temporary credentials), sent as x-amz-security-token and signed. */
  sessionToken?: string;
}

export interface SignableRequest {
  method: string;
  url: URL;
  /** Header names in any case; every header given is signed. */
  headers: Record<string, string>;
  body: string;
}

const sha256Hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data, "utf8").digest();

/** RFC 3986 percent-encoding of everything but unreserved characters (SigV4's UriEncode). */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `20150830T123600Z` for a date. */
export function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/** The canonical request (task 1): method, URI, query, headers, signed header list, payload hash. */
export function canonicalRequest(req: SignableRequest, signedHeaders: string[]): string {
  // Non-S3 services: each path segment as sent (already percent-encoded by the URL) is URI-encoded once more.
  const path = req.url.pathname.split("/").map(uriEncode);
  const query = [...req.url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const lower = new Map(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const headers = signedHeaders.map((name) => `${name}:${(lower.get(name) ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  return [req.method.toUpperCase(), path.join("/") || "/", query, headers, signedHeaders.join(";"), sha256Hex(req.body)].join("\n");
}

/** The signature (tasks 2-4) over `req` whose x-amz-date header gives the time. */
export function signature(req: SignableRequest, signedHeaders: string[], secretAccessKey: string, region: string, service: string): string {
  const date = Object.entries(req.headers).find(([k]) => k.toLowerCase() === "x-amz-date")?.[1] ?? "";
  const scope = `${date.slice(0, 8)}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", date, scope, sha256Hex(canonicalRequest(req, signedHeaders))].join("\n");
  const kDate = hmac(`AWS4${secretAccessKey}`, date.slice(0, 8));
  const kSigning = hmac(hmac(hmac(kDate, region), service), "aws4_request");
  return createHmac("sha256", kSigning).update(stringToSign, "utf8").digest("hex");
}

/**
 * Signs a request: adds x-amz-date (from `now` unless present), x-amz-security-token (session credentials) and the
 * Authorization header over every header given. Returns the headers to send.
 */
export function signRequest(
  req: SignableRequest,
  credentials: AwsCredentials,
  scope: { region: string; service: string },
  now: Date = new Date(),
): Record<string, string> {
  const headers: Record<string, string> = { ...req.headers };
  const has = (name: string) => Object.keys(headers).some((k) => k.toLowerCase() === name);
  if (!has("host")) headers.host = req.url.host;
  if (!has("x-amz-date")) headers["x-amz-date"] = amzDate(now);
  if (credentials.sessionToken && !has("x-amz-security-token")) headers["x-amz-security-token"] = credentials.sessionToken;
  const signed = [...new Set(Object.keys(headers).map((k) => k.toLowerCase()))].sort();
  const sig = signature({ ...req, headers }, signed, credentials.secretAccessKey, scope.region, scope.service);
  const date = (Object.entries(headers).find(([k]) => k.toLowerCase() === "x-amz-date")?.[1] ?? "").slice(0, 8);
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${date}/${scope.region}/${scope.service}/aws4_request, ` +
    `SignedHeaders=${signed.join(";")}, Signature=${sig}`;
  return headers;
}

/** The parts of a SigV4 Authorization header, or undefined when it is not one. */
export function parseAuthorization(
  header: string | undefined,
): { accessKeyId: string; date: string; region: string; service: string; signedHeaders: string[]; signature: string } | undefined {
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/.exec(
      header ?? "",
    );
  if (!m) return undefined;
  return {
    accessKeyId: m[1] as string,
    date: m[2] as string,
    region: m[3] as string,
    service: m[4] as string,
    signedHeaders: (m[5] as string).split(";"),
    signature: m[6] as string,
  };
}
