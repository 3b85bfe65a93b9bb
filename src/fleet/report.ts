/**
 * The agent's report to the Function App (`POST /api/agents/reports`): which host it is, which agent version runs
 * there, and per observed certificate what is installed. Parsing is pure and validates every field like any other
 * input of the API: bounded sizes, a restricted host id (it becomes a Table Storage partition key), no key material.
 */
import { ValidationError, type FieldProblem } from "../shared/errors";

/** What the agent reports about one observed certificate. */
export interface CertificateReport {
  /** Vault certificate (= secret) name. */
  name: string;
  /** `https://<vault host>` the certificate comes from. */
  vaultUrl?: string;
  /** The version in service on the host (none when nothing could be installed yet). */
  installedVersion?: string;
  /** SHA-1 thumbprint of the installed leaf, upper-case hex. */
  thumbprint?: string;
  /** NotAfter of the installed leaf (ISO 8601). */
  notAfter?: string;
  /** Store path or Cert:\ path. */
  location?: string;
  /** Bindings or servers updated by the last install. */
  bindingsUpdated: string[];
  /** The last attempt's error, when it failed. */
  lastError?: string;
}

export interface AgentReport {
  /** Stable host id (machine id, VM id or the `kvAcme.hostId` setting). */
  hostId: string;
  agentVersion: string;
  /** The agent's polling interval: a host not seen for 3 of them is stale. */
  pollingIntervalInS: number;
  certificates: CertificateReport[];
}

export const REPORT_LIMITS = {
  certificates: 90,
  bindings: 50,
  text: 256,
  error: 1024,
  pollingIntervalInS: { min: 1, max: 7 * 86400 },
} as const;

