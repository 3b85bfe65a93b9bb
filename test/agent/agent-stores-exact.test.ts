// Exact-outcome tests for src/agent/material.ts and src/agent/stores/linux.ts (the agent-stores mutation module):
// whole parse results and exact refusal texts at each rule's edge; on disk, exact file contents, modes, ACLs
// (getfacl), symlink targets, directory listings and error texts, so a changed condition, string or branch fails.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createPrivateKey, randomBytes, webcrypto, X509Certificate } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import forge from "node-forge";
import {
  CertificateMaterialError,
  parseSecretMaterial,
  PEM_CONTENT_TYPE,
  PKCS12_CONTENT_TYPE,
  toChainPem,
  toPemBundle,
  type CertificateMaterial,
} from "../../src/agent/material";
import { parseAgentSettings, type ObservedCertificate } from "../../src/agent/settings";
import { aclSpec, createLinuxStore, switchLink, versionFileName } from "../../src/agent/stores/linux";
import { derToPem, pemBlocks, x509 } from "../../src/shared/x509";
import { makeChain, makeLeaf, pemSecret, pkcs12Secret, type TestChain, type TestLeaf } from "./helpers";

type KeyPair = webcrypto.CryptoKeyPair;
const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const EC_SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

async function ecKeys(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as KeyPair;
}

async function pkcs8Pem(keys: KeyPair): Promise<string> {
  return derToPem(Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)), "PRIVATE KEY");
}

/** A certificate (PEM, newline-terminated like Node's X509Certificate.toString) with exactly the names and keys given. */
async function issue(o: {
  subject: string;
  issuer: string;
  keys: KeyPair;
  signer: KeyPair;
  ca?: boolean;
  san?: { type: "dns" | "ip"; value: string }[];
}): Promise<string> {
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "5" + randomBytes(8).toString("hex"),
    subject: o.subject,
    issuer: o.issuer,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 86400_000),
    publicKey: o.keys.publicKey,
    signingKey: o.signer.privateKey,
    signingAlgorithm: EC_SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(o.ca ?? false, undefined, true),
      ...(o.ca ? [new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)] : []),
      ...(o.san ? [new x509.SubjectAlternativeNameExtension(o.san)] : []),
    ],
  });
  return cert.toString("pem") + "\n";
}

/** What parseSecretMaterial must return for this leaf PEM, key and chain, computed without the code under test. */
function expected(leafPem: string, keyPem: string, chainPems: string[], rest: { dnsNames: string[]; includesRoot: boolean; pfx?: Buffer }) {
  const parsed = new x509.X509Certificate(leafPem);
  return {
    leafPem,
    chainPems,
    keyPem,
    thumbprint: createHash("sha1").update(Buffer.from(parsed.rawData)).digest("hex").toUpperCase(),
    serialNumber: parsed.serialNumber.toUpperCase(),
    dnsNames: rest.dnsNames,
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    pfx: rest.pfx,
    includesRoot: rest.includesRoot,
  };
}

/** The refusal parseSecretMaterial throws: its class, code, status and exact message. */
function refusal(fn: () => unknown): { name: string; code: string; status: number; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CertificateMaterialError, `expected a CertificateMaterialError, got ${String(err)}`);
    return { name: err.name, code: err.code, status: err.status, message: err.message };
  }
  assert.fail("expected a CertificateMaterialError, nothing was thrown");
}
const refused = (message: string) => ({ name: "CertificateMaterialError", code: "CertificateMaterialInvalid", status: 422, message });

/** Node's own message for a value it cannot read (the refusals quote it after their own text). */
function nodeError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail("expected Node to refuse the value");
}

// PKCS#12 built bag by bag (no MAC, like a PFX without integrity protection): two keys, a corrupt certificate or key.
const A = forge.asn1;
const oids = forge.pki.oids;
const seq = (items: forge.asn1.Asn1[]) => A.create(A.Class.UNIVERSAL, A.Type.SEQUENCE, true, items);
const oid = (o: string) => A.create(A.Class.UNIVERSAL, A.Type.OID, false, A.oidToDer(o).getBytes());
const octets = (bytes: string) => A.create(A.Class.UNIVERSAL, A.Type.OCTETSTRING, false, bytes);
const explicit0 = (v: forge.asn1.Asn1) => A.create(A.Class.CONTEXT_SPECIFIC, 0, true, [v]);
const der = (v: forge.asn1.Asn1) => A.toDer(v).getBytes();
const certBag = (certDer: Buffer) =>
  seq([oid(oids.certBag!), explicit0(seq([oid(oids.x509Certificate!), explicit0(octets(certDer.toString("binary")))]))]);
const keyBag = (pkcs8Der: Buffer) => seq([oid(oids.keyBag!), explicit0(A.fromDer(pkcs8Der.toString("binary")))]);
/** A PFX (version 3, no MAC) whose authenticated safe is these bytes. */
function pfxWithAuthSafe(authSafe: string): string {
  const version = A.create(A.Class.UNIVERSAL, A.Type.INTEGER, false, A.integerToDer(3).getBytes());
  return Buffer.from(der(seq([version, seq([oid(oids.data!), explicit0(octets(authSafe))])])), "binary").toString("base64");
}
function pfxOf(bags: forge.asn1.Asn1[]): string {
  const data = (content: forge.asn1.Asn1) => seq([oid(oids.data!), explicit0(octets(der(content)))]);
  return pfxWithAuthSafe(der(seq([data(seq(bags))])));
}
const pemDer = (pem: string) => Buffer.from(new X509Certificate(pem).raw);
const keyDer = (pem: string) => createPrivateKey(pem).export({ format: "der", type: "pkcs8" });
/** SEQUENCE { INTEGER 1 }: well-formed DER that is neither a certificate nor a private key. */
const NOT_A_CERT_OR_KEY = Buffer.from(
  der(seq([A.create(A.Class.UNIVERSAL, A.Type.INTEGER, false, A.integerToDer(1).getBytes())])),
  "binary",
);

let tmp: string;
let chain: TestChain;
let leaf: TestLeaf;
let rsaChain: TestChain;
let rsaLeaf: TestLeaf;
let other: TestChain;

