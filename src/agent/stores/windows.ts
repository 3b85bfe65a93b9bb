/**
 * The Windows store: PowerShell scripts generated per step (pure functions returning script text) and run through
 * an `Executor`. Secret material never appears in a script's text or on a command line: the executor sends it on
 * powershell.exe's standard input as a `$KvAcmeInput` assignment that precedes the script.
 *
 * Steps: import the leaf with its key into the configured store (exportable per keyExportable) and intermediates
 * into the Intermediate CA store, never a root; grant private-key read access by well-known SID; link older
 * certificates (linkOnRenewal, Switch-Certificate); rebind IIS and HTTP.sys explicitly.
 */
import { spawn } from "node:child_process";
import forge from "node-forge";
import {
  canRemoveCertificate,
  certificatesToLink,
  parseNetshSslCert,
  planHttpSysUpdates,
  planIisRebinding,
  type CertificateSans,
  type HttpSysUpdate,
  type IisBinding,
  type IisRebinding,
} from "../bindings";
import type { CertificateMaterial } from "../material";
import type { ObservedCertificate } from "../settings";
import type { CertificateStore, StoreInstallResult } from "./types";

export interface ExecutorResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a PowerShell script; `stdin` (secret material) reaches the script as `$KvAcmeInput`, never as text of the script. */
export interface Executor {
  run(script: string, options?: { stdin?: string }): Promise<ExecutorResult>;
}

/** Single-quoted PowerShell literal. */
export function psQuote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** What the executor writes on stdin: the input assignment, then the script as one script block (pure). */
export function powershellStdin(script: string, input?: string): string {
  const pre = input === undefined ? "" : `$KvAcmeInput = ${psQuote(input)}\n`;
  return `${pre}& {\n$ErrorActionPreference = 'Stop'\ntry {\n${script}\n} catch { [Console]::Error.WriteLine($_.Exception.Message); exit 1 }\n}\n\nexit 0\n`;
}

/** The real executor: `powershell.exe -NoProfile -NonInteractive -Command -` with everything on stdin. */
export function createPowerShellExecutor(binary = "powershell.exe"): Executor {
  return {
    run(script, options = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(binary, ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", "-"], {
          stdio: ["pipe", "pipe", "pipe"],
          windowsHide: true,
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d.toString()));
        child.stderr.on("data", (d) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        child.stdin.end(powershellStdin(script, options.stdin));
      });
    },
  };
}

export type StoreLocation = "LocalMachine" | "CurrentUser";

/** Well-known accounts by SID (locale independent); other names are used as NT account names. */
const WELL_KNOWN: Record<string, string> = {
  "network service": "S-1-5-20",
  "nt authority\\network service": "S-1-5-20",
  "local service": "S-1-5-19",
  "nt authority\\local service": "S-1-5-19",
  system: "S-1-5-18",
  "local system": "S-1-5-18",
  "nt authority\\system": "S-1-5-18",
  administrators: "S-1-5-32-544",
  "builtin\\administrators": "S-1-5-32-544",
  iis_iusrs: "S-1-5-32-568",
  "builtin\\iis_iusrs": "S-1-5-32-568",
};

/** An account name -> SID when well known, else the account name (pure). */
export function accountPrincipal(account: string): { sid: string } | { account: string } {
  const a = account.trim();
  if (/^S-1-[0-9-]+$/i.test(a)) return { sid: a.toUpperCase() };
  const sid = WELL_KNOWN[a.toLowerCase()];
  return sid ? { sid } : { account: a };
}

function storePath(location: StoreLocation, name: string, thumbprint?: string): string {
  return `Cert:\\${location}\\${name}${thumbprint ? `\\${thumbprint}` : ""}`;
}

/**
 * Imports the PFX given on stdin (base64, empty password): the leaf with its key into `<location>\<storeName>`,
 * intermediates into `<location>\CA`; self-signed roots are skipped. Prints the leaf thumbprint.
 */
