/**
 * Settings of the VM companion agent. Reads the Azure Key Vault VM extension's settings unchanged
 * (Windows v1 flat form, Windows v3 objects, Linux v3, the handler-settings wrapper) plus an optional
 * `kvAcme` block for what the extension does not have (installers, webhooks, pruning, status paths).
 * Parsing is pure: it never touches the file system or the environment.
 */
import { isIP } from "node:net";
import path from "node:path";
import { ValidationError, type FieldProblem } from "../shared/errors";
import { boolField, isHttpUrl, isObj, optString, optStringArray, type Obj, type Platform, type Report } from "./settings-fields";
import { parseKvAcme, type KvAcmeAgentSettings } from "./settings-kvacme";
import { accountProblem, storeNameProblem } from "./stores/windows-names";

export type { Platform } from "./settings-fields";
export { installerApplies } from "./settings-kvacme";
export type {
  CommandInstaller,
  HaproxyInstaller,
  InstallerSettings,
  KvAcmeAgentSettings,
  NginxInstaller,
  WebhookSettings,
} from "./settings-kvacme";

/** Default Linux store of the Key Vault VM extension. */
export const DEFAULT_LINUX_STORE = "/var/lib/waagent/Microsoft.Azure.KeyVault.Store";

export interface AclEntry {
  user?: string;
  group?: string;
}

/** One observed certificate, every default filled in. */
export interface ObservedCertificate {
  /** Versionless secret URL as written in the settings, without a trailing slash. */
  url: string;
  /** `https://<vault host>` (no trailing slash). */
  vaultUrl: string;
  /** First label of the vault host (`myvault` for myvault.vault.azure.net). */
  vaultName: string;
  /** Secret (= certificate) name. */
  name: string;
  /** Windows store name (MY, WebHosting, ...). */
  certificateStoreName: string;
  /** Windows: LocalMachine | CurrentUser. Linux: absolute directory. */
  certificateStoreLocation: string;
  /** Windows: accounts that get read access to the private key. */
  accounts: string[];
  /** Windows: import the key as exportable. */
  keyExportable: boolean;
  /** Linux: name of the symlink that points at the newest version (default `<vault>.<name>`). */
  linkName: string;
  /** Linux: users/groups granted read access when aclEnabled. */
  acls: AclEntry[];
}

export interface AgentSettings {
  platform: Platform;
  pollingIntervalInS: number;
  linkOnRenewal: boolean;
  requireInitialSync: boolean;
  aclEnabled: boolean;
  observedCertificates: ObservedCertificate[];
  authenticationSettings: { msiEndpoint?: string; msiClientId?: string };
  kvAcme: KvAcmeAgentSettings;
}

export interface ParsedAgentSettings {
  settings: AgentSettings;
  /** Unknown keys and other things that do not stop the agent. */
  warnings: string[];
}

export interface ParseOptions {
  platform?: Platform;
}

const MANAGEMENT_KEYS = new Set([
  "pollingIntervalInS",
  "certificateStoreName",
  "certificateStoreLocation",
  "linkOnRenewal",
  "requireInitialSync",
  "aclEnabled",
  "observedCertificates",
]);
const OBSERVED_KEYS = new Set([
  "url",
  "certificateStoreName",
  "certificateStoreLocation",
  "accounts",
  "keyExportable",
  "customSymbolicLinkName",
  "acls",
]);

/**
 * Parses settings given as JSON text or an already parsed value. Throws a ValidationError whose problems
 * name each bad field by JSON path (e.g. `secretsManagementSettings.observedCertificates[1].url`).
 */
