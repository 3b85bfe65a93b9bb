/**
 * The Key Vault stand-in: an HTTPS server speaking the certificates and secrets REST subset that
 * @azure/keyvault-certificates and @azure/keyvault-secrets use, with real crypto and the real pending-operation
 * semantics (shared/reference/keyvault-rest.md). State is durable under `stateDir`.
 */
import { STANDIN_KEEP_ALIVE_MS, listen, urlHost } from "../net";
import { createServer, type Server } from "node:https";
import { withHttpFaults, type FaultInjector } from "../faults";
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { LOCAL_TENANT_ID, VAULT_AUDIENCE, type TokenAuthority } from "../identity/tokens";
import {
  BadParameter,
  buildPem,
  buildPfx,
  certificateMatchesKey,
  createCsr,
  createSelfSigned,
  describeKey,
  generateKey,
  parseImport,
  parseX5c,
  validity,
} from "./crypto";
import {
  NAME_RE,
  PEM,
  PKCS12,
  Renderer,
  STATUS_SELF,
  STATUS_UNKNOWN,
  derivedPolicy,
  keySpecOf,
  newVersion,
  nowSeconds,
  parseAttributes,
  parsePolicy,
  parseTags,
} from "./model";
import { VaultStore, type CertRecord, type CertVersionRecord, type SecretRecord } from "./store";
import { KEY_VAULT_LIMITS, THROTTLED_ERROR, VaultThrottle, transactionType, type KeyVaultLimits } from "./throttle";

export interface KeyVaultServerOptions {
  authority: TokenAuthority;
  tls: { certPem: string; keyPem: string };
  stateDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  /** Largest accepted request body; larger ones get 413. Default 256 KiB. */
  maxBodyBytes?: number;
  /**
   * "realistic" (default): long-running operations take about as long as on the service (a self-issued create
   * completes after seconds, a deleted item becomes readable after a short delay); "instant" for tests that want speed.
   */
  timing?: "realistic" | "instant";
  /** Issuer "Self": how long the operation stays inProgress before the certificate appears (overrides `timing`). */
  selfIssuerDelayMs?: number;
  /** How long a deleted certificate or secret takes to appear under deleted* (overrides `timing`). */
  deletedVisibleDelayMs?: number;
  /** Fault injection (target "keyvault"): 429 with Retry-After, 5xx, resets, latency. */
  faults?: FaultInjector;
  /**
   * Key Vault's throttling (./throttle.ts): the published limits per 10 s by transaction type (default
   * KEY_VAULT_LIMITS; fields given replace those), or false for none.
   */
  limits?: Partial<KeyVaultLimits> | false;
  /** The throttle's clock in ms (default Date.now; tests pass their own). */
  now?: () => number;
  /** Send Retry-After with a throttled 429 (default true; false as in the public capture of the service's 429). */
  throttleRetryAfter?: boolean;
}

export interface KeyVaultServer {
  /** https://127.0.0.1:PORT, no trailing slash. */
  url: string;
  port: number;
  /**
   * Ends an in-progress pending operation as `failed` with an error object, as the service does when a CA-integrated
   * issuer refuses the request (tests, the demo). A later create then overwrites it: reads with the old request id
   * answer 404, as the service's do for an `overwritten` operation. False when nothing was in progress.
   */
  failPending(certificateName: string, error: { code: string; message: string }): Promise<boolean>;
  /** The throttle's tallies (admitted and throttled transactions by type); undefined with `limits: false`. */
  throttle?: Pick<VaultThrottle, "admitted" | "throttled" | "limits">;
  close(): Promise<void>;
}

/** api-versions the real service accepts and this stand-in speaks. */
export const SUPPORTED_API_VERSIONS = new Set([
  "7.0",
  "7.1",
  "7.2",
  "7.3",
  "7.4",
  "7.5",
  "7.6",
  "7.3-preview",
  "7.4-preview.1",
  "7.5-preview.1",
  "7.6-preview.1",
  "7.6-preview.2",
  "2025-06-01-preview",
  "2025-07-01",
  "2026-04-01",
]);
const LATEST_API_VERSION = "2025-07-01";
const MAX_SECRET_VALUE = 25 * 1024;
const PAGE_MAX = 25;
const PURGE_DAYS = 90;
/** Durations of the "realistic" timing, as observed on the service: self-issued create, soft delete. */
const REALISTIC_TIMING = { selfIssuerDelayMs: 3_000, deletedVisibleDelayMs: 2_000 };

class KvHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly innererror?: { code: string },
  ) {
    super(message);
  }
}

