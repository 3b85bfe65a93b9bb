/**
 * `kv-acme doctor` and `GET /api/health`: every dependency kv-acme needs, checked in order, without writing anything
 * (docs/cli.md, "doctor"). Each check returns a result with a one-line fix when it fails; a check whose inputs an
 * earlier failure took away is skipped, naming that check. The checks run with the same clients the issuance uses.
 */
import type { CertificateClient } from "@azure/keyvault-certificates";
import type { SecretClient } from "@azure/keyvault-secrets";
import { Cron } from "croner";
import type { AcmeDirectory } from "../acme/client";
import { accountSecretName, loadAccountKey } from "../keyvault/account-key";
import type { Settings } from "../config/types";
import type { DnsProvider, DnsZone } from "../dns/provider";
import { errorMessage, statusOf } from "../shared/errors";

export type CheckStatus = "pass" | "warn" | "fail" | "skip";

export interface CheckResult {
  /** Stable id, e.g. `keyvault.create`. */
  id: string;
  title: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** One line: what to do about a failure or warning. */
  fix?: string;
}

/** One configured vault as the doctor checks it: its name, URL, own managed identity (if any) and certificates client. */
export interface DoctorVault {
  name: string;
  url: string;
  managedIdentityClientId?: string;
  certificates: CertificateClient;
}

export interface DoctorDeps {
  settings: Settings;
  /** Every configured vault, the default first; each is checked on its own (a vault that fails does not stop the others). */
  vaults: DoctorVault[];
  secrets: SecretClient;
  /** Every configured DNS provider instance, and the zones of all of them (one owner per zone). */
  dns: { providers: ReadonlyMap<string, DnsProvider>; listZones(): Promise<DnsZone[]> };
  /** GET returning the response's Date header and body (the ACME directory), for reachability and clock skew. */
  fetchJson(url: string): Promise<{ status: number; date?: string; body: unknown }>;
  /** Sends a signed ping event to every webhook target; only with `ping`. */
  pingWebhooks?(): Promise<{ target: string; format: string; ok: boolean; status?: number; error?: string }[]>;
  /**
   * POST-as-GET of the ACME account (RFC 8555 §7.3.1, onlyReturnExisting): its status. Gets the directory the
   * directory check read, so the CA's directory is fetched once.
   */
  accountStatus?(keyPem: string, accountUrl: string | undefined, directory: AcmeDirectory): Promise<{ status: string; url: string }>;
  now: () => Date;
}

/** Clock skew beyond which TLS, tokens and ACME start to fail (warn at one minute, fail at five). */
export const CLOCK_SKEW = { warnSeconds: 60, failSeconds: 300 } as const;

/** Name of the certificate the Key Vault probes read and (try to) create: invalid on purpose, never written. */
export const PROBE_CERTIFICATE = "kv-acme-doctor-probe";

/** A one-line reason for an error from an Azure SDK or fetch, with the HTTP status when there is one. */
function reason(err: unknown): string {
  const status = statusOf(err);
  return `${status ? `HTTP ${status}: ` : ""}${errorMessage(err).split("\n")[0]}`;
}

function accessFix(status: number | undefined, what: string, role: string, identity = "the app's identity"): string {
  if (status === 401 || status === 403) return `grant ${identity} ${role} on ${what} (docs/deploy.md, "What the template grants, and why")`;
  return `check that ${what} is reachable from here (URL, DNS, firewall, private endpoint)`;
}

/** The Key Vault checks of one vault: id and title of each (the default vault's ids are plain, others end in `.<vault>`). */
function vaultChecks(vault: DoctorVault, several: boolean, isDefault: boolean) {
  const id = (check: string) => `keyvault.${check}${isDefault ? "" : `.${vault.name}`}`;
  const title = (what: string) => `Key Vault${several ? ` ${vault.name}` : ""}: ${what}`;
  return {
    list: { id: id("list"), title: title("list certificates") },
    get: { id: id("get"), title: title("get a certificate") },
    create: { id: id("create"), title: title("create a pending operation") },
  };
}

const SECRETS_CHECK = { id: "keyvault.secrets", title: "Key Vault: app secrets (ACME account keys)" } as const;

/** A Key Vault check that failed with `err`: what the vault answered and the role the identity needs there. */
function vaultCheckFailure(
  check: { id: string; title: string },
  err: unknown,
  vault: string,
  role: "Key Vault Certificates Officer" | "Key Vault Secrets Officer",
  detail: string = reason(err),
  managedIdentityClientId?: string,
): CheckResult {
  const identity = managedIdentityClientId ? `the managed identity ${managedIdentityClientId}` : undefined;
  return { ...check, status: "fail", detail, fix: accessFix(statusOf(err), `the vault ${vault}`, role, identity) };
}

