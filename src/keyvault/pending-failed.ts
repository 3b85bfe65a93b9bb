/**
 * A pending certificate operation that Key Vault ended `failed`, read from its REST body: the SDK's poller throws a
 * plain Error carrying the error's message only, so ./certificates (getPending) keeps the body of the read and
 * builds the operation here, error code and request id included.
 */
import type { PendingOperation } from "./certificates";

/**
 * A failed operation from its REST body (the service's shape: `status`, `status_details`, `request_id`,
 * `error: {code, message, innererror}`), or from the SDK's message alone when the body is not there.
 */
export function failedPending(certificateName: string, body: unknown, message: string): PendingOperation {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const e = (typeof b.error === "object" && b.error !== null ? b.error : {}) as Record<string, unknown>;
  const error: { code?: string; message?: string } = { message: text(e.message) ?? message };
  const code = text(e.code);
  if (code) error.code = code;
  const op: PendingOperation = {
    certificateName,
    status: text(b.status) ?? "failed",
    csr: "", // nothing to merge into
    cancellationRequested: b.cancellation_requested === true,
    error,
  };
  const requestId = text(b.request_id);
  if (requestId) op.requestId = requestId;
  const details = text(b.status_details);
  if (details) op.statusDetails = details;
  return op;
}
