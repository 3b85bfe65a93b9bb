/**
 * The Windows store: PowerShell scripts generated per step (pure functions returning script text) and run through
 * an `Executor`. Secret material never appears in a script's text or on a command line: the executor sends it on
 * powershell.exe's standard input as base64 JSON decoded into `$KvAcme` before the script runs.
 *
 * Every other value (store names, accounts, site names, netsh-parsed settings) reaches the script the same way, as
 * data in `$KvAcme`: the script text of each step is constant (see powershellStdin).
 *
 * Steps: import the leaf with its key into the configured store (exportable per keyExportable) and intermediates
 * into the Intermediate CA store, never a root; grant private-key read access by well-known SID; link older
 * certificates (linkOnRenewal, Switch-Certificate); rebind IIS and HTTP.sys explicitly; with keepVersions, remove older
 * versions the agent installed (./windows-prune). How a step runs: ./windows-executor.
 */
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
import type { Executor, PsCommand } from "./windows-executor";
import { accountPrincipal, assertStoreName, storeNameProblem } from "./windows-names";
import {
  listStoreVersionsScript,
  removeVersionsScript,
  windowsFriendlyName,
  windowsVersionsToRemove,
  type StoreVersion,
} from "./windows-prune";

export { accountPrincipal } from "./windows-names";

export type { Executor, ExecutorResult, PsCommand } from "./windows-executor";
export { createPowerShellExecutor, powershellStdin } from "./windows-executor";

export type StoreLocation = "LocalMachine" | "CurrentUser";

const LOCATIONS: readonly string[] = ["LocalMachine", "CurrentUser"] satisfies StoreLocation[];

/** The store's provider path, e.g. `Cert:\LocalMachine\MY\<thumbprint>` (validated: it is also the installed record). */
export function storePath(location: StoreLocation, name: string, thumbprint?: string): string {
  if (!LOCATIONS.includes(location))
    throw new Error(`certificateStoreLocation must be LocalMachine or CurrentUser, got ${JSON.stringify(location)}`);
  assertStoreName(name);
  return `Cert:\\${location}\\${name}${thumbprint ? `\\${assertThumbprint(thumbprint)}` : ""}`;
}

function assertThumbprint(t: string): string {
  if (!/^[0-9A-F]{40}$/i.test(t)) throw new Error(`not a certificate thumbprint (40 hex digits): ${JSON.stringify(t.slice(0, 80))}`);
  return t.toUpperCase();
}

/**
 * Imports the PFX given as `$KvAcme.pfx` (base64, empty password): the leaf with its key into `<location>\<storeName>`,
 * intermediates into `<location>\CA`; self-signed roots are skipped. Prints the leaf thumbprint.
 */
export function importPfxScript(o: {
  storeLocation: StoreLocation;
  storeName: string;
  exportable: boolean;
  pfxBase64: string;
  /** The agent's ownership mark (windowsFriendlyName), what keepVersions prunes by. */
  friendlyName?: string;
}): PsCommand {
  storePath(o.storeLocation, o.storeName);
  const keySet = o.storeLocation === "LocalMachine" ? "MachineKeySet" : "UserKeySet";
  const flags = [keySet, "PersistKeySet", ...(o.exportable ? ["Exportable"] : [])].join(",");
  const script = [
    `$bytes = [Convert]::FromBase64String($KvAcme.pfx)`,
    `$flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]$KvAcme.flags`,
    `$certs = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2Collection`,
    `$certs.Import($bytes, '', $flags)`,
    `$leaf = @($certs | Where-Object { $_.HasPrivateKey })[0]`,
    `if (-not $leaf) { throw 'the PFX has no certificate with a private key' }`,
    `if ($KvAcme.friendlyName) { $leaf.FriendlyName = [string]$KvAcme.friendlyName }`,
    `$my = New-Object System.Security.Cryptography.X509Certificates.X509Store([string]$KvAcme.storeName, [string]$KvAcme.storeLocation)`,
    `$my.Open('ReadWrite'); $my.Add($leaf); $my.Close()`,
    `$ca = New-Object System.Security.Cryptography.X509Certificates.X509Store('CA', [string]$KvAcme.storeLocation)`,
    `$ca.Open('ReadWrite')`,
    `foreach ($c in $certs) { if (-not $c.HasPrivateKey -and $c.Subject -ne $c.Issuer) { $ca.Add($c) } }`,
    `$ca.Close()`,
    `[Array]::Clear($bytes, 0, $bytes.Length)`,
    `Write-Output $leaf.Thumbprint`,
  ].join("\n");
  return {
    script,
    input: {
      storeName: o.storeName,
      storeLocation: o.storeLocation,
      flags,
      pfx: o.pfxBase64,
      ...(o.friendlyName ? { friendlyName: o.friendlyName } : {}),
    },
  };
}