export function parseAgentSettings(input: string | unknown, options: ParseOptions = {}): ParsedAgentSettings {
  const platform = options.platform ?? (process.platform === "win32" ? "windows" : "linux");
  let root = typeof input === "string" ? parseJsonText(input, "settings") : input;
  root = unwrapJsonString(root, "settings");
  if (!isObj(root)) throw new ValidationError("the settings must be a JSON object", "settings");

  let base = "";
  if ("runtimeSettings" in root) {
    const rs = root.runtimeSettings;
    if (!Array.isArray(rs) || rs.length === 0 || !isObj(rs[0])) {
      throw new ValidationError("must be a non-empty array of objects", "runtimeSettings");
    }
    const hs = rs[0].handlerSettings;
    if (!isObj(hs)) throw new ValidationError("must be an object", "runtimeSettings[0].handlerSettings");
    const ps = unwrapJsonString(hs.publicSettings, "runtimeSettings[0].handlerSettings.publicSettings");
    if (!isObj(ps)) throw new ValidationError("must be an object", "runtimeSettings[0].handlerSettings.publicSettings");
    root = ps;
    base = "runtimeSettings[0].handlerSettings.publicSettings.";
  }
  const publicSettings = root as Obj;
  const problems: FieldProblem[] = [];
  const warnings: string[] = [];
  const p = (field: string, message: string) => problems.push({ field: base + field, message });

  const smsRaw = unwrapJsonString(publicSettings.secretsManagementSettings, base + "secretsManagementSettings");
  if (!isObj(smsRaw)) {
    p("secretsManagementSettings", smsRaw === undefined ? "is required" : "must be an object");
    throw new ValidationError(problems);
  }
  const sms = smsRaw;
  for (const key of Object.keys(sms)) {
    if (!MANAGEMENT_KEYS.has(key)) warnings.push(`${base}secretsManagementSettings.${key}: unknown setting, ignored`);
  }
  const S = "secretsManagementSettings.";

  const pollingIntervalInS = parseInterval(sms.pollingIntervalInS, S + "pollingIntervalInS", p);
  const linkOnRenewal = boolField(sms.linkOnRenewal, S + "linkOnRenewal", false, p);
  const requireInitialSync = boolField(sms.requireInitialSync, S + "requireInitialSync", false, p);
  const aclEnabled = boolField(sms.aclEnabled, S + "aclEnabled", false, p);
  if (linkOnRenewal && platform === "linux") warnings.push(`${base}${S}linkOnRenewal: Windows only, ignored on Linux`);

  const defaultStoreName = optString(sms.certificateStoreName, S + "certificateStoreName", p) ?? "MY";
  const defaultLocation =
    optString(sms.certificateStoreLocation, S + "certificateStoreLocation", p) ??
    (platform === "linux" ? DEFAULT_LINUX_STORE : "LocalMachine");
  checkLocation(defaultLocation, S + "certificateStoreLocation", platform, p);
  const defaultStoreProblem = platform === "windows" ? storeNameProblem(defaultStoreName) : undefined;
  if (defaultStoreProblem) p(S + "certificateStoreName", defaultStoreProblem);

  const observedCertificates: ObservedCertificate[] = [];
  const oc = sms.observedCertificates;
  if (!Array.isArray(oc) || oc.length === 0) {
    p(
      S + "observedCertificates",
      oc === undefined ? "is required: list the versionless secret URLs to install" : "must be a non-empty array",
    );
  } else {
    oc.forEach((item, i) => {
      const f = `${S}observedCertificates[${i}]`;
      const entry: Obj = typeof item === "string" ? { url: item } : isObj(item) ? item : {};
      if (typeof item !== "string" && !isObj(item)) return p(f, "must be a secret URL string (v1) or an object with url (v3)");
      for (const key of Object.keys(entry)) if (!OBSERVED_KEYS.has(key)) warnings.push(`${base}${f}.${key}: unknown setting, ignored`);
      const ref = parseSecretUrl(entry.url, `${f}.url`, p);
      const storeName = optString(entry.certificateStoreName, `${f}.certificateStoreName`, p) ?? defaultStoreName;
      const location = optString(entry.certificateStoreLocation, `${f}.certificateStoreLocation`, p) ?? defaultLocation;
      if (entry.certificateStoreLocation !== undefined) checkLocation(location, `${f}.certificateStoreLocation`, platform, p);
      const accounts = optStringArray(entry.accounts, `${f}.accounts`, p);
      if (platform === "windows") checkWindowsNames(entry.certificateStoreName === undefined ? undefined : storeName, accounts, f, p);
      const keyExportable = boolField(entry.keyExportable, `${f}.keyExportable`, false, p);
      const link = optString(entry.customSymbolicLinkName, `${f}.customSymbolicLinkName`, p);
      if (link !== undefined && !/^[A-Za-z0-9._-]+$/.test(link))
        p(`${f}.customSymbolicLinkName`, "must be a plain file name (letters, digits, . _ -)");
      const acls = parseAcls(entry.acls, `${f}.acls`, p);
      if (!ref) return;
      observedCertificates.push({
        ...ref,
        certificateStoreName: storeName,
        certificateStoreLocation: platform === "linux" && location ? path.resolve(location) : location,
        accounts,
        keyExportable,
        linkName: link ?? `${ref.vaultName}.${ref.name}`,
        acls,
      });
    });
    const seen = new Map<string, number>();
    observedCertificates.forEach((c, i) => {
      const key = c.url.toLowerCase();
      if (seen.has(key)) p(`${S}observedCertificates[${i}].url`, `duplicates observedCertificates[${seen.get(key)}]`);
      else seen.set(key, i);
    });
    if (platform === "linux") {
      const links = new Map<string, string>();
      for (const c of observedCertificates) {
        const k = path.join(c.certificateStoreLocation, c.linkName);
        if (links.has(k) && links.get(k) !== c.url) p(`${S}observedCertificates`, `two certificates would share the symlink ${k}`);
        links.set(k, c.url);
      }
    }
  }

  const auth = unwrapJsonString(publicSettings.authenticationSettings, base + "authenticationSettings");
  const authenticationSettings: AgentSettings["authenticationSettings"] = {};
  if (auth !== undefined) {
    if (!isObj(auth)) p("authenticationSettings", "must be an object");
    else {
      const ep = optString(auth.msiEndpoint, "authenticationSettings.msiEndpoint", p);
      if (ep !== undefined) {
        if (!isHttpUrl(ep))
          p("authenticationSettings.msiEndpoint", "must be an http(s) URL such as http://169.254.169.254/metadata/identity");
        else authenticationSettings.msiEndpoint = ep;
      }
      const id = optString(auth.msiClientId, "authenticationSettings.msiClientId", p);
      if (id !== undefined) {
        if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
          p("authenticationSettings.msiClientId", "must be the client id (a GUID) of the VM's user-assigned identity");
        } else authenticationSettings.msiClientId = id;
      }
    }
  }

  const kvAcme = parseKvAcme(publicSettings.kvAcme, "kvAcme", platform, observedCertificates, p);
  if (problems.length) throw new ValidationError(problems);
  return {
    settings: {
      platform,
      pollingIntervalInS,
      linkOnRenewal,
      requireInitialSync,
      aclEnabled,
      observedCertificates,
      authenticationSettings,
      kvAcme,
    },
    warnings,
  };
}

