/**
 * The HTTP API route table and the one wrapper every route runs through: authorize (App Service Authentication
 * roles, function keys on /api/automation/*, the local principal; fail closed), run the handler, turn every error
 * into an RFC 9457 problem. functions/http-api.ts registers each route twice (user route, anonymous + authorize();
 * automation route, authLevel "function"). This module stays light: handlers and their SDKs load on first use.
 */
import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import type { Runtime } from "../app/runtime";
import { authorize, ROLES, type Role } from "./auth";
import { bearerToken, verifyEntraToken } from "./entra";
import type { Handler } from "./handlers";
import { HttpProblemError, MAX_BODY_BYTES, problemResponse, type ApiRequest, type ApiResponse } from "./http";
import type { OperationsClient } from "./operations";
import { problem, problemFromError } from "./problem";
import { lazyModule } from "../shared/lazy";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

export interface ApiRoute {
  /** Function name stem (user route: `api-<name>`, automation route: `automation-<name>`). */
  name: string;
  /** Route template under /api (and under /api/automation). */
  route: string;
  method: HttpMethod;
  role: Role;
  /** Needs the durable client (registered with df.app.client.http). */
  durable: boolean;
  handler: () => Handler;
}

// Handlers (and the Azure SDKs they use) load on first call.
const certificates = lazyModule<typeof import("./handlers")>(() => require("./handlers"));
const names = lazyModule<typeof import("./handlers-names")>(() => require("./handlers-names"));
const pending = lazyModule<typeof import("./handlers-pending")>(() => require("./handlers-pending"));
const issuerPins = lazyModule<typeof import("./handlers-issuer")>(() => require("./handlers-issuer"));
const health = lazyModule<typeof import("./handlers-health")>(() => require("./handlers-health"));
const schedule = lazyModule<typeof import("./handlers-renewals")>(() => require("./handlers-renewals"));
const accounts = lazyModule<typeof import("./handlers-account")>(() => require("./handlers-account"));
const fleet = lazyModule<typeof import("./handlers-fleet")>(() => require("./handlers-fleet"));
const runtime = lazyModule<typeof import("../app/runtime")>(() => require("../app/runtime"));

export const API_ROUTES: readonly ApiRoute[] = [
  {
    name: "issueCertificate",
    route: "certificates",
    method: "POST",
    role: ROLES.issue,
    durable: true,
    handler: () => certificates().issue,
  },
  { name: "listCertificates", route: "certificates", method: "GET", role: ROLES.read, durable: true, handler: () => certificates().list },
  {
    name: "getCertificate",
    route: "certificates/{name}",
    method: "GET",
    role: ROLES.read,
    durable: true,
    handler: () => certificates().get,
  },
  {
    name: "renewCertificate",
    route: "certificates/{name}/renew",
    method: "POST",
    role: ROLES.issue,
    durable: true,
    handler: () => certificates().renew,
  },
  {
    name: "revokeCertificate",
    route: "certificates/{name}/revoke",
    method: "POST",
    role: ROLES.revoke,
    durable: true,
    handler: () => certificates().revoke,
  },
  {
    name: "setCertificateNames",
    route: "certificates/{name}/names",
    method: "PUT",
    role: ROLES.issue,
    durable: true,
    handler: () => names().putNames,
  },
  { name: "health", route: "health", method: "GET", role: ROLES.read, durable: false, handler: () => health().health },
  { name: "listRenewals", route: "renewals", method: "GET", role: ROLES.read, durable: false, handler: () => schedule().renewals },
  { name: "getAccount", route: "account", method: "GET", role: ROLES.read, durable: false, handler: () => accounts().account },
  { name: "listDnsZones", route: "dns-zones", method: "GET", role: ROLES.read, durable: false, handler: () => certificates().dnsZones },
  {
    name: "getOperation",
    route: "operations/{id}",
    method: "GET",
    role: ROLES.read,
    durable: true,
    handler: () => certificates().operation,
  },
  {
    name: "showPending",
    route: "certificates/{name}/pending",
    method: "GET",
    role: ROLES.read,
    durable: false,
    handler: () => pending().showPendingOp,
  },
  {
    name: "createPending",
    route: "certificates/{name}/pending",
    method: "POST",
    role: ROLES.issue,
    durable: false,
    handler: () => pending().createPendingOp,
  },
  {
    name: "deletePending",
    route: "certificates/{name}/pending",
    method: "DELETE",
    role: ROLES.issue,
    durable: false,
    handler: () => pending().deletePendingOp,
  },
  {
    name: "cancelPending",
    route: "certificates/{name}/pending/cancel",
    method: "POST",
    role: ROLES.issue,
    durable: false,
    handler: () => pending().cancelPendingOp,
  },
  {
    name: "mergePending",
    route: "certificates/{name}/pending/merge",
    method: "POST",
    role: ROLES.issue,
    durable: false,
    handler: () => pending().mergePendingOp,
  },
  { name: "agentReport", route: "agents/reports", method: "POST", role: ROLES.agent, durable: false, handler: () => fleet().report },
  { name: "getFleet", route: "fleet", method: "GET", role: ROLES.read, durable: false, handler: () => fleet().fleet },
  {
    name: "certificateHosts",
    route: "certificates/{name}/hosts",
    method: "GET",
    role: ROLES.read,
    durable: false,
    handler: () => fleet().certificateHosts,
  },
  {
    name: "getIssuerPins",
    route: "certificates/{name}/issuer-pins",
    method: "GET",
    role: ROLES.read,
    durable: false,
    handler: () => issuerPins().showIssuerPins,
  },
  {
    name: "setIssuerPins",
    route: "certificates/{name}/issuer-pins",
    method: "PUT",
    role: ROLES.issue,
    durable: false,
    handler: () => issuerPins().putIssuerPins,
  },
];