before(async () => {
  [chain, rsaChain, other] = await Promise.all([makeChain("ec"), makeChain("rsa"), makeChain("ec")]);
  leaf = await makeLeaf(chain, ["www.example.test", "example.test"]);
  rsaLeaf = await makeLeaf(rsaChain, ["rsa.example.test"], { keyType: "rsa" });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-agent-stores-exact-"));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function openssl(args: string[]): Buffer {
  return execFileSync("openssl", args);
}

/** An openssl-made PKCS#12 (empty password, legacy 3DES and SHA-1 MAC that node-forge reads) of files in `dir`. */
async function opensslPkcs12(dir: string, parts: { key?: string; leaf?: string; chain?: string }, extra: string[]): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const args = ["pkcs12", "-export", "-passout", "pass:", "-macalg", "sha1", ...extra];
  for (const [name, flag] of [
    ["key", "-inkey"],
    ["leaf", "-in"],
    ["chain", "-certfile"],
  ] as const) {
    const pem = parts[name];
    if (pem === undefined) continue;
    await fs.writeFile(path.join(dir, `${name}.pem`), pem);
    args.push(flag, path.join(dir, `${name}.pem`));
  }
  return openssl(args).toString("base64");
}

describe("parseSecretMaterial whole results", () => {
  it("Key Vault's PEM (key, leaf, intermediate): leaf, one issuer, the PKCS#8 key, no root, no pfx", () => {
    const m = parseSecretMaterial(pemSecret(leaf, chain), PEM_CONTENT_TYPE);
    assert.deepEqual(
      m,
      expected(leaf.leafPem, leaf.keyPem, [chain.intermediate.pem], {
        dnsNames: ["www.example.test", "example.test"],
        includesRoot: false,
      }),
    );
  });

  it("root first, key in the middle, leaf last: chain ordered intermediate then root, includesRoot true", () => {
    const m = parseSecretMaterial(chain.root.pem + leaf.keyPem + chain.intermediate.pem + leaf.leafPem);
    assert.deepEqual(
      m,
      expected(leaf.leafPem, leaf.keyPem, [chain.intermediate.pem, chain.root.pem], {
        dnsNames: ["www.example.test", "example.test"],
        includesRoot: true,
      }),
    );
  });

  it("PEM after leading blank lines and spaces, no content type: read as PEM", () => {
    const m = parseSecretMaterial("\n \t\n" + pemSecret(leaf, chain));
    assert.equal(m.leafPem, leaf.leafPem);
    assert.equal(m.pfx, undefined);
  });

  it("PEM with text before the first block: read as PEM with the PEM content type, refused as not base64 without it", () => {
    const value = "Bag Attributes: friendlyName web\n" + pemSecret(leaf, chain);
    assert.equal(parseSecretMaterial(value, PEM_CONTENT_TYPE).leafPem, leaf.leafPem);
    assert.deepEqual(
      refusal(() => parseSecretMaterial(value)),
      refused("the PKCS#12 secret is not base64"),
    );
  });

  it("PEM under the PKCS#12 content type: read as PKCS#12 (the content type wins) and refused as not base64", () => {
    assert.deepEqual(
      refusal(() => parseSecretMaterial(pemSecret(leaf, chain), PKCS12_CONTENT_TYPE)),
      refused("the PKCS#12 secret is not base64"),
    );
  });

  it("PKCS#12 base64 under the PEM content type: read as PEM and refused as holding no certificate", () => {
    assert.deepEqual(
      refusal(() => parseSecretMaterial(pkcs12Secret(rsaLeaf, rsaChain), PEM_CONTENT_TYPE)),
      refused("the PEM secret holds no certificate"),
    );
  });

  it("node-forge PKCS#12 (RSA, shrouded key) without a content type: PKCS#12, original bytes kept", () => {
    const value = pkcs12Secret(rsaLeaf, rsaChain);
    assert.deepEqual(
      parseSecretMaterial(value),
      expected(rsaLeaf.leafPem, rsaLeaf.keyPem, [rsaChain.intermediate.pem], {
        dnsNames: ["rsa.example.test"],
        includesRoot: false,
        pfx: Buffer.from(value, "base64"),
      }),
    );
  });

  it("PKCS#12 base64 broken into 64-character lines with surrounding whitespace: the same bytes", () => {
    const value = pkcs12Secret(rsaLeaf, rsaChain);
    const wrapped = "\n  " + value.replace(/.{1,64}/g, "$&\r\n") + "  \n";
    assert.deepEqual(parseSecretMaterial(wrapped, PKCS12_CONTENT_TYPE), parseSecretMaterial(value, PKCS12_CONTENT_TYPE));
    assert.deepEqual(parseSecretMaterial(wrapped, PKCS12_CONTENT_TYPE).pfx, Buffer.from(value, "base64"));
  });

  it("openssl PKCS#12 with an EC key (shrouded key bag, encrypted certificates node-forge cannot parse): whole result", async () => {
    const value = await opensslPkcs12(path.join(tmp, "p12-ec"), { key: leaf.keyPem, leaf: leaf.leafPem, chain: chain.intermediate.pem }, [
      "-keypbe",
      "PBE-SHA1-3DES",
      "-certpbe",
      "PBE-SHA1-3DES",
    ]);
    assert.deepEqual(
      parseSecretMaterial(value, PKCS12_CONTENT_TYPE),
      expected(leaf.leafPem, leaf.keyPem, [chain.intermediate.pem], {
        dnsNames: ["www.example.test", "example.test"],
        includesRoot: false,
        pfx: Buffer.from(value, "base64"),
      }),
    );
  });

  it("PKCS#12 with a plain key bag (not shrouded) and the root: whole result", () => {
    const value = pfxOf([
      certBag(pemDer(chain.root.pem)),
      keyBag(keyDer(leaf.keyPem)),
      certBag(pemDer(chain.intermediate.pem)),
      certBag(pemDer(leaf.leafPem)),
    ]);
    assert.deepEqual(
      parseSecretMaterial(value),
      expected(leaf.leafPem, leaf.keyPem, [chain.intermediate.pem, chain.root.pem], {
        dnsNames: ["www.example.test", "example.test"],
        includesRoot: true,
        pfx: Buffer.from(value, "base64"),
      }),
    );
  });

  it("the key as PKCS#1 (RSA PRIVATE KEY) or SEC1 (EC PRIVATE KEY): accepted, returned as PKCS#8", () => {
    const pkcs1 = createPrivateKey(rsaLeaf.keyPem).export({ format: "pem", type: "pkcs1" }).toString();
    const sec1 = createPrivateKey(leaf.keyPem).export({ format: "pem", type: "sec1" }).toString();
    // The inputs really are PKCS#1 and SEC1: each export is exactly one block of that label (src/shared/x509 pemBlocks).
    assert.deepEqual(pemBlocks(pkcs1, "RSA PRIVATE KEY"), [pkcs1.trimEnd()]);
    assert.deepEqual(pemBlocks(sec1, "EC PRIVATE KEY"), [sec1.trimEnd()]);
    assert.equal(parseSecretMaterial(pkcs1 + rsaLeaf.leafPem + rsaChain.intermediate.pem).keyPem, rsaLeaf.keyPem);
    assert.equal(parseSecretMaterial(sec1 + leaf.leafPem + chain.intermediate.pem).keyPem, leaf.keyPem);
  });

  it("another chain's intermediate in the secret is left out of the chain", () => {
    const m = parseSecretMaterial(other.intermediate.pem + pemSecret(leaf, chain) + other.root.pem);
    assert.deepEqual(m.chainPems, [chain.intermediate.pem]);
    assert.equal(m.includesRoot, false);
  });

  it("a certificate named like the intermediate but with another key, before it: the one whose signature verifies is chosen", async () => {
    const impostor = await issue({
      subject: new X509Certificate(chain.intermediate.pem).subject,
      issuer: new X509Certificate(chain.root.pem).subject,
      keys: await ecKeys(),
      signer: chain.root.keys,
      ca: true,
    });
    const m = parseSecretMaterial(leaf.keyPem + leaf.leafPem + impostor + chain.intermediate.pem);
    assert.deepEqual(m.chainPems, [chain.intermediate.pem]);
  });

  it("a self-signed certificate with the intermediate's key but another name, before it: not taken as the issuer", async () => {
    const sameKey = await issue({
      subject: "CN=Other Name",
      issuer: "CN=Other Name",
      keys: chain.intermediate.keys,
      signer: chain.intermediate.keys,
      ca: true,
    });
    const m = parseSecretMaterial(leaf.keyPem + leaf.leafPem + sameKey + chain.intermediate.pem);
    assert.deepEqual(m.chainPems, [chain.intermediate.pem]);
    assert.equal(m.includesRoot, false);
  });

  it("an issuer whose subject equals its issuer but signed by another key: the chain goes on to the real root", async () => {
    const rootKeys = await ecKeys();
    const midKeys = await ecKeys();
    const leafKeys = await ecKeys();
    const root = await issue({ subject: "CN=Same Name", issuer: "CN=Same Name", keys: rootKeys, signer: rootKeys, ca: true });
    const mid = await issue({ subject: "CN=Same Name", issuer: "CN=Same Name", keys: midKeys, signer: rootKeys, ca: true });
    const leafPem = await issue({
      subject: "CN=leaf.test",
      issuer: "CN=Same Name",
      keys: leafKeys,
      signer: midKeys,
      san: [{ type: "dns", value: "leaf.test" }],
    });
    const keyPem = await pkcs8Pem(leafKeys);
    assert.deepEqual(
      parseSecretMaterial(keyPem + leafPem + mid + root),
      expected(leafPem, keyPem, [mid, root], { dnsNames: ["leaf.test"], includesRoot: true }),
    );
  });

  it("two issuers certifying each other (cross-signed): each taken once, then the chain ends without a root", async () => {
    const aKeys = await ecKeys();
    const bKeys = await ecKeys();
    const leafKeys = await ecKeys();
    const a = await issue({ subject: "CN=Cross A", issuer: "CN=Cross B", keys: aKeys, signer: bKeys, ca: true });
    const b = await issue({ subject: "CN=Cross B", issuer: "CN=Cross A", keys: bKeys, signer: aKeys, ca: true });
    const leafPem = await issue({ subject: "CN=cross.test", issuer: "CN=Cross A", keys: leafKeys, signer: aKeys });
    const keyPem = await pkcs8Pem(leafKeys);
    assert.deepEqual(
      parseSecretMaterial(keyPem + leafPem + a + b),
      expected(leafPem, keyPem, [a, b], { dnsNames: ["cross.test"], includesRoot: false }),
    );
  });

  it("the content types: application/x-pem-file and application/x-pkcs12", () => {
    assert.equal(PEM_CONTENT_TYPE, "application/x-pem-file");
    assert.equal(PKCS12_CONTENT_TYPE, "application/x-pkcs12");
    assert.deepEqual(
      refusal(() => parseSecretMaterial(pemSecret(leaf, chain), "application/x-pkcs12")),
      refused("the PKCS#12 secret is not base64"),
    );
    assert.equal(parseSecretMaterial("text first\n" + pemSecret(leaf, chain), "application/x-pem-file").leafPem, leaf.leafPem);
  });

  it("an issuer signed by its own key under another issuer name (re-keyed, not a root): the chain goes on to that issuer", async () => {
    const keys = await ecKeys();
    const leafKeys = await ecKeys();
    const rekeyed = await issue({ subject: "CN=Rekey X", issuer: "CN=Rekey Y", keys, signer: keys, ca: true });
    const y = await issue({ subject: "CN=Rekey Y", issuer: "CN=Rekey Y", keys, signer: keys, ca: true });
    const leafPem = await issue({ subject: "CN=rekey.test", issuer: "CN=Rekey X", keys: leafKeys, signer: keys });
    const keyPem = await pkcs8Pem(leafKeys);
    assert.deepEqual(
      parseSecretMaterial(keyPem + leafPem + rekeyed + y),
      expected(leafPem, keyPem, [rekeyed, y], { dnsNames: ["rekey.test"], includesRoot: true }),
    );
    assert.deepEqual(
      parseSecretMaterial(keyPem + leafPem + rekeyed),
      expected(leafPem, keyPem, [rekeyed], { dnsNames: ["rekey.test"], includesRoot: false }),
      "a chain ending in it has no root",
    );
    const asLeaf = (await pkcs8Pem(keys)) + rekeyed;
    assert.deepEqual(
      refusal(() => parseSecretMaterial(asLeaf)),
      refused("the secret has no chain: the leaf's issuer (CN=Rekey Y) is not included"),
      "as a leaf it is not self-signed: its issuer is missing",
    );
  });

  it("an issuer whose subject equals its issuer but signed by another key, without that key's certificate: includesRoot false", async () => {
    const rootKeys = await ecKeys();
    const midKeys = await ecKeys();
    const leafKeys = await ecKeys();
    const mid = await issue({ subject: "CN=Same Again", issuer: "CN=Same Again", keys: midKeys, signer: rootKeys, ca: true });
    const leafPem = await issue({ subject: "CN=again.test", issuer: "CN=Same Again", keys: leafKeys, signer: midKeys });
    const keyPem = await pkcs8Pem(leafKeys);
    assert.deepEqual(
      parseSecretMaterial(keyPem + leafPem + mid),
      expected(leafPem, keyPem, [mid], { dnsNames: ["again.test"], includesRoot: false }),
    );
  });

  it("a leaf issued by the root itself, root in the secret: chain is the root alone, includesRoot true", async () => {
    const keys = await ecKeys();
    const pem = await issue({
      subject: "CN=direct.test",
      issuer: new X509Certificate(chain.root.pem).subject,
      keys,
      signer: chain.root.keys,
      san: [{ type: "dns", value: "direct.test" }],
    });
    const keyPem = await pkcs8Pem(keys);
    assert.deepEqual(
      parseSecretMaterial(keyPem + pem + chain.root.pem),
      expected(pem, keyPem, [chain.root.pem], { dnsNames: ["direct.test"], includesRoot: true }),
    );
  });

  it("a leaf that certified its own issuer (cross-signed pair, the key of one): the leaf never enters its chain", async () => {
    const aKeys = await ecKeys();
    const bKeys = await ecKeys();
    const a = await issue({ subject: "CN=Pair A", issuer: "CN=Pair B", keys: aKeys, signer: bKeys, ca: true });
    const b = await issue({ subject: "CN=Pair B", issuer: "CN=Pair A", keys: bKeys, signer: aKeys, ca: true });
    const keyPem = await pkcs8Pem(aKeys);
    assert.deepEqual(parseSecretMaterial(keyPem + a + b), expected(a, keyPem, [b], { dnsNames: ["pair a"], includesRoot: false }));
  });

  it("a self-signed leaf alone: no chain needed, chain empty, includesRoot false; DNS name from the CN, not a CN= inside another value", async () => {
    const keys = await ecKeys();
    const name = "OU=CN=fake.test, CN=Real.Example.Test, O=Org";
    const pem = await issue({ subject: name, issuer: name, keys, signer: keys });
    assert.equal(new X509Certificate(pem).subject, "OU=CN=fake.test\nCN=Real.Example.Test\nO=Org");
    const keyPem = await pkcs8Pem(keys);
    assert.deepEqual(
      parseSecretMaterial(keyPem + pem),
      expected(pem, keyPem, [], { dnsNames: ["real.example.test"], includesRoot: false }),
    );
  });

  it("a self-signed leaf whose subject starts with CN: the whole CN, lower-cased", async () => {
    const keys = await ecKeys();
    const pem = await issue({ subject: "CN=Only.CN.Test, O=Org", issuer: "CN=Only.CN.Test, O=Org", keys, signer: keys });
    assert.deepEqual(parseSecretMaterial((await pkcs8Pem(keys)) + pem).dnsNames, ["only.cn.test"]);
  });

  it("a self-signed leaf with neither SAN nor CN: no DNS names", async () => {
    const keys = await ecKeys();
    const pem = await issue({ subject: "O=No Common Name", issuer: "O=No Common Name", keys, signer: keys });
    assert.deepEqual(parseSecretMaterial((await pkcs8Pem(keys)) + pem).dnsNames, []);
  });

  it("SAN with an IP address between DNS names in mixed case: only the DNS names, lower-cased, in order", async () => {
    const keys = await ecKeys();
    const pem = await issue({
      subject: "CN=ignored.test",
      issuer: new X509Certificate(chain.intermediate.pem).subject,
      keys,
      signer: chain.intermediate.keys,
      san: [
        { type: "dns", value: "WWW.Mixed.Test" },
        { type: "ip", value: "192.0.2.7" },
        { type: "dns", value: "b.test" },
      ],
    });
    assert.equal(new X509Certificate(pem).subjectAltName, "DNS:WWW.Mixed.Test, IP Address:192.0.2.7, DNS:b.test");
    assert.deepEqual(parseSecretMaterial((await pkcs8Pem(keys)) + pem + chain.intermediate.pem).dnsNames, ["www.mixed.test", "b.test"]);
  });
});