const REPORT_FIELDS = ["hostId", "agentVersion", "pollingIntervalInS", "certificates"] as const;
const CERTIFICATE_FIELDS = ["name", "vaultUrl", "installedVersion", "thumbprint", "notAfter", "location", "bindingsUpdated", "lastError"];
/** Letters, digits and . _ : - ; 1-128 characters: safe as a Table Storage PartitionKey (no / \ # ? or control characters). */
const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const CERTIFICATE_NAME = /^[0-9A-Za-z-]{1,127}$/;
const VERSION = /^[0-9A-Za-z]{1,64}$/;
const THUMBPRINT = /^([0-9A-F]{40}|[0-9A-F]{64})$/;
const AGENT_VERSION = /^[0-9A-Za-z.+-]{1,64}$/;
const KEY_MATERIAL = /PRIVATE KEY|-----BEGIN/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Validates a report body; throws one ValidationError naming every bad field (nothing is stored then). */
export function parseAgentReport(body: Obj): AgentReport {
  const problems: FieldProblem[] = [];
  const p = (field: string, message: string) => problems.push({ field, message });
  for (const key of Object.keys(body)) if (!(REPORT_FIELDS as readonly string[]).includes(key)) p(key, "unknown field");
  const hostId = matching(
    body.hostId,
    "hostId",
    HOST_ID,
    "1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit",
    p,
    true,
  );
  const agentVersion = matching(body.agentVersion, "agentVersion", AGENT_VERSION, "a version like 0.1.0", p, true);
  const interval = body.pollingIntervalInS;
  const { min, max } = REPORT_LIMITS.pollingIntervalInS;
  if (!Number.isInteger(interval) || (interval as number) < min || (interval as number) > max)
    p("pollingIntervalInS", `must be a whole number of seconds from ${min} to ${max}`);
  const certificates: CertificateReport[] = [];
  if (!Array.isArray(body.certificates)) p("certificates", "must be an array (empty when the host observes none)");
  else if (body.certificates.length > REPORT_LIMITS.certificates) p("certificates", `at most ${REPORT_LIMITS.certificates} per report`);
  else {
    const seen = new Set<string>();
    body.certificates.forEach((c, i) => {
      const f = `certificates[${i}]`;
      if (!isObj(c)) return p(f, "must be an object");
      const parsed = parseCertificate(c, f, p);
      if (!parsed) return;
      // The same name may come from two vaults; once per vault.
      const key = `${(parsed.vaultUrl ?? "").toLowerCase()}|${parsed.name.toLowerCase()}`;
      if (seen.has(key)) return p(`${f}.name`, `"${parsed.name}" is reported twice${parsed.vaultUrl ? ` for ${parsed.vaultUrl}` : ""}`);
      seen.add(key);
      certificates.push(parsed);
    });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return { hostId: hostId!, agentVersion: agentVersion!, pollingIntervalInS: interval as number, certificates };
}

type Report = (field: string, message: string) => void;

function parseCertificate(c: Obj, f: string, p: Report): CertificateReport | undefined {
  for (const key of Object.keys(c)) if (!CERTIFICATE_FIELDS.includes(key)) p(`${f}.${key}`, "unknown field");
  const name = matching(c.name, `${f}.name`, CERTIFICATE_NAME, "a Key Vault certificate name (1-127 letters, digits, hyphens)", p, true);
  const out: CertificateReport = { name: name ?? "", bindingsUpdated: [] };
  const vaultUrl = text(c.vaultUrl, `${f}.vaultUrl`, REPORT_LIMITS.text, p);
  if (vaultUrl !== undefined) {
    if (!/^https:\/\/[^/\s]+$/.test(vaultUrl)) p(`${f}.vaultUrl`, "must be https://<vault host> without a path");
    else out.vaultUrl = vaultUrl;
  }
  const version = matching(c.installedVersion, `${f}.installedVersion`, VERSION, "a Key Vault version id (letters and digits)", p, false);
  if (version !== undefined) out.installedVersion = version;
  const thumbprint = matching(c.thumbprint, `${f}.thumbprint`, THUMBPRINT, "upper-case hex SHA-1 (40) or SHA-256 (64)", p, false);
  if (thumbprint !== undefined) out.thumbprint = thumbprint;
  const notAfter = text(c.notAfter, `${f}.notAfter`, 40, p);
  if (notAfter !== undefined) {
    const t = Date.parse(notAfter);
    if (!/^\d{4}-\d\d-\d\dT/.test(notAfter) || Number.isNaN(t)) p(`${f}.notAfter`, "must be an ISO 8601 date-time");
    else out.notAfter = new Date(t).toISOString();
  }
  const location = text(c.location, `${f}.location`, REPORT_LIMITS.text * 2, p);
  if (location !== undefined) out.location = location;
  if (c.bindingsUpdated !== undefined) {
    const b = c.bindingsUpdated;
    if (
      !Array.isArray(b) ||
      b.length > REPORT_LIMITS.bindings ||
      b.some((s) => typeof s !== "string" || s === "" || s.length > REPORT_LIMITS.text)
    )
      p(
        `${f}.bindingsUpdated`,
        `must be an array of at most ${REPORT_LIMITS.bindings} non-empty strings of at most ${REPORT_LIMITS.text} characters`,
      );
    else out.bindingsUpdated = [...(b as string[])];
  }
  const lastError = text(c.lastError, `${f}.lastError`, REPORT_LIMITS.error, p);
  if (lastError !== undefined) out.lastError = lastError;
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === "string" && KEY_MATERIAL.test(v)) p(`${f}.${k}`, "must not contain key or certificate material");
  }
  return name === undefined ? undefined : out;
}

function text(v: unknown, field: string, maxLength: number, p: Report): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length === 0 || v.length > maxLength) {
    p(field, `must be a non-empty string of at most ${maxLength} characters`);
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(v)) {
    p(field, "must not contain control characters");
    return undefined;
  }
  return v;
}

function matching(v: unknown, field: string, re: RegExp, what: string, p: Report, required: boolean): string | undefined {
  if (v === undefined || v === null) {
    if (required) p(field, `is required: ${what}`);
    return undefined;
  }
  if (typeof v !== "string" || !re.test(v)) {
    p(field, `must be ${what}`);
    return undefined;
  }
  return v;
}
