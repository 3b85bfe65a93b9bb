/**
 * Typed errors shared by every module. Each carries a stable `code`, an HTTP-ish `status` used by the API to
 * build RFC 9457 problem bodies, and a message a person understands. CLI exit codes derive from the class.
 */
export class KvAcmeError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  constructor(code: string, message: string, status = 500, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** One problem with one input field. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** Bad input: nothing was written. HTTP 400, CLI exit code 2. */
export class ValidationError extends KvAcmeError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[] | string, field = "input") {
    const list = typeof problems === "string" ? [{ field, message: problems }] : problems;
    super("ValidationFailed", list.map((p) => `${p.field}: ${p.message}`).join("; "), 400, { problems: list });
    this.problems = list;
  }
}

/** A thing that was asked for does not exist. HTTP 404, CLI exit code 3. */
export class NotFoundError extends KvAcmeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super("NotFound", message, 404, details);
  }
}

/** The request conflicts with current state (e.g. a pending operation in progress). HTTP 409, CLI exit code 4. */
export class ConflictError extends KvAcmeError {
  constructor(message: string, details?: Record<string, unknown>, code = "Conflict") {
    super(code, message, 409, details);
  }
}

/** The codes of OwnershipError: kv-acme refused to touch the certificate, so nothing was attempted. */
export const OWNERSHIP_REFUSALS = ["CertificateNotManaged", "CertificateIgnored"] as const;

/**
 * The certificate belongs to someone else (CertificateNotManaged) or is tagged to be ignored (CertificateIgnored):
 * HTTP 409 naming its tags (`ownerTags` in the problem body), CLI exit code 4. Nothing was written.
 */
export class OwnershipError extends ConflictError {
  constructor(
    code: (typeof OWNERSHIP_REFUSALS)[number],
    message: string,
    details: { certificateName: string; ownerTags: Record<string, string> },
  ) {
    super(message, details, code);
  }
}

/** Settings are missing or invalid. Fails at start-up, HTTP 500 with a problem body, CLI exit code 78 (EX_CONFIG). */
export class ConfigurationError extends KvAcmeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super("ConfigurationInvalid", message, 500, details);
  }
}

/**
 * A remote service (ACME CA, Key Vault, Azure DNS) failed; `retryable` says whether trying again may help.
 * `retryAfterMs` is how long the service asked the caller to wait (its Retry-After); it is also written into the
 * message (retryAfterNote), because the message is all of an activity's failure that reaches an orchestrator on Azure.
 */
export class UpstreamError extends KvAcmeError {
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  constructor(
    service: string,
    message: string,
    options: { status?: number; retryable?: boolean; cause?: unknown; details?: Record<string, unknown>; retryAfterMs?: number } = {},
  ) {
    const after = options.retryAfterMs;
    const text = after === undefined || retryAfterFromMessage(message) !== undefined ? message : `${message} ${retryAfterNote(after)}`;
    super(`${service}Error`, text, options.status ?? 502, { service, ...options.details }, { cause: options.cause });
    this.retryable = options.retryable ?? false;
    if (after !== undefined) this.retryAfterMs = after;
  }
}

/** The Retry-After (ms) an error carries (a throttled Azure request, an UpstreamError), or undefined. */
export function retryAfterOf(err: unknown): number | undefined {
  const v = (err as { retryAfterMs?: unknown } | null | undefined)?.retryAfterMs;
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** How a Retry-After is written into an error message: "(Retry-After: 7 s)". */
export function retryAfterNote(ms: number): string {
  return `(Retry-After: ${Math.max(0, Math.ceil(ms / 1000))} s)`;
}

const RETRY_AFTER_NOTE = /\(Retry-After: (\d{1,9}) s\)/;

/** The Retry-After (ms) written into a message by retryAfterNote, or undefined. */
export function retryAfterFromMessage(message: string): number | undefined {
  const m = RETRY_AFTER_NOTE.exec(message);
  return m ? Number(m[1]) * 1000 : undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The HTTP status an error carries: `statusCode` (the Azure SDKs' RestError), else `status` (UpstreamError, fetch-style
 * errors); undefined when it has none.
 */
export function statusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: unknown; status?: unknown } | null | undefined;
  const s = e?.statusCode ?? e?.status;
  return typeof s === "number" ? s : undefined;
}