describe("parseSecretMaterial refusals: class, code 422 and exact text", () => {
  // Three zero bytes under each label, armoured at run time: no key material (real or not) is written in the test.
  const corruptCert = derToPem(new Uint8Array(3), "CERTIFICATE");
  const corruptKey = derToPem(new Uint8Array(3), "PRIVATE KEY");
  const cases: { name: string; value: () => string | Promise<string>; contentType?: string; message: () => string }[] = [
    { name: "empty", value: () => "", contentType: PEM_CONTENT_TYPE, message: () => "the secret is empty" },
    { name: "whitespace only", value: () => " \n\t ", message: () => "the secret is empty" },
    { name: "whitespace only as PKCS#12", value: () => "\n", contentType: PKCS12_CONTENT_TYPE, message: () => "the secret is empty" },
    { name: "PEM key without a certificate", value: () => leaf.keyPem, message: () => "the PEM secret holds no certificate" },
    {
      name: "PEM certificates without a key",
      value: () => leaf.leafPem + chain.intermediate.pem,
      message: () => "the PEM secret holds no private key (is the key exportable?)",
    },
    {
      name: "PKCS#12 with a key and no certificate",
      value: () => pfxOf([keyBag(keyDer(leaf.keyPem))]),
      message: () => "the PKCS#12 secret holds no certificate",
    },
    {
      name: "PKCS#12 with certificates and no key (openssl -nokeys)",
      value: () =>
        opensslPkcs12(path.join(tmp, "p12-nokey"), { leaf: leaf.leafPem, chain: chain.intermediate.pem }, [
          "-nokeys",
          "-certpbe",
          "PBE-SHA1-3DES",
        ]),
      message: () => "the PKCS#12 secret holds no private key (is the key exportable?)",
    },
    {
      name: "key of another certificate",
      value: () => rsaLeaf.keyPem + leaf.leafPem + chain.intermediate.pem,
      message: () => "the private key does not match the certificate in the secret",
    },
    {
      name: "leaf and key without the intermediate",
      value: () => leaf.keyPem + leaf.leafPem + chain.root.pem,
      message: () => `the secret has no chain: the leaf's issuer (${new X509Certificate(chain.intermediate.pem).subject}) is not included`,
    },
    {
      name: "second certificate corrupt",
      value: () => leaf.keyPem + leaf.leafPem + corruptCert,
      message: () => `certificate #2 in the PEM secret is corrupt: ${nodeError(() => new X509Certificate(corruptCert))}`,
    },
    {
      name: "two PKCS#8 keys",
      value: () => leaf.keyPem + pemSecret(leaf, chain),
      message: () => "the PEM secret holds more than one private key",
    },
    {
      name: "a PKCS#8 and a SEC1 key",
      value: () => createPrivateKey(leaf.keyPem).export({ format: "pem", type: "sec1" }).toString() + pemSecret(leaf, chain),
      message: () => "the PEM secret holds more than one private key",
    },
    {
      name: "a PKCS#8 and a PKCS#1 key",
      value: () => createPrivateKey(rsaLeaf.keyPem).export({ format: "pem", type: "pkcs1" }).toString() + pemSecret(leaf, chain),
      message: () => "the PEM secret holds more than one private key",
    },
    {
      name: "corrupt PEM key",
      value: () => corruptKey + leaf.leafPem + chain.intermediate.pem,
      message: () => `the private key in the PEM secret is corrupt: ${nodeError(() => createPrivateKey(corruptKey))}`,
    },
    {
      name: "PKCS#12 of symbols",
      value: () => "%%%%",
      contentType: PKCS12_CONTENT_TYPE,
      message: () => "the PKCS#12 secret is not base64",
    },
    { name: "a symbol before base64", value: () => "-QUJD", message: () => "the PKCS#12 secret is not base64" },
    { name: "a symbol after base64", value: () => "QUJD-", message: () => "the PKCS#12 secret is not base64" },
    { name: "three padding characters", value: () => "QUI===", message: () => "the PKCS#12 secret is not base64" },
    { name: "padding only", value: () => "==", message: () => "the PKCS#12 secret is not base64" },
    {
      name: "base64 that is no DER",
      value: () => "QUJD",
      message: () =>
        "the PKCS#12 secret is corrupt or truncated, or not protected by an empty password: Too few bytes to read ASN.1 value.",
    },
    {
      name: "two padding characters on base64 that is no DER",
      value: () => "QUI==",
      message: () =>
        "the PKCS#12 secret is corrupt or truncated, or not protected by an empty password: Too few bytes to read ASN.1 value.",
    },
    {
      name: "PKCS#12 truncated",
      value: () => pkcs12Secret(rsaLeaf, rsaChain).slice(0, 400),
      message: () =>
        "the PKCS#12 secret is corrupt or truncated, or not protected by an empty password: Too few bytes to read ASN.1 value.",
    },
    {
      name: "PKCS#12 whose authenticated safe is truncated inside a whole PFX",
      value: () => pfxWithAuthSafe("\x30\x05\x30"),
      message: () =>
        "the PKCS#12 secret is corrupt or truncated, or not protected by an empty password: Too few bytes to read ASN.1 value.",
    },
    {
      name: "PKCS#12 with a password",
      value: () =>
        Buffer.from(
          forge.asn1
            .toDer(
              forge.pkcs12.toPkcs12Asn1(
                forge.pki.privateKeyFromPem(rsaLeaf.keyPem),
                [forge.pki.certificateFromPem(rsaLeaf.leafPem)],
                "secret",
                { algorithm: "3des" },
              ),
            )
            .getBytes(),
          "binary",
        ).toString("base64"),
      message: () =>
        "the PKCS#12 secret is corrupt or truncated, or not protected by an empty password: PKCS#12 MAC could not be verified. Invalid password?",
    },
    {
      name: "PKCS#12 with two keys",
      value: () => pfxOf([keyBag(keyDer(leaf.keyPem)), certBag(pemDer(leaf.leafPem)), keyBag(keyDer(leaf.keyPem))]),
      message: () => "the PKCS#12 secret holds more than one private key",
    },
    {
      name: "PKCS#12 certificate that is no certificate",
      value: () => pfxOf([certBag(pemDer(leaf.leafPem)), certBag(NOT_A_CERT_OR_KEY), keyBag(keyDer(leaf.keyPem))]),
      message: () => `a certificate in the PKCS#12 secret is corrupt: ${nodeError(() => new X509Certificate(NOT_A_CERT_OR_KEY))}`,
    },
    {
      name: "PKCS#12 key that is no key",
      value: () => pfxOf([certBag(pemDer(leaf.leafPem)), keyBag(NOT_A_CERT_OR_KEY)]),
      message: () =>
        `the private key in the PKCS#12 secret is corrupt: ${nodeError(() => createPrivateKey({ key: NOT_A_CERT_OR_KEY, format: "der", type: "pkcs8" }))}`,
    },
  ];
  for (const c of cases) {
    it(`${c.name}${c.contentType ? ` (${c.contentType})` : ""}: refused with its exact text`, async () => {
      const value = await c.value();
      assert.deepEqual(
        refusal(() => parseSecretMaterial(value, c.contentType)),
        refused(c.message()),
      );
    });
  }

  it("a leaf whose issuer name equals its subject but signed by another key is no self-signed leaf: no chain, issuer on one line", async () => {
    const keys = await ecKeys();
    const name = "C=XX, O=Self Named, CN=Self Named";
    const pem = await issue({ subject: name, issuer: name, keys, signer: await ecKeys() });
    const value = (await pkcs8Pem(keys)) + pem;
    assert.deepEqual(
      refusal(() => parseSecretMaterial(value)),
      refused("the secret has no chain: the leaf's issuer (C=XX, O=Self Named, CN=Self Named) is not included"),
    );
  });
});

