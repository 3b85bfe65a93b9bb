/**
 * Validation and wire rendering for the Key Vault stand-in: request bodies -> records, records -> the JSON the
 * real service returns (field names, order and formats as in the recordings under shared/conformance/keyvault).
 */
import { randomBytes } from "node:crypto";
import { x509 } from "../../shared/x509";
import { BadParameter, CURVE_BITS, KEY_USAGES, parseSubject, thumbprint, validity, type Curve, type KeySpec } from "./crypto";
import type { Attributes, CertRecord, CertVersionRecord, PendingRecord, PolicyRecord, SecretRecord, SecretVersionRecord } from "./store";

export const NAME_RE = /^[0-9a-zA-Z-]{1,127}$/;
export const PKCS12 = "application/x-pkcs12";
export const PEM = "application/x-pem-file";
export const RECOVERY = { recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90 } as const;
export const STATUS_SELF =
  "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later.";
export const STATUS_UNKNOWN = "Pending certificate created. Please Perform Merge to complete the request.";
const DEFAULT_EKUS = ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"];
const DEFAULT_KU = ["digitalSignature", "keyEncipherment"];
const SAN_KEYS = ["dns_names", "emails", "upns", "ipAddresses", "uris"];

/** Unix seconds. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
/** A Key Vault object version: 32 lowercase hex. */
export const newVersion = (): string => randomBytes(16).toString("hex");

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function optionalObject(v: unknown, field: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new BadParameter(`Property ${field} has invalid value`);
  return v;
}

function stringArray(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((e) => typeof e !== "string" || e.length === 0))
    throw new BadParameter(`Property ${field} has invalid value`);
  return v as string[];
}

/** Validates tags: an object of at most 15 string values. */
export function parseTags(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || Object.values(v).some((t) => typeof t !== "string")) throw new BadParameter("Property tags has invalid value");
  if (Object.keys(v).length > 15) throw new BadParameter("Too many tags: at most 15 are allowed");
  return v as Record<string, string>;
}

/** Validates `attributes` of a request: enabled boolean, nbf/exp numbers. */
export function parseAttributes(v: unknown): { enabled?: boolean; nbf?: number; exp?: number } {
  const a = optionalObject(v, "attributes");
  if (a.enabled !== undefined && typeof a.enabled !== "boolean") throw new BadParameter("Property attributes.enabled has invalid value");
  for (const k of ["nbf", "exp"])
    if (a[k] !== undefined && a[k] !== null && typeof a[k] !== "number")
      throw new BadParameter(`Property attributes.${k} has invalid value`);
  return {
    enabled: a.enabled as boolean | undefined,
    nbf: (a.nbf as number | undefined) ?? undefined,
    exp: (a.exp as number | undefined) ?? undefined,
  };
}

/**
 * Validates a (possibly partial) policy from a request and merges it over `base` (an existing policy, or
 * undefined for a new certificate, where subject or SANs are required). Returns the complete stored policy.
 */