/** Reachability and permissions of one vault: list, get and create (without writing); a vault that cannot be listed stops there. */
async function oneVaultChecks(v: DoctorVault, several: boolean, isDefault: boolean): Promise<CheckResult[]> {
  const checks = vaultChecks(v, several, isDefault);
  const vault = v.url;
  const fail = (check: { id: string; title: string }, err: unknown, detail?: string) =>
    vaultCheckFailure(check, err, vault, "Key Vault Certificates Officer", detail ?? reason(err), v.managedIdentityClientId);
  const out: CheckResult[] = [];
  try {
    const page = await v.certificates.listPropertiesOfCertificates().byPage({ maxPageSize: 1 }).next();
    out.push({ ...checks.list, status: "pass", detail: `${vault} answers (${page.value?.length ?? 0} on the first page)` });
  } catch (err) {
    out.push(fail(checks.list, err, `${vault}: ${reason(err)}`));
    return out;
  }
  try {
    await v.certificates.getCertificate(PROBE_CERTIFICATE);
    out.push({ ...checks.get, status: "pass", detail: `${PROBE_CERTIFICATE} is readable` });
  } catch (err) {
    out.push(
      statusOf(err) === 404
        ? { ...checks.get, status: "pass", detail: "allowed (the probe name does not exist: 404)" }
        : fail(checks.get, err),
    );
  }
  // Create permission without writing: a request with an RSA key size Key Vault refuses (1 bit) is authorized first
  // and then rejected as a bad parameter (400); a missing permission answers 403 before the body is read.
  try {
    const poller = await v.certificates.beginCreateCertificate(PROBE_CERTIFICATE, {
      issuerName: "Unknown",
      subject: "CN=kv-acme-doctor.invalid",
      keyType: "RSA",
      keySize: 1,
    });
    // Not expected: the vault accepted an invalid policy. Undo it at once and say so.
    await poller.cancelOperation().catch(() => undefined);
    await v.certificates.deleteCertificateOperation(PROBE_CERTIFICATE).catch(() => undefined);
    out.push({
      ...checks.create,
      status: "warn",
      detail: "allowed, but the vault accepted an invalid probe policy; its pending operation was cancelled and deleted",
      fix: `delete the certificate ${PROBE_CERTIFICATE} from the vault ${vault}`,
    });
  } catch (err) {
    out.push(
      statusOf(err) === 400
        ? { ...checks.create, status: "pass", detail: "allowed (the deliberately invalid probe was refused: 400, nothing written)" }
        : fail(checks.create, err),
    );
  }
  return out;
}

/** Every configured vault, each named when there are several, then the secrets vault (the ACME account keys). */
async function keyVaultChecks(d: DoctorDeps): Promise<CheckResult[]> {
  const several = d.vaults.length > 1;
  const out: CheckResult[] = [];
  for (const v of d.vaults) out.push(...(await oneVaultChecks(v, several, v.name === d.settings.defaultVault)));
  const secretsVault = d.settings.secretsVaultUrl;
  try {
    await d.secrets.listPropertiesOfSecrets().byPage({ maxPageSize: 1 }).next();
    out.push({ ...SECRETS_CHECK, status: "pass", detail: `${secretsVault} answers` });
  } catch (err) {
    out.push(vaultCheckFailure(SECRETS_CHECK, err, secretsVault, "Key Vault Secrets Officer", `${secretsVault}: ${reason(err)}`));
  }
  return out;
}

async function dnsChecks(d: DoctorDeps): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const provider of d.dns.providers.values()) out.push(...(await providerChecks(provider)));
  // Zones claimed by two instances are a configuration error the router reports when it lists them all.
  if (d.dns.providers.size > 1 && out.every((r) => r.status !== "fail")) {
    try {
      const zones = await d.dns.listZones();
      out.push({
        id: "dns.routing",
        title: "DNS: zone owners",
        status: "pass",
        detail: `${zones.length} zones, each owned by one provider`,
      });
    } catch (err) {
      out.push({
        id: "dns.routing",
        title: "DNS: zone owners",
        status: "fail",
        detail: reason(err),
        fix: "give each zone to one provider only (docs/dns-providers.md)",
      });
    }
  }
  return out;
}