describe("toPemBundle and toChainPem", () => {
  const m = { leafPem: "LEAF", chainPems: ["INT\n", "ROOT"], keyPem: "KEY" } as CertificateMaterial;
  it("toPemBundle: leaf, chain in order, key last, a newline added only where missing", () => {
    assert.equal(toPemBundle(m), "LEAF\nINT\nROOT\nKEY\n");
  });
  it("toChainPem: leaf and chain without the key, a newline added only where missing", () => {
    assert.equal(toChainPem(m), "LEAF\nINT\nROOT\n");
    assert.equal(toChainPem({ ...m, leafPem: "LEAF\n", chainPems: [] }), "LEAF\n");
  });
  it("toPemBundle of a parsed secret: the PEM texts concatenated unchanged", () => {
    const parsed = parseSecretMaterial(pemSecret(leaf, chain));
    assert.equal(toPemBundle(parsed), leaf.leafPem + chain.intermediate.pem + leaf.keyPem);
  });
});

function observed(dir: string, extra: Record<string, unknown> = {}): ObservedCertificate {
  return parseAgentSettings(
    {
      secretsManagementSettings: {
        observedCertificates: [{ url: "https://myvault.vault.azure.net/secrets/web", certificateStoreLocation: dir, ...extra }],
      },
    },
    { platform: "linux" },
  ).settings.observedCertificates[0]!;
}

