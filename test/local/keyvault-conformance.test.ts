/**
 * Conformance of the Key Vault stand-in with real recorded Key Vault traffic (shared/conformance/keyvault):
 * the real SDK is driven through the same sequence and every response must have the same status, the same
 * body fields with the same types and formats (ids, times and key material ignored) and the same key values
 * for enumerations. Consecutive identical polls are collapsed on both sides (poll counts depend on timing).
 */
import { pemBlocks } from "../../src/shared/x509";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { webcrypto, randomBytes } from "node:crypto";
import type { CertificatePolicy } from "@azure/keyvault-certificates";
import { x509 } from "../../src/shared/x509";
import { LOCAL_TENANT_ID } from "../../src/local/identity/tokens";
import { kvFetch, startVault, type Recorded, type Vault } from "./support-keyvault";

const DIR = "/work/shared/conformance/keyvault";
const INTERVAL = { intervalInMs: 40 };
const SELF: CertificatePolicy = { issuerName: "Self", subject: "cn=MyCert" };
/** Values compared exactly (enumerations and flags); everything else by type and format. */
const EXACT = new Set([
  "status",
  "contentType",
  "kty",
  "key_size",
  "reuse_key",
  "exportable",
  "name",
  "action_type",
  "lifetime_percentage",
  "recoveryLevel",
  "recoverableDays",
  "code",
  "cancellation_requested",
  "enabled",
  "managed",
  "ca",
  "validity_months",
  "status_details",
  "cert_transparency",
  "subject",
]);

interface Entry {
  method: string;
  path: string;
  status: number;
  shape: string[];
  location?: string;
}

function fmt(s: string): string {
  if (/^https:\/\//.test(s)) {
    const u = new URL(s);
    const p = u.pathname
      .split("/")
      .map((seg, i) => (i === 2 ? "*" : /^[0-9a-f]{32}$/.test(seg) ? "{v}" : seg))
      .join("/");
    return `url:${p}`;
  }
  if (/^[0-9a-f]{32}$/.test(s)) return "hex32";
  if (/^[A-Za-z0-9_-]{27}$/.test(s)) return "x5t";
  if (s.startsWith("-----BEGIN")) return `pem:${(s.match(/-----BEGIN [A-Z ]+-----/g) ?? []).slice(0, 2).join(",")}`;
  if (s.length > 100 && /^[A-Za-z0-9+/]+=*$/.test(s)) return "base64";
  return "text";
}

function shape(value: unknown, prefix = "", key = ""): string[] {
  if (value === null) return [`${prefix}:null`];
  if (Array.isArray(value)) return value.length ? shape(value[0], `${prefix}[]`, key) : [`${prefix}[]:empty`];
  if (typeof value === "object") return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => shape(v, `${prefix}.${k}`, k));
  if (EXACT.has(key)) return [`${prefix}=${JSON.stringify(key === "subject" ? String(value).toLowerCase() : value)}`];
  if (typeof value === "string") return [`${prefix}:${fmt(value)}`];
  return [`${prefix}:${typeof value}`];
}

function normalisePath(url: string): string {
  return new URL(url).pathname
    .split("/")
    .map((seg, i) => (i === 2 ? "*" : /^[0-9a-f]{32}$/.test(seg) ? "{v}" : seg))
    .join("/")
    .replace(/\/$/, "/");
}

function collapse(entries: Entry[]): Entry[] {
  const out: Entry[] = [];
  for (const e of entries) {
    const last = out[out.length - 1];
    if (
      last &&
      last.method === e.method &&
      last.path === e.path &&
      last.status === e.status &&
      JSON.stringify(last.shape) === JSON.stringify(e.shape)
    )
      continue;
    out.push(e);
  }
  return out;
}

function fromRecording(file: string): { entries: Entry[]; raw: Array<Record<string, unknown>> } {
  const rec = JSON.parse(readFileSync(path.join(DIR, file), "utf8")) as {
    Entries: Array<{
      RequestUri: string;
      RequestMethod: string;
      StatusCode: number;
      ResponseBody: unknown;
      ResponseHeaders: Record<string, string>;
    }>;
  };
  const entries = rec.Entries.map((e) => ({
    method: e.RequestMethod,
    path: normalisePath(e.RequestUri),
    status: e.StatusCode,
    shape: shape(e.ResponseBody),
    location: e.ResponseHeaders.Location ? fmt(e.ResponseHeaders.Location) : undefined,
  }));
  return { entries: collapse(entries), raw: rec.Entries as unknown as Array<Record<string, unknown>> };
}

