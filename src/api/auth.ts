/**
 * Authorization of the HTTP API. Pure decisions over the request headers, the auth settings and the result of the
 * bearer token's validation (./entra.ts, done before because it is asynchronous):
 *  - Entra ID (mode appServiceAuth): a bearer access token is validated by the app itself (issuer, audience, the
 *    tenant's signature, lifetime) when the tenant and client id are configured, whatever the platform reports;
 *    App Service Authentication is the outer gate. A browser session without a bearer token is accepted through
 *    x-ms-client-principal only when the platform reports authentication as enabled (it then strips client copies).
 *    App roles KvAcme.Read, KvAcme.Issue, KvAcme.Revoke decide what a caller may do.
 *  - Function keys, for automation: the /api/automation/* routes are registered with authLevel "function", so
 *    the Functions host has already checked the key; such callers get the roles in `keyRoles`.
 *  - Local: the local host may run with a documented local principal (settings auth.mode = "local"). Never in Azure:
 *    when an App Service / Functions platform variable is present the mode is refused (a published
 *    local.settings.json would otherwise give every anonymous caller every role).
 * When none of these is configured the API refuses every request (fail closed) and says what to configure.
 */
import type { EntraSettings, TokenCheck } from "./entra";
import { ALL_ROLES, effectiveRoles, NAME_CLAIM_TYPES, ROLE_CLAIM_TYPES, ROLES, type Role } from "./roles";

export { ALL_ROLES, effectiveRoles, NAME_CLAIM_TYPES, ROLE_CLAIM_TYPES, ROLES, type Role };
/** Roles of function-key callers unless settings say otherwise (documented in docs/settings.md from here): agents may report with a key. */

export interface AuthSettings {
  mode: "appServiceAuth" | "functionKeys" | "local" | "unconfigured";
  /** Entra ID tenant and app registration whose access tokens the app validates itself (mode appServiceAuth). */
  entra?: EntraSettings;
  /**
   * True only when the platform says App Service Authentication is on (WEBSITE_AUTH_ENABLED=true): only then does
   * App Service validate callers and strip client copies of x-ms-client-principal, so only then is it trusted.
   */
  platformAuthEnabled?: boolean;
  /** Roles of the local principal (mode "local"); default all. */
  localRoles?: string[];
  /** Roles granted to callers of the function-key routes (loaded settings carry the descriptor's default); none when absent. */
  keyRoles?: string[];
  /** The App Service / Functions platform variable seen (e.g. WEBSITE_INSTANCE_ID) when the process runs in Azure. */
  azureHostVariable?: string;
}

export interface Caller {
  kind: "user" | "functionKey" | "local";
  name: string;
  roles: Role[];
}

export type AuthDecision = { ok: true; caller: Caller } | { ok: false; status: 401 | 403; code: string; detail: string };

interface ClientPrincipal {
  auth_typ?: string;
  name_typ?: string;
  role_typ?: string;
  claims?: { typ: string; val: string }[];
}

/** Decodes the x-ms-client-principal header (base64 JSON) into a name and app roles. */
export function parseClientPrincipal(header: string | null | undefined): { name: string; roles: string[] } | undefined {
  if (!header) return undefined;
  let principal: ClientPrincipal;
  try {
    principal = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as ClientPrincipal;
  } catch {
    return undefined;
  }
  if (!principal || !Array.isArray(principal.claims)) return undefined;
  const roleTypes = new Set([...ROLE_CLAIM_TYPES, principal.role_typ ?? "roles"]);
  const nameTypes = [principal.name_typ, ...NAME_CLAIM_TYPES];
  const roles = principal.claims.filter((c) => roleTypes.has(c.typ)).map((c) => c.val);
  const name = nameTypes.map((t) => principal.claims?.find((c) => c.typ === t)?.val).find(Boolean) ?? "unknown";
  return { name, roles };
}

