/** W3C Trace Context helpers: the operation id that ties an HTTP request, its orchestration and activities together. */
import { randomBytes } from "node:crypto";

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Is this a valid W3C trace id (32 lowercase hex, not all zeros)? */
export function isOperationId(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{32}$/.test(value) && !/^0+$/.test(value);
}

/**
 * The trace id of a `traceparent` header (W3C Trace Context §3.2), or null when the header is absent or invalid
 * (version ff, all-zero ids, wrong lengths).
 */
export function operationIdFromTraceparent(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!m) return null;
  const [, version, traceId, parentId] = m;
  if (version === "ff" || !isOperationId(traceId) || /^0+$/.test(parentId)) return null;
  return traceId;
}

/** A fresh random operation id (a W3C trace id). */
export function newOperationId(): string {
  for (;;) {
    const id = randomBytes(16).toString("hex");
    if (isOperationId(id)) return id;
  }
}
