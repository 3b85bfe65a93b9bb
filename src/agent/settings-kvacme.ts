/**
 * The agent's own `kvAcme` settings block (what the Key Vault VM extension has no setting for): installers, webhooks,
 * version pruning, status and state paths, change detection, the report to the Function App. Pure, like ./settings.ts.
 */
import path from "node:path";
import { isWebhookFormat, WEBHOOK_FORMAT_NAMES, type WebhookFormat } from "../notify/formats/registry";
import { signingSecretProblem } from "../notify/signing";
import { isHttpUrl, isObj, optString, optStringArray, type Platform, type Report } from "./settings-fields";
import type { ObservedCertificate } from "./settings";

export interface NginxInstaller {
  type: "nginx";
  /** Observed certificate names (or URLs) this applies to; empty = all. */
  certificates: string[];
  binary: string;
  /** nginx -c value. */
  config?: string;
  /** nginx -p value. */
  prefix?: string;
  /** Replaces `nginx -s reload` (argv, no shell). */
  reloadCommand?: string[];
}

export interface HaproxyInstaller {
  type: "haproxy";
  certificates: string[];
  /** Runtime API socket: a unix socket path or host:port. */
  socket: string;
  /** The certificate file name as HAProxy knows it (crt in haproxy.cfg); default the store's symlink path. */
  certFile?: string;
}

export interface CommandInstaller {
  type: "command";
  certificates: string[];
  /** argv; run without a shell. Environment variables are documented in docs/agent.md. */
  command: string[];
  timeoutInS: number;
}

export type InstallerSettings = NginxInstaller | HaproxyInstaller | CommandInstaller;

export interface WebhookSettings {
  url: string;
  /** Payload format (src/notify/formats/registry.ts); default sniffed from the URL host. */
  kind?: WebhookFormat;
  /** Standard Webhooks signing secret (`whsec_<base64>`); `secondarySecret` signs alongside during a rotation. */
  secret?: string;
  secondarySecret?: string;
  /** Transition: the secret of the first `v1=<hex>` scheme (docs/webhooks.md). */
  legacySecret?: string;
}

export interface KvAcmeAgentSettings {
  /** Host name reported in events (default: the OS host name, filled in by the caller). */
  host?: string;
  installers: InstallerSettings[];
  webhooks: WebhookSettings[];
  /** Keep only this many versions per certificate (Linux); undefined = keep all like the extension. */
  keepVersions?: number;
  /** Azure handler status folder; `<statusFolder>/<seq>.status` is written when set. */
  statusFolder?: string;
  /** Handler sequence number (default 0). */
  sequenceNumber: number;
  /** Small JSON status file other services can wait on. */
  statusFile: string;
  /** Agent state (installed versions). */
  stateFile: string;
  /** How the current version is found: GET certificate (default) or list secret versions. */
  changeDetection: "certificate" | "secretVersions";
  /** Stable id reported to the app (default: /etc/machine-id on Linux, else the host name; see ./host-id.ts). */
  hostId?: string;
  /** Per observed certificate (name or URL, as `installers[].certificates`): the issuers allowed (SHA-1 thumbprints or common names). */
  issuerPins: Record<string, string[]>;
  /** Where the agent reports what it installed (the Function App's POST /api/agents/reports); none = no reports. */
  report?: AppReportSettings;
}

/** The agent's report to the Function App: the route URL and how it authenticates. */
export interface AppReportSettings {
  /** https://<app>/api/agents/reports (managed identity) or https://<app>/api/automation/agents/reports (function key). */
  url: string;
  /** The app's Application ID URI (api://<client id>): the VM's managed identity gets a token for it (app role KvAcme.Agent). */
  resource?: string;
  /** A function key of the app, sent as x-functions-key (only to the /api/automation/ route). */
  functionKey?: string;
}

