/**
 * Entra ID access tokens validated by the app itself, so the API does not depend on what the platform reports:
 * App Service Authentication stays the outer gate, and every bearer token is checked here again — a JWS (RFC 7515)
 * signed by one of the tenant's keys (its JWKS, fetched and cached), issuer `<authority>/<tenant>/v2.0` (v2.0
 * tokens: the app registration sets `api.requestedAccessTokenVersion=2`), audience the app's client id (or
 * `api://<client id>`), within its lifetime (RFC 7519 exp/nbf, 60 s of clock skew), with the app roles in `roles`.
 *
 * The JWT library (jose) is loaded on the first token, not at start: a cold start that serves no user call does
 * not pay for it.
 */
import { lazyModule } from "../shared/lazy";

export interface EntraSettings {
  tenantId: string;
  /** Client (application) id of the app registration: the tokens' audience. */
  clientId: string;
  /** Origin of the authority, `https://login.microsoftonline.com` in the public cloud. */
  authority: string;
}

export interface VerifiedPrincipal {
  name: string;
  roles: string[];
}

export type TokenCheck = { ok: true; principal: VerifiedPrincipal } | { ok: false; reason: string };

/** Entra ID's signing algorithm for access tokens. */
const ALGORITHMS = ["RS256"];
const CLOCK_TOLERANCE_SECONDS = 60;

export function entraIssuer(entra: EntraSettings): string {
  return `${entra.authority}/${entra.tenantId}/v2.0`;
}

export function entraJwksUrl(entra: EntraSettings): string {
  return `${entra.authority}/${entra.tenantId}/discovery/v2.0/keys`;
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), or undefined. */
export function bearerToken(headers: { get(name: string): string | null }): string | undefined {
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(headers.get("authorization") ?? "");
  return m?.[1];
}

type Jose = typeof import("jose/dist/types/jwt/verify") & typeof import("jose/dist/types/jwks/remote");
type KeySet = ReturnType<Jose["createRemoteJWKSet"]>;

let jose: Jose | undefined;
const keySets = new Map<string, KeySet>();
// jose's two modules used here (its subpath exports load in about half the time of the whole library).
const joseVerify = lazyModule<typeof import("jose/dist/types/jwt/verify")>(() => require("jose/jwt/verify"));
const joseRemote = lazyModule<typeof import("jose/dist/types/jwks/remote")>(() => require("jose/jwks/remote"));

/** jose's verify and remote key set functions, loaded on first use. */
function loadJose(): Jose {
  jose ??= { ...joseVerify(), ...joseRemote() };
  return jose;
}

/** One cached key set per tenant: jose refetches it when a token names a key it does not know (key rotation). */
function keySetFor(j: Jose, entra: EntraSettings): KeySet {
  const url = entraJwksUrl(entra);
  let set = keySets.get(url);
  if (!set) {
    set = j.createRemoteJWKSet(new URL(url), { timeoutDuration: 5000 });
    keySets.set(url, set);
  }
  return set;
}

/** Why jose refused a token, in words a caller can act on (never the token itself). */
function reasonOf(err: unknown): string {
  const code = (err as { code?: string }).code;
  const claim = (err as { claim?: string }).claim;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "the token has expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return claim === "iss"
        ? "the token's issuer is not this tenant's v2.0 issuer (set api.requestedAccessTokenVersion=2 on the app registration)"
        : claim === "aud"
          ? "the token is not for this app (audience)"
          : `the token's "${claim ?? "?"}" claim is not valid now`;
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "the token is not signed by a key of this tenant";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "the token's signing algorithm is not allowed";
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return "the token is malformed";
    default:
      // a network error or a non-200 answer of the JWKS endpoint (ERR_JWKS_TIMEOUT, ERR_JOSE_GENERIC, fetch failures)
      return "the tenant's signing keys could not be fetched";
  }
}

/** Validates an Entra ID v2.0 access token; never throws. */
export async function verifyEntraToken(entra: EntraSettings, token: string): Promise<TokenCheck> {
  try {
    const j = loadJose();
    const { payload } = await j.jwtVerify(token, keySetFor(j, entra), {
      issuer: entraIssuer(entra),
      audience: [entra.clientId, `api://${entra.clientId}`],
      algorithms: ALGORITHMS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["exp"],
    });
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r: unknown): r is string => typeof r === "string") : [];
    const names = [payload.preferred_username, payload.name, payload.azp, payload.oid, payload.sub];
    const name = names.find((n): n is string => typeof n === "string" && n.length > 0);
    return { ok: true, principal: { name: name ?? "unknown", roles } };
  } catch (err) {
    return { ok: false, reason: reasonOf(err) };
  }
}
