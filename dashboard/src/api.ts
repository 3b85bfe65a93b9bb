/** Calls to the app's own HTTP API (same origin, the caller's session): JSON in and out, RFC 9457 problems as errors. */

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  errors?: { field: string; message: string }[];
  operation?: string;
}

/** A non-2xx answer, carrying its problem body. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
  }
}

export interface Reply<T> {
  status: number;
  body: T;
  location: string | null;
}

/** One request; throws ApiError for any answer that is not 2xx. */
export async function request<T>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const init: RequestInit = { method, headers: { accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, "content-type": "application/json" };
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const p = (parsed && typeof parsed === "object" ? parsed : {}) as Problem;
    throw new ApiError({ ...p, status: res.status, detail: p.detail ?? (text.slice(0, 300) || res.statusText) });
  }
  return { status: res.status, body: parsed as T, location: res.headers.get("location") };
}

export const get = <T>(path: string) => request<T>("GET", path).then((r) => r.body);

/** True when the API serves `path` (feature detection of optional routes such as /api/fleet): 404 means absent. */
export async function exists(path: string): Promise<boolean> {
  const res = await fetch(path, { method: "GET", headers: { accept: "application/json" }, credentials: "same-origin" });
  return res.status !== 404;
}

/** An operation as GET /api/operations/{id} reports it. */
export interface Operation {
  id: string;
  status: string;
  customStatus?: { step?: string; failedStep?: string; error?: string } & Record<string, unknown>;
  output?: Record<string, unknown>;
  error?: { message?: string };
}

export const enc = encodeURIComponent;

/**
 * The API path of a certificate (and a sub-resource): `/api/certificates/N<suffix>`, with `?vault=V` outside the
 * default vault (undefined vault: the default one).
 */
export function certificatePath(name: string, vault?: string, suffix = ""): string {
  return `/api/certificates/${enc(name)}${suffix}${vault === undefined ? "" : `?vault=${enc(vault)}`}`;
}

/** The dashboard page of a certificate: `#/certificates/N` in the default vault, `#/certificates/V/N` in another. */
export function certificateHash(name: string, vault: string | undefined, defaultVault: string | undefined): string {
  return vault === undefined || vault === defaultVault ? `#/certificates/${enc(name)}` : `#/certificates/${enc(vault)}/${enc(name)}`;
}
