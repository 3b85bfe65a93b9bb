/**
 * The HTTP shapes the API handlers work with, independent of the Functions worker: a request (method, URL, route
 * params, headers, raw body) and a response ({ status, headers, body }). Body parsing enforces JSON in
 * (415 otherwise), a size limit (413) and well-formed JSON (400), always before anything else runs.
 */
import { KvAcmeError, ValidationError, type FieldProblem } from "../shared/errors";
import { PROBLEM_CONTENT_TYPE, problem, type Problem } from "./problem";

/** Largest accepted request body (a PEM chain of a few certificates is ~10 KiB). */
export const MAX_BODY_BYTES = 256 * 1024;

export interface ApiRequest {
  method: string;
  url: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: { get(name: string): string | null };
  /** The raw body (empty when none). */
  body: Uint8Array;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

/** A request that must be answered with a given status (413, 415, ...): carries its problem. */
export class HttpProblemError extends KvAcmeError {
  constructor(status: number, code: string, message: string) {
    super(code, message, status);
  }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { "content-type": "application/json; charset=utf-8", ...headers }, body: JSON.stringify(body) };
}

export function problemResponse(p: Problem, headers: Record<string, string> = {}): ApiResponse {
  return { status: p.status, headers: { "content-type": PROBLEM_CONTENT_TYPE, ...headers }, body: JSON.stringify(p) };
}

/** 202 Accepted for long work: Location of the operation resource and Retry-After in seconds. */
export function accepted(location: string, body: unknown, retryAfterSeconds = 5): ApiResponse {
  return json(202, body, { location, "retry-after": String(retryAfterSeconds) });
}

function isJsonContentType(value: string | null): boolean {
  if (!value) return false;
  const type = value.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/**
 * Parses the JSON object body. `optional` bodies may be empty (then `{}`); a non-empty body must be declared as
 * JSON (415), fit MAX_BODY_BYTES (413), parse (400) and be a JSON object (400).
 */
export function readJsonObject(req: ApiRequest, options: { optional?: boolean } = {}): Record<string, unknown> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (req.body.byteLength > MAX_BODY_BYTES || declared > MAX_BODY_BYTES) {
    throw new HttpProblemError(413, "BodyTooLarge", `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  if (req.body.byteLength === 0) {
    if (options.optional) return {};
    throw new ValidationError([{ field: "body", message: "a JSON object is required" }]);
  }
  if (!isJsonContentType(req.headers.get("content-type"))) {
    throw new HttpProblemError(
      415,
      "UnsupportedMediaType",
      `Send the body as application/json (got ${req.headers.get("content-type") ?? "no content type"}).`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(req.body).toString("utf8"));
  } catch (err) {
    throw new ValidationError([{ field: "body", message: `not valid JSON: ${(err as Error).message}` }]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError([{ field: "body", message: "must be a JSON object" }]);
  }
  return parsed as Record<string, unknown>;
}

/** Field readers that collect every problem before failing (one 400 lists them all). */
export class FieldReader {
  readonly problems: FieldProblem[] = [];
  constructor(
    private readonly body: Record<string, unknown>,
    allowed: readonly string[],
  ) {
    for (const key of Object.keys(body)) {
      if (!allowed.includes(key)) this.problems.push({ field: key, message: `unknown field; allowed: ${allowed.join(", ")}` });
    }
  }

  string(field: string): string | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") {
      this.problems.push({ field, message: "must be a string" });
      return undefined;
    }
    return v;
  }

  boolean(field: string): boolean | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") {
      this.problems.push({ field, message: "must be true or false" });
      return undefined;
    }
    return v;
  }

  stringList(field: string, options: { allowString?: boolean } = {}): string[] | string | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string" && options.allowString) return v;
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
      this.problems.push({
        field,
        message: options.allowString ? "must be a list of strings or a comma-separated string" : "must be a list of strings",
      });
      return undefined;
    }
    return v as string[];
  }

  /** An object of string values (its own validation, e.g. tag limits, is the caller's). */
  stringMap(field: string): Record<string, string> | undefined {
    const v = this.body[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string")) {
      this.problems.push({ field, message: "must be an object of string values" });
      return undefined;
    }
    return v as Record<string, string>;
  }

  require<T>(field: string, value: T | undefined): T | undefined {
    if (value === undefined && !this.problems.some((p) => p.field === field)) this.problems.push({ field, message: "is required" });
    return value;
  }

  /** Throws one ValidationError with every problem found so far. */
  check(): void {
    if (this.problems.length > 0) throw new ValidationError(this.problems);
  }
}

/** A problem response from its parts. */
export function problemFor(status: number, code: string, detail: string, extra: Partial<Problem> = {}): ApiResponse {
  return problemResponse(problem(status, code, detail, extra));
}