export interface RouteOptions {
  /** True on /api/automation/* routes (authLevel "function": the host has checked the key). */
  viaFunctionKey: boolean;
  client?: OperationsClient;
  /** Where unexpected errors are logged (the invocation context). */
  logError: (message: string) => void;
  /** The app runtime (default getRuntime()). */
  runtime?: () => Runtime;
}

function defaultRuntime(): Runtime {
  return runtime().getRuntime();
}

/** Runs one API request: authorization first, then the handler; every failure becomes a problem response. */
export async function runRoute(route: ApiRoute, req: ApiRequest, options: RouteOptions): Promise<ApiResponse> {
  const instance = new URL(req.url, "http://localhost").pathname;
  let runtime: Runtime;
  try {
    runtime = (options.runtime ?? defaultRuntime)();
  } catch (err) {
    options.logError(`kv-acme settings are invalid: ${(err as Error).message}`);
    return problemResponse(
      problem(500, "ConfigurationInvalid", "The app's settings are invalid; the function log lists the problems.", { instance }),
    );
  }
  const auth = runtime.settings.auth;
  const token = auth.mode === "appServiceAuth" && auth.entra && !options.viaFunctionKey ? bearerToken(req.headers) : undefined;
  const bearer = auth.entra && token !== undefined ? await verifyEntraToken(auth.entra, token) : undefined;
  const decision = authorize(auth, req.headers, route.role, options.viaFunctionKey, bearer);
  if (!decision.ok) {
    const headers: Record<string, string> =
      decision.status === 401 && runtime.settings.auth.mode === "appServiceAuth" ? { "www-authenticate": 'Bearer realm="kv-acme"' } : {};
    return problemResponse(problem(decision.status, decision.code, decision.detail, { instance }), headers);
  }
  try {
    return await route.handler()(req, { runtime, caller: decision.caller, client: options.client });
  } catch (err) {
    const p = problemFromError(err, instance);
    if (p.status >= 500 && !(err instanceof HttpProblemError))
      options.logError(`${req.method} ${instance} failed: ${(err as Error)?.stack ?? String(err)}`);
    return problemResponse(p);
  }
}

/** Maps the worker's HttpRequest to the handler's ApiRequest; an oversized body is refused before it is read. */
export async function toApiRequest(request: HttpRequest): Promise<ApiRequest> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  const body = declared > MAX_BODY_BYTES ? new Uint8Array(0) : new Uint8Array(await request.arrayBuffer());
  return { method: request.method, url: request.url, params: { ...request.params }, query: request.query, headers: request.headers, body };
}

export function toResponseInit(res: ApiResponse): HttpResponseInit {
  return { status: res.status, headers: res.headers, body: res.body };
}
