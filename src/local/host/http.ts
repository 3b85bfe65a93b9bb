/**
 * Request handling of the local host: /api routes, durable webhooks, admin API. Keys as on Azure: /admin/* needs the
 * master key; /runtime/webhooks/durabletask/* the master key or the durable extension's system key (which the
 * management URLs handed to durable clients carry as `code`); the durable client's RPC calls come in on a path
 * holding a per-process secret (on Azure they go to a loopback-only listener). Request bodies are bounded (413).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import type { FunctionRegistry, RegisteredFunction } from "./core-api";
import { InstanceConflictError, type DurableEngine } from "./durable";
import { invokeFunction, type RpcHttpCookie, type RpcTypedData } from "./invoke";
import { compileRoute, matchRoute, type CompiledRoute } from "./routes";

/** An HTTP function with its compiled route. */
export interface HttpRoute {
  fn: RegisteredFunction;
  route: CompiledRoute;
  methods: string[] | undefined;
  authLevel: "anonymous" | "function" | "admin";
}

/** Context the handler needs. */
export interface HttpHostContext {
  registry: FunctionRegistry;
  engine: DurableEngine;
  routes: HttpRoute[];
  /** host.json extensions.http.routePrefix, without slashes ("" = routes at the root). */
  routePrefix: string;
  /** What App Service Authentication's /.auth/me would answer for the local principal (absent: 404, as with it off). */
  authMe?: () => unknown;
  baseUrl: () => string;
  functionKeys: string[];
  masterKey: string;
  /** The durabletask_extension system key. */
  systemKey: string;
  /** Path prefix (with its secret) of the durable client's RPC calls, e.g. /runtime/rpc/<secret>/. */
  rpcPath: string;
  /** Largest request body accepted (bytes); larger ones get 413. */
  maxRequestBodyBytes: number;
  clientData: () => Record<string, unknown>;
  fireFunction: (name: string, input: unknown) => Promise<void>;
  log: (message: string) => void;
}

/** Builds the route table from the registry (route defaults to the function name, prefix /api). */
export function buildRoutes(registry: FunctionRegistry): HttpRoute[] {
  const routes = registry.byTrigger("httpTrigger").map((fn) => {
    const t = fn.trigger;
    const methods = Array.isArray(t.methods) && t.methods.length ? (t.methods as string[]).map((m) => m.toUpperCase()) : undefined;
    const level = String(t.authLevel ?? "function").toLowerCase();
    const authLevel = level === "anonymous" || level === "admin" ? level : "function";
    return { fn, route: compileRoute(typeof t.route === "string" && t.route ? t.route : fn.name), methods, authLevel } as HttpRoute;
  });
  return routes.sort((a, b) => b.route.specificity - a.route.specificity || b.route.segments.length - a.route.segments.length);
}

function keyMatches(given: string | undefined, keys: string[]): boolean {
  if (!given) return false;
  const g = Buffer.from(given);
  return keys.some((k) => {
    const b = Buffer.from(k);
    return b.length === g.length && timingSafeEqual(b, g);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { "content-type": "application/json; charset=utf-8" } : {}), ...headers });
  res.end(text);
}

function problem(res: ServerResponse, status: number, title: string, detail: string): void {
  res.writeHead(status, { "content-type": "application/problem+json" });
  res.end(JSON.stringify({ type: "about:blank", title, status, detail }));
}

/** Azure Functions' default limit on a request body (100 MB, the host's maxRequestBodySize). */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;

/** Thrown by readBody when the body exceeds the limit (answered with 413). */
class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers["content-length"] ?? 0) > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function unauthorized(res: ServerResponse): void {
  res.writeHead(401);
  res.end();
}

function typedDataToBuffer(data: RpcTypedData | null | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.string !== undefined) return Buffer.from(data.string);
  if (data.json !== undefined) return Buffer.from(data.json);
  if (data.int !== undefined) return Buffer.from(String(data.int));
  if (data.double !== undefined) return Buffer.from(String(data.double));
  return Buffer.alloc(0);
}

