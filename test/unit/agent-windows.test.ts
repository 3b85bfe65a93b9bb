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
  powershellStdin,
  psQuote,
  type StoreLocation,
} from "../../src/agent/stores/windows";

const SECRET = "MIIKSECRETPFXBASE64DATA+/==";
const T_OLD = "AB".repeat(20);
const T_NEW = "CD".repeat(20);

for (const location of ["LocalMachine", "CurrentUser"] as StoreLocation[]) {
  for (const storeName of ["MY", "WebHosting"]) {
    for (const exportable of [false, true]) {
      test(`importPfxScript ${location}\\${storeName} exportable=${exportable}`, () => {
        const s = importPfxScript({ storeLocation: location, storeName, exportable });
        assert.match(s, /\[Convert\]::FromBase64String\(\$KvAcmeInput\)/, "PFX comes from stdin");
        assert.ok(s.includes(`X509Store('${storeName}', '${location}')`));
        assert.ok(s.includes(`X509Store('CA', '${location}')`), "intermediates to the Intermediate CA store");
        assert.match(s, /-not \$c\.HasPrivateKey -and \$c\.Subject -ne \$c\.Issuer/, "roots (self-issued) are skipped");
        assert.ok(!/X509Store\('Root'/i.test(s), "never the root store");
        assert.ok(s.includes(location === "LocalMachine" ? "MachineKeySet" : "UserKeySet"));
        assert.equal(s.includes("Exportable"), exportable);
        assert.ok(s.includes("PersistKeySet"));
        assert.ok(!s.includes(SECRET));
      });
    }
  }
}

test("the secret travels on stdin before the script, never in the script text", () => {
  const script = importPfxScript({ storeLocation: "LocalMachine", storeName: "MY", exportable: false });
  assert.ok(!script.includes(SECRET));
  const stdin = powershellStdin(script, SECRET);
  assert.ok(stdin.startsWith(`$KvAcmeInput = '${SECRET}'\n`));
  assert.ok(stdin.includes(script));
  assert.match(stdin, /\$ErrorActionPreference = 'Stop'/);
  assert.match(stdin, /exit 1/);
  assert.equal(powershellStdin("Write-Output 1").includes("$KvAcmeInput"), false);
});

test("psQuote doubles single quotes", () => assert.equal(psQuote("O'Brien"), "'O''Brien'"));

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
  const s = grantKeyAccessScript({
    storeLocation: "LocalMachine",
    storeName: "MY",
    thumbprint: T_NEW,
    accounts: ["Network Service", "Local Service", "CONTOSO\\svc"],
  });
  assert.ok(s.includes(`Cert:\\LocalMachine\\MY\\${T_NEW}`));
  assert.match(s, /SecurityIdentifier\('S-1-5-20'\)\), 'Read'/);
  assert.match(s, /SecurityIdentifier\('S-1-5-19'\)\), 'Read'/);
  assert.match(s, /NTAccount\('CONTOSO\\svc'\)\), 'Read'/);
  assert.match(s, /SecurityIdentifier\('S-1-5-18'\)\), 'FullControl'/);
  assert.match(s, /SecurityIdentifier\('S-1-5-32-544'\)\), 'FullControl'/);
  assert.match(s, /Crypto\\Keys/);
  assert.match(s, /RSA\\MachineKeys/);
  assert.match(s, /Set-Acl -LiteralPath \$file/);
  assert.ok(!/Network Service/.test(s), "no localized names for well-known accounts");
});

test("linkRenewalScript: Switch-Certificate per old certificate", () => {
  const s = linkRenewalScript({
    storeLocation: "LocalMachine",
    storeName: "MY",
    oldThumbprints: [T_OLD, "EF".repeat(20)],
    newThumbprint: T_NEW,
  });
  assert.equal(s.match(/Switch-Certificate -OldCert/g)?.length, 2);
  assert.ok(s.includes(`Cert:\\LocalMachine\\MY\\${T_OLD}`));
  assert.ok(s.includes(`Cert:\\LocalMachine\\MY\\${T_NEW}`));
  assert.ok(!s.includes("-DeleteOldCert"));
});

test("iisRebindScript: sslFlags set before AddSslCertificate; quoting of site names", () => {
  const s = iisRebindScript([
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
  assert.match(
    s,
    /Set-WebConfigurationProperty .*site\[@name="Bob''s Shop"\].*@bindingInformation=''\*:443:shop\.example\.com''.* -Name sslFlags -Value 1/,
  );
  assert.ok(s.includes(`Get-WebBinding -Name 'Bob''s Shop' -Protocol https -Port 443 -IPAddress '*' -HostHeader 'shop.example.com'`));
  assert.ok(s.includes(`AddSslCertificate('${T_NEW}', 'My')`));
  assert.ok(s.indexOf("sslFlags") < s.indexOf("AddSslCertificate"));
  assert.equal(iisRebindScript([]), "");
});

test("httpSysUpdateScript re-specifies appid, store and settings", () => {
  const entries = parseNetshSslCert(
    `    IP:port : 0.0.0.0:443\n    Certificate Hash : ${T_OLD}\n    Application ID : {4dc3e181-e14b-4a21-b022-59fc669b0914}\n    Certificate Store Name : My\n    Negotiate Client Certificate : Enabled\n    Verify Client Certificate Revocation : Disabled\n`,
  );
  const s = httpSysUpdateScript(planHttpSysUpdates(entries, T_OLD, T_NEW));
  assert.ok(
    s.includes(
      `netsh http update sslcert ipport=0.0.0.0:443 certhash=${T_NEW} appid='{4dc3e181-e14b-4a21-b022-59fc669b0914}' certstorename=My`,
    ),
  );
  assert.match(s, /clientcertnegotiation=enable/);
  assert.match(s, /verifyclientcertrevocation=disable/);
  assert.match(s, /\$LASTEXITCODE -ne 0/);
});
