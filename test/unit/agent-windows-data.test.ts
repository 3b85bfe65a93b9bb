import assert from "node:assert/strict";
import { test } from "node:test";
import { parseNetshSslCert, planHttpSysUpdates } from "../../src/agent/bindings";
import type { CertificateMaterial } from "../../src/agent/material";
import { parseAgentSettings, type ObservedCertificate } from "../../src/agent/settings";
import {
  createWindowsStore,
  grantKeyAccessScript,
  httpSysUpdateScript,
  iisRebindScript,
  importPfxScript,
  linkRenewalScript,
  listCertificatesScript,
  powershellStdin,
  testPathScript,
  xpathLiteral,
  type PsCommand,
} from "../../src/agent/stores/windows";
import { accountProblem, storeNameProblem } from "../../src/agent/stores/windows-names";
import { ValidationError } from "../../src/shared/errors";

const T_OLD = "AB".repeat(20);
const T_NEW = "CD".repeat(20);
/** Everything PowerShell could read as code inside a quoted literal: curly quotes (U+2018, U+2019, U+201A, U+201B), $(...), backticks, a newline. */
const HOSTILE = "Bob\u2019s \u2018$(Remove-Item -Recurse C:\\)\u201A `whoami` \u201B\n\"; exit 0; '";
const HOSTILE_PARTS = ["$(Remove-Item", "`whoami`", "\u2019", "\u2018", "\u201A", "\u201B", "exit 0;"];

/** The data the stdin carries: the base64 JSON decoded into $KvAcme. */
function decodedInput(stdin: string): unknown {
  const m = /FromBase64String\('([A-Za-z0-9+/=]*)'\)/.exec(stdin);
  assert.ok(m, "stdin decodes $KvAcme from one base64 literal");
  return JSON.parse(Buffer.from(m[1] as string, "base64").toString("utf8"));
}

/** A fake PowerShell: answers each step's script from `answers` and records everything written on stdin. */
function recordingExecutor(answers: (script: string) => string) {
  const stdins: string[] = [];
  return {
    stdins,
    executor: {
      async run(command: PsCommand) {
        stdins.push(powershellStdin(command));
        return { code: 0, stdout: answers(command.script), stderr: "" };
      },
    },
  };
}

function observed(overrides: Partial<ObservedCertificate> = {}): ObservedCertificate {
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
    ...overrides,
  };
}

const material = {
  pfx: Buffer.from("not really a pfx"),
  thumbprint: T_NEW,
  dnsNames: ["shop.example.com"],
} as unknown as CertificateMaterial;

test("an IIS site name with curly quotes, $(...), backticks and a newline reaches the rebinding script only as data", async () => {
  const netsh = `    IP:port : 0.0.0.0:8443\n    Certificate Hash : ${T_OLD}\n    Application ID : {4dc3e181-e14b-4a21-b022-59fc669b0914}\n`;
  const { stdins, executor } = recordingExecutor((script) => {
    if (script.includes("X509Certificate2Collection")) return T_NEW;
    if (script.includes("IIS:\\Sites"))
      return JSON.stringify([
        { site: HOSTILE, protocol: "https", bindingInformation: "*:443:shop.example.com", certificateHash: T_OLD, sslFlags: 0 },
      ]);
    if (script.includes("netsh http show sslcert")) return netsh;
    return "[]";
  });
  const store = createWindowsStore({ executor, linkOnRenewal: false });
  const result = await store.install(observed(), "v2", material, { thumbprint: T_OLD, location: "" });
  assert.deepEqual(result.bindingsUpdated, [`iis:${HOSTILE}/*:443:shop.example.com`, "http.sys:0.0.0.0:8443"]);
  for (const stdin of stdins)
    for (const part of HOSTILE_PARTS) assert.ok(!stdin.includes(part), `${JSON.stringify(part)} is not in the text PowerShell parses`);
  const rebind = stdins.map(decodedInput).find((d) => (d as { rebindings?: unknown }).rebindings) as {
    rebindings: Array<{ site: string; filter: string; thumbprint: string }>;
  };
  assert.equal(rebind.rebindings[0]?.site, HOSTILE, "the site name arrives unchanged, as data");
  assert.equal(rebind.rebindings[0]?.thumbprint, T_NEW);
  assert.ok(rebind.rebindings[0]?.filter.includes(`concat('Bob\u2019s`), "the XPath literal of a name holding both quotes uses concat()");
});