/** Grants Read on the certificate's private key file to each account (plus FullControl for SYSTEM and Administrators). */
export function grantKeyAccessScript(o: {
  storeLocation: StoreLocation;
  storeName: string;
  thumbprint: string;
  accounts: string[];
}): PsCommand {
  const rules = [
    { ...({ sid: "S-1-5-18" } as { sid: string } | { account: string }), right: "FullControl" },
    { ...({ sid: "S-1-5-32-544" } as { sid: string } | { account: string }), right: "FullControl" },
    ...o.accounts.map((a) => ({ ...accountPrincipal(a), right: "Read" })),
  ];
  const script = [
    `$cert = Get-Item -LiteralPath ([string]$KvAcme.path)`,
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
    `foreach ($r in @($KvAcme.rules)) {`,
    `  if ($r.sid) { $id = New-Object System.Security.Principal.SecurityIdentifier([string]$r.sid) } else { $id = New-Object System.Security.Principal.NTAccount([string]$r.account) }`,
    `  $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($id, [string]$r.right, 'Allow')))`,
    `}`,
    `Set-Acl -LiteralPath $file -AclObject $acl`,
  ].join("\n");
  return { script, input: { path: storePath(o.storeLocation, o.storeName, o.thumbprint), rules } };
}

/** Lists certificates in a store as JSON: thumbprint, DNS names, private key presence. */
export function listCertificatesScript(o: { storeLocation: StoreLocation; storeName: string }): PsCommand {
  const script = [
    `$list = @(Get-ChildItem -LiteralPath ([string]$KvAcme.path) | ForEach-Object {`,
    `  [pscustomobject]@{ thumbprint = $_.Thumbprint; sans = @($_.DnsNameList | ForEach-Object { $_.Unicode }); hasPrivateKey = $_.HasPrivateKey }`,
    `})`,
    `ConvertTo-Json -InputObject $list -Depth 3 -Compress`,
  ].join("\n");
  return { script, input: { path: storePath(o.storeLocation, o.storeName) } };
}

/** Sets CERT_RENEWAL_PROP_ID on each old certificate (Switch-Certificate), raising the "replaced" event 1001. */
export function linkRenewalScript(o: {
  storeLocation: StoreLocation;
  storeName: string;
  oldThumbprints: string[];
  newThumbprint: string;
}): PsCommand {
  const script = [
    `$new = Get-Item -LiteralPath ([string]$KvAcme.newPath)`,
    `foreach ($old in @($KvAcme.oldPaths)) { Switch-Certificate -OldCert (Get-Item -LiteralPath ([string]$old)) -NewCert $new -Confirm:$false }`,
  ].join("\n");
  return {
    script,
    input: {
      newPath: storePath(o.storeLocation, o.storeName, o.newThumbprint),
      oldPaths: o.oldThumbprints.map((t) => storePath(o.storeLocation, o.storeName, t)),
    },
  };
}