export function parseKvAcme(
  v: unknown,
  field: string,
  platform: Platform,
  observed: ObservedCertificate[],
  p: Report,
): KvAcmeAgentSettings {
  const stateDir = platform === "linux" ? "/var/lib/kv-acme" : "C:\\ProgramData\\kv-acme";
  const join = platform === "linux" ? path.posix.join : path.win32.join;
  const out: KvAcmeAgentSettings = {
    installers: [],
    webhooks: [],
    sequenceNumber: 0,
    statusFile: join(stateDir, "agent-status.json"),
    stateFile: join(stateDir, "agent-state.json"),
    changeDetection: "certificate",
    issuerPins: {},
  };
  if (v === undefined) return out;
  if (!isObj(v)) {
    p(field, "must be an object");
    return out;
  }
  const host = optString(v.host, `${field}.host`, p);
  if (host) out.host = host;
  if (v.keepVersions !== undefined) {
    if (!Number.isInteger(v.keepVersions) || (v.keepVersions as number) < 1)
      p(`${field}.keepVersions`, "must be an integer ≥ 1 (omit it to keep every version)");
    else out.keepVersions = v.keepVersions as number;
  }
  if (v.sequenceNumber !== undefined) {
    if (!Number.isInteger(v.sequenceNumber) || (v.sequenceNumber as number) < 0) p(`${field}.sequenceNumber`, "must be an integer ≥ 0");
    else out.sequenceNumber = v.sequenceNumber as number;
  }
  for (const k of ["statusFolder", "statusFile", "stateFile"] as const) {
    const s = optString(v[k], `${field}.${k}`, p);
    if (s !== undefined) {
      if (!(platform === "linux" ? path.posix.isAbsolute(s) : path.win32.isAbsolute(s))) p(`${field}.${k}`, "must be an absolute path");
      else out[k] = s;
    }
  }
  const hostId = optString(v.hostId, `${field}.hostId`, p);
  if (hostId !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(hostId))
      p(`${field}.hostId`, "must be 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit");
    else out.hostId = hostId;
  }
  if (v.issuerPins !== undefined) {
    if (!isObj(v.issuerPins)) p(`${field}.issuerPins`, 'must be an object like {"web": ["R10", "<issuer SHA-1 thumbprint>"]}');
    else
      for (const [cert, pins] of Object.entries(v.issuerPins)) {
        const f = `${field}.issuerPins.${cert}`;
        const found = observed.find((o) => o.name === cert || o.url === cert.replace(/\/$/, ""));
        if (!found) p(f, `"${cert}" is not an observed certificate (name or URL)`);
        const list = optStringArray(pins, f, p);
        if (Array.isArray(pins) && list.length === 0) p(f, "must list at least one issuer (omit the certificate to allow any)");
        if (found && list.length > 0) out.issuerPins[found.url] = list;
      }
  }
  if (v.report !== undefined) {
    const report = parseReport(v.report, `${field}.report`, p);
    if (report) out.report = report;
  }
  if (v.changeDetection !== undefined) {
    if (v.changeDetection !== "certificate" && v.changeDetection !== "secretVersions")
      p(`${field}.changeDetection`, 'must be "certificate" or "secretVersions"');
    else out.changeDetection = v.changeDetection;
  }
  if (v.webhooks !== undefined) {
    if (!Array.isArray(v.webhooks)) p(`${field}.webhooks`, "must be an array");
    else
      v.webhooks.forEach((w, i) => {
        const f = `${field}.webhooks[${i}]`;
        const entry = typeof w === "string" ? { url: w } : w;
        if (!isObj(entry)) return p(f, "must be a URL or an object with url");
        const url = optString(entry.url, `${f}.url`, p);
        if (!url) return entry.url === undefined ? p(`${f}.url`, "is required") : undefined;
        if (!isHttpUrl(url)) return p(`${f}.url`, "must be an http(s) URL");
        const hook: WebhookSettings = { url };
        const kind = optString(entry.kind, `${f}.kind`, p)?.toLowerCase();
        if (kind && isWebhookFormat(kind)) hook.kind = kind;
        else if (kind) p(`${f}.kind`, `must be one of ${WEBHOOK_FORMAT_NAMES.join(", ")}`);
        for (const k of ["secret", "secondarySecret", "legacySecret"] as const) {
          const value = optString(entry[k], `${f}.${k}`, p);
          const problem = value && k !== "legacySecret" ? signingSecretProblem(value) : null;
          if (problem) p(`${f}.${k}`, problem);
          else if (value) hook[k] = value;
        }
        if (!hook.secret && (hook.secondarySecret || hook.legacySecret))
          p(`${f}.secret`, "is required with secondarySecret or legacySecret");
        out.webhooks.push(hook);
      });
  }
  if (v.installers !== undefined) {
    if (!Array.isArray(v.installers)) p(`${field}.installers`, "must be an array");
    else
      v.installers.forEach((inst, i) => {
        const parsed = parseInstaller(inst, `${field}.installers[${i}]`, platform, observed, p);
        if (parsed) out.installers.push(parsed);
      });
  }
  return out;
}