test("each script's text is the same whatever the values: only $KvAcme differs", () => {
  const pairs: Array<[string, (v: string) => PsCommand]> = [
    ["import", (v) => importPfxScript({ storeLocation: "LocalMachine", storeName: "MY", exportable: false, pfxBase64: v })],
    [
      "grant",
      (v) => grantKeyAccessScript({ storeLocation: "LocalMachine", storeName: "MY", thumbprint: T_NEW, accounts: [`CONTOSO\\${v}`] }),
    ],
    ["list", (v) => listCertificatesScript({ storeLocation: "CurrentUser", storeName: v })],
    ["link", (v) => linkRenewalScript({ storeLocation: "LocalMachine", storeName: v, oldThumbprints: [T_OLD], newThumbprint: T_NEW })],
    ["exists", (v) => testPathScript(`Cert:\\LocalMachine\\MY\\${v}`)],
    [
      "iis",
      (v) =>
        iisRebindScript([
          {
            site: v,
            bindingInformation: "*:443:a",
            ip: "*",
            port: 443,
            host: "a",
            fromThumbprint: T_OLD,
            toThumbprint: T_NEW,
            certificateStoreName: "My",
            sslFlags: 1,
          },
        ]),
    ],
  ];
  for (const [name, build] of pairs) {
    const a = build("WebHosting");
    const b = build(name === "grant" || name === "list" || name === "link" ? "Web Hosting.2" : HOSTILE);
    assert.equal(a.script, b.script, `${name}: the script text does not depend on the values`);
    assert.notDeepEqual(a.input, b.input, `${name}: the values travel in the input`);
  }
});

test("the PFX (secret) is in the decoded input, never in the script text", () => {
  const secret = "MIIKSECRETPFXBASE64DATA+/==";
  const cmd = importPfxScript({ storeLocation: "LocalMachine", storeName: "MY", exportable: true, pfxBase64: secret });
  assert.ok(!cmd.script.includes(secret));
  const stdin = powershellStdin(cmd);
  assert.ok(!stdin.includes(secret), "the stdin holds it only inside the base64 JSON");
  assert.deepEqual(decodedInput(stdin), {
    storeName: "MY",
    storeLocation: "LocalMachine",
    flags: "MachineKeySet,PersistKeySet,Exportable",
    pfx: secret,
  });
  assert.match(stdin, /ConvertFrom-Json/);
  assert.match(stdin, /\$ErrorActionPreference = 'Stop'/);
});

test("httpSysUpdateScript passes netsh arguments as data and refuses netsh-parsed values netsh would not print", () => {
  const entry = (extra: string) =>
    parseNetshSslCert(
      `    IP:port : 0.0.0.0:443\n    Certificate Hash : ${T_OLD}\n    Application ID : {4dc3e181-e14b-4a21-b022-59fc669b0914}\n    Certificate Store Name : My\n${extra}`,
    );
  const ok = httpSysUpdateScript(planHttpSysUpdates(entry("    Negotiate Client Certificate : Enabled\n"), T_OLD, T_NEW));
  assert.ok(!ok.script.includes("0.0.0.0:443") && !ok.script.includes("4dc3e181"), "no parsed value in the script text");
  assert.deepEqual(ok.input, {
    updates: [
      {
        binding: "0.0.0.0:443",
        args: [
          "ipport=0.0.0.0:443",
          `certhash=${T_NEW}`,
          "appid={4dc3e181-e14b-4a21-b022-59fc669b0914}",
          "certstorename=My",
          "clientcertnegotiation=enable",
        ],
      },
    ],
  });
  for (const bad of [
    `    CTL Store Name : My"; Remove-Item C:\\ -Recurse; "\n`,
    `    Revocation Freshness Time : $(whoami)\n`,
    "    Usage Check : `calc`\n",
  ]) {
    assert.throws(
      () => httpSysUpdateScript(planHttpSysUpdates(entry(bad), T_OLD, T_NEW)),
      /HTTP\.sys entry "0\.0\.0\.0:443": unexpected value of/,
    );
  }
  assert.throws(
    () =>
      httpSysUpdateScript([
        { bindingKind: "ipport", binding: "0.0.0.0:443", certificateHash: T_NEW, appId: "{x}'; calc; '", settings: {} },
      ]),
    /unexpected application id/,
  );
  assert.equal(httpSysUpdateScript([]).script, "");
});