/** Lists IIS https bindings as JSON (empty when IIS is not installed). */
export function listIisBindingsScript(): PsCommand {
  const script = [
    `if (-not (Get-Module -ListAvailable -Name WebAdministration)) { Write-Output '[]'; return }`,
    `Import-Module WebAdministration`,
    `$list = @(Get-ChildItem IIS:\\Sites | ForEach-Object { $site = $_.Name; $_.Bindings.Collection | Where-Object { $_.protocol -eq 'https' } | ForEach-Object {`,
    `  [pscustomobject]@{ site = $site; protocol = $_.protocol; bindingInformation = $_.bindingInformation; certificateHash = $_.certificateHash; certificateStoreName = $_.certificateStoreName; sslFlags = [int]$_.sslFlags } } })`,
    `ConvertTo-Json -InputObject $list -Depth 3 -Compress`,
  ].join("\n");
  return { script, input: {} };
}

/** Applies IIS rebindings: sslFlags first (SNI), then AddSslCertificate with the new thumbprint. */
export function iisRebindScript(plan: IisRebinding[]): PsCommand {
  if (plan.length === 0) return { script: "", input: {} };
  const script = [
    `Import-Module WebAdministration`,
    `foreach ($r in @($KvAcme.rebindings)) {`,
    `  Set-WebConfigurationProperty -PSPath 'MACHINE/WEBROOT/APPHOST' -Filter ([string]$r.filter) -Name sslFlags -Value ([int]$r.sslFlags)`,
    `  $b = Get-WebBinding -Name ([string]$r.site) -Protocol https -Port ([int]$r.port) -IPAddress ([string]$r.ip) -HostHeader ([string]$r.host)`,
    `  if (-not $b) { throw ('binding ' + $r.bindingInformation + ' of ' + $r.site + ' not found') }`,
    `  $b.AddSslCertificate([string]$r.thumbprint, [string]$r.storeName)`,
    `}`,
  ].join("\n");
  const rebindings = plan.map((r) => {
    if (!Number.isInteger(r.port) || r.port < 1 || r.port > 65535) throw new Error(`IIS binding ${r.bindingInformation}: invalid port`);
    if (!Number.isInteger(r.sslFlags) || r.sslFlags < 0) throw new Error(`IIS binding ${r.bindingInformation}: invalid sslFlags`);
    return {
      filter: `system.applicationHost/sites/site[@name=${xpathLiteral(r.site)}]/bindings/binding[@protocol='https' and @bindingInformation=${xpathLiteral(r.bindingInformation)}]`,
      sslFlags: r.sslFlags,
      site: r.site,
      bindingInformation: r.bindingInformation,
      port: r.port,
      ip: r.ip === "*" || r.ip === "" ? "*" : r.ip,
      host: r.host,
      thumbprint: assertThumbprint(r.toThumbprint),
      storeName: assertStoreName(r.certificateStoreName),
    };
  });
  return { script, input: { rebindings } };
}

/** An XPath 1.0 string literal for any text (concat() when it holds both quote characters). */
export function xpathLiteral(s: string): string {
  if (!s.includes("'")) return `'${s}'`;
  if (!s.includes('"')) return `"${s}"`;
  return `concat(${s
    .split("'")
    .map((part) => `'${part}'`)
    .join(`, "'", `)})`;
}

/** Lists HTTP.sys sslcert entries (English netsh output, parsed by parseNetshSslCert). */
export function listSslCertScript(): PsCommand {
  return { script: `netsh http show sslcert | Out-String`, input: {} };
}

/** What netsh accepts as an sslcert binding: ip:port, [v6]:port or host:port. */
const NETSH_BINDING = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9*._-]+):[0-9]{1,5}$/;
const NETSH_APPID = /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/;
const NETSH_PARAM = /^[a-z0-9]+$/;
const NETSH_VALUE = /^[A-Za-z0-9_.-]{1,128}$/;