function parseInstaller(
  v: unknown,
  f: string,
  platform: Platform,
  observed: ObservedCertificate[],
  p: Report,
): InstallerSettings | undefined {
  if (!isObj(v)) {
    p(f, "must be an object with type nginx, haproxy or command");
    return undefined;
  }
  const certificates = optStringArray(v.certificates, `${f}.certificates`, p);
  certificates.forEach((c, j) => {
    if (!observed.some((o) => o.name === c || o.url === c.replace(/\/$/, "")))
      p(`${f}.certificates[${j}]`, `"${c}" is not an observed certificate (name or URL)`);
  });
  const argv = (key: string): string[] | undefined => {
    const raw = v[key];
    if (raw === undefined) return undefined;
    if (!Array.isArray(raw) || raw.length === 0 || raw.some((s) => typeof s !== "string" || s === "")) {
      p(`${f}.${key}`, 'must be a non-empty argv array like ["systemctl", "reload", "nginx"] (run without a shell)');
      return undefined;
    }
    return raw as string[];
  };
  if ((v.type === "nginx" || v.type === "haproxy") && platform === "windows") {
    p(`${f}.type`, `${v.type} installers run on Linux only`);
    return undefined;
  }
  switch (v.type) {
    case "nginx": {
      const inst: NginxInstaller = { type: "nginx", certificates, binary: optString(v.binary, `${f}.binary`, p) ?? "/usr/sbin/nginx" };
      const config = optString(v.config, `${f}.config`, p);
      if (config) inst.config = config;
      const prefix = optString(v.prefix, `${f}.prefix`, p);
      if (prefix) inst.prefix = prefix;
      const reload = argv("reloadCommand");
      if (reload) inst.reloadCommand = reload;
      return inst;
    }
    case "haproxy": {
      const socket = optString(v.socket, `${f}.socket`, p);
      if (!socket) {
        if (v.socket === undefined) p(`${f}.socket`, "is required: the runtime API socket (unix path or host:port)");
        return undefined;
      }
      const inst: HaproxyInstaller = { type: "haproxy", certificates, socket };
      const certFile = optString(v.certFile, `${f}.certFile`, p);
      if (certFile) inst.certFile = certFile;
      return inst;
    }
    case "command": {
      const command = argv("command");
      if (!command) {
        if (v.command === undefined) p(`${f}.command`, "is required");
        return undefined;
      }
      let timeoutInS = 60;
      if (v.timeoutInS !== undefined) {
        if (!Number.isInteger(v.timeoutInS) || (v.timeoutInS as number) < 1) p(`${f}.timeoutInS`, "must be an integer ≥ 1");
        else timeoutInS = v.timeoutInS as number;
      }
      return { type: "command", certificates, command, timeoutInS };
    }
    default:
      p(`${f}.type`, `must be "nginx", "haproxy" or "command" (got ${JSON.stringify(v.type)})`);
      return undefined;
  }
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

function parseReport(v: unknown, f: string, p: Report): AppReportSettings | undefined {
  if (!isObj(v)) {
    p(f, 'must be an object like {"url": "https://<app>.azurewebsites.net/api/agents/reports", "resource": "api://<client id>"}');
    return undefined;
  }
  for (const key of Object.keys(v)) if (!["url", "resource", "functionKey"].includes(key)) p(`${f}.${key}`, "unknown setting");
  const url = optString(v.url, `${f}.url`, p);
  const resource = optString(v.resource, `${f}.resource`, p);
  const functionKey = optString(v.functionKey, `${f}.functionKey`, p);
  if (url === undefined) {
    if (v.url === undefined) p(`${f}.url`, "is required: the app's /api/agents/reports URL");
    return undefined;
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    p(`${f}.url`, "is not a URL");
    return undefined;
  }
  if (u.protocol !== "https:" && !(u.protocol === "http:" && LOOPBACK.has(u.hostname)))
    return void p(`${f}.url`, "must use https (plain http only to the local host on loopback)");
  if (!/\/api\/(automation\/)?agents\/reports$/.test(u.pathname))
    return void p(`${f}.url`, "must end in /api/agents/reports or /api/automation/agents/reports");
  if (resource !== undefined && functionKey !== undefined)
    return void p(f, "use either resource (managed identity) or functionKey, not both");
  if (functionKey !== undefined && !u.pathname.endsWith("/api/automation/agents/reports"))
    return void p(`${f}.url`, "with functionKey, report to the /api/automation/agents/reports route");
  return { url: u.href, ...(resource !== undefined ? { resource } : {}), ...(functionKey !== undefined ? { functionKey } : {}) };
}

/** Does an installer apply to this observed certificate? */
export function installerApplies(installer: InstallerSettings, cert: ObservedCertificate): boolean {
  return installer.certificates.length === 0 || installer.certificates.some((c) => c === cert.name || c.replace(/\/$/, "") === cert.url);
}