export function parsePolicy(input: unknown, base: PolicyRecord | undefined, now: number): PolicyRecord {
  const p = optionalObject(input, "policy");
  const keyIn = optionalObject(p.key_props, "policy.key_props");
  const secretIn = optionalObject(p.secret_props, "policy.secret_props");
  const x509In = optionalObject(p.x509_props, "policy.x509_props");
  const issuerIn = optionalObject(p.issuer, "policy.issuer");

  const kty = String(keyIn.kty ?? base?.key_props.kty ?? "RSA");
  const baseKty = kty.replace(/-HSM$/, "");
  if (baseKty !== "RSA" && baseKty !== "EC")
    throw new BadParameter(`Property policy.key_props.kty has invalid value: ${kty}. Supported key types are RSA, RSA-HSM, EC and EC-HSM.`);
  const sameType = base?.key_props.kty === kty;
  const key_props: PolicyRecord["key_props"] = {
    exportable: bool(keyIn.exportable, base?.key_props.exportable ?? true, "policy.key_props.exportable"),
    kty,
    reuse_key: bool(keyIn.reuse_key, base?.key_props.reuse_key ?? false, "policy.key_props.reuse_key"),
  };
  if (baseKty === "RSA") {
    const size = keyIn.key_size ?? (sameType ? base?.key_props.key_size : undefined) ?? 2048;
    if (size !== 2048 && size !== 3072 && size !== 4096)
      throw new BadParameter(
        `Property policy.key_props.key_size has invalid value: ${String(size)}. RSA key size must be 2048, 3072 or 4096.`,
      );
    key_props.key_size = size;
  } else {
    const crvRaw = keyIn.crv ?? (sameType ? base?.key_props.crv : undefined) ?? curveForSize(keyIn.key_size);
    if (typeof crvRaw !== "string" || !(crvRaw in CURVE_BITS))
      throw new BadParameter(
        `Property policy.key_props.crv has invalid value: ${String(crvRaw)}. Supported curves are P-256, P-384 and P-521.`,
      );
    const crv = crvRaw as Curve;
    if (keyIn.key_size !== undefined && keyIn.key_size !== CURVE_BITS[crv])
      throw new BadParameter(`Property policy.key_props.key_size has invalid value: ${String(keyIn.key_size)} for curve ${crv}.`);
    key_props.key_size = CURVE_BITS[crv];
    key_props.crv = crv;
  }
  if (p.key_props !== undefined && keyIn.exportable === false && key_props.exportable) key_props.exportable = false;

  const contentType = secretIn.contentType ?? base?.secret_props.contentType ?? PKCS12;
  if (contentType !== PKCS12 && contentType !== PEM)
    throw new BadParameter(`Property policy.secret_props.contentType has invalid value: ${String(contentType)}`);

  const subject = x509In.subject ?? base?.x509_props.subject;
  if (subject !== undefined && (typeof subject !== "string" || subject.length === 0))
    throw new BadParameter("Property policy.x509_props.subject has invalid value");
  if (typeof subject === "string") parseSubject(subject);
  let sans = base?.x509_props.sans;
  if (x509In.sans !== undefined && x509In.sans !== null) {
    const s = optionalObject(x509In.sans, "policy.x509_props.sans");
    sans = {};
    for (const [k, v] of Object.entries(s)) {
      if (!SAN_KEYS.includes(k)) throw new BadParameter(`Property policy.x509_props.sans.${k} is not supported`);
      const list = stringArray(v, `policy.x509_props.sans.${k}`);
      if (list) sans[k] = list;
    }
    for (const d of sans.dns_names ?? [])
      if (!/^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(d))
        throw new BadParameter(`Property policy.x509_props.sans.dns_names has invalid value: ${d}`);
  }
  const sanCount = Object.values(sans ?? {}).reduce((n, l) => n + l.length, 0);
  if (!subject && sanCount === 0)
    throw new BadParameter("Property policy.x509_props must have a subject or at least one subject alternative name");
  const ekus = stringArray(x509In.ekus, "policy.x509_props.ekus") ?? base?.x509_props.ekus ?? DEFAULT_EKUS;
  if (ekus.some((e) => !/^\d+(\.\d+)+$/.test(e))) throw new BadParameter("Property policy.x509_props.ekus has invalid value");
  const key_usage = stringArray(x509In.key_usage, "policy.x509_props.key_usage") ?? base?.x509_props.key_usage ?? DEFAULT_KU;
  const badKu = key_usage.find((k) => !KEY_USAGES.includes(k));
  if (badKu) throw new BadParameter(`Property policy.x509_props.key_usage has invalid value: ${badKu}`);
  const validity_months = x509In.validity_months ?? base?.x509_props.validity_months ?? 12;
  if (typeof validity_months !== "number" || !Number.isInteger(validity_months) || validity_months < 1 || validity_months > 1200)
    throw new BadParameter("Property policy.x509_props.validity_months has invalid value");

  const issuerName = issuerIn.name ?? base?.issuer.name ?? "Unknown";
  if (typeof issuerName !== "string" || !NAME_RE.test(issuerName)) throw new BadParameter("Property policy.issuer.name has invalid value");
  if (issuerName !== "Self" && issuerName !== "Unknown")
    throw new BadParameter(`Issuer ${issuerName} is not configured in this key vault. Use Self or Unknown.`);
  const issuer: PolicyRecord["issuer"] = { name: issuerName };
  const ct = issuerIn.cert_transparency ?? (base?.issuer.name === issuerName ? base.issuer.cert_transparency : undefined);
  if (ct !== undefined) issuer.cert_transparency = bool(ct, false, "policy.issuer.cert_transparency");
  if (typeof issuerIn.cty === "string") issuer.cty = issuerIn.cty;

  let lifetime_actions = base?.lifetime_actions ?? [
    { trigger: { lifetime_percentage: 80 }, action: { action_type: issuerName === "Unknown" ? "EmailContacts" : "AutoRenew" } },
  ];
  if (p.lifetime_actions !== undefined && p.lifetime_actions !== null) {
    if (!Array.isArray(p.lifetime_actions)) throw new BadParameter("Property policy.lifetime_actions has invalid value");
    lifetime_actions = p.lifetime_actions.map((a: unknown) => {
      const action = optionalObject(optionalObject(a, "policy.lifetime_actions").action, "policy.lifetime_actions.action");
      const trigger = optionalObject(optionalObject(a, "policy.lifetime_actions").trigger, "policy.lifetime_actions.trigger");
      if (action.action_type !== "AutoRenew" && action.action_type !== "EmailContacts")
        throw new BadParameter("Property policy.lifetime_actions.action.action_type has invalid value");
      const t: Record<string, number> = {};
      for (const k of ["lifetime_percentage", "days_before_expiry"]) if (typeof trigger[k] === "number") t[k] = trigger[k] as number;
      return { trigger: t, action: { action_type: action.action_type } };
    });
  }
  const attrsIn = parseAttributes(p.attributes);
  const ordered: PolicyRecord["x509_props"] = {
    subject: typeof subject === "string" ? subject : "",
    ...(sans !== undefined ? { sans } : {}),
    ekus,
    key_usage,
    validity_months,
    basic_constraints: { ca: false },
  };
  return {
    key_props,
    secret_props: { contentType: contentType as string },
    x509_props: ordered,
    lifetime_actions,
    issuer,
    attributes: { enabled: attrsIn.enabled ?? base?.attributes.enabled ?? true, created: base?.attributes.created ?? now, updated: now },
  };
}