export function importPfxScript(o: { storeLocation: StoreLocation; storeName: string; exportable: boolean }): string {
  const keySet = o.storeLocation === "LocalMachine" ? "MachineKeySet" : "UserKeySet";
  const flags = [keySet, "PersistKeySet", ...(o.exportable ? ["Exportable"] : [])].join(",");
  return [
    `$bytes = [Convert]::FromBase64String($KvAcmeInput)`,
    `$flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]${psQuote(flags)}`,
    `$certs = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2Collection`,
    `$certs.Import($bytes, '', $flags)`,
    `$leaf = @($certs | Where-Object { $_.HasPrivateKey })[0]`,
    `if (-not $leaf) { throw 'the PFX has no certificate with a private key' }`,
    `$my = New-Object System.Security.Cryptography.X509Certificates.X509Store(${psQuote(o.storeName)}, ${psQuote(o.storeLocation)})`,
    `$my.Open('ReadWrite'); $my.Add($leaf); $my.Close()`,
    `$ca = New-Object System.Security.Cryptography.X509Certificates.X509Store('CA', ${psQuote(o.storeLocation)})`,
    `$ca.Open('ReadWrite')`,
    `foreach ($c in $certs) { if (-not $c.HasPrivateKey -and $c.Subject -ne $c.Issuer) { $ca.Add($c) } }`,
    `$ca.Close()`,
    `[Array]::Clear($bytes, 0, $bytes.Length)`,
    `Write-Output $leaf.Thumbprint`,
  ].join("\n");
}

/** Grants Read on the certificate's private key file to each account (plus FullControl for SYSTEM and Administrators). */
export function grantKeyAccessScript(o: {
  storeLocation: StoreLocation;
  storeName: string;
  thumbprint: string;
  accounts: string[];
}): string {
  const rules = [
    { p: { sid: "S-1-5-18" } as { sid: string } | { account: string }, right: "FullControl" },
    { p: { sid: "S-1-5-32-544" } as { sid: string } | { account: string }, right: "FullControl" },
    ...o.accounts.map((a) => ({ p: accountPrincipal(a), right: "Read" })),
  ];
  const identity = (p: { sid: string } | { account: string }) =>
    "sid" in p
      ? `(New-Object System.Security.Principal.SecurityIdentifier(${psQuote(p.sid)}))`
      : `(New-Object System.Security.Principal.NTAccount(${psQuote(p.account)}))`;
  return [
    `$cert = Get-Item -LiteralPath ${psQuote(storePath(o.storeLocation, o.storeName, o.thumbprint))}`,
    `$key = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($cert)`,
    `if (-not $key) { $key = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($cert) }`,
    `if ($key -and $key.Key -and $key.Key.UniqueName) {`,
    `  $name = $key.Key.UniqueName; $dirs = @("$env:ProgramData\\Microsoft\\Crypto\\Keys", "$env:ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys", "$env:ProgramData\\Microsoft\\Crypto\\SystemKeys")`,
    `} elseif ($cert.PrivateKey -and $cert.PrivateKey.CspKeyContainerInfo) {`,
    `  $name = $cert.PrivateKey.CspKeyContainerInfo.UniqueKeyContainerName; $dirs = @("$env:ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys")`,
    `} else { throw 'cannot locate the private key of the certificate' }`,
    `$file = $dirs | ForEach-Object { Join-Path $_ $name } | Where-Object { Test-Path -LiteralPath $_ } | Select-Object -First 1`,
    `if (-not $file) { throw "private key file $name not found" }`,
    `$acl = Get-Acl -LiteralPath $file`,
    ...rules.map(
      (r) =>
        `$acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule(${identity(r.p)}, ${psQuote(r.right)}, 'Allow')))`,
    ),
    `Set-Acl -LiteralPath $file -AclObject $acl`,
  ].join("\n");
}

/** Lists certificates in a store as JSON: thumbprint, DNS names, private key presence. */
export function listCertificatesScript(o: { storeLocation: StoreLocation; storeName: string }): string {
  return [
    `$list = @(Get-ChildItem -LiteralPath ${psQuote(storePath(o.storeLocation, o.storeName))} | ForEach-Object {`,
    `  [pscustomobject]@{ thumbprint = $_.Thumbprint; sans = @($_.DnsNameList | ForEach-Object { $_.Unicode }); hasPrivateKey = $_.HasPrivateKey }`,
    `})`,
    `ConvertTo-Json -InputObject $list -Depth 3 -Compress`,
  ].join("\n");
}

/** Sets CERT_RENEWAL_PROP_ID on each old certificate (Switch-Certificate), raising the "replaced" event 1001. */
export function linkRenewalScript(o: {
  storeLocation: StoreLocation;
  storeName: string;
  oldThumbprints: string[];
  newThumbprint: string;
}): string {
  const lines = [`$new = Get-Item -LiteralPath ${psQuote(storePath(o.storeLocation, o.storeName, o.newThumbprint))}`];
  for (const t of o.oldThumbprints) {
    lines.push(
      `Switch-Certificate -OldCert (Get-Item -LiteralPath ${psQuote(storePath(o.storeLocation, o.storeName, t))}) -NewCert $new -Confirm:$false`,
    );
  }
  return lines.join("\n");
}

