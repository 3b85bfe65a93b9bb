/**
 * RFC 9457 problem details for every error the HTTP API returns. Typed KvAcmeErrors map to their status and
 * code; a failure of a service the app depends on becomes 502 or 503 (upstreamStatus); anything else is a 500
 * whose detail does not leak internals.
 */
import { KvAcmeError, OwnershipError, UpstreamError, ValidationError, statusOf } from "../shared/errors";

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code?: string;
  errors?: { field: string; message: string }[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";
/**
 * Problem type URIs are URNs, `urn:kv-acme:problem:<code in lower case>`: stable identifiers that do not depend on
 * where the app or its documentation is hosted; docs/api.md ("Problem codes") documents every one.
 */
export const PROBLEM_TYPE_PREFIX = "urn:kv-acme:problem:";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/**
 * Bounds on a problem body, so its size never grows with the request (a 200 KB body of bad names once gave a
 * multi-megabyte problem): at most MAX_LISTED_ERRORS field problems (the rest counted in `omittedErrors`), each
 * message and field clipped, and `detail` kept short.
 */
export const PROBLEM_LIMITS = { detail: 1024, listedErrors: 50, errorMessage: 240, field: 80 } as const;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Builds a problem body (RFC 9457 section 3). `code`, in lower case, ends the type URN. */
export function problem(status: number, code: string, detail: string, extra: Partial<Problem> = {}): Problem {
  const p: Problem = {
    type: `${PROBLEM_TYPE_PREFIX}${code.toLowerCase()}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    code,
    ...extra,
  };
  p.detail = clip(p.detail, PROBLEM_LIMITS.detail);
  if (p.errors) {
    const all = p.errors;
    p.errors = all
      .slice(0, PROBLEM_LIMITS.listedErrors)
      .map((e) => ({ field: clip(e.field, PROBLEM_LIMITS.field), message: clip(e.message, PROBLEM_LIMITS.errorMessage) }));
    if (all.length > p.errors.length) p.omittedErrors = all.length - p.errors.length;
  }
  return p;
}

/** Upstream answers that describe the request itself (a bad order, a missing certificate, a conflict): passed on as they are. */
const UPSTREAM_STATUSES_KEPT: ReadonlySet<number> = new Set([400, 404, 409]);

/**
 * The status the API answers when a service it depends on (Key Vault, the ACME CA, a DNS provider) failed with
 * `status` (RFC 9110 §15.6): 503 Service Unavailable when the service throttles or is unavailable (429, 503: trying
 * again later may help), 400, 404 and 409 as they are, and 502 Bad Gateway for everything else: any other server
 * error, no answer at all, or a refusal of the app's own identity (401, 403), for which the caller is not at fault.
 */
export function upstreamStatus(status: number | undefined): number {
  if (status === 429 || status === 503) return 503;
  if (status !== undefined && UPSTREAM_STATUSES_KEPT.has(status)) return status;
  return 502;
}

/** An error an SDK or HTTP client threw for a service's HTTP answer (the Azure SDKs' RestError), not one of ours. */
function isUpstreamHttpError(err: unknown): boolean {
  return err instanceof Error && err.name === "RestError" && statusOf(err) !== undefined;
}

/** Maps any thrown value to a problem; unknown errors become a generic 500 (the message is logged, not returned). */
export function problemFromError(err: unknown, instance?: string): Problem {
  if (err instanceof ValidationError) {
    const shown = err.problems.slice(0, 5).map((p) => `${clip(p.field, PROBLEM_LIMITS.field)}: ${clip(p.message, 160)}`);
    const more = err.problems.length - shown.length;
    const detail = `${shown.join("; ")}${more > 0 ? `; and ${more} more (see errors)` : ""}`;
    return problem(400, err.code, detail, { errors: err.problems, instance });
  }
  if (err instanceof UpstreamError) {
    const service = typeof err.details?.service === "string" ? { service: err.details.service } : {};
    const operation = typeof err.details?.operation === "string" ? { operation: err.details.operation } : {};
    return problem(upstreamStatus(err.status), err.code, err.message, { instance, ...service, ...operation });
  }
  if (isUpstreamHttpError(err)) {
    // An SDK failure no domain module wrapped: its status, never its message (it can carry request details).
    const status = upstreamStatus(statusOf(err));
    return problem(
      status,
      "UpstreamError",
      `A service the app depends on answered HTTP ${statusOf(err)}; the operation log has the details.`,
      {
        instance,
      },
    );
  }
  if (err instanceof KvAcmeError) {
    const status = err.status >= 400 && err.status < 600 ? err.status : 500;
    // A conflicting operation is named so the caller can follow it.
    const operation = typeof err.details?.operation === "string" ? { operation: err.details.operation } : {};
    // An ownership refusal names the certificate's tags (at most 15, as Key Vault allows).
    const owner = err instanceof OwnershipError ? { certificateName: err.details?.certificateName, ownerTags: err.details?.ownerTags } : {};
    // Overlapping names name the other certificates (at most 10, see keyvault/overlap.ts).
    const overlaps = Array.isArray(err.details?.overlaps) ? { overlaps: err.details.overlaps } : {};
    return problem(status, err.code, err.message, { instance, ...operation, ...owner, ...overlaps });
  }
  return problem(500, "InternalError", "The request failed unexpectedly; the operation log has the details.", { instance });
}