/** The documented local principal (mode "local"): every role unless settings.localRoles narrows them. */
export function localCaller(settings: AuthSettings): Caller {
  return { kind: "local", name: "local developer", roles: effectiveRoles(settings.localRoles ?? ALL_ROLES) };
}

/**
 * Decides whether a request may proceed with `required`.
 * `viaFunctionKey` is true only for routes registered with authLevel "function" (the host checked the key).
 * `bearer` is the validation of the request's bearer token (verifyEntraToken), when it had one and Entra ID is configured.
 */
export function authorize(
  settings: AuthSettings,
  headers: { get(name: string): string | null },
  required: Role,
  viaFunctionKey = false,
  bearer?: TokenCheck,
): AuthDecision {
  let caller: Caller | undefined;
  if (viaFunctionKey) {
    caller = { kind: "functionKey", name: "function key", roles: effectiveRoles(settings.keyRoles ?? []) }; // absent: no roles (fail closed)
  } else if (settings.mode === "appServiceAuth" && bearer !== undefined) {
    if (!bearer.ok) return { ok: false, status: 401, code: "InvalidToken", detail: `The bearer token was refused: ${bearer.reason}.` };
    caller = { kind: "user", name: bearer.principal.name, roles: effectiveRoles(bearer.principal.roles) };
  } else if (settings.mode === "appServiceAuth" && settings.entra !== undefined && settings.platformAuthEnabled !== true) {
    return {
      ok: false,
      status: 401,
      code: "AuthenticationRequired",
      detail: `Send an Entra ID access token for api://${settings.entra.clientId} (Authorization: Bearer) to use this API.`,
    };
  } else if (settings.mode === "appServiceAuth") {
    if (settings.platformAuthEnabled !== true) {
      return {
        ok: false,
        status: 401,
        code: "AuthenticationNotConfigured",
        detail:
          "KvAcme__Auth__Mode is appServiceAuth but neither KvAcme__Auth__TenantId and KvAcme__Auth__ClientId (the app then " +
          "validates Entra ID access tokens itself) nor WEBSITE_AUTH_ENABLED=true is set, so no caller can be trusted and the " +
          "API stays closed. Set the tenant and client id of the app registration. See docs/deploy.md.",
      };
    }
    const principal = parseClientPrincipal(headers.get("x-ms-client-principal"));
    if (!principal) {
      return {
        ok: false,
        status: 401,
        code: "AuthenticationRequired",
        detail: "Sign in through App Service Authentication to use this API.",
      };
    }
    caller = { kind: "user", name: principal.name, roles: effectiveRoles(principal.roles) };
  } else if (settings.mode === "local") {
    if (settings.azureHostVariable !== undefined) {
      return {
        ok: false,
        status: 401,
        code: "LocalAuthRefused",
        detail:
          `KvAcme__Auth__Mode is local, which gives every anonymous caller the local principal's roles, but this process runs ` +
          `in App Service / Azure Functions (${settings.azureHostVariable} is set), so the API stays closed. Remove ` +
          "KvAcme__Auth__Mode=local from the app settings and enable App Service Authentication (Entra ID), or use the " +
          "/api/automation/* routes with a function key. See docs/security.md.",
      };
    }
    caller = localCaller(settings);
  } else {
    return {
      ok: false,
      status: 401,
      code: "AuthenticationNotConfigured",
      detail:
        "The API is closed because no authentication is configured. Enable App Service Authentication (Entra ID) on the " +
        "Function App and assign the app roles KvAcme.Read / KvAcme.Issue / KvAcme.Revoke, or call the /api/automation/* " +
        "routes with a function key. See docs/api.md.",
    };
  }
  if (!caller.roles.includes(required)) {
    return {
      ok: false,
      status: 403,
      code: "RoleRequired",
      detail: `This operation needs the app role ${required}; ${caller.name} has ${caller.roles.join(", ") || "none"}.`,
    };
  }
  return { ok: true, caller };
}