function parseJsonText(text: string, field: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    if (/\\"/.test(text)) {
      throw new ValidationError(
        'the settings JSON has backslash-escaped quotes ({\\"secretsManagementSettings\\": ...}); write plain JSON quotes ({"secretsManagementSettings": ...}). The Key Vault VM extension reports this as "Failed to parse the configuration settings with: not an object".',
        field,
      );
    }
    throw new ValidationError(`not valid JSON: ${(err as Error).message}`, field);
  }
}

/** A JSON string that itself holds JSON: the double-encoding mistake. Explain it instead of guessing. */
function unwrapJsonString(value: unknown, field: string): unknown {
  if (typeof value !== "string") return value;
  const t = value.trim();
  if (t.startsWith("{") || t.startsWith("[") || t.startsWith('\\"') || t.startsWith('{\\"')) {
    throw new ValidationError(
      'is a JSON string containing JSON (escaped quotes like {\\"secretsManagementSettings\\": ...}); pass the object itself, not a string. The Key Vault VM extension reports this as "Failed to parse the configuration settings with: not an object".',
      field,
    );
  }
  return value;
}

function parseInterval(v: unknown, field: string, p: Report): number {
  if (v === undefined) return 3600;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1) {
    p(field, 'must be a whole number of seconds ≥ 1, as a string like "3600" (a number is accepted too)');
    return 3600;
  }
  return n;
}