function fromTraffic(traffic: Recorded[]): Entry[] {
  return collapse(
    traffic.map((t) => ({
      method: t.method,
      path: normalisePath(t.url),
      status: t.status,
      shape: shape(t.body),
      location: t.headers.location ? fmt(t.headers.location) : undefined,
    })),
  );
}

function compare(file: string, traffic: Recorded[]): void {
  const expected = fromRecording(file).entries;
  const actual = fromTraffic(traffic);
  const line = (e: Entry) => `${e.method} ${e.path} ${e.status}`;
  assert.deepEqual(actual.map(line), expected.map(line), `${file}: request sequence and statuses`);
  for (let i = 0; i < expected.length; i++) {
    assert.deepEqual([...actual[i].shape].sort(), [...expected[i].shape].sort(), `${file} #${i} ${line(expected[i])}: body fields`);
    assert.equal(actual[i].location, expected[i].location, `${file} #${i} ${line(expected[i])}: Location`);
  }
}

async function waitForStatus(vault: Vault, name: string, status: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await kvFetch(vault, "GET", `/certificates/${name}/pending`);
    if (r.json.status === status) return;
    await new Promise((res) => setTimeout(res, 25));
  }
  assert.fail(`${name} never reached ${status}`);
}

/** Signs a CSR with a throwaway CA made here (what an external CA would do). */
async function signCsr(csrDer: Uint8Array): Promise<x509.X509Certificate> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const csr = new x509.Pkcs10CertificateRequest(csrDer);
  return x509.X509CertificateGenerator.create({
    serialNumber: "4" + randomBytes(8).toString("hex"),
    subject: csr.subject,
    issuer: "CN=Internet Widgits Test CA",
    notBefore: new Date(Date.now() - 1000),
    notAfter: new Date(Date.now() + 30 * 86_400_000),
    publicKey: csr.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: alg,
  });
}

function opOf(poller: unknown): { csr?: Uint8Array; status?: string } {
  return (
    (poller as { operation: { state: { certificateOperation?: { csr?: Uint8Array; status?: string } } } }).operation.state
      .certificateOperation ?? {}
  );
}