const v = (n: number) => n.toString(16).padStart(32, "0");
const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;
const listing = async (dir: string) => (await fs.readdir(dir)).sort();
const getfacl = (p: string) => execFileSync("getfacl", ["-cp", p], { encoding: "utf8" });
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** The temp file a version is written to before the rename: `.<file name>.<12 hex>.tmp` in the store directory. */
const tempFileRe = (dir: string, version: string) => `${escapeRe(dir)}/\\.myvault\\.web\\.${version}\\.pem\\.[0-9a-f]{12}\\.tmp`;

/** A setfacl stand-in that logs `spec target mode type` (and copies a file target) before running the real setfacl. */
async function recordingSetfacl(dir: string, failFiles: boolean): Promise<{ bin: string; log: string; seen: string }> {
  await fs.mkdir(dir, { recursive: true });
  const bin = path.join(dir, "setfacl");
  const log = path.join(dir, "calls.log");
  const seen = path.join(dir, "seen.pem");
  await fs.writeFile(
    bin,
    [
      "#!/bin/sh",
      `printf '%s %s %s\\n' "$2" "$3" "$(stat -c '%a %F' "$3")" >> '${log}'`,
      `if [ -f "$3" ]; then cp "$3" '${seen}'; fi`,
      failFiles ? `if [ -f "$3" ]; then echo "  refused $3  " >&2; exit 1; fi` : "",
      'exec setfacl "$@"',
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return { bin, log, seen };
}

describe("Linux store: names and ACL specifications", () => {
  it("versionFileName: <vault>.<name>.<version>.pem, whatever the link name", () => {
    assert.equal(versionFileName(observed("/srv/certs"), v(1)), `myvault.web.${v(1)}.pem`);
    assert.equal(versionFileName(observed("/srv/certs", { customSymbolicLinkName: "app" }), v(2)), `myvault.web.${v(2)}.pem`);
  });

  const cases: { name: string; acls: { user?: string; group?: string }[]; perm: "r" | "x"; want: string | undefined }[] = [
    { name: "no entries", acls: [], perm: "r", want: undefined },
    { name: "an entry with neither user nor group", acls: [{}], perm: "x", want: undefined },
    { name: "a user", acls: [{ user: "app1" }], perm: "r", want: "u:app1:r" },
    { name: "a group", acls: [{ group: "web" }], perm: "x", want: "g:web:x" },
    {
      name: "user and group in one entry, then a user",
      acls: [{ user: "a", group: "b" }, { user: "c" }],
      perm: "r",
      want: "u:a:r,g:b:r,u:c:r",
    },
  ];
  for (const c of cases) {
    it(`aclSpec ${c.name} (${c.perm}): ${String(c.want)}`, () => {
      assert.equal(aclSpec(c.acls, c.perm), c.want);
    });
  }
});

describe("Linux store on disk: exact files, modes, links and texts", () => {
  let m1: CertificateMaterial;
  let m2: CertificateMaterial;
  before(async () => {
    m1 = parseSecretMaterial(pemSecret(leaf, chain));
    m2 = parseSecretMaterial(pemSecret(await makeLeaf(chain, ["two.example.test"]), chain));
  });

  it("first install: the whole result, a 0600 file with the exact bundle, a relative link, a 0700 directory created with its parents", async () => {
    const dir = path.join(tmp, "first", "a", "b");
    const store = createLinuxStore({ aclEnabled: false });
    const r = await store.install(observed(dir), v(1), m1);
    const file = path.join(dir, `myvault.web.${v(1)}.pem`);
    assert.deepEqual(
      { location: r.location, linkPath: r.linkPath, previous: r.previous, bindingsUpdated: r.bindingsUpdated },
      { location: file, linkPath: path.join(dir, "myvault.web"), previous: undefined, bindingsUpdated: [] },
    );
    assert.equal(await fs.readFile(file, "utf8"), leaf.leafPem + chain.intermediate.pem + leaf.keyPem);
    assert.equal(await mode(file), 0o600);
    assert.equal(await mode(dir), 0o700);
    assert.equal(await fs.readlink(path.join(dir, "myvault.web")), `myvault.web.${v(1)}.pem`);
    assert.deepEqual(await listing(dir), [`myvault.web.${v(1)}.pem`, "myvault.web"].sort());
  });

  it("an existing 0755 directory is narrowed to 0700", async () => {
    const dir = path.join(tmp, "wide");
    await fs.mkdir(dir, { mode: 0o755 });
    await fs.chmod(dir, 0o755);
    await createLinuxStore({ aclEnabled: false }).install(observed(dir), v(1), m1);
    assert.equal(await mode(dir), 0o700);
  });

  it("rollback of a first install removes the link and the file", async () => {
    const dir = path.join(tmp, "rollback-first");
    const r = await createLinuxStore({ aclEnabled: false }).install(observed(dir), v(1), m1);
    await r.rollback();
    assert.deepEqual(await listing(dir), []);
  });

  it("a link with a relative target: previous is the absolute path; rollback points the link back at the same relative name", async () => {
    const dir = path.join(tmp, "relative");
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, "operator.pem"), "theirs");
    await fs.symlink("operator.pem", path.join(dir, "myvault.web"));
    const r = await createLinuxStore({ aclEnabled: false }).install(observed(dir), v(1), m1);
    assert.equal(r.previous, path.join(dir, "operator.pem"));
    assert.equal(await fs.readlink(path.join(dir, "myvault.web")), `myvault.web.${v(1)}.pem`);
    await r.rollback();
    assert.equal(await fs.readlink(path.join(dir, "myvault.web")), "operator.pem");
    assert.deepEqual(await listing(dir), ["myvault.web", "operator.pem"]);
  });

  it("a link to a file in another directory: previous is that path; rollback links to it relative to the store", async () => {
    const dir = path.join(tmp, "elsewhere", "store");
    const outside = path.join(tmp, "elsewhere", "other", "old.pem");
    await fs.mkdir(path.dirname(outside), { recursive: true });
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(outside, "old");
    await fs.symlink(outside, path.join(dir, "myvault.web"));
    const r = await createLinuxStore({ aclEnabled: false }).install(observed(dir), v(1), m1);
    assert.equal(r.previous, outside);
    await r.rollback();
    assert.equal(await fs.readlink(path.join(dir, "myvault.web")), "../other/old.pem");
    assert.equal(await fs.readFile(path.join(dir, "myvault.web"), "utf8"), "old");
    assert.deepEqual(await listing(dir), ["myvault.web"]);
  });

  it("installing the version in service again: previous is that file, and rollback keeps it in service", async () => {
    const dir = path.join(tmp, "same-version");
    const store = createLinuxStore({ aclEnabled: false });
    const r1 = await store.install(observed(dir), v(1), m1);
    const r2 = await store.install(observed(dir), v(1), m2);
    assert.equal(r2.previous, r1.location);
    await r2.rollback();
    assert.equal(await fs.readlink(path.join(dir, "myvault.web")), `myvault.web.${v(1)}.pem`);
    assert.equal(await fs.readFile(path.join(dir, "myvault.web"), "utf8"), toPemBundle(m2));
    assert.deepEqual(await listing(dir), [`myvault.web.${v(1)}.pem`, "myvault.web"].sort());
  });

  it("a regular file where the link should be: install refused with the exact text, nothing written", async () => {
    const dir = path.join(tmp, "regular");
    await fs.mkdir(dir, { mode: 0o700 });
    await fs.writeFile(path.join(dir, "myvault.web"), "operator's own file");
    await assert.rejects(createLinuxStore({ aclEnabled: false }).install(observed(dir), v(1), m1), {
      message: `${path.join(dir, "myvault.web")} exists and is not a symlink; refusing to replace it`,
    });
    assert.deepEqual(await listing(dir), ["myvault.web"]);
  });

  it("isInstalled: true only when the link points at the location and it is a regular file", async () => {
    const dir = path.join(tmp, "installed");
    const store = createLinuxStore({ aclEnabled: false });
    const cert = observed(dir);
    const file1 = path.join(dir, `myvault.web.${v(1)}.pem`);
    assert.equal(await store.isInstalled(cert, file1), false, "no directory, no link");
    const r1 = await store.install(cert, v(1), m1);
    assert.equal(await store.isInstalled(cert, r1.location), true, "the link points at it");
    const r2 = await store.install(cert, v(2), m2);
    assert.equal(await store.isInstalled(cert, r1.location), false, "the link points at another version");
    assert.equal(await store.isInstalled(cert, r2.location), true);
    await fs.rm(r2.location);
    assert.equal(await store.isInstalled(cert, r2.location), false, "the link dangles");
    await fs.mkdir(r2.location);
    assert.equal(await store.isInstalled(cert, r2.location), false, "the link points at a directory");
  });

  it("isInstalled: a regular file at the link is refused with the exact text; a store path through a file fails with ENOTDIR", async () => {
    const dir = path.join(tmp, "installed-refused");
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, "myvault.web"), "x");
    const store = createLinuxStore({ aclEnabled: false });
    await assert.rejects(store.isInstalled(observed(dir), path.join(dir, "x.pem")), {
      message: `${path.join(dir, "myvault.web")} exists and is not a symlink; refusing to replace it`,
    });
    const throughFile = path.join(dir, "myvault.web", "sub");
    await assert.rejects(store.isInstalled(observed(throughFile), path.join(throughFile, "x.pem")), { code: "ENOTDIR" });
  });

  it("switchLink: an exact relative target over an existing link; over a directory it fails and leaves no temp link", async () => {
    const dir = path.join(tmp, "switch");
    await fs.mkdir(path.join(dir, "occupied"), { recursive: true });
    await fs.writeFile(path.join(dir, "occupied", "keep"), "");
    await switchLink(path.join(dir, "link"), "a.pem");
    await switchLink(path.join(dir, "link"), "../b.pem");
    assert.equal(await fs.readlink(path.join(dir, "link")), "../b.pem");
    await assert.rejects(switchLink(path.join(dir, "occupied"), "a.pem"), { code: "EISDIR" });
    assert.deepEqual(await listing(dir), ["link", "occupied"]);
    assert.deepEqual(await listing(path.join(dir, "occupied")), ["keep"]);
  });

  it("commit without keepVersions keeps every version", async () => {
    const dir = path.join(tmp, "keep-all");
    const store = createLinuxStore({ aclEnabled: false });
    for (const n of [1, 2, 3]) await (await store.install(observed(dir), v(n), m1)).commit();
    assert.deepEqual(await listing(dir), ["myvault.web", ...[1, 2, 3].map((n) => `myvault.web.${v(n)}.pem`)].sort());
  });

  it("prune with keepVersions 2: only this certificate's <32 hex>.pem files count (upper-case hex too), newest first", async () => {
    const dir = path.join(tmp, "prune");
    await fs.mkdir(dir, { recursive: true });
    const upper = "ABCDEF".padEnd(32, "0");
    const own = [`myvault.web.${upper}.pem`, `myvault.web.${v(1)}.pem`, `myvault.web.${v(2)}.pem`];
    const notVersions = [
      "myvault.web.old.pem",
      `myvault.web.${v(1).slice(1)}.pem`,
      `myvault.web.0${v(1)}.pem`,
      `myvault.web.${v(1).slice(1)}g.pem`,
      `myvault.web.${v(1)}.pem.bak`,
      `myvault.web.${v(1)}xpem`,
      `xmyvault.web.${v(1)}.pem`,
      `myvaultxweb.${v(1)}.pem`,
      `myvault.webx${v(1)}.pem`,
      `myvault.api.${v(1)}.pem`,
    ];
    const day = 86400_000;
    for (const [i, n] of own.entries()) {
      await fs.writeFile(path.join(dir, n), n);
      const t = new Date(Date.now() - (3 - i) * day);
      await fs.utimes(path.join(dir, n), t, t);
    }
    // Newer than every version: a pattern that let one of them count would keep it and prune version 2 instead.
    for (const n of notVersions) {
      await fs.writeFile(path.join(dir, n), n);
      const t = new Date(Date.now() + day);
      await fs.utimes(path.join(dir, n), t, t);
    }
    const r = await createLinuxStore({ aclEnabled: false, keepVersions: 2 }).install(observed(dir), v(3), m1);
    assert.deepEqual(
      await listing(dir),
      [...own, ...notVersions, "myvault.web", `myvault.web.${v(3)}.pem`].sort(),
      "nothing before commit",
    );
    await r.commit();
    assert.deepEqual(await listing(dir), [...notVersions, "myvault.web", `myvault.web.${v(2)}.pem`, `myvault.web.${v(3)}.pem`].sort());
  });
});

