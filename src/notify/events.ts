/**
 * The webhook event model. Every event has a stable `id` (the idempotency key: a hash of the event type, the
 * certificate and the version or operation id, so a retried activity produces the same key), a `time`, a
 * `source` and a `subject`, plus typed `data` described by the versioned JSON Schema in schema/v1.json.
 */
import { createHash } from "node:crypto";

/** Version of the `data` schema (schema/v1.json); bumped only on incompatible changes. */
export const DATA_SCHEMA_VERSION = "1" as const;

export const EVENT_TYPES = [
  "certificate.issued",
  "certificate.renewed",
  "certificate.renewal_failed",
  "certificate.revoked",
  "certificate.expiring",
  "certificate.issuer_changed",
  "certificate.issuer_rejected",
  "certificate.lifetime_shortened",
  "renewal.summary",
  "certificate.installed",
  "certificate.install_failed",
  "certificate.host_stale",
  "webhook.ping",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An error from the ACME CA, Azure (Key Vault, DNS) or kv-acme itself, as reported to people. */
export interface ReportedError {
  /** Who produced the error. */
  source: "acme" | "keyvault" | "dns" | "azure" | "agent" | "internal";
  /** The upstream error code, e.g. `urn:ietf:params:acme:error:rateLimited` or `Conflict`. */
  code?: string;
  message: string;
  /** HTTP status of the upstream response, when there was one. */
  status?: number;
}

interface CertificateFields {
  certificateName: string;
  /** The vault holding the certificate (its name in the settings; `default` for KvAcme__VaultUrl). */
  vault?: string;
  dnsNames: string[];
}

export interface CertificateIssuedData extends CertificateFields {
  version: string;
  /** SHA-1 thumbprint of the certificate (hex), as Azure shows it. */
  thumbprint: string;
  notBefore: string;
  notAfter: string;
  /** Host of the ACME directory, e.g. `acme-v02.api.letsencrypt.org`. */
  caHost: string;
  /** What went wrong although the certificate was issued and is current (e.g. its tags could not be written). */
  warnings?: string[];
  keyVault?: string;
}

export interface CertificateRenewedData extends CertificateIssuedData {
  previousVersion?: string;
  /** Why it was renewed: `days-before-expiry`, `lifetime-fraction`, `ari`, `manual`, ... */
  reason?: string;
}

export interface CertificateRenewalFailedData extends CertificateFields {
  /** The step that failed: `order`, `dns-present`, `propagation`, `validate`, `finalize`, `merge`, ... */
  failedStep: string;
  error: ReportedError;
  /** Failed attempts so far for this certificate (1 = first failure). */
  attempt: number;
  operationId: string;
  caHost?: string;
  /** The CA refused the renewal as rateLimited: it is not tried again before this time (the CA's Retry-After). */
  retryNotBefore?: string;
}

export interface CertificateRevokedData extends CertificateFields {
  version: string;
  thumbprint: string;
  serialNumber?: string;
  /** RFC 5280 CRLReason code (0 unspecified, 1 keyCompromise, 4 superseded, 5 cessationOfOperation). */
  reasonCode?: number;
  caHost?: string;
}

export interface CertificateExpiringData extends CertificateFields {
  version: string;
  notAfter: string;
  daysRemaining: number;
  /** `renewal-attempts-exhausted`: due but still not renewed after N attempts; `within-warning-threshold`. */
  reason: "renewal-attempts-exhausted" | "within-warning-threshold";
  failedAttempts?: number;
  lastError?: ReportedError;
}

/** An issuing CA certificate (the intermediate that signed a leaf). */
export interface IssuerData {
  subject: string;
  /** Key identifier, lower-case hex. */
  keyId?: string;
  /** SHA-1 thumbprint of the issuer certificate, upper-case hex (what Service Fabric issuer pins list). */
  thumbprint?: string;
}

/** A new version was merged whose issuer differs from the version it replaced (clusters pinning issuers care). */
export interface CertificateIssuerChangedData extends CertificateFields {
  version: string;
  thumbprint: string;
  issuer: IssuerData;
  previousVersion: string;
  previousIssuer: IssuerData;
  /** The certificate's issuer pins (the new issuer is among them when any are set). */
  issuerPins: string[];
  caHost: string;
  keyVault?: string;
}

/** A new version was refused before its merge: its issuer is not in the certificate's pins. The old version stays. */
export interface CertificateIssuerRejectedData extends CertificateFields {
  issuer: IssuerData;
  issuerPins: string[];
  /** The version that stays current, when there is one. */
  currentVersion?: string;
  message: string;
  operationId?: string;
  caHost: string;
  keyVault?: string;
}

/** A new version expires before the version it replaced (older Service Fabric runtimes pick the latest NotAfter). */
export interface CertificateLifetimeShortenedData extends CertificateFields {
  version: string;
  notAfter: string;
  previousVersion: string;
  previousNotAfter: string;
  caHost: string;
  keyVault?: string;
}

export interface RenewalSummaryData {
  runId: string;
  startedAt: string;
  finishedAt: string;
  renewed: string[];
  failed: Array<{ certificateName: string; failedStep?: string; error?: string }>;
  skipped: Array<{ certificateName: string; reason: string }>;
  counts: { renewed: number; failed: number; skipped: number };
}

export interface CertificateInstalledData {
  /** The machine the agent runs on. */
  host: string;
  certificateName: string;
  version: string;
  thumbprint: string;
  /** Bindings moved to the new certificate, e.g. `IIS:Default Web Site:443`, `nginx:/etc/nginx/tls/site.crt`. */
  bindingsUpdated: string[];
}

export interface CertificateInstallFailedData {
  host: string;
  certificateName: string;
  version: string;
  thumbprint?: string;
  failedStep: string;
  error: ReportedError;
  bindingsUpdated: string[];
}

/** A host whose agent reports (the fleet) is stale: not seen, behind the vault's current version, or its installed certificate expires soon. */
export interface CertificateHostStaleData {
  host: string;
  /** `unseen`: no report for several polling intervals; `outdated`: still on an older version; `expiring`: the installed one expires soon. */
  reason: "unseen" | "outdated" | "expiring";
  message: string;
  lastSeen: string;
  agentVersion: string;
  /** The certificate concerned (absent for `unseen`). */
  certificateName?: string;
  /** The version installed on the host, when known. */
  installedVersion?: string;
}

/** A test delivery asked for by `kv-acme doctor --ping`: proves the target receives and verifies kv-acme's events. */
export interface WebhookPingData {
  /** Who asked for it, e.g. `kv-acme doctor`. */
  requestedBy: string;
  message: string;
}

export interface EventDataMap {
  "certificate.issued": CertificateIssuedData;
  "certificate.renewed": CertificateRenewedData;
  "certificate.renewal_failed": CertificateRenewalFailedData;
  "certificate.revoked": CertificateRevokedData;
  "certificate.expiring": CertificateExpiringData;
  "certificate.issuer_changed": CertificateIssuerChangedData;
  "certificate.issuer_rejected": CertificateIssuerRejectedData;
  "certificate.lifetime_shortened": CertificateLifetimeShortenedData;
  "renewal.summary": RenewalSummaryData;
  "certificate.installed": CertificateInstalledData;
  "certificate.install_failed": CertificateInstallFailedData;
  "certificate.host_stale": CertificateHostStaleData;
  "webhook.ping": WebhookPingData;
}

/** One event, as handed to the renderers. `data` always carries `schemaVersion`. */
export interface NotifyEvent<T extends EventType = EventType> {
  /** Idempotency key, stable across retries of the same activity. */
  id: string;
  type: T;
  /** Absolute URI naming the producer (eventSource), e.g. `urn:kv-acme:function-app:func-certs-prod`. */
  source: string;
  /** What the event is about: the certificate name, or `renewal-run/<runId>`. */
  subject: string;
  /** RFC 3339 timestamp. */
  time: string;
  data: EventDataMap[T] & { schemaVersion: typeof DATA_SCHEMA_VERSION };
}

/** Options shared by every event constructor. */
export interface EventOptions {
  /** Producer (CloudEvents `source`, an absolute URI: eventSource); default `urn:kv-acme`. */
  source?: string;
  /** Event time; pass the orchestration's current time for determinism. Default: now. */
  time?: Date;
}

/** Base of every event source: kv-acme's URN namespace (also that of the data schema, `urn:kv-acme:webhook-data:v1`). */
export const EVENT_SOURCE_BASE = "urn:kv-acme";

/**
 * The CloudEvents `source` of a producer, an absolute URI as CloudEvents recommends: `urn:kv-acme` +
 * `:function-app:<name>` for a Function App, `:agent:<host>` for a VM agent; each part percent-encoded.
 */
export function eventSource(...parts: Array<[kind: "function-app" | "agent", name: string]>): string {
  return [EVENT_SOURCE_BASE, ...parts.flatMap(([kind, name]) => [kind, encodeURIComponent(name)])].join(":");
}

/** The stable idempotency key: `evt_` + 32 hex chars of SHA-256 over the parts. */
export function eventId(type: EventType, ...parts: Array<string | number>): string {
  const h = createHash("sha256")
    .update([type, ...parts.map(String)].join("\u001f"))
    .digest("hex");
  return `evt_${h.slice(0, 32)}`;
}

function build<T extends EventType>(
  type: T,
  subject: string,
  idParts: Array<string | number>,
  data: EventDataMap[T],
  options: EventOptions,
): NotifyEvent<T> {
  return {
    id: eventId(type, ...idParts),
    type,
    source: options.source ?? eventSource(),
    subject,
    time: (options.time ?? new Date()).toISOString(),
    data: { schemaVersion: DATA_SCHEMA_VERSION, ...data },
  };
}

/** A new certificate was issued. Key: certificate + version. */
export function certificateIssued(data: CertificateIssuedData, options: EventOptions = {}): NotifyEvent<"certificate.issued"> {
  return build("certificate.issued", data.certificateName, [data.certificateName, data.version], data, options);
}

/** A certificate was renewed (a new version exists). Key: certificate + version. */
export function certificateRenewed(data: CertificateRenewedData, options: EventOptions = {}): NotifyEvent<"certificate.renewed"> {
  return build("certificate.renewed", data.certificateName, [data.certificateName, data.version], data, options);
}

/** A renewal failed. Key: certificate + operation id + attempt. */
export function certificateRenewalFailed(
  data: CertificateRenewalFailedData,
  options: EventOptions = {},
): NotifyEvent<"certificate.renewal_failed"> {
  return build("certificate.renewal_failed", data.certificateName, [data.certificateName, data.operationId, data.attempt], data, options);
}

/** A certificate was revoked at the CA. Key: certificate + version. */
export function certificateRevoked(data: CertificateRevokedData, options: EventOptions = {}): NotifyEvent<"certificate.revoked"> {
  return build("certificate.revoked", data.certificateName, [data.certificateName, data.version], data, options);
}

/**
 * A certificate is close to expiry and was not renewed. Key: certificate + version + reason + days remaining,
 * so each day's warning is a new event but a retried activity is not.
 */
export function certificateExpiring(data: CertificateExpiringData, options: EventOptions = {}): NotifyEvent<"certificate.expiring"> {
  return build(
    "certificate.expiring",
    data.certificateName,
    [data.certificateName, data.version, data.reason, data.daysRemaining],
    data,
    options,
  );
}

/** A merged version's issuer differs from the previous version's. Key: certificate + version. */
export function certificateIssuerChanged(
  data: CertificateIssuerChangedData,
  options: EventOptions = {},
): NotifyEvent<"certificate.issuer_changed"> {
  return build("certificate.issuer_changed", data.certificateName, [data.certificateName, data.version], data, options);
}

/** A new version was refused (issuer not pinned). Key: certificate + issuer thumbprint + operation id. */
export function certificateIssuerRejected(
  data: CertificateIssuerRejectedData,
  options: EventOptions = {},
): NotifyEvent<"certificate.issuer_rejected"> {
  return build(
    "certificate.issuer_rejected",
    data.certificateName,
    [data.certificateName, data.issuer.thumbprint ?? data.issuer.subject, data.operationId ?? ""],
    data,
    options,
  );
}

/** A merged version expires before the previous one. Key: certificate + version. */
export function certificateLifetimeShortened(
  data: CertificateLifetimeShortenedData,
  options: EventOptions = {},
): NotifyEvent<"certificate.lifetime_shortened"> {
  return build("certificate.lifetime_shortened", data.certificateName, [data.certificateName, data.version], data, options);
}

/** One renewal run's outcome; counts are derived from the lists. Key: run id. */
export function renewalSummary(data: Omit<RenewalSummaryData, "counts">, options: EventOptions = {}): NotifyEvent<"renewal.summary"> {
  const full: RenewalSummaryData = {
    ...data,
    counts: { renewed: data.renewed.length, failed: data.failed.length, skipped: data.skipped.length },
  };
  return build("renewal.summary", `renewal-run/${data.runId}`, [data.runId], full, options);
}

/** The VM agent installed a certificate version. Key: host + certificate + version. */
export function certificateInstalled(data: CertificateInstalledData, options: EventOptions = {}): NotifyEvent<"certificate.installed"> {
  return build("certificate.installed", data.certificateName, [data.host, data.certificateName, data.version], data, options);
}

/** The VM agent failed to install a certificate version. Key: host + certificate + version + step. */
export function certificateInstallFailed(
  data: CertificateInstallFailedData,
  options: EventOptions = {},
): NotifyEvent<"certificate.install_failed"> {
  return build(
    "certificate.install_failed",
    data.certificateName,
    [data.host, data.certificateName, data.version, data.failedStep],
    data,
    options,
  );
}

/** A host is stale. Key: host + the finding's notice key (reason, certificate, version), so it is sent once per host and version. */
export function certificateHostStale(
  data: CertificateHostStaleData,
  noticeKey: string,
  options: EventOptions = {},
): NotifyEvent<"certificate.host_stale"> {
  return build("certificate.host_stale", data.certificateName ?? data.host, [data.host, noticeKey], data, options);
}

/**
 * Does an event type pass a target's filter? `*` matches everything, a pattern ending in `*` matches by prefix
 * (`certificate.*`, `certificate.renew*`), anything else must be equal. An empty filter matches nothing.
 */
export function matchesFilter(eventType: string, filters: readonly string[]): boolean {
  return filters.some((f) => {
    const p = f.trim();
    if (p === "*") return true;
    if (p.endsWith("*")) return eventType.startsWith(p.slice(0, -1));
    return p === eventType;
  });
}

/** A ping (`kv-acme doctor --ping`). Key: the time it was asked for, so two pings are two events. */
export function webhookPing(requestedBy: string, options: EventOptions = {}): NotifyEvent<"webhook.ping"> {
  const time = options.time ?? new Date();
  return build(
    "webhook.ping",
    "webhook-ping",
    [time.toISOString()],
    { requestedBy, message: "kv-acme webhook test: if you can read this, deliveries and their signatures reach you." },
    { ...options, time },
  );
}