function cookieHeader(c: RpcHttpCookie): string {
  const parts = [`${c.name}=${c.value}`];
  if (c.domain?.value) parts.push(`Domain=${c.domain.value}`);
  if (c.path?.value) parts.push(`Path=${c.path.value}`);
  if (c.expires?.value?.seconds !== undefined) parts.push(`Expires=${new Date(Number(c.expires.value.seconds) * 1000).toUTCString()}`);
  if (c.maxAge?.value !== undefined) parts.push(`Max-Age=${c.maxAge.value}`);
  if (c.secure?.value) parts.push("Secure");
  if (c.httpOnly?.value) parts.push("HttpOnly");
  if (c.sameSite === "lax") parts.push("SameSite=Lax");
  else if (c.sameSite === "strict") parts.push("SameSite=Strict");
  else if (c.sameSite === "explicitNone") parts.push("SameSite=None");
  return parts.join("; ");
}

/** Handles one request. */
export async function handleRequest(ctx: HttpHostContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", ctx.baseUrl());
  const path = url.pathname;
  const method = (req.method ?? "GET").toUpperCase();
  try {
    const prefix = ctx.routePrefix ? `/${ctx.routePrefix}` : "";
    if (path.startsWith(ctx.rpcPath)) {
      await handleDurable(ctx, req, res, url, method, path.slice(ctx.rpcPath.length));
    } else if (path.startsWith("/runtime/")) {
      if (!path.startsWith("/runtime/webhooks/durabletask/")) problem(res, 404, "Not Found", `No route for ${method} ${path}.`);
      else if (!keyMatches(requestKey(req, url), [ctx.masterKey, ctx.systemKey])) unauthorized(res);
      else await handleDurable(ctx, req, res, url, method, path.slice("/runtime/webhooks/durabletask/".length));
    } else if (path.toLowerCase().startsWith("/admin/") && !keyMatches(requestKey(req, url), [ctx.masterKey])) {
      unauthorized(res);
    } else if (path.toLowerCase().startsWith("/admin/functions/") && method === "POST") {
      await handleAdmin(ctx, req, res, decodeURIComponent(path.slice("/admin/functions/".length)));
    } else if (path === "/admin/host/status" && method === "GET") {
      sendJson(res, 200, { state: "Running", functions: [...ctx.registry.functions.keys()] });
    } else if (path === "/.auth/me" && ctx.authMe) {
      // App Service Authentication answers /.auth/me itself, before the app; the local principal stands in for it.
      sendJson(res, 200, ctx.authMe(), { "cache-control": "no-store" });
    } else if (path === "/" && method === "GET" && prefix) {
      sendJson(res, 200, { name: "kv-acme local Functions host", functions: [...ctx.registry.functions.keys()] });
    } else if (path === prefix || path.startsWith(`${prefix}/`)) {
      await handleApi(ctx, req, res, url, method, path.slice(prefix.length));
    } else {
      problem(res, 404, "Not Found", `No route for ${method} ${path}.`);
    }
  } catch (err) {
    if (err instanceof BodyTooLarge) {
      problem(res, 413, "Content Too Large", `The request body exceeds ${ctx.maxRequestBodyBytes} bytes.`);
      req.resume();
      return;
    }
    ctx.log(`request ${method} ${path} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (!res.headersSent) problem(res, 500, "Internal Server Error", "The local host failed to handle the request.");
    else res.end();
  }
}

function requestKey(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers["x-functions-key"];
  return (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get("code") ?? undefined;
}

async function handleApi(
  ctx: HttpHostContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
  sub: string,
): Promise<void> {
  let matchedPath = false;
  for (const r of ctx.routes) {
    const params = matchRoute(r.route, sub);
    if (!params) continue;
    matchedPath = true;
    if (r.methods && !r.methods.includes(method)) continue;
    // Authorization, as the Functions host does it: function level accepts a function key or the master
    // key, admin level only the master key. With no keys configured, key-protected routes answer 401.
    if (r.authLevel !== "anonymous") {
      const key = requestKey(req, url);
      const allowed = r.authLevel === "admin" ? [ctx.masterKey] : [...ctx.functionKeys, ctx.masterKey];
      if (!keyMatches(key, allowed)) {
        unauthorized(res);
        return;
      }
    }
    await invokeHttp(ctx, r.fn, req, res, url, method, params);
    return;
  }
  if (matchedPath) problem(res, 405, "Method Not Allowed", `${method} is not allowed on ${url.pathname}.`);
  else problem(res, 404, "Not Found", `No function serves ${url.pathname}.`);
}

async function invokeHttp(
  ctx: HttpHostContext,
  fn: RegisteredFunction,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
  params: Record<string, string>,
): Promise<void> {
  const body = await readBody(req, ctx.maxRequestBodyBytes);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const outcome = await invokeFunction(ctx.registry, fn, {
    trigger: { http: { method, url: url.href, headers, query, params, body: body.length ? { bytes: body } : undefined } },
    extraInput: (binding) =>
      binding.type === "durableClient" || binding.type === "orchestrationClient" ? { string: JSON.stringify(ctx.clientData()) } : undefined,
    triggerMetadata: {},
    wantResponse: true,
    log: (level, category, message) => {
      if (level === "error" || level === "critical") ctx.log(`${fn.name} [${category}]: ${message}`);
    },
  });
  if (outcome.error !== undefined) {
    const e = outcome.error;
    ctx.log(`${fn.name} threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    res.writeHead(500);
    res.end();
    return;
  }
  const http = outcome.returnValue?.http;
  if (!http) {
    res.writeHead(204);
    res.end();
    return;
  }
  const out: Record<string, string | string[]> = { ...(http.headers ?? {}) };
  const cookies = (http.cookies ?? []).map(cookieHeader);
  if (cookies.length) out["set-cookie"] = cookies;
  const status = Number(http.statusCode ?? 200);
  res.writeHead(status, out);
  res.end(method === "HEAD" || status === 204 || status === 304 ? undefined : typedDataToBuffer(http.body));
}

function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  const text = body.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Instance operations Azure's extension has and the local host does not: answered 501, never 404 "no instance". */
const UNSUPPORTED_OPERATIONS: Record<string, string> = {
  suspend: "Suspending an orchestration instance",
  resume: "Resuming a suspended orchestration instance",
  rewind: "Rewinding a failed orchestration instance",
  restart: "Restarting an orchestration instance",
};

async function handleDurable(
  ctx: HttpHostContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
  rest: string,
): Promise<void> {
  const parts = rest.split("/").filter(Boolean).map(decodeURIComponent);
  const engine = ctx.engine;
  const links = (id: string): Record<string, string> => {
    const m = ctx.clientData().managementUrls as Record<string, string>;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) out[k] = v.split(m.id).join(encodeURIComponent(id));
    out.id = id;
    return out;
  };
  // POST orchestrators/{name}[/{instanceId}]
  if (parts[0] === "orchestrators" && method === "POST" && (parts.length === 2 || parts.length === 3)) {
    const input = parseJsonBody(await readBody(req, ctx.maxRequestBodyBytes));
    try {
      const id = await engine.startNew(parts[1], input, parts[2]);
      const l = links(id);
      sendJson(res, 202, l, { location: l.statusQueryGetUri });
    } catch (err) {
      if (err instanceof InstanceConflictError) problem(res, 409, "Conflict", err.message);
      else problem(res, 400, "Bad Request", err instanceof Error ? err.message : String(err));
    }
    return;
  }
  if (parts[0] !== "instances") {
    problem(res, 404, "Not Found", `No durable route for ${method} ${url.pathname}.`);
    return;
  }
  const flag = (n: string): boolean => (url.searchParams.get(n) ?? "").toLowerCase() === "true";
  if (parts.length === 1) {
    const runtimeStatus = url.searchParams.get("runtimeStatus")?.split(",").filter(Boolean);
    const filter = {
      runtimeStatus,
      createdTimeFrom: url.searchParams.get("createdTimeFrom") ?? undefined,
      createdTimeTo: url.searchParams.get("createdTimeTo") ?? undefined,
      showInput: url.searchParams.get("showInput") !== "false",
    };
    if (method === "GET") {
      sendJson(res, 200, engine.list(filter));
    } else if (method === "DELETE") {
      let deleted = 0;
      for (const s of engine.list(filter)) deleted += await engine.purge(s.instanceId);
      if (deleted === 0) sendJson(res, 404, { instancesDeleted: 0 });
      else sendJson(res, 200, { instancesDeleted: deleted });
    } else {
      problem(res, 405, "Method Not Allowed", `${method} is not allowed here.`);
    }
    return;
  }
  const id = parts[1];
  if (parts.length === 2 && method === "GET") {
    const status = engine.getStatus(id, {
      showHistory: flag("showHistory"),
      showHistoryOutput: flag("showHistoryOutput"),
      showInput: url.searchParams.get("showInput") !== "false",
    });
    if (!status) {
      sendJson(res, 404, { message: `No instance with ID '${id}' found.` });
      return;
    }
    // As the extension: events under `historyEvents` (durable-functions' client reads `history`, so
    // getStatus(showHistory) sees none there: durable-js issue #620).
    const body = status;
    const running = status.runtimeStatus === "Running" || status.runtimeStatus === "Pending";
    const code = running ? 202 : 200;
    sendJson(res, code, body, running ? { location: links(id).statusQueryGetUri, "retry-after": "10" } : {});
    return;
  }
  if (parts.length === 2 && method === "DELETE") {
    const deleted = await engine.purge(id);
    sendJson(res, deleted ? 200 : 404, { instancesDeleted: deleted });
    return;
  }
  if (parts.length === 4 && parts[2] === "raiseEvent" && method === "POST") {
    const data = parseJsonBody(await readBody(req, ctx.maxRequestBodyBytes));
    const r = await engine.raiseEvent(id, parts[3], data);
    if (r === false) sendJson(res, 404, { message: `No instance with ID '${id}' found.` });
    else if (r === "gone") sendJson(res, 410, { message: `Instance '${id}' is no longer running.` });
    else sendJson(res, 202, undefined);
    return;
  }
  if (parts.length === 3 && parts[2] === "terminate" && method === "POST") {
    const r = await engine.terminate(id, url.searchParams.get("reason") ?? "");
    if (r === false) sendJson(res, 404, { message: `No instance with ID '${id}' found.` });
    else if (r === "gone") sendJson(res, 410, { message: `Instance '${id}' is no longer running.` });
    else sendJson(res, 202, undefined);
    return;
  }
  const op = parts.length === 3 && method === "POST" ? UNSUPPORTED_OPERATIONS[parts[2].toLowerCase()] : undefined;
  if (op) {
    problem(
      res,
      501,
      "Not Implemented",
      `${op} is not supported by the local host; it exists on Azure (instance '${id}' was not changed).`,
    );
    return;
  }
  problem(res, 404, "Not Found", `No durable route for ${method} ${url.pathname}.`);
}

async function handleAdmin(ctx: HttpHostContext, req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  const fn =
    ctx.registry.functions.get(name) ?? [...ctx.registry.functions.values()].find((f) => f.name.toLowerCase() === name.toLowerCase());
  if (!fn) {
    problem(res, 404, "Not Found", `No function named '${name}'.`);
    return;
  }
  if (fn.trigger.type === "httpTrigger") {
    problem(res, 400, "Bad Request", `'${name}' is an HTTP function; call it on its route.`);
    return;
  }
  const body = parseJsonBody(await readBody(req, ctx.maxRequestBodyBytes)) as { input?: unknown } | undefined;
  void ctx
    .fireFunction(fn.name, body && typeof body === "object" ? body.input : undefined)
    .catch((err: unknown) => ctx.log(`admin invocation of ${fn.name} failed: ${String(err)}`));
  res.writeHead(202);
  res.end();
}