describe("Linux store ACLs: exact setfacl calls, getfacl results and failure texts", () => {
  before(() => {
    // Never skipped: without setfacl/getfacl the tests fail and say why (scripts/test.sh installs the acl package).
    assert.equal(
      execFileSync("sh", ["-c", "command -v setfacl && command -v getfacl"], { encoding: "utf8" }),
      "/usr/bin/setfacl\n/usr/bin/getfacl\n",
    );
  });
  const acls = [{ user: "nobody", group: "nogroup" }];
  let m: CertificateMaterial;
  before(() => {
    m = parseSecretMaterial(pemSecret(leaf, chain));
  });

  it("the directory gets traverse, the temp file (0600, complete) read before the rename; getfacl shows exactly those entries", async () => {
    const dir = path.join(tmp, "acl-exact", "store");
    const fake = await recordingSetfacl(path.join(tmp, "acl-exact", "bin"), false);
    const r = await createLinuxStore({ aclEnabled: true, setfacl: fake.bin }).install(observed(dir, { acls }), v(1), m);
    const calls = (await fs.readFile(fake.log, "utf8")).split("\n");
    assert.equal(calls.length, 3);
    assert.equal(calls[0], `u:nobody:x,g:nogroup:x ${dir} 700 directory`);
    assert.match(calls[1]!, new RegExp(`^u:nobody:r,g:nogroup:r ${tempFileRe(dir, v(1))} 600 regular file$`));
    assert.equal(calls[2], "");
    assert.equal(await fs.readFile(fake.seen, "utf8"), toPemBundle(m));
    assert.equal(getfacl(r.location), "user::rw-\nuser:nobody:r--\ngroup::---\ngroup:nogroup:r--\nmask::r--\nother::---\n\n");
    assert.equal(getfacl(dir), "user::rwx\nuser:nobody:--x\ngroup::---\ngroup:nogroup:--x\nmask::--x\nother::---\n\n");
  });

  it("aclEnabled false: setfacl is never run (a failing one does not matter) and the file has no extra entries", async () => {
    const dir = path.join(tmp, "acl-off");
    const r = await createLinuxStore({ aclEnabled: false, setfacl: "/bin/false" }).install(observed(dir, { acls }), v(1), m);
    assert.equal(getfacl(r.location), "user::rw-\ngroup::---\nother::---\n\n");
  });

  it("aclEnabled without acls: setfacl is never run", async () => {
    const dir = path.join(tmp, "acl-none");
    const r = await createLinuxStore({ aclEnabled: true, setfacl: "/bin/false" }).install(observed(dir), v(1), m);
    assert.equal(getfacl(r.location), "user::rw-\ngroup::---\nother::---\n\n");
  });

  it("setfacl refusing the directory: the exact text with setfacl's trimmed stderr; no file, no link", async () => {
    const dir = path.join(tmp, "acl-bad-user");
    const store = createLinuxStore({ aclEnabled: true });
    await assert.rejects(store.install(observed(dir, { acls: [{ user: "no-such-user-kvacme" }] }), v(1), m), {
      message: `setfacl -m u:no-such-user-kvacme:x ${dir} failed: setfacl: Option -m: Invalid argument near character 3`,
    });
    assert.deepEqual(await listing(dir), []);
  });

  it("setfacl failing without stderr: the exact text with the command's trimmed message", async () => {
    const dir = path.join(tmp, "acl-false");
    await assert.rejects(createLinuxStore({ aclEnabled: true, setfacl: "/bin/false" }).install(observed(dir, { acls }), v(1), m), {
      message: `setfacl -m u:nobody:x,g:nogroup:x ${dir} failed: Command failed: /bin/false -m u:nobody:x,g:nogroup:x ${dir}`,
    });
  });

  it("setfacl refusing the temp file: the exact text, the temp file removed, the version in service untouched", async () => {
    const dir = path.join(tmp, "acl-file", "store");
    const cert = observed(dir, { acls });
    const r1 = await createLinuxStore({ aclEnabled: false }).install(cert, v(1), m);
    const fake = await recordingSetfacl(path.join(tmp, "acl-file", "bin"), true);
    const store = createLinuxStore({ aclEnabled: true, setfacl: fake.bin });
    await assert.rejects(store.install(cert, v(2), m), (err: Error) => {
      const tempFile = tempFileRe(dir, v(2));
      assert.match(err.message, new RegExp(`^setfacl -m u:nobody:r,g:nogroup:r (${tempFile}) failed: refused (${tempFile})$`));
      const [, named, echoed] = new RegExp(`^setfacl -m \\S+ (\\S+) failed: refused (\\S+)$`).exec(err.message)!;
      assert.equal(named, echoed);
      return true;
    });
    assert.deepEqual(await listing(dir), [path.basename(r1.location), "myvault.web"].sort());
    assert.equal(await fs.readlink(path.join(dir, "myvault.web")), path.basename(r1.location));
  });
});