/** The store name and key-access accounts of a Windows observed certificate (clear errors; see stores/windows-names). */
function checkWindowsNames(storeName: string | undefined, accounts: string[], f: string, p: Report): void {
  const storeProblem = storeName === undefined ? undefined : storeNameProblem(storeName);
  if (storeProblem) p(`${f}.certificateStoreName`, storeProblem);
  accounts.forEach((a, i) => {
    const problem = accountProblem(a);
    if (problem) p(`${f}.accounts[${i}]`, problem);
  });
}

function checkLocation(location: string, field: string, platform: Platform, p: Report): void {
  if (platform === "windows") {
    if (location !== "LocalMachine" && location !== "CurrentUser")
      p(field, 'must be "LocalMachine" or "CurrentUser" (case-sensitive) on Windows');
  } else if (!path.isAbsolute(location)) {
    p(field, `must be an absolute directory on Linux (got "${location}"; the default is ${DEFAULT_LINUX_STORE})`);
  }
}

function parseAcls(v: unknown, field: string, p: Report): AclEntry[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p(field, 'must be an array like [{"user": "app1", "group": "appGroup1"}]');
    return [];
  }
  const out: AclEntry[] = [];
  v.forEach((a, i) => {
    const f = `${field}[${i}]`;
    if (!isObj(a)) return p(f, "must be an object with user and/or group");
    const user = optString(a.user, `${f}.user`, p);
    const group = optString(a.group, `${f}.group`, p);
    if (!user && !group && a.user === undefined && a.group === undefined) return p(f, "needs a user or a group");
    for (const [k, name] of [
      ["user", user],
      ["group", group],
    ] as const) {
      if (name !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$/.test(name)) p(`${f}.${k}`, "is not a valid user or group name");
    }
    out.push({ ...(user ? { user } : {}), ...(group ? { group } : {}) });
  });
  return out;
}

const NAME_RE = /^[0-9A-Za-z-]{1,127}$/;

function parseSecretUrl(
  v: unknown,
  field: string,
  p: Report,
): Pick<ObservedCertificate, "url" | "vaultUrl" | "vaultName" | "name"> | undefined {
  if (typeof v !== "string" || v.trim() === "") {
    p(field, "is required: a versionless secret URL like https://myvault.vault.azure.net/secrets/mycert");
    return undefined;
  }
  let u: URL;
  try {
    u = new URL(v.trim());
  } catch {
    p(field, `is not a URL: "${v}"`);
    return undefined;
  }
  if (u.protocol !== "https:") {
    p(field, "must use https");
    return undefined;
  }
  const parts = u.pathname.split("/").filter(Boolean);
  if (parts[0] === "certificates" || parts[0] === "keys") {
    p(field, `must be a secret URL (https://${u.host}/secrets/${parts[1] ?? "<name>"}): only the secret carries the private key`);
    return undefined;
  }
  if (parts[0] !== "secrets" || parts.length < 2 || !NAME_RE.test(parts[1])) {
    p(field, "must look like https://<vault>/secrets/<name> (name: 1-127 letters, digits, hyphens)");
    return undefined;
  }
  if (parts.length > 2) {
    p(field, `must be versionless: remove "/${parts.slice(2).join("/")}" so the agent follows new versions`);
    return undefined;
  }
  return {
    url: `https://${u.host}/secrets/${parts[1]}`,
    vaultUrl: `https://${u.host}`,
    // Real vaults: the first label (myvault.vault.azure.net -> myvault); an IP address (local stand-in) is kept whole.
    vaultName: isIP(u.hostname.replace(/^\[|\]$/g, "")) ? u.hostname.replace(/[[\]:]/g, "_") : u.hostname.split(".")[0],
    name: parts[1],
  };
}
