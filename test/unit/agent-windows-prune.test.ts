/**
 * Windows keepVersions: the pure pruning decision (only versions the agent marked for this vault certificate, never
 * the one in service, a bound one or a linked one) and the generated scripts' inputs (values as data, constant text),
 * then the store's commit step through a recording PowerShell executor.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { IisBinding, SslCertEntry } from "../../src/agent/bindings";
import type { CertificateMaterial } from "../../src/agent/material";
import type { ObservedCertificate } from "../../src/agent/settings";
import { createWindowsStore, importPfxScript, powershellStdin, type PsCommand } from "../../src/agent/stores/windows";
import {
  listStoreVersionsScript,
  removeVersionsScript,
  windowsFriendlyName,
  windowsVersionsToRemove,
  type StoreVersion,
} from "../../src/agent/stores/windows-prune";

const T = (c: string) => c.repeat(40);
const cert = { vaultName: "v", name: "web" };
const v = (t: string, version: string, notBefore: string, extra: Partial<StoreVersion> = {}): StoreVersion => ({
  thumbprint: t,
  friendlyName: windowsFriendlyName(cert, version),
  notBefore,
  linked: false,
  ...extra,
});
const none = { bindings: [] as IisBinding[], sslcerts: [] as SslCertEntry[] };

test("windowsFriendlyName marks a version with its vault, certificate and version", () => {
  assert.equal(windowsFriendlyName(cert, "0a1b"), "kv-acme:v/web/0a1b");
});

test("keepVersions 2: the two newest of this vault certificate stay, older ones go; other certificates are never candidates", () => {
  const store = [
    v(T("A"), "a", "2026-01-01T00:00:00Z"),
    v(T("B"), "b", "2026-03-01T00:00:00Z"),
    v(T("C"), "c", "2026-05-01T00:00:00Z"),
    v(T("D"), "d", "2026-07-01T00:00:00Z"),
    // Not the agent's: no mark, another vault certificate whose name starts the same, another vault.
    { thumbprint: T("E"), friendlyName: "", notBefore: "2025-01-01T00:00:00Z", linked: false },
    { thumbprint: T("F"), friendlyName: "kv-acme:v/web2/x", notBefore: "2025-01-01T00:00:00Z", linked: false },
    { thumbprint: T("1"), friendlyName: "kv-acme:other/web/x", notBefore: "2025-01-01T00:00:00Z", linked: false },
    { thumbprint: T("2"), friendlyName: "kv-acme:v/web/", notBefore: "2025-01-01T00:00:00Z", linked: false },
  ];
  const d = windowsVersionsToRemove(store, { cert, keep: 2, inService: T("D"), ...none });
  assert.deepEqual(d.remove, [T("B"), T("A")]);
  assert.deepEqual(d.kept, [
    { thumbprint: T("D"), reason: "in service" },
    { thumbprint: T("C"), reason: "newest" },
  ]);
});

test("the version in service is kept even when newer marked versions exist (keepVersions 1)", () => {
  const store = [v(T("A"), "a", "2026-01-01T00:00:00Z"), v(T("B"), "b", "2026-03-01T00:00:00Z")];
  const d = windowsVersionsToRemove(store, { cert, keep: 1, inService: T("A").toLowerCase(), ...none });
  assert.deepEqual(d.remove, [T("B")]);
  assert.deepEqual(d.kept, [{ thumbprint: T("A"), reason: "in service" }]);
});

test("an old version still bound in IIS or HTTP.sys, or carrying a renewal link, is never removed", () => {
  const store = [
    v(T("A"), "a", "2026-01-01T00:00:00Z"),
    v(T("B"), "b", "2026-02-01T00:00:00Z", { linked: true }),
    v(T("C"), "c", "2026-03-01T00:00:00Z"),
    v(T("D"), "d", "2026-04-01T00:00:00Z"),
    v(T("E"), "e", "2026-05-01T00:00:00Z"),
  ];
  const bindings: IisBinding[] = [
    { site: "Shop", protocol: "https", bindingInformation: "*:443:shop", certificateHash: T("A"), sslFlags: 1 },
  ];
  const sslcerts: SslCertEntry[] = [
    { bindingKind: "ipport", binding: "0.0.0.0:8443", certificateHash: T("C").toLowerCase(), appId: "{x}", settings: {} },
  ];
  const d = windowsVersionsToRemove(store, { cert, keep: 1, inService: T("E"), bindings, sslcerts });
  assert.deepEqual(d.remove, [T("D")]);
  assert.deepEqual(
    d.kept.map((k) => [k.thumbprint, k.reason]),
    [
      [T("E"), "in service"],
      [T("C"), "bound"],
      [T("B"), "linked"],
      [T("A"), "bound"],
    ],
  );
});

const HOSTILE = "Cert:\\LocalMachine\\MY\\$(Remove-Item C:\\)`whoami`\u2019";

test("the listing and removal scripts are constant text: paths reach them only as data", () => {
  const a = removeVersionsScript([`Cert:\\LocalMachine\\MY\\${T("A")}`]);
  const b = removeVersionsScript([HOSTILE]);
  assert.equal(a.script, b.script);
  assert.deepEqual(b.input, { paths: [HOSTILE] });
  assert.ok(!powershellStdin(b).includes("$(Remove-Item"), "the value is not in the text PowerShell parses");
  assert.match(a.script, /Remove-Item -LiteralPath \(\[string\]\$p\) -DeleteKey/, "the private key goes with the certificate");
  assert.deepEqual(removeVersionsScript([]), { script: "", input: {} }, "nothing to remove runs nothing");
  const list = listStoreVersionsScript({ storeLocation: "LocalMachine", storeName: "MY", path: "Cert:\\LocalMachine\\MY" });
  assert.deepEqual(list.input, { path: "Cert:\\LocalMachine\\MY" });
  assert.match(list.script, /CertGetCertificateContextProperty\(\$_\.Handle, 64,/, "the renewal link (CERT_RENEWAL_PROP_ID 64) is read");
});

test("the import carries the ownership mark as data", () => {
  const cmd = importPfxScript({
    storeLocation: "LocalMachine",
    storeName: "MY",
    exportable: false,
    pfxBase64: "AA==",
    friendlyName: HOSTILE,
  });
  assert.equal(cmd.input.friendlyName, HOSTILE);
  assert.match(cmd.script, /\$leaf\.FriendlyName = \[string\]\$KvAcme\.friendlyName/);
  assert.ok(!cmd.script.includes("Remove-Item"));
});

function observed(): ObservedCertificate {
  return {
    url: "https://v.vault.azure.net/secrets/web",
    vaultUrl: "https://v.vault.azure.net",
    vaultName: "v",
    name: "web",
    certificateStoreName: "MY",
    certificateStoreLocation: "LocalMachine",
    accounts: [],
    keyExportable: false,
    linkName: "v.web",
    acls: [],
  };
}

function recorder(answer: (command: PsCommand) => string) {
  const commands: PsCommand[] = [];
  return {
    commands,
    executor: {
      async run(command: PsCommand) {
        commands.push(command);
        return { code: 0, stdout: answer(command), stderr: "" };
      },
    },
  };
}

const material = { pfx: Buffer.from("pfx"), thumbprint: T("D"), dnsNames: ["shop.example.com"] } as unknown as CertificateMaterial;

test("store commit with keepVersions 1 removes the older unbound version it installed, and only that one", async () => {
  const { commands, executor } = recorder((c) => {
    if (c.script.includes("X509Certificate2Collection")) return T("D");
    if (c.script.includes("CertGetCertificateContextProperty"))
      return JSON.stringify([
        v(T("D"), "d", "2026-04-01T00:00:00Z"),
        v(T("C"), "c", "2026-03-01T00:00:00Z"),
        v(T("B"), "b", "2026-02-01T00:00:00Z"),
        { thumbprint: T("E"), friendlyName: "IIS Express", notBefore: "2020-01-01T00:00:00Z", linked: false },
      ]);
    if (c.script.includes("IIS:\\Sites"))
      return JSON.stringify([{ site: "S", protocol: "https", bindingInformation: "*:443:", certificateHash: T("B"), sslFlags: 0 }]);
    return "[]";
  });
  const store = createWindowsStore({ executor, linkOnRenewal: false, rebind: false, keepVersions: 1 });
  const result = await store.install(observed(), "d", material);
  assert.equal(commands.find((c) => c.input.pfx)?.input.friendlyName, "kv-acme:v/web/d");
  assert.equal(
    commands.some((c) => c.input.paths),
    false,
    "nothing is removed before the reloads succeeded (commit)",
  );
  await result.commit();
  const removal = commands.filter((c) => c.input.paths);
  assert.deepEqual(
    removal.map((c) => c.input.paths),
    [[`Cert:\\LocalMachine\\MY\\${T("C")}`]],
  );
});

test("store commit without keepVersions lists and removes nothing", async () => {
  const { commands, executor } = recorder((c) => (c.script.includes("X509Certificate2Collection") ? T("D") : "[]"));
  const store = createWindowsStore({ executor, linkOnRenewal: false, rebind: false });
  const result = await store.install(observed(), "d", material);
  const before = commands.length;
  await result.commit();
  assert.equal(commands.length, before);
});