function bool(v: unknown, fallback: boolean, field: string): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "boolean") throw new BadParameter(`Property ${field} has invalid value`);
  return v;
}

function curveForSize(size: unknown): string {
  if (size === undefined) return "P-256";
  const found = Object.entries(CURVE_BITS).find(([, bits]) => bits === size);
  return found ? found[0] : `size ${String(size)}`;
}

/** The key spec a policy asks for. */
export function keySpecOf(policy: PolicyRecord): KeySpec {
  return policy.key_props.kty.startsWith("EC")
    ? { kty: "EC", crv: (policy.key_props.crv ?? "P-256") as Curve }
    : { kty: "RSA", keySize: policy.key_props.key_size ?? 2048 };
}

/** The policy Key Vault derives for an imported certificate without one. */
export function derivedPolicy(keySpec: KeySpec, leafB64: string, contentType: string, now: number): PolicyRecord {
  const cert = new x509.X509Certificate(Buffer.from(leafB64, "base64"));
  const v = validity(leafB64);
  const raw = (oid: string) => cert.extensions.find((e) => e.type === oid)?.rawData;
  const ekuRaw = raw("2.5.29.37");
  const kuRaw = raw("2.5.29.15");
  const sanRaw = raw("2.5.29.17");
  const eku = ekuRaw && new x509.ExtendedKeyUsageExtension(ekuRaw);
  const ku = kuRaw && new x509.KeyUsagesExtension(kuRaw);
  const san = sanRaw && new x509.SubjectAlternativeNameExtension(sanRaw);
  const x509_props: PolicyRecord["x509_props"] = {
    subject: cert.subject,
    ekus: eku ? eku.usages.map(String) : [],
    key_usage: ku ? KEY_USAGES.filter((name) => (ku.usages & (x509.KeyUsageFlags as unknown as Record<string, number>)[name]) !== 0) : [],
    validity_months: Math.max(1, Math.round((v.exp - v.nbf) / (30.4375 * 86400))),
    basic_constraints: { ca: false },
  };
  if (san) {
    const dns = san.names.items.filter((n) => n.type === "dns").map((n) => n.value);
    const emails = san.names.items.filter((n) => n.type === "email").map((n) => n.value);
    const sans: Record<string, string[]> = {};
    if (dns.length) sans.dns_names = dns;
    if (emails.length) sans.emails = emails;
    if (Object.keys(sans).length) x509_props.sans = sans;
  }
  const ordered = {
    subject: x509_props.subject,
    ...(x509_props.sans ? { sans: x509_props.sans } : {}),
    ekus: x509_props.ekus,
    key_usage: x509_props.key_usage,
    validity_months: x509_props.validity_months,
    basic_constraints: { ca: false },
  };
  return {
    key_props: {
      exportable: true,
      kty: keySpec.kty,
      key_size: keySpec.keySize,
      reuse_key: false,
      ...(keySpec.crv ? { crv: keySpec.crv } : {}),
    },
    secret_props: { contentType },
    x509_props: ordered,
    lifetime_actions: [{ trigger: { lifetime_percentage: 80 }, action: { action_type: "EmailContacts" } }],
    issuer: { name: "Unknown" },
    attributes: { enabled: true, created: now, updated: now },
  };
}