describe("Key Vault stand-in: conformance with recorded traffic", () => {
  let vault: Vault;
  before(async () => {
    vault = await startVault({ selfIssuerDelayMs: 400 });
  });
  after(async () => vault.close());

  /** Each scenario starts with fresh clients so the first request meets the 401 challenge, as recorded. */
  async function fresh(): Promise<Vault> {
    vault.renewClients();
    vault.traffic.length = 0;
    return vault;
  }

  it("401 challenge: exact WWW-Authenticate header and body", async () => {
    const r = await kvFetch(vault, "POST", "/certificates/x/create", "", null);
    assert.equal(r.status, 401);
    assert.equal(
      r.headers.get("www-authenticate"),
      `Bearer authorization="https://login.microsoftonline.com/${LOCAL_TENANT_ID}", resource="https://vault.azure.net"`,
    );
    assert.equal(
      r.text,
      JSON.stringify({ error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token." } }),
    );
    const recorded = fromRecording("not-found.json").raw[0] as { ResponseHeaders: Record<string, string>; ResponseBody: unknown };
    assert.equal(
      r.headers.get("www-authenticate")!.replace(LOCAL_TENANT_ID, "T"),
      recorded.ResponseHeaders["WWW-Authenticate"].replace(/[0-9a-f-]{36}/, "T"),
    );
    assert.deepEqual(r.json, recorded.ResponseBody);
  });

  it("not-found.json", async () => {
    const v = await fresh();
    await assert.rejects(v.certificates.getCertificate("CRUDCertificateName-cangetacertificateNonExisting-"));
    compare("not-found.json", v.traffic);
  });

  it("lro-create.json", async () => {
    const v = await fresh();
    const poller = await v.certificates.beginCreateCertificate("lro-create", SELF, INTERVAL);
    await poller.pollUntilDone();
    compare("lro-create.json", v.traffic);
  });

  it("abort-create.json", async () => {
    const v = await fresh();
    const poller = await v.certificates.beginCreateCertificate("abort-create", SELF, INTERVAL);
    poller.stopPolling();
    compare("abort-create.json", v.traffic);
  });

  it("secret-pkcs12.json", async () => {
    const v = await fresh();
    await (await v.certificates.beginCreateCertificate("secret-pkcs12", SELF, INTERVAL)).pollUntilDone();
    await v.certificates.getCertificate("secret-pkcs12");
    await v.secrets.getSecret("secret-pkcs12");
    compare("secret-pkcs12.json", v.traffic);
  });

  it("secret-pem.json", async () => {
    const v = await fresh();
    await (
      await v.certificates.beginCreateCertificate("secret-pem", { ...SELF, contentType: "application/x-pem-file" }, INTERVAL)
    ).pollUntilDone();
    await v.certificates.getCertificate("secret-pem");
    const secret = await v.secrets.getSecret("secret-pem");
    // PKCS#8 key first, then the certificate, "\n" line endings and a trailing newline, as the real service.
    const [key] = pemBlocks(secret.value!, "PRIVATE KEY");
    const [cert] = pemBlocks(secret.value!, "CERTIFICATE");
    assert.ok(key && cert, "a PKCS#8 key and a certificate");
    assert.equal(secret.value, `${key}\n${cert}\n`);
    compare("secret-pem.json", v.traffic);
  });

  it("merge-unknown-issuer.json", async () => {
    const v = await fresh();
    const poller = await v.certificates.beginCreateCertificate(
      "merge-unknown",
      { issuerName: "Unknown", subject: "cn=MyCert", certificateTransparency: false },
      INTERVAL,
    );
    await v.certificates.getCertificate("merge-unknown");
    const op = await v.certificates.getCertificateOperation("merge-unknown");
    const cert = await signCsr(opOf(op).csr ?? opOf(poller).csr!);
    await v.certificates.mergeCertificate("merge-unknown", [Buffer.from(cert.toString("pem"))]);
    compare("merge-unknown-issuer.json", v.traffic);
  });

  it("cancel-and-delete-operation.json", async () => {
    const v = await fresh();
    const poller = await v.certificates.beginCreateCertificate("cancel-delete", SELF, INTERVAL);
    await v.certificates.getCertificate("cancel-delete");
    await v.certificates.getCertificateOperation("cancel-delete");
    await poller.cancelOperation();
    await waitForStatus(v, "cancel-delete", "completed");
    await v.certificates.deleteCertificateOperation("cancel-delete");
    await v.certificates.getCertificate("cancel-delete");
    await assert.rejects(v.certificates.getCertificateOperation("cancel-delete"));
    compare("cancel-and-delete-operation.json", v.traffic);
  });

  it("import.json", async () => {
    const v = await fresh();
    await (await v.certificates.beginCreateCertificate("import-0", SELF, INTERVAL)).pollUntilDone();
    const secret = await v.secrets.getSecret("import-0");
    const imported = await v.certificates.importCertificate("import-1", Buffer.from(secret.value!, "base64"));
    assert.equal(imported.policy?.subject?.toLowerCase(), "cn=mycert");
    compare("import.json", v.traffic);
  });

  it("list-by-page.json", async () => {
    // The 23 made beforehand are scaffolding, created at once: more key creates than Key Vault admits in 10 s (20),
    // so this vault runs without the throttle (test/local/keyvault-throttle.test.ts covers it).
    const v = await startVault({ selfIssuerDelayMs: 200, limits: false });
    try {
      // 23 certificates made beforehand, so the vault holds 25 in all, as in the recording.
      await Promise.all(
        Array.from({ length: 23 }, (_, i) =>
          kvFetch(v, "POST", `/certificates/bulk-${String(i).padStart(2, "0")}/create`, {
            policy: { key_props: { kty: "EC", crv: "P-256" }, x509_props: { subject: "CN=bulk" }, issuer: { name: "Self" } },
          }),
        ),
      );
      for (let i = 0; i < 23; i++) await waitForStatus(v, `bulk-${String(i).padStart(2, "0")}`, "completed");
      v.renewClients();
      v.traffic.length = 0;
      for (const name of ["list-0", "list-1"]) await (await v.certificates.beginCreateCertificate(name, SELF, INTERVAL)).pollUntilDone();
      const pages: number[] = [];
      for await (const page of v.certificates.listPropertiesOfCertificates({ includePending: true }).byPage()) pages.push(page.length);
      assert.deepEqual(pages, [25, 0]);
      compare("list-by-page.json", v.traffic);
    } finally {
      await v.close();
    }
  });
});
