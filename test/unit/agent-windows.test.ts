import assert from "node:assert/strict";
import { test } from "node:test";
import { planHttpSysUpdates, parseNetshSslCert } from "../../src/agent/bindings";
import {
  accountPrincipal,
  grantKeyAccessScript,
  httpSysUpdateScript,
  iisRebindScript,
  importPfxScript,
  linkRenewalScript,
  type StoreLocation,
} from "../../src/agent/stores/windows";

const SECRET = "MIIKSECRETPFXBASE64DATA+/==";
const T_OLD = "AB".repeat(20);
const T_NEW = "CD".repeat(20);

for (const location of ["LocalMachine", "CurrentUser"] as StoreLocation[]) {
  for (const storeName of ["MY", "WebHosting"]) {
    for (const exportable of [false, true]) {
      test(`importPfxScript ${location}\\${storeName} exportable=${exportable}`, () => {
        const cmd = importPfxScript({ storeLocation: location, storeName, exportable, pfxBase64: SECRET });
        const s = cmd.script;
        assert.match(s, /\[Convert\]::FromBase64String\(\$KvAcme\.pfx\)/, "PFX comes from stdin");
        assert.ok(s.includes(`X509Store([string]$KvAcme.storeName, [string]$KvAcme.storeLocation)`));
        assert.equal(cmd.input.storeName, storeName);
        assert.equal(cmd.input.storeLocation, location);
        assert.ok(s.includes(`X509Store('CA', [string]$KvAcme.storeLocation)`), "intermediates to the Intermediate CA store");
        assert.match(s, /-not \$c\.HasPrivateKey -and \$c\.Subject -ne \$c\.Issuer/, "roots (self-issued) are skipped");
        assert.ok(!/X509Store\('Root'/i.test(s), "never the root store");
        const flags = String(cmd.input.flags);
        assert.ok(flags.includes(location === "LocalMachine" ? "MachineKeySet" : "UserKeySet"));
        assert.equal(flags.includes("Exportable"), exportable);
        assert.ok(flags.includes("PersistKeySet"));
        assert.ok(!s.includes(SECRET));
      });
    }
  }
}

const accountCases: Array<[string, ReturnType<typeof accountPrincipal>]> = [
  ["Network Service", { sid: "S-1-5-20" }],
  ["NT AUTHORITY\\NETWORK SERVICE", { sid: "S-1-5-20" }],
  ["Local Service", { sid: "S-1-5-19" }],
  ["SYSTEM", { sid: "S-1-5-18" }],
  ["Administrators", { sid: "S-1-5-32-544" }],
  ["IIS_IUSRS", { sid: "S-1-5-32-568" }],
  ["s-1-5-21-1-2-3-1001", { sid: "S-1-5-21-1-2-3-1001" }],
  ["CONTOSO\\svc-web", { account: "CONTOSO\\svc-web" }],
];
for (const [name, expected] of accountCases) test(`accountPrincipal(${name})`, () => assert.deepEqual(accountPrincipal(name), expected));

test("grantKeyAccessScript: SIDs for well-known accounts, NTAccount otherwise, Read for accounts, FullControl for SYSTEM/Administrators", () => {
  const { script: s, input } = grantKeyAccessScript({
    storeLocation: "LocalMachine",
    storeName: "MY",
    thumbprint: T_NEW,
    accounts: ["Network Service", "Local Service", "CONTOSO\\svc"],
  });
  assert.equal(input.path, `Cert:\\LocalMachine\\MY\\${T_NEW}`);
  assert.deepEqual(input.rules, [
    { sid: "S-1-5-18", right: "FullControl" },
    { sid: "S-1-5-32-544", right: "FullControl" },
    { sid: "S-1-5-20", right: "Read" },
    { sid: "S-1-5-19", right: "Read" },
    { account: "CONTOSO\\svc", right: "Read" },
  ]);
  assert.match(s, /SecurityIdentifier\(\[string\]\$r\.sid\)/);
  assert.match(s, /NTAccount\(\[string\]\$r\.account\)/);
  assert.match(s, /Crypto\\Keys/);
  assert.match(s, /RSA\\MachineKeys/);
  assert.match(s, /Set-Acl -LiteralPath \$file/);
  assert.ok(!/Network Service/.test(JSON.stringify(input)), "no localized names for well-known accounts");
});

test("linkRenewalScript: Switch-Certificate per old certificate", () => {
  const { script: s, input } = linkRenewalScript({
    storeLocation: "LocalMachine",
    storeName: "MY",
    oldThumbprints: [T_OLD, "EF".repeat(20)],
    newThumbprint: T_NEW,
  });
  assert.match(s, /foreach \(\$old in @\(\$KvAcme\.oldPaths\)\) \{ Switch-Certificate -OldCert/);
  assert.deepEqual(input, {
    newPath: `Cert:\\LocalMachine\\MY\\${T_NEW}`,
    oldPaths: [`Cert:\\LocalMachine\\MY\\${T_OLD}`, `Cert:\\LocalMachine\\MY\\${"EF".repeat(20)}`],
  });
  assert.ok(!s.includes("-DeleteOldCert"));
});

test("iisRebindScript: sslFlags set before AddSslCertificate; the XPath literal of a site name with a quote", () => {
  const { script: s, input } = iisRebindScript([
    {
      site: "Bob's Shop",
      bindingInformation: "*:443:shop.example.com",
      ip: "*",
      port: 443,
      host: "shop.example.com",
      fromThumbprint: T_OLD,
      toThumbprint: T_NEW,
      certificateStoreName: "My",
      sslFlags: 1,
    },
  ]);
  assert.deepEqual(input.rebindings, [
    {
      filter: `system.applicationHost/sites/site[@name="Bob's Shop"]/bindings/binding[@protocol='https' and @bindingInformation='*:443:shop.example.com']`,
      sslFlags: 1,
      site: "Bob's Shop",
      bindingInformation: "*:443:shop.example.com",
      port: 443,
      ip: "*",
      host: "shop.example.com",
      thumbprint: T_NEW,
      storeName: "My",
    },
  ]);
  assert.ok(
    s.includes(
      `Get-WebBinding -Name ([string]$r.site) -Protocol https -Port ([int]$r.port) -IPAddress ([string]$r.ip) -HostHeader ([string]$r.host)`,
    ),
  );
  assert.ok(s.includes(`AddSslCertificate([string]$r.thumbprint, [string]$r.storeName)`));
  assert.ok(s.indexOf("sslFlags") < s.indexOf("AddSslCertificate"));
  assert.equal(iisRebindScript([]).script, "");
});

test("httpSysUpdateScript re-specifies appid, store and settings", () => {
  const entries = parseNetshSslCert(
    `    IP:port : 0.0.0.0:443\n    Certificate Hash : ${T_OLD}\n    Application ID : {4dc3e181-e14b-4a21-b022-59fc669b0914}\n    Certificate Store Name : My\n    Negotiate Client Certificate : Enabled\n    Verify Client Certificate Revocation : Disabled\n`,
  );
  const { script: s, input } = httpSysUpdateScript(planHttpSysUpdates(entries, T_OLD, T_NEW));
  assert.deepEqual(input.updates, [
    {
      binding: "0.0.0.0:443",
      args: [
        "ipport=0.0.0.0:443",
        `certhash=${T_NEW}`,
        "appid={4dc3e181-e14b-4a21-b022-59fc669b0914}",
        "certstorename=My",
        "clientcertnegotiation=enable",
        "verifyclientcertrevocation=disable",
      ],
    },
  ]);
  assert.match(s, /& netsh http update sslcert @\(\$u\.args\)/);
  assert.match(s, /\$LASTEXITCODE -ne 0/);
});