/** Renders the wire objects; `base` is the vault URL without a trailing slash. */
export class Renderer {
  constructor(private readonly base: string) {}

  private attrs(a: Attributes, recovery: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = { enabled: a.enabled };
    if (a.nbf !== undefined) out.nbf = a.nbf;
    if (a.exp !== undefined) out.exp = a.exp;
    out.created = a.created;
    out.updated = a.updated;
    return recovery ? { ...out, ...RECOVERY } : out;
  }

  policy(rec: CertRecord): Record<string, unknown> {
    const p = rec.policy;
    return {
      id: `${this.base}/certificates/${rec.name}/policy`,
      key_props: p.key_props,
      secret_props: p.secret_props,
      x509_props: p.x509_props,
      lifetime_actions: p.lifetime_actions,
      issuer: p.issuer,
      attributes: p.attributes,
    };
  }

  /** A CertificateBundle (get, merge, import, update). */
  certificate(rec: CertRecord, ver: CertVersionRecord, withPending = true): Record<string, unknown> {
    const out: Record<string, unknown> = { id: `${this.base}/certificates/${rec.name}/${ver.version}` };
    if (ver.certs) {
      out.kid = `${this.base}/keys/${rec.name}/${ver.version}`;
      out.sid = `${this.base}/secrets/${rec.name}/${ver.version}`;
      out.x5t = thumbprint(ver.certs[0]);
      out.cer = ver.certs[0];
    }
    out.attributes = this.attrs(ver.attributes, true);
    if (ver.tags && Object.keys(ver.tags).length) out.tags = ver.tags;
    out.policy = this.policy(rec);
    if (withPending && rec.pending) out.pending = { id: `${this.base}/certificates/${rec.name}/pending` };
    return out;
  }

  deletedCertificate(rec: CertRecord, ver: CertVersionRecord): Record<string, unknown> {
    return {
      recoveryId: `${this.base}/deletedcertificates/${rec.name}`,
      deletedDate: rec.deleted?.deletedDate,
      scheduledPurgeDate: rec.deleted?.scheduledPurgeDate,
      ...this.certificate(rec, ver, false),
    };
  }