/** The netsh arguments of one update, every value checked (they come from parsing netsh's output). Pure; throws on a value netsh would not have printed. */
export function netshUpdateArgs(u: HttpSysUpdate): string[] {
  const bad = (what: string, v: string) =>
    new Error(`HTTP.sys entry ${JSON.stringify(u.binding.slice(0, 80))}: unexpected ${what} ${JSON.stringify(v.slice(0, 80))}`);
  if (!NETSH_BINDING.test(u.binding)) throw bad("binding", u.binding);
  if (!NETSH_APPID.test(u.appId)) throw bad("application id", u.appId);
  if (u.certStoreName !== undefined && storeNameProblem(u.certStoreName)) throw bad("certificate store name", u.certStoreName);
  const settings = Object.entries(u.settings).map(([k, v]) => {
    if (!NETSH_PARAM.test(k)) throw bad("setting", k);
    if (!NETSH_VALUE.test(v)) throw bad(`value of ${k}`, v);
    return `${k}=${v}`;
  });
  return [
    `${u.bindingKind}=${u.binding}`,
    `certhash=${assertThumbprint(u.certificateHash)}`,
    `appid=${u.appId}`,
    ...(u.certStoreName ? [`certstorename=${u.certStoreName}`] : []),
    ...settings,
  ];
}

/** `netsh http update sslcert` per entry, re-specifying appid and every setting the entry had; the arguments are data. */
export function httpSysUpdateScript(updates: HttpSysUpdate[]): PsCommand {
  if (updates.length === 0) return { script: "", input: {} };
  const script = [
    `foreach ($u in @($KvAcme.updates)) {`,
    `  $out = & netsh http update sslcert @($u.args)`,
    `  if ($LASTEXITCODE -ne 0) { throw ('netsh http update sslcert ' + $u.binding + ' failed: ' + ($out -join ' ')) }`,
    `}`,
  ].join("\n");
  return { script, input: { updates: updates.map((u) => ({ binding: u.binding, args: netshUpdateArgs(u) })) } };
}

/** Does an installed record (a store path) still exist? */
export function testPathScript(location: string): PsCommand {
  return { script: `if (Test-Path -LiteralPath ([string]$KvAcme.path)) { 'yes' } else { 'no' }`, input: { path: location } };
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
  /** Keep this many versions per vault certificate (./windows-prune); undefined keeps all. */
  keepVersions?: number;
}

/** The Windows certificate store through PowerShell (see the module comment). */
export function createWindowsStore(options: WindowsStoreOptions): CertificateStore {
  const ex = options.executor;
  const run = async (step: string, command: PsCommand): Promise<string> => {
    if (!command.script) return "";
    const r = await ex.run(command);
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
      version: string,
      m: CertificateMaterial,
      previous?: { thumbprint: string; keyAccounts?: string[] },
    ): Promise<StoreInstallResult> {
      const location = cert.certificateStoreLocation as StoreLocation;
      const storeName = cert.certificateStoreName;
      // Refuse what Windows would refuse or misread before anything runs.
      storePath(location, storeName);
      cert.accounts.forEach(accountPrincipal);
      const existing = json<{ thumbprint: string; sans: string[] }>(
        await run("listing the store", listCertificatesScript({ storeLocation: location, storeName })),
      );
      const thumb = await run(
        "importing the certificate",
        importPfxScript({
          storeLocation: location,
          storeName,
          exportable: cert.keyExportable,
          pfxBase64: pfxFromMaterial(m).toString("base64"),
          friendlyName: windowsFriendlyName(cert, version),
        }),
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
        const links = certificatesToLink(existing, installed, { previous, keyAccounts: cert.accounts });
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
        async commit() {
          if (options.keepVersions === undefined) return;
          const versions = json<StoreVersion>(
            await run(
              "listing versions",
              listStoreVersionsScript({ storeLocation: location, storeName, path: storePath(location, storeName) }),
            ),
          );
          const decision = windowsVersionsToRemove(versions, {
            cert,
            keep: options.keepVersions,
            inService: m.thumbprint,
            bindings: json<IisBinding>(await run("listing IIS bindings", listIisBindingsScript())),
            sslcerts: parseNetshSslCert(await run("listing HTTP.sys bindings", listSslCertScript())),
          });
          await run("removing old versions", removeVersionsScript(decision.remove.map((t) => storePath(location, storeName, t))));
        },
      };
    },
    async isInstalled(_cert, location) {
      const out = await run("checking the store", testPathScript(location));
      return out === "yes";
    },
  };
}