const storeNames: Array<[string, boolean]> = [
  ["MY", true],
  ["WebHosting", true],
  ["Remote Desktop", true],
  ["TrustedPeople", true],
  ["", false],
  [" MY", false],
  ["MY'; calc; '", false],
  ["MY\u2019", false],
  ["My$(x)", false],
  ["My\nCA", false],
  ["Root", false],
  ["AuthRoot", false],
  ["a".repeat(65), false],
];
for (const [name, ok] of storeNames)
  test(`store name ${JSON.stringify(name)} is ${ok ? "accepted" : "refused"}`, () =>
    assert.equal(storeNameProblem(name) === undefined, ok));

const accounts: Array<[string, boolean]> = [
  ["Network Service", true],
  ["NT AUTHORITY\\NETWORK SERVICE", true],
  ["IIS APPPOOL\\DefaultAppPool", true],
  ["NT SERVICE\\MSSQLSERVER", true],
  ["CONTOSO\\svc-web", true],
  ["CONTOSO\\gmsa-web$", true],
  ["svc-web@contoso.com", true],
  ["S-1-5-21-1004336348-1177238915-682003330-512", true],
  ["ServiceFabricAdministrators", true],
  ["CONTOSO\\svc\u2019; calc", false],
  ["CONTOSO\\$(whoami)", false],
  ["`whoami`", false],
  ["svc\nweb", false],
  ["CONTOSO\\a$b", false],
  ["CON'TOSO\\svc", false],
  ["a\\b\\c", false],
  ["", false],
];
for (const [account, ok] of accounts)
  test(`account ${JSON.stringify(account)} is ${ok ? "accepted" : "refused"}`, () =>
    assert.equal(accountProblem(account) === undefined, ok));

test("agent settings refuse an invalid Windows store name or account, naming the field", () => {
  const settings = (entry: Record<string, unknown>) =>
    JSON.stringify({ secretsManagementSettings: { observedCertificates: [{ url: "https://v.vault.azure.net/secrets/web", ...entry }] } });
  assert.throws(
    () => parseAgentSettings(settings({ certificateStoreName: "MY'; calc; '" }), { platform: "windows" }),
    (err: unknown) =>
      err instanceof ValidationError &&
      err.problems.some((p) => p.field.endsWith("observedCertificates[0].certificateStoreName") && /store name/.test(p.message)),
  );
  assert.throws(
    () => parseAgentSettings(settings({ accounts: ["Network Service", "CONTOSO\\$(whoami)"] }), { platform: "windows" }),
    (err: unknown) => err instanceof ValidationError && err.problems.some((p) => p.field.endsWith("observedCertificates[0].accounts[1]")),
  );
  assert.doesNotThrow(() =>
    parseAgentSettings(settings({ certificateStoreName: "WebHosting", accounts: ["IIS APPPOOL\\Shop"] }), { platform: "windows" }),
  );
});

test("the store refuses an invalid account before running any script", async () => {
  const { stdins, executor } = recordingExecutor(() => "[]");
  const store = createWindowsStore({ executor, linkOnRenewal: false });
  await assert.rejects(store.install(observed({ accounts: ["CONTOSO\\svc\u2019$(calc)"] }), "v1", material), /account must be a SID/);
  assert.equal(stdins.length, 0, "nothing ran");
});

test("xpathLiteral quotes any text", () => {
  assert.equal(xpathLiteral("a"), "'a'");
  assert.equal(xpathLiteral("Bob's"), `"Bob's"`);
  assert.equal(xpathLiteral(`a'b"c`), `concat('a', "'", 'b"c')`);
});