  /** A CertificateItem of the list endpoints. */
  certificateItem(rec: CertRecord, ver: CertVersionRecord, withVersion: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = { id: `${this.base}/certificates/${rec.name}${withVersion ? `/${ver.version}` : ""}` };
    if (ver.certs) out.x5t = thumbprint(ver.certs[0]);
    out.attributes = this.attrs(ver.attributes, false);
    if (ver.tags && Object.keys(ver.tags).length) out.tags = ver.tags;
    out.subject = "";
    if (rec.deleted)
      return {
        recoveryId: `${this.base}/deletedcertificates/${rec.name}`,
        deletedDate: rec.deleted.deletedDate,
        scheduledPurgeDate: rec.deleted.scheduledPurgeDate,
        ...out,
      };
    return out;
  }

  /** A CertificateOperation (create, get/patch/delete pending). */
  operation(
    rec: CertRecord,
    op: PendingRecord,
    view?: Partial<Pick<PendingRecord, "status" | "cancellationRequested" | "statusDetails">>,
  ): Record<string, unknown> {
    const status = view?.status ?? op.status;
    const details = view && "statusDetails" in view ? view.statusDetails : op.statusDetails;
    const out: Record<string, unknown> = {
      id: `${this.base}/certificates/${rec.name}/pending`,
      issuer: { name: op.issuer.name },
      csr: op.csr,
      cancellation_requested: view?.cancellationRequested ?? op.cancellationRequested,
      status,
    };
    if ((status === "inProgress" || status === "failed") && details) out.status_details = details;
    if (status === "failed" && op.error) out.error = { code: op.error.code, message: op.error.message };
    if (status === "completed") out.target = `${this.base}/certificates/${rec.name}`;
    out.request_id = op.requestId;
    return out;
  }

  secretOfCertificate(rec: CertRecord, ver: CertVersionRecord, value: string | undefined): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (value !== undefined) out.value = value;
    out.contentType = ver.contentType;
    out.id = `${this.base}/secrets/${rec.name}/${ver.version}`;
    out.managed = true;
    out.attributes = this.attrs(ver.attributes, true);
    if (ver.tags && Object.keys(ver.tags).length) out.tags = ver.tags;
    out.kid = `${this.base}/keys/${rec.name}/${ver.version}`;
    return out;
  }

  secret(rec: SecretRecord, ver: SecretVersionRecord, withValue: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (withValue) out.value = ver.value;
    if (ver.contentType !== undefined) out.contentType = ver.contentType;
    out.id = `${this.base}/secrets/${rec.name}/${ver.version}`;
    out.attributes = this.attrs(ver.attributes, true);
    if (ver.tags && Object.keys(ver.tags).length) out.tags = ver.tags;
    if (rec.deleted)
      return {
        recoveryId: `${this.base}/deletedsecrets/${rec.name}`,
        deletedDate: rec.deleted.deletedDate,
        scheduledPurgeDate: rec.deleted.scheduledPurgeDate,
        ...out,
      };
    return out;
  }

  secretItem(
    name: string,
    ver: { version: string; contentType?: string; attributes: Attributes; tags?: Record<string, string> },
    managed: boolean,
    withVersion: boolean,
    deleted?: { deletedDate: number; scheduledPurgeDate: number },
  ): Record<string, unknown> {
    const out: Record<string, unknown> = { id: `${this.base}/secrets/${name}${withVersion ? `/${ver.version}` : ""}` };
    out.attributes = this.attrs(ver.attributes, false);
    if (ver.tags && Object.keys(ver.tags).length) out.tags = ver.tags;
    if (ver.contentType !== undefined) out.contentType = ver.contentType;
    if (managed) out.managed = true;
    if (deleted) return { recoveryId: `${this.base}/deletedsecrets/${name}`, ...deleted, ...out };
    return out;
  }
}