const notFoundCert = (name: string) =>
  new KvHttpError(
    404,
    "CertificateNotFound",
    `A certificate with (name/id) ${name} was not found in this key vault. If you recently deleted this certificate you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
const notFoundSecret = (name: string) =>
  new KvHttpError(
    404,
    "SecretNotFound",
    `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
const notFoundPending = (name: string) => new KvHttpError(404, "PendingCertificateNotFound", `Pending certificate not found: ${name}`);
const bad = (message: string) => new KvHttpError(400, "BadParameter", message);
/** What Key Vault answers for a GET of a disabled secret version (also the secret of a disabled certificate version). */
const disabledSecret = () =>
  new KvHttpError(403, "Forbidden", "Operation get is not allowed on a disabled secret.", {}, { code: "SecretDisabled" });

interface Ctx {
  method: string;
  segs: string[];
  query: URLSearchParams;
  apiVersion: string;
  body: () => Record<string, unknown>;
}

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

/** Starts the Key Vault stand-in over HTTPS; resolves once it listens. */
export async function startKeyVaultServer(options: KeyVaultServerOptions): Promise<KeyVaultServer> {
  const store = await VaultStore.open(options.stateDir);
  const host = options.host ?? "127.0.0.1";
  const maxBody = options.maxBodyBytes ?? 256 * 1024;
  const instant = options.timing === "instant";
  const selfDelay = options.selfIssuerDelayMs ?? (instant ? 0 : REALISTIC_TIMING.selfIssuerDelayMs);
  const deleteDelay = options.deletedVisibleDelayMs ?? (instant ? 0 : REALISTIC_TIMING.deletedVisibleDelayMs);
  const deletedInfo = () => {
    const now = nowSeconds();
    return { deletedDate: now, scheduledPurgeDate: now + PURGE_DAYS * 86400, visibleAt: Date.now() + deleteDelay };
  };
  const deletedVisible = (d: { visibleAt?: number } | undefined): boolean => !!d && (d.visibleAt ?? 0) <= Date.now();
  const throttle = options.limits === false ? undefined : new VaultThrottle({ ...KEY_VAULT_LIMITS, ...options.limits });
  const timers = new Set<NodeJS.Timeout>();
  let url = "";
  let render = new Renderer("");

  const server: Server = createServer(
    { cert: options.tls.certPem, key: options.tls.keyPem },
    withHttpFaults((req, res) => void handle(req, res), options.faults, "keyvault", "azure", faultOperation),
  );
  server.keepAliveTimeout = STANDIN_KEEP_ALIVE_MS;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers: Record<string, string> = {
      "Cache-Control": "no-cache",
      "Content-Type": "application/json; charset=utf-8",
      "x-ms-keyvault-service-version": "1.9.0.0-local",
      "x-ms-request-id": randomUUID(),
      "x-ms-keyvault-region": "local",
    };
    const clientRequestId = req.headers["x-ms-client-request-id"];
    if (typeof clientRequestId === "string") headers["x-ms-client-request-id"] = clientRequestId;
    let reply: Reply;
    try {
      const auth = options.authority.verify(req.headers.authorization, VAULT_AUDIENCE);
      if (!auth.ok) {
        req.resume();
        const missing = !req.headers.authorization;
        throw new KvHttpError(
          401,
          "Unauthorized",
          missing ? "AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token." : `AKV10022: Invalid token: ${auth.reason}.`,
          {
            "WWW-Authenticate": `Bearer authorization="https://login.microsoftonline.com/${LOCAL_TENANT_ID}", resource="${VAULT_AUDIENCE}"`,
          },
        );
      }
      const admission = throttle?.admit(transactionType(req.method ?? "GET", pathSegments(req)), (options.now ?? Date.now)());
      if (admission && !admission.ok) {
        req.resume();
        const retry: Record<string, string> =
          options.throttleRetryAfter === false ? {} : { "Retry-After": String(admission.retryAfterSeconds) };
        throw new KvHttpError(429, THROTTLED_ERROR.code, THROTTLED_ERROR.message, retry);
      }
      const raw = await readBody(req, maxBody);
      reply = await dispatch(req, raw);
    } catch (err) {
      if (err instanceof KvHttpError) {
        const error = { code: err.code, message: err.message, ...(err.innererror ? { innererror: err.innererror } : {}) };
        reply = { status: err.status, body: { error }, headers: err.headers };
      } else if (err instanceof BadParameter) {
        reply = { status: 400, body: { error: { code: "BadParameter", message: err.message } } };
      } else {
        reply = {
          status: 500,
          body: { error: { code: "InternalServerError", message: err instanceof Error ? err.message : String(err) } },
        };
      }
    }
    const payload = reply.body === undefined ? "" : JSON.stringify(reply.body);
    res.writeHead(reply.status, { ...headers, ...reply.headers, "Content-Length": Buffer.byteLength(payload) });
    res.end(payload);
  }

  async function dispatch(req: IncomingMessage, raw: Buffer): Promise<Reply> {
    const parsed = new URL(req.url ?? "/", "https://vault.local");
    const query = parsed.searchParams;
    const apiVersion = query.get("api-version");
    if (apiVersion === null || apiVersion === "") throw bad("The 'api-version' query parameter is missing.");
    if (!SUPPORTED_API_VERSIONS.has(apiVersion))
      throw bad(
        `The specified version (${apiVersion}) is not recognized. Consider using the latest supported version (${LATEST_API_VERSION}).`,
      );
    let segs: string[];
    try {
      segs = parsed.pathname
        .split("/")
        .slice(1)
        .map((s) => decodeURIComponent(s));
    } catch {
      throw bad("The request URI is not valid.");
    }
    if (segs.length > 1 && segs[segs.length - 1] === "") segs.pop();
    if (segs[1] !== undefined && !NAME_RE.test(segs[1])) throw bad(`The request URI contains an invalid name: ${segs[1]}`);
    let cached: Record<string, unknown> | undefined;
    const body = (): Record<string, unknown> => {
      if (cached) return cached;
      let value: unknown;
      try {
        value = JSON.parse(raw.toString("utf8"));
      } catch {
        throw bad("The request body is not valid JSON.");
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("The request body must be a JSON object.");
      cached = value as Record<string, unknown>;
      return cached;
    };
    return route({ method: req.method ?? "GET", segs, query, apiVersion, body });
  }

  async function route(c: Ctx): Promise<Reply> {
    const [root, name, a, b] = c.segs;
    const n = c.segs.length;
    const m = c.method;
    if (root === "certificates") {
      if (n === 1 && m === "GET") return listCertificates(c);
      if (n === 2 && m === "GET") return getCertificate(name);
      if (n === 2 && m === "DELETE") return deleteCertificate(name);
      if (n === 2 && m === "PATCH") return updateCertificate(c, name);
      if (n === 3 && a === "create" && m === "POST") return createCertificate(c, name);
      if (n === 3 && a === "import" && m === "POST") return importCertificate(c, name);
      if (n === 3 && a === "pending" && m === "GET") return getPending(c, name);
      if (n === 3 && a === "pending" && m === "PATCH") return patchPending(c, name);
      if (n === 3 && a === "pending" && m === "DELETE") return deletePending(name);
      if (n === 4 && a === "pending" && b === "merge" && m === "POST") return mergeCertificate(c, name);
      if (n === 3 && a === "policy" && m === "GET") return { status: 200, body: render.policy(activeCert(name)) };
      if (n === 3 && a === "policy" && m === "PATCH") return updatePolicy(c, name);
      if (n === 3 && a === "versions" && m === "GET") return listCertificateVersions(c, name);
      if (n === 3 && m === "GET") return getCertificate(name, a);
      if (n === 3 && m === "PATCH") return updateCertificate(c, name, a);
    } else if (root === "deletedcertificates") {
      if (n === 1 && m === "GET") return listDeletedCertificates(c);
      if (n === 2 && m === "GET") return getDeletedCertificate(name);
      if (n === 2 && m === "DELETE") return purgeCertificate(name);
      if (n === 3 && a === "recover" && m === "POST") return recoverCertificate(name);
    } else if (root === "secrets") {
      if (n === 1 && m === "GET") return listSecrets(c);
      if (n === 2 && m === "PUT") return setSecret(c, name);
      if (n === 2 && m === "GET") return getSecret(name);
      if (n === 2 && m === "DELETE") return deleteSecret(name);
      if (n === 3 && a === "versions" && m === "GET") return listSecretVersions(c, name);
      if (n === 3 && m === "GET") return getSecret(name, a);
      if ((n === 3 || n === 2) && m === "PATCH") return updateSecret(c, name, a);
    } else if (root === "deletedsecrets") {
      if (n === 1 && m === "GET") return listDeletedSecrets(c);
      if (n === 2 && m === "GET") return getDeletedSecret(name);
      if (n === 2 && m === "DELETE") return purgeSecret(name);
      if (n === 3 && a === "recover" && m === "POST") return recoverSecret(name);
    }
    throw new KvHttpError(405, "MethodNotAllowed", `The requested operation ${m} ${c.segs.join("/")} is not supported.`);
  }

  // ---------- certificates ----------

  function activeCert(name: string): CertRecord {
    const rec = store.certificates.get(name.toLowerCase());
    if (!rec || rec.deleted) throw notFoundCert(name);
    return rec;
  }

  function versionOf(rec: CertRecord, version?: string): CertVersionRecord {
    const ver = version === undefined ? rec.versions[rec.versions.length - 1] : rec.versions.find((v) => v.version === version);
    if (!ver) throw notFoundCert(version === undefined ? rec.name : `${rec.name}/${version}`);
    return ver;
  }

  function getCertificate(name: string, version?: string): Reply {
    const rec = activeCert(name);
    return { status: 200, body: render.certificate(rec, versionOf(rec, version)) };
  }

  /** Publishes a certificate for the pending operation: a new enabled version with the same key. Pure. */
  function completed(rec: CertRecord, certs: string[], tags?: Record<string, string>): { rec: CertRecord; ver: CertVersionRecord } {
    const op = rec.pending;
    if (!op) throw notFoundPending(rec.name);
    const placeholder = rec.versions.find((v) => v.version === op.version);
    if (!placeholder) throw notFoundPending(rec.name);
    const now = nowSeconds();
    const { nbf, exp } = validity(certs[0]);
    const ver: CertVersionRecord = {
      version: newVersion(),
      attributes: { enabled: rec.policy.attributes.enabled, nbf, exp, created: now, updated: now },
      tags: tags ?? placeholder.tags,
      keyPem: placeholder.keyPem,
      certs,
      contentType: rec.policy.secret_props.contentType,
      exportable: rec.policy.key_props.exportable,
    };
    const pending = { ...op, status: "completed" as const, cancellationRequested: false, statusDetails: undefined, selfSigned: undefined };
    return { rec: { ...rec, versions: [...rec.versions.filter((v) => v !== placeholder), ver], pending }, ver };
  }

  function scheduleSelf(name: string, requestId: string, at: number): void {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        void store
          .withLock("certificates", name, async () => {
            const rec = store.certificates.get(name.toLowerCase());
            const op = rec?.pending;
            if (!rec || rec.deleted || !op || op.requestId !== requestId || op.status !== "inProgress" || !op.selfSigned) return;
            await store.putCertificate(completed(rec, op.selfSigned.certs).rec);
          })
          .catch(() => scheduleSelf(name, requestId, Date.now() + 1000));
      },
      Math.max(0, at - Date.now()),
    );
    timers.add(timer);
  }

  async function createCertificate(c: Ctx, name: string): Promise<Reply> {
    const body = c.body();
    return store.withLock("certificates", name, async () => {
      const existing = store.certificates.get(name.toLowerCase());
      if (existing?.deleted)
        throw new KvHttpError(
          409,
          "Conflict",
          `Certificate ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged.`,
        );
      if (existing?.pending?.status === "inProgress")
        throw new KvHttpError(
          409,
          "Forbidden",
          "A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress.",
        );
      const now = nowSeconds();
      if (body.policy === undefined && !existing) throw bad("Property policy is required.");
      const policy = parsePolicy(body.policy, existing?.policy, now);
      const attrs = parseAttributes(body.attributes);
      const tags = parseTags(body.tags);
      if (attrs.enabled !== undefined) policy.attributes.enabled = attrs.enabled;
      const spec = keySpecOf(policy);
      const last = [...(existing?.versions ?? [])].reverse().find((v) => v.keyPem);
      let keyPem: string;
      if (policy.key_props.reuse_key && last && sameKeySpec(describeKey(last.keyPem), spec)) keyPem = last.keyPem;
      else keyPem = await generateKey(spec);
      const profile = {
        subject: policy.x509_props.subject,
        sans: policy.x509_props.sans,
        ekus: policy.x509_props.ekus,
        keyUsage: policy.x509_props.key_usage,
      };
      const csr = await createCsr(keyPem, profile);
      const version = newVersion();
      const start = Date.now();
      const nbf = now - 600;
      const expDate = new Date(now * 1000);
      expDate.setUTCMonth(expDate.getUTCMonth() + policy.x509_props.validity_months);
      const placeholder: CertVersionRecord = {
        version,
        attributes: { enabled: false, nbf, exp: Math.floor(expDate.getTime() / 1000), created: now, updated: now },
        tags,
        keyPem,
        contentType: policy.secret_props.contentType,
        exportable: policy.key_props.exportable,
      };
      const self = policy.issuer.name === "Self";
      const requestId = newVersion();
      let rec: CertRecord = {
        name: existing?.name ?? name,
        policy,
        versions: [...(existing?.versions ?? []), placeholder],
        pending: {
          requestId,
          issuer: policy.issuer,
          csr,
          cancellationRequested: false,
          status: "inProgress",
          statusDetails: self ? STATUS_SELF : STATUS_UNKNOWN,
          version,
          selfSigned: self
            ? { certs: [await createSelfSigned(keyPem, profile, policy.x509_props.validity_months)], completesAt: start + selfDelay }
            : undefined,
        },
      };
      const initial = rec.pending!;
      if (self && selfDelay <= 0) rec = completed(rec, initial.selfSigned!.certs).rec;
      await store.putCertificate(rec);
      if (self && selfDelay > 0) scheduleSelf(rec.name, requestId, start + selfDelay);
      return {
        status: 202,
        body: render.operation(rec, initial),
        headers: {
          Location: `${url}/certificates/${rec.name}/pending?api-version=${c.apiVersion}&request_id=${requestId}`,
          "Retry-After": "10",
        },
      };
    });
  }

  function getPending(c: Ctx, name: string): Reply {
    const rec = activeCert(name);
    const op = rec.pending;
    const requestId = c.query.get("request_id");
    if (!op || (requestId !== null && requestId !== op.requestId)) throw notFoundPending(name);
    return { status: 200, body: render.operation(rec, op), headers: op.status === "inProgress" ? { "Retry-After": "10" } : {} };
  }

  async function patchPending(c: Ctx, name: string): Promise<Reply> {
    const body = c.body();
    if (typeof body.cancellation_requested !== "boolean") throw bad("Property cancellation_requested has invalid value");
    return store.withLock("certificates", name, async () => {
      const rec = activeCert(name);
      const op = rec.pending;
      if (!op) throw notFoundPending(name);
      if (op.status !== "inProgress") throw new KvHttpError(403, "Forbidden", "Pending status must be in progress to allow update.");
      if (!body.cancellation_requested) return { status: 200, body: render.operation(rec, op) };
      // Issuer Unknown: the operation is cancelled (later reads say so). Issuer Self: the request is noted, but
      // the self-signed certificate still completes, as the real service does.
      const next =
        op.issuer.name === "Unknown"
          ? { ...op, cancellationRequested: true, status: "cancelled" as const, statusDetails: undefined }
          : { ...op, cancellationRequested: true };
      await store.putCertificate({ ...rec, pending: next });
      return {
        status: 200,
        body: render.operation(rec, next, { status: "inProgress", cancellationRequested: true, statusDetails: op.statusDetails }),
      };
    });
  }

  async function deletePending(name: string): Promise<Reply> {
    return store.withLock("certificates", name, async () => {
      const rec = activeCert(name);
      const op = rec.pending;
      if (!op) throw notFoundPending(name);
      await store.putCertificate({ ...rec, pending: undefined });
      return { status: 200, body: render.operation(rec, op) };
    });
  }

  async function mergeCertificate(c: Ctx, name: string): Promise<Reply> {
    const body = c.body();
    return store.withLock("certificates", name, async () => {
      const rec = activeCert(name);
      const op = rec.pending;
      if (!op) throw notFoundPending(name);
      if (op.issuer.name !== "Unknown")
        throw new KvHttpError(
          403,
          "Forbidden",
          `Merging is not allowed for a certificate whose issuer is ${op.issuer.name}. Only certificates with issuer Unknown can be merged.`,
        );
      if (op.status !== "inProgress") throw new KvHttpError(403, "Forbidden", "Pending status must be in progress to allow merge.");
      const certs = parseX5c(body.x5c);
      const tags = parseTags(body.tags);
      const attrs = parseAttributes(body.attributes);
      const placeholder = rec.versions.find((v) => v.version === op.version);
      if (!placeholder || !certificateMatchesKey(certs[0], placeholder.keyPem))
        throw bad("Public key from x509 certificate and key of this instance doesn't match");
      const done = completed(rec, certs, tags);
      if (attrs.enabled !== undefined) done.ver.attributes.enabled = attrs.enabled;
      await store.putCertificate(done.rec);
      return {
        status: 201,
        body: render.certificate(done.rec, done.ver),
        headers: { Location: `${url}/certificates/${rec.name}?api-version=${c.apiVersion}` },
      };
    });
  }

  async function importCertificate(c: Ctx, name: string): Promise<Reply> {
    const body = c.body();
    if (typeof body.value !== "string" || body.value.length === 0) throw bad("Property value is required and must be a string.");
    if (body.pwd !== undefined && body.pwd !== null && typeof body.pwd !== "string") throw bad("Property pwd has invalid value");
    const policyIn = body.policy as { secret_props?: { contentType?: unknown } } | undefined;
    const requestedType = policyIn?.secret_props?.contentType;
    const contentType = requestedType === PEM || (requestedType === undefined && body.value.includes("-----BEGIN")) ? PEM : PKCS12;
    const { keyPem, certs } = parseImport(body.value, contentType, (body.pwd as string | undefined) ?? "");
    const attrs = parseAttributes(body.attributes);
    const tags = parseTags(body.tags);
    return store.withLock("certificates", name, async () => {
      const existing = store.certificates.get(name.toLowerCase());
      if (existing?.deleted)
        throw new KvHttpError(
          409,
          "Conflict",
          `Certificate ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged.`,
        );
      if (existing?.pending?.status === "inProgress")
        throw new KvHttpError(
          409,
          "Forbidden",
          "A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress.",
        );
      const now = nowSeconds();
      const spec = describeKey(keyPem);
      const derived = derivedPolicy(spec, certs[0], contentType, now);
      const policy =
        body.policy !== undefined
          ? parsePolicy(body.policy, existing?.policy ?? derived, now)
          : existing
            ? { ...existing.policy, secret_props: { contentType } }
            : derived;
      const { nbf, exp } = validity(certs[0]);
      const ver: CertVersionRecord = {
        version: newVersion(),
        attributes: { enabled: attrs.enabled ?? true, nbf, exp, created: now, updated: now },
        tags,
        keyPem,
        certs,
        contentType: policy.secret_props.contentType,
        exportable: policy.key_props.exportable,
      };
      const rec: CertRecord = {
        name: existing?.name ?? name,
        policy,
        versions: [...(existing?.versions ?? []), ver],
        pending: existing?.pending,
      };
      await store.putCertificate(rec);
      return { status: 200, body: render.certificate(rec, ver, false) };
    });
  }

  async function updateCertificate(c: Ctx, name: string, version?: string): Promise<Reply> {
    const body = c.body();
    const attrs = parseAttributes(body.attributes);
    const tags = parseTags(body.tags);
    return store.withLock("certificates", name, async () => {
      const rec = activeCert(name);
      const ver = versionOf(rec, version);
      const now = nowSeconds();
      const policy = body.policy !== undefined ? parsePolicy(body.policy, rec.policy, now) : rec.policy;
      const updated: CertVersionRecord = {
        ...ver,
        attributes: { ...ver.attributes, enabled: attrs.enabled ?? ver.attributes.enabled, updated: now },
        tags: tags ?? ver.tags,
      };
      const next: CertRecord = { ...rec, policy, versions: rec.versions.map((v) => (v === ver ? updated : v)) };
      await store.putCertificate(next);
      return { status: 200, body: render.certificate(next, updated) };
    });
  }

  async function updatePolicy(c: Ctx, name: string): Promise<Reply> {
    const body = c.body();
    return store.withLock("certificates", name, async () => {
      const rec = activeCert(name);
      const next: CertRecord = { ...rec, policy: parsePolicy(body, rec.policy, nowSeconds()) };
      await store.putCertificate(next);
      return { status: 200, body: render.policy(next) };
    });
  }

  function listCertificates(c: Ctx): Reply {
    const includePending = c.query.get("includePending") === "true";
    const items = [...store.certificates.values()]
      .filter((r) => !r.deleted && r.versions.length > 0)
      .filter((r) => includePending || r.versions[r.versions.length - 1].certs !== undefined)
      .map((r) => ({ key: r.name.toLowerCase(), value: () => render.certificateItem(r, r.versions[r.versions.length - 1], false) }));
    return page(c, "certificates", items);
  }

  function listCertificateVersions(c: Ctx, name: string): Reply {
    // As the service: versions of a name that does not exist are an empty page, not a 404.
    const found = store.certificates.get(name.toLowerCase());
    if (!found || found.deleted) return page(c, `certificates/${name}/versions`, []);
    const rec = found;
    const items = rec.versions.map((v, i) => ({ key: String(i).padStart(8, "0"), value: () => render.certificateItem(rec, v, true) }));
    return page(c, `certificates/${rec.name}/versions`, items);
  }

  async function deleteCertificate(name: string): Promise<Reply> {
    return store.withLock("certificates", name, async () => {
      const rec = activeCert(name);
      const next: CertRecord = { ...rec, deleted: deletedInfo() };
      await store.putCertificate(next);
      return { status: 200, body: render.deletedCertificate(next, versionOf(next)) };
    });
  }

  function deletedCert(name: string): CertRecord {
    const rec = store.certificates.get(name.toLowerCase());
    if (!rec || !deletedVisible(rec.deleted)) throw new KvHttpError(404, "CertificateNotFound", `Deleted Certificate not found: ${name}`);
    return rec;
  }

  function getDeletedCertificate(name: string): Reply {
    const rec = deletedCert(name);
    return { status: 200, body: render.deletedCertificate(rec, versionOf(rec)) };
  }

  function listDeletedCertificates(c: Ctx): Reply {
    const items = [...store.certificates.values()]
      .filter((r) => deletedVisible(r.deleted) && r.versions.length > 0)
      .map((r) => ({ key: r.name.toLowerCase(), value: () => render.certificateItem(r, r.versions[r.versions.length - 1], false) }));
    return page(c, "deletedcertificates", items);
  }

  async function purgeCertificate(name: string): Promise<Reply> {
    return store.withLock("certificates", name, async () => {
      deletedCert(name);
      await store.remove("certificates", name);
      return { status: 204 };
    });
  }

  async function recoverCertificate(name: string): Promise<Reply> {
    return store.withLock("certificates", name, async () => {
      const rec = deletedCert(name);
      const next: CertRecord = { ...rec, deleted: undefined };
      await store.putCertificate(next);
      return { status: 200, body: render.certificate(next, versionOf(next)) };
    });
  }

  // ---------- secrets ----------

  function managedSecret(name: string): CertRecord | undefined {
    const rec = store.certificates.get(name.toLowerCase());
    return rec && !rec.deleted && rec.versions.some((v) => v.certs) ? rec : undefined;
  }

  function secretValue(ver: CertVersionRecord): string {
    const key = ver.exportable ? ver.keyPem : undefined;
    return ver.contentType === PEM ? buildPem(key, ver.certs!) : buildPfx(key, ver.certs!);
  }

  function activeSecret(name: string): SecretRecord {
    const rec = store.secrets.get(name.toLowerCase());
    if (!rec || rec.deleted) throw notFoundSecret(name);
    return rec;
  }

  function getSecret(name: string, version?: string): Reply {
    const cert = managedSecret(name);
    if (cert) {
      const issued = cert.versions.filter((v) => v.certs);
      const ver = version === undefined ? issued[issued.length - 1] : issued.find((v) => v.version === version);
      if (!ver) throw notFoundSecret(version ? `${name}/${version}` : name);
      if (ver.attributes.enabled === false) throw disabledSecret();
      return { status: 200, body: render.secretOfCertificate(cert, ver, secretValue(ver)) };
    }
    const rec = activeSecret(name);
    const ver = version === undefined ? rec.versions[rec.versions.length - 1] : rec.versions.find((v) => v.version === version);
    if (!ver) throw notFoundSecret(version ? `${name}/${version}` : name);
    if (ver.attributes.enabled === false) throw disabledSecret();
    return { status: 200, body: render.secret(rec, ver, true) };
  }

  async function setSecret(c: Ctx, name: string): Promise<Reply> {
    const body = c.body();
    if (typeof body.value !== "string") throw bad("Property value is required and must be a string.");
    if (Buffer.byteLength(body.value) > MAX_SECRET_VALUE)
      throw bad(`The secret value is too large: at most ${MAX_SECRET_VALUE} bytes are allowed.`);
    if (body.contentType !== undefined && body.contentType !== null && typeof body.contentType !== "string")
      throw bad("Property contentType has invalid value");
    const attrs = parseAttributes(body.attributes);
    const tags = parseTags(body.tags);
    return store.withLock("secrets", name, async () => {
      if (store.certificates.has(name.toLowerCase()))
        throw new KvHttpError(409, "Conflict", `Secret ${name} is managed by a certificate and cannot be set directly.`);
      const existing = store.secrets.get(name.toLowerCase());
      if (existing?.deleted)
        throw new KvHttpError(
          409,
          "Conflict",
          `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
        );
      const now = nowSeconds();
      const ver = {
        version: newVersion(),
        value: body.value as string,
        contentType: (body.contentType as string | undefined) ?? undefined,
        attributes: { enabled: attrs.enabled ?? true, nbf: attrs.nbf, exp: attrs.exp, created: now, updated: now },
        tags,
      };
      const rec: SecretRecord = { name: existing?.name ?? name, versions: [...(existing?.versions ?? []), ver] };
      await store.putSecret(rec);
      return { status: 200, body: render.secret(rec, ver, true) };
    });
  }

  async function updateSecret(c: Ctx, name: string, version?: string): Promise<Reply> {
    const body = c.body();
    const attrs = parseAttributes(body.attributes);
    const tags = parseTags(body.tags);
    if (body.contentType !== undefined && body.contentType !== null && typeof body.contentType !== "string")
      throw bad("Property contentType has invalid value");
    return store.withLock("secrets", name, async () => {
      if (managedSecret(name))
        throw new KvHttpError(403, "Forbidden", `Secret ${name} is managed by a certificate; update the certificate instead.`);
      const rec = activeSecret(name);
      const ver = version === undefined ? rec.versions[rec.versions.length - 1] : rec.versions.find((v) => v.version === version);
      if (!ver) throw notFoundSecret(version ? `${name}/${version}` : name);
      const now = nowSeconds();
      const updated = {
        ...ver,
        contentType: (body.contentType as string | undefined) ?? ver.contentType,
        attributes: {
          ...ver.attributes,
          enabled: attrs.enabled ?? ver.attributes.enabled,
          nbf: attrs.nbf ?? ver.attributes.nbf,
          exp: attrs.exp ?? ver.attributes.exp,
          updated: now,
        },
        tags: tags ?? ver.tags,
      };
      const next = { ...rec, versions: rec.versions.map((v) => (v === ver ? updated : v)) };
      await store.putSecret(next);
      return { status: 200, body: render.secret(next, updated, false) };
    });
  }

  function listSecrets(c: Ctx): Reply {
    const plain = [...store.secrets.values()]
      .filter((r) => !r.deleted)
      .map((r) => ({ key: r.name.toLowerCase(), value: () => render.secretItem(r.name, r.versions[r.versions.length - 1], false, false) }));
    const managed = [...store.certificates.values()]
      .filter((r) => managedSecret(r.name))
      .map((r) => {
        const issued = r.versions.filter((v) => v.certs);
        return { key: r.name.toLowerCase(), value: () => render.secretItem(r.name, issued[issued.length - 1], true, false) };
      });
    return page(c, "secrets", [...plain, ...managed]);
  }

  function listSecretVersions(c: Ctx, name: string): Reply {
    const cert = managedSecret(name);
    if (cert) {
      const items = cert.versions
        .filter((v) => v.certs)
        .map((v, i) => ({ key: String(i).padStart(8, "0"), value: () => render.secretItem(cert.name, v, true, true) }));
      return page(c, `secrets/${cert.name}/versions`, items);
    }
    const found = store.secrets.get(name.toLowerCase());
    if (!found || found.deleted) return page(c, `secrets/${name}/versions`, []);
    const rec = found;
    const items = rec.versions.map((v, i) => ({
      key: String(i).padStart(8, "0"),
      value: () => render.secretItem(rec.name, v, false, true),
    }));
    return page(c, `secrets/${rec.name}/versions`, items);
  }

  async function deleteSecret(name: string): Promise<Reply> {
    return store.withLock("secrets", name, async () => {
      if (managedSecret(name))
        throw new KvHttpError(403, "Forbidden", `Secret ${name} is managed by a certificate; delete the certificate instead.`);
      const rec = activeSecret(name);
      const next: SecretRecord = { ...rec, deleted: deletedInfo() };
      await store.putSecret(next);
      return { status: 200, body: render.secret(next, next.versions[next.versions.length - 1], false) };
    });
  }

  function deletedSecret(name: string): SecretRecord {
    const rec = store.secrets.get(name.toLowerCase());
    if (!rec || !deletedVisible(rec.deleted)) throw new KvHttpError(404, "SecretNotFound", `Deleted Secret not found: ${name}`);
    return rec;
  }

  function getDeletedSecret(name: string): Reply {
    const rec = deletedSecret(name);
    return { status: 200, body: render.secret(rec, rec.versions[rec.versions.length - 1], false) };
  }

  function listDeletedSecrets(c: Ctx): Reply {
    const items = [...store.secrets.values()]
      .filter((r) => deletedVisible(r.deleted))
      .map((r) => ({
        key: r.name.toLowerCase(),
        value: () => render.secretItem(r.name, r.versions[r.versions.length - 1], false, false, r.deleted),
      }));
    return page(c, "deletedsecrets", items);
  }

  async function purgeSecret(name: string): Promise<Reply> {
    return store.withLock("secrets", name, async () => {
      deletedSecret(name);
      await store.remove("secrets", name);
      return { status: 204 };
    });
  }

  async function recoverSecret(name: string): Promise<Reply> {
    return store.withLock("secrets", name, async () => {
      const rec = deletedSecret(name);
      const next: SecretRecord = { ...rec, deleted: undefined };
      await store.putSecret(next);
      return { status: 200, body: render.secret(next, next.versions[next.versions.length - 1], false) };
    });
  }

  // ---------- paging ----------

  /** One page of at most `maxresults` (1..25) items after `$skiptoken`; a full page carries an absolute nextLink. */
  function page(c: Ctx, path: string, items: Array<{ key: string; value: () => Record<string, unknown> }>): Reply {
    const maxRaw = c.query.get("maxresults");
    const max = maxRaw === null ? PAGE_MAX : Number(maxRaw);
    if (!Number.isInteger(max) || max < 1 || max > PAGE_MAX)
      throw bad(`The value of maxresults (${String(maxRaw)}) is invalid. It must be between 1 and ${PAGE_MAX}.`);
    let after = "";
    const token = c.query.get("$skiptoken");
    if (token !== null) {
      try {
        const decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { after?: unknown };
        if (typeof decoded.after !== "string") throw new Error("bad token");
        after = decoded.after;
      } catch {
        throw bad("The $skiptoken is not valid.");
      }
    }
    const sorted = items.filter((i) => i.key > after).sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    const slice = sorted.slice(0, max);
    let nextLink: string | null = null;
    if (slice.length === max) {
      const next = new URLSearchParams({
        "api-version": c.apiVersion,
        $skiptoken: Buffer.from(JSON.stringify({ after: slice[slice.length - 1].key })).toString("base64url"),
      });
      if (maxRaw !== null) next.set("maxresults", String(max));
      const includePending = c.query.get("includePending");
      if (includePending !== null) next.set("includePending", includePending);
      nextLink = `${url}/${path}?${next.toString().replace(/%24skiptoken/, "$skiptoken")}`;
    }
    return { status: 200, body: { value: slice.map((i) => i.value()), nextLink } };
  }

  const port = await listen(server, options.port ?? 0, host);
  url = `https://${urlHost(host)}:${port}`;
  render = new Renderer(url);

  // Self-issued operations still waiting when the server last stopped complete now (or when due).
  for (const rec of store.certificates.values()) {
    const op = rec.pending;
    if (op?.status === "inProgress" && op.selfSigned && !rec.deleted) scheduleSelf(rec.name, op.requestId, op.selfSigned.completesAt);
  }

  return {
    url,
    port,
    throttle,
    failPending: (certificateName, error) =>
      store.withLock("certificates", certificateName, async () => {
        const rec = store.certificates.get(certificateName.toLowerCase());
        const op = rec?.pending;
        if (!rec || rec.deleted || op?.status !== "inProgress") return false;
        await store.putCertificate({
          ...rec,
          pending: { ...op, status: "failed", statusDetails: error.message, error, selfSigned: undefined },
        });
        return true;
      }),
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A request's path segments, undecoded (`/certificates/web/create` -> ["certificates", "web", "create"]). */
function pathSegments(req: IncomingMessage): string[] {
  const segs = new URL(req.url ?? "/", "https://vault.local").pathname.split("/").slice(1);
  if (segs.length > 1 && segs[segs.length - 1] === "") segs.pop();
  return segs;
}

/**
 * The operation a request is, for faults aimed at it (`keyvault-<operation>`, ../faults.ts): create, pending (read,
 * cancel or delete the pending operation), merge, update (a certificate's or version's properties: tags).
 */
function faultOperation(req: IncomingMessage): string | undefined {
  const [root, , a, b, extra] = pathSegments(req);
  if (root !== "certificates" || extra !== undefined) return undefined;
  if (a === "create" && b === undefined && req.method === "POST") return "create";
  if (a === "pending" && b === "merge" && req.method === "POST") return "merge";
  if (a === "pending" && b === undefined) return "pending";
  if (b === undefined && req.method === "PATCH" && a !== "policy") return "update";
  return undefined;
}

function sameKeySpec(a: { kty: string; keySize?: number; crv?: string }, b: { kty: string; keySize?: number; crv?: string }): boolean {
  return a.kty === b.kty && (a.kty === "EC" ? a.crv === b.crv : a.keySize === b.keySize);
}

/** Reads a request body up to `limit` bytes; larger bodies are drained and refused with 413. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = declared > limit;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(chunk as Buffer);
    if (size > limit * 16) {
      req.destroy();
      break;
    }
  }
  if (tooLarge) throw new KvHttpError(413, "RequestEntityTooLarge", `The request body is too large. The limit is ${limit} bytes.`);
  return Buffer.concat(chunks);
}
