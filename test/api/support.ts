/** Helpers of the HTTP API tests: requests, principals, the vault + DNS state, a CA for out-of-band chains. */
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import type { Stack } from "../../src/local/stack";
import { clients } from "../integration/helpers";
import { derToPem, x509 } from "../../src/shared/x509";

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

/** One request; a body that is not a string is sent as JSON. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (typeof options.body === "string") body = options.body;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Asserts an RFC 9457 problem with the status (and the fields with errors, when given). */
export function assertProblem(r: Reply, status: number, fields?: string[]): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get("content-type"), "application/problem+json", r.text);
  assert.equal(r.body.status, status);
  assert.equal(typeof r.body.title, "string");
  assert.equal(typeof r.body.detail, "string");
  // The type is the documented URN of the code (docs/api.md, "Problem codes").
  assert.equal(r.body.type, `urn:kv-acme:problem:${String(r.body.code).toLowerCase()}`);
  if (fields) {
    const got = (r.body.errors as { field: string }[]).map((e) => e.field);
    for (const f of fields) assert.ok(got.includes(f), `expected an error for ${f}, got ${got.join(", ")}`);
  }
}

/** The x-ms-client-principal header App Service Authentication injects. */
export function principal(name: string, roles: string[]): string {
  const claims = [{ typ: "name", val: name }, ...roles.map((r) => ({ typ: "roles", val: r }))];
  return Buffer.from(JSON.stringify({ auth_typ: "aad", name_typ: "name", role_typ: "roles", claims })).toString("base64");
}

/** Everything kv-acme could write: vault certificates (incl. pending), secrets, DNS record sets. */
export async function snapshot(stack: Stack): Promise<string> {
  const c = clients(stack);
  const out: string[] = [];
  for await (const p of c.certificates.listPropertiesOfCertificates({ includePending: true }))
    out.push(`cert ${p.name} ${p.version ?? ""}`);
  for await (const p of c.secrets.listPropertiesOfSecrets()) out.push(`secret ${p.name}`);
  for (const zone of stack.info.zones) {
    for await (const rs of c.dns.recordSets.listByDnsZone(stack.info.resourceGroup, zone))
      out.push(`dns ${rs.name}.${zone} ${rs.type} ${JSON.stringify(rs.txtRecords ?? [])}`);
  }
  return out.sort().join("\n");
}

/**
 * Everything a refused request or an edit could change on one certificate: its versions, the current leaf's bytes,
 * policy, tags, enabled and its pending operation's status.
 */
export async function certificateState(stack: Stack, name: string): Promise<string> {
  const { certificates } = clients(stack);
  const cert = await certificates.getCertificate(name);
  const versions: string[] = [];
  for await (const v of certificates.listPropertiesOfCertificateVersions(name)) versions.push(v.version ?? "");
  const pending = await certificates.getCertificateOperation(name).then(
    (p) => p.getOperationState().certificateOperation?.status ?? "none",
    () => "none",
  );
  return JSON.stringify({
    versions: versions.sort(),
    cer: Buffer.from(cert.cer ?? []).toString("base64"),
    policy: cert.policy,
    tags: cert.properties.tags,
    enabled: cert.properties.enabled,
    pending,
  });
}

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

/** A throwaway CA that signs a CSR out of band (as a non-ACME CA would); returns the chain, leaf first. */
export async function signCsrOutOfBand(
  csrPem: string,
  dnsNames: string[],
): Promise<{ leafPem: string; caPem: string; leafDer: Buffer; caDer: Buffer }> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 30 * 86400_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "0a01",
    name: "CN=kv-acme test out-of-band CA",
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "0b02",
    subject: `CN=${dnsNames[0]}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: csr.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: "dns" as const, value }))),
      new x509.BasicConstraintsExtension(false),
    ],
  });
  const leafDer = Buffer.from(leaf.rawData);
  const caDer = Buffer.from(ca.rawData);
  return { leafPem: derToPem(leafDer), caPem: derToPem(caDer), leafDer, caDer };
}

/** Polls GET Location until the operation is no longer running; returns the final reply and every step seen. */
export async function pollOperation(
  origin: string,
  location: string,
  headers: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<{ final: Reply; steps: string[]; sawRunning: boolean }> {
  const deadline = Date.now() + timeoutMs;
  const steps: string[] = [];
  let sawRunning = false;
  for (;;) {
    const r = await call(origin, "GET", location, { headers });
    const step = r.body?.customStatus?.step;
    if (step && steps[steps.length - 1] !== step) steps.push(step);
    if (r.status === 200) return { final: r, steps, sawRunning };
    assert.equal(r.status, 202, r.text);
    sawRunning = true;
    assert.ok(Number(r.headers.get("retry-after")) > 0);
    assert.equal(r.headers.get("location"), location);
    if (Date.now() > deadline) throw new Error(`operation ${location} still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