/** One provider instance: its zones, then whether it may write TXT records in each, without writing. */
async function providerChecks(p: DnsProvider): Promise<CheckResult[]> {
  const label = `DNS (${p.name}, ${p.type})`;
  let zones: DnsZone[];
  try {
    zones = await p.listZones();
  } catch (err) {
    return [
      {
        id: `dns.${p.name}.zones`,
        title: `${label}: list zones`,
        status: "fail",
        detail: reason(err),
        fix:
          p.type === "azure"
            ? accessFix(statusOf(err), "the DNS zones", "DNS Zone Contributor")
            : `check the ${p.name} provider's settings and credentials (docs/dns-providers.md)`,
      },
    ];
  }
  if (zones.length === 0) {
    return [
      {
        id: `dns.${p.name}.zones`,
        title: `${label}: list zones`,
        status: "fail",
        detail: "no zone is visible to kv-acme",
        fix: "create the zones, or give the provider's credential access to them (docs/dns-providers.md)",
      },
    ];
  }
  const names = zones.map((z) => z.name);
  const out: CheckResult[] = [
    {
      id: `dns.${p.name}.zones`,
      title: `${label}: list zones`,
      status: "pass",
      detail: `${zones.length} zone${zones.length === 1 ? "" : "s"}: ${names.slice(0, 10).join(", ")}${zones.length > 10 ? ", …" : ""}`,
    },
  ];
  if (!p.probeWriteAccess) {
    out.push({
      id: `dns.${p.name}.write`,
      title: `${label}: write TXT records`,
      status: "skip",
      detail: `the ${p.type} provider cannot check write access without writing; the first issuance will`,
    });
    return out;
  }
  const denied: string[] = [];
  for (const zone of zones) {
    try {
      await p.probeWriteAccess(zone);
    } catch (err) {
      denied.push(`${zone.name} (${reason(err)})`);
    }
  }
  out.push(
    denied.length === 0
      ? {
          id: `dns.${p.name}.write`,
          title: `${label}: write TXT records`,
          status: "pass",
          detail: "allowed in every zone (checked without writing)",
        }
      : {
          id: `dns.${p.name}.write`,
          title: `${label}: write TXT records`,
          status: "fail",
          detail: `not allowed in ${denied.join("; ")}`,
          fix: "grant the app's identity DNS Zone Contributor on those zones (or their resource group)",
        },
  );
  return out;
}

async function acmeChecks(d: DoctorDeps): Promise<{ results: CheckResult[]; date?: string }> {
  const url = d.settings.acmeDirectoryUrl;
  let directory: AcmeDirectory;
  let date: string | undefined;
  try {
    const r = await d.fetchJson(url);
    date = r.date;
    directory = r.body as typeof directory;
    if (r.status !== 200 || !directory?.newOrder) throw new Error(`HTTP ${r.status}, not an ACME directory`);
  } catch (err) {
    return {
      results: [
        {
          id: "acme.directory",
          title: "ACME directory",
          status: "fail",
          detail: `${url}: ${reason(err)}`,
          fix: "check KvAcme__AcmeDirectoryUrl and that the CA is reachable from here (locally: npm run stack)",
        },
      ],
    };
  }
  const meta = directory.meta ?? {};
  const results: CheckResult[] = [
    {
      id: "acme.directory",
      title: "ACME directory",
      status: "pass",
      detail: `${url}${meta.termsOfService ? `; terms of service ${meta.termsOfService} (agreed at registration)` : ""}`,
    },
  ];
  if (meta.externalAccountRequired && !d.settings.eab) {
    results.push({
      id: "acme.eab",
      title: "ACME external account binding",
      status: "fail",
      detail: "the CA requires External Account Binding and none is configured",
      fix: "set KvAcme__Eab__KeyId and KvAcme__Eab__HmacKey from your CA account (docs/settings.md)",
    });
  } else {
    results.push({
      id: "acme.eab",
      title: "ACME external account binding",
      status: "pass",
      detail: d.settings.eab
        ? `key id ${d.settings.eab.keyId} (${meta.externalAccountRequired ? "required" : "not required"} by the CA)`
        : "not required by the CA",
    });
  }
  let stored;
  try {
    stored = await loadAccountKey(d.secrets, url);
  } catch (err) {
    results.push({
      id: "acme.account",
      title: "ACME account",
      status: "fail",
      detail: reason(err),
      fix: accessFix(statusOf(err), "the secrets vault", "Key Vault Secrets Officer"),
    });
    return { results, date };
  }
  if (!stored) {
    results.push({
      id: "acme.account",
      title: "ACME account",
      status: "pass",
      detail: `none yet: registered on the first issuance (key kept as secret ${accountSecretName(url)})`,
    });
  } else if (d.accountStatus) {
    try {
      const account = await d.accountStatus(stored.keyPem, stored.accountUrl, directory);
      results.push(
        account.status === "valid"
          ? { id: "acme.account", title: "ACME account", status: "pass", detail: `${account.url} is valid` }
          : {
              id: "acme.account",
              title: "ACME account",
              status: "fail",
              detail: `${account.url} is ${account.status}`,
              fix: `the CA no longer accepts this account: delete the secret ${stored.secretName} so the next issuance registers a new one`,
            },
      );
    } catch (err) {
      results.push({
        id: "acme.account",
        title: "ACME account",
        status: "fail",
        detail: reason(err),
        fix: `the CA does not know the stored key: delete the secret ${stored.secretName} so the next issuance registers a new account`,
      });
    }
  }
  return { results, date };
}