/** Lists IIS https bindings as JSON (empty when IIS is not installed). */
export function listIisBindingsScript(): string {
  return [
    `if (-not (Get-Module -ListAvailable -Name WebAdministration)) { Write-Output '[]'; return }`,
    `Import-Module WebAdministration`,
    `$list = @(Get-ChildItem IIS:\\Sites | ForEach-Object { $site = $_.Name; $_.Bindings.Collection | Where-Object { $_.protocol -eq 'https' } | ForEach-Object {`,
    `  [pscustomobject]@{ site = $site; protocol = $_.protocol; bindingInformation = $_.bindingInformation; certificateHash = $_.certificateHash; certificateStoreName = $_.certificateStoreName; sslFlags = [int]$_.sslFlags } } })`,
    `ConvertTo-Json -InputObject $list -Depth 3 -Compress`,
  ].join("\n");
}

/** Applies IIS rebindings: sslFlags first (SNI), then AddSslCertificate with the new thumbprint. */
export function iisRebindScript(plan: IisRebinding[]): string {
  if (plan.length === 0) return "";
  const lines = [`Import-Module WebAdministration`];
  for (const r of plan) {
    const filter = `system.applicationHost/sites/site[@name=${xpathQuote(r.site)}]/bindings/binding[@protocol='https' and @bindingInformation=${xpathQuote(r.bindingInformation)}]`;
    lines.push(
      `Set-WebConfigurationProperty -PSPath 'MACHINE/WEBROOT/APPHOST' -Filter ${psQuote(filter)} -Name sslFlags -Value ${r.sslFlags}`,
    );
    const ip = r.ip === "*" || r.ip === "" ? "*" : r.ip;
    lines.push(
      `$b = Get-WebBinding -Name ${psQuote(r.site)} -Protocol https -Port ${r.port} -IPAddress ${psQuote(ip)} -HostHeader ${psQuote(r.host)}`,
      `if (-not $b) { throw ${psQuote(`binding ${r.bindingInformation} of ${r.site} not found`)} }`,
      `$b.AddSslCertificate(${psQuote(r.toThumbprint)}, ${psQuote(r.certificateStoreName)})`,
    );
  }
  return lines.join("\n");
}

function xpathQuote(s: string): string {
  return s.includes("'") ? `"${s}"` : `'${s}'`;
}

/** Lists HTTP.sys sslcert entries (English netsh output, parsed by parseNetshSslCert). */
export function listSslCertScript(): string {
  return `netsh http show sslcert | Out-String`;
}

/** `netsh http update sslcert` per entry, re-specifying appid and every setting the entry had. */
export function httpSysUpdateScript(updates: HttpSysUpdate[]): string {
  return updates
    .map((u) => {
      const args = [
        `${u.bindingKind}=${u.binding}`,
        `certhash=${u.certificateHash}`,
        `appid='${u.appId}'`,
        ...(u.certStoreName ? [`certstorename=${u.certStoreName}`] : []),
        ...Object.entries(u.settings).map(([k, v]) => `${k}=${v}`),
      ];
      return `$out = & netsh http update sslcert ${args.join(" ")}\nif ($LASTEXITCODE -ne 0) { throw "netsh http update sslcert ${u.bindingKind}=${u.binding} failed: $out" }`;
    })
    .join("\n");
}

/** Builds a PFX (empty password) from PEM material when the vault secret was PEM. RSA keys only (node-forge). */
export function pfxFromMaterial(m: CertificateMaterial): Buffer {
  if (m.pfx) return m.pfx;
  let key: forge.pki.PrivateKey;
  try {
    key = forge.pki.privateKeyFromPem(m.keyPem);
  } catch {
    throw new Error("PEM secrets with EC keys cannot be imported on Windows; use the PKCS#12 content type for this certificate");
  }
  const certs = [m.leafPem, ...m.chainPems].map((p) => forge.pki.certificateFromPem(p));
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, certs, "", { algorithm: "3des" });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary");
}

export interface WindowsStoreOptions {
  executor: Executor;
  linkOnRenewal: boolean;
  /** Rebind IIS and HTTP.sys explicitly (default true). */
  rebind?: boolean;
}