function clockCheck(date: string | undefined, now: Date): CheckResult {
  const remote = date ? Date.parse(date) : NaN;
  if (!Number.isFinite(remote)) {
    return { id: "clock", title: "Clock skew", status: "skip", detail: "the CA's answer had no Date header to compare with" };
  }
  const skew = Math.round((now.getTime() - remote) / 1000);
  const abs = Math.abs(skew);
  const detail = `this machine is ${abs} s ${skew >= 0 ? "ahead of" : "behind"} the CA (Date header, 1 s resolution)`;
  if (abs >= CLOCK_SKEW.failSeconds)
    return { id: "clock", title: "Clock skew", status: "fail", detail, fix: "synchronise the clock (NTP: timedatectl set-ntp true)" };
  if (abs >= CLOCK_SKEW.warnSeconds)
    return { id: "clock", title: "Clock skew", status: "warn", detail, fix: "synchronise the clock (NTP: timedatectl set-ntp true)" };
  return { id: "clock", title: "Clock skew", status: "pass", detail };
}

/** When the renewal timer fires next (NCRONTAB, seconds first, in UTC as the Functions host runs it). */
export function nextTimerRun(schedule: string, now: Date): Date | undefined {
  return new Cron(schedule, { paused: true, timezone: "Etc/UTC" }).nextRun(now) ?? undefined;
}

function timerCheck(settings: Settings, now: Date): CheckResult {
  const next = nextTimerRun(settings.renewalSchedule, now);
  return next
    ? { id: "timer", title: "Renewal timer", status: "pass", detail: `"${settings.renewalSchedule}" (UTC): next run ${next.toISOString()}` }
    : {
        id: "timer",
        title: "Renewal timer",
        status: "fail",
        detail: `"${settings.renewalSchedule}" never fires`,
        fix: 'set KvAcme__RenewalSchedule to an NCRONTAB expression that fires, e.g. "0 0 3 * * *"',
      };
}

async function webhookChecks(d: DoctorDeps): Promise<CheckResult[]> {
  const targets = d.settings.webhooks;
  if (targets.length === 0) return [{ id: "webhooks", title: "Webhooks", status: "pass", detail: "none configured" }];
  const listed = targets.map((t) => `${t.format} ${new URL(t.url).origin}`).join(", ");
  if (!d.pingWebhooks)
    return [{ id: "webhooks", title: "Webhooks", status: "pass", detail: `${listed} (not contacted: --ping sends a signed ping event)` }];
  const results = await d.pingWebhooks();
  const failed = results.filter((r) => !r.ok);
  return [
    failed.length === 0
      ? {
          id: "webhooks",
          title: "Webhooks",
          status: "pass",
          detail: `ping delivered to ${results.map((r) => `${r.format} ${r.target}`).join(", ")}`,
        }
      : {
          id: "webhooks",
          title: "Webhooks",
          status: "fail",
          detail: `ping not delivered to ${failed.map((r) => `${r.format} ${r.target} (${r.error ?? `HTTP ${r.status}`})`).join(", ")}`,
          fix: "check the receiver's URL and that it accepts kv-acme's signature (docs/webhooks.md)",
        },
  ];
}

/**
 * Runs every check after settings, in order: Key Vault, DNS, the ACME directory and account, webhooks, clock skew,
 * the renewal timer. `onResult` sees each result as it is known (progress).
 */
export async function runChecks(d: DoctorDeps, onResult: (r: CheckResult) => void = () => undefined): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const add = (rs: CheckResult[]) => {
    for (const r of rs) {
      out.push(r);
      onResult(r);
    }
  };
  add(await keyVaultChecks(d));
  add(await dnsChecks(d));
  const acme = await acmeChecks(d);
  add(acme.results);
  add(await webhookChecks(d));
  add([clockCheck(acme.date, d.now()), timerCheck(d.settings, d.now())]);
  return out;
}