/** The Windows certificate store through PowerShell (see the module comment). */
export function createWindowsStore(options: WindowsStoreOptions): CertificateStore {
  const ex = options.executor;
  const run = async (step: string, script: string, stdin?: string): Promise<string> => {
    if (!script) return "";
    const r = await ex.run(script, stdin === undefined ? {} : { stdin });
    if (r.code !== 0) throw new Error(`${step} failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`);
    return r.stdout.trim();
  };
  const json = <T>(text: string): T[] => {
    if (!text) return [];
    const v = JSON.parse(text) as T | T[];
    return Array.isArray(v) ? v : [v];
  };
  return {
    async install(
      cert: ObservedCertificate,
      _version: string,
      m: CertificateMaterial,
      previous?: { thumbprint: string },
    ): Promise<StoreInstallResult> {
      const location = cert.certificateStoreLocation as StoreLocation;
      const storeName = cert.certificateStoreName;
      const existing = json<{ thumbprint: string; sans: string[] }>(
        await run("listing the store", listCertificatesScript({ storeLocation: location, storeName })),
      );
      const pfx = pfxFromMaterial(m).toString("base64");
      const thumb = await run(
        "importing the certificate",
        importPfxScript({ storeLocation: location, storeName, exportable: cert.keyExportable }),
        pfx,
      );
      if (thumb.split(/\s+/).pop()?.toUpperCase() !== m.thumbprint) throw new Error(`imported thumbprint ${thumb} is not ${m.thumbprint}`);
      if (cert.accounts.length)
        await run(
          "granting private-key access",
          grantKeyAccessScript({ storeLocation: location, storeName, thumbprint: m.thumbprint, accounts: cert.accounts }),
        );
      const updated: string[] = [];
      const installed: CertificateSans = { thumbprint: m.thumbprint, sans: m.dnsNames };
      if (options.linkOnRenewal) {
        const links = certificatesToLink(existing, installed);
        if (links.length) {
          await run(
            "linking renewed certificates",
            linkRenewalScript({
              storeLocation: location,
              storeName,
              oldThumbprints: links.map((l) => l.thumbprint),
              newThumbprint: m.thumbprint,
            }),
          );
          updated.push(...links.map((l) => `renewal-link:${l.thumbprint}->${m.thumbprint}`));
        }
      }
      let iisPlan: IisRebinding[] = [];
      let sysPlan: HttpSysUpdate[] = [];
      if (previous && previous.thumbprint !== m.thumbprint && options.rebind !== false) {
        const bindings = json<IisBinding>(await run("listing IIS bindings", listIisBindingsScript()));
        iisPlan = planIisRebinding(bindings, previous.thumbprint, installed, storeName);
        await run("rebinding IIS", iisRebindScript(iisPlan));
        updated.push(...iisPlan.map((p) => `iis:${p.site}/${p.bindingInformation}`));
        const sslcerts = parseNetshSslCert(await run("listing HTTP.sys bindings", listSslCertScript()));
        // IIS already moved the entries it owns; update the remaining plain HTTP.sys ones.
        sysPlan = planHttpSysUpdates(sslcerts, previous.thumbprint, m.thumbprint);
        await run("updating HTTP.sys bindings", httpSysUpdateScript(sysPlan));
        updated.push(...sysPlan.map((u) => `http.sys:${u.binding}`));
        if (
          !canRemoveCertificate(
            previous.thumbprint,
            bindings.filter((b) => !iisPlan.some((p) => p.site === b.site && p.bindingInformation === b.bindingInformation)),
          )
        ) {
          updated.push(`kept:${previous.thumbprint} (still bound)`);
        }
      }
      return {
        location: storePath(location, storeName, m.thumbprint),
        previous: previous?.thumbprint,
        bindingsUpdated: updated,
        async rollback() {
          if (!previous) return;
          await run(
            "restoring IIS bindings",
            iisRebindScript(iisPlan.map((p) => ({ ...p, fromThumbprint: p.toThumbprint, toThumbprint: previous.thumbprint }))),
          );
          await run(
            "restoring HTTP.sys bindings",
            httpSysUpdateScript(sysPlan.map((u) => ({ ...u, certificateHash: previous.thumbprint }))),
          );
        },
        async commit() {},
      };
    },
    async isInstalled(_cert, location) {
      const out = await run("checking the store", `if (Test-Path -LiteralPath ${psQuote(location)}) { 'yes' } else { 'no' }`);
      return out === "yes";
    },
  };
}
