/**
 * Signed bearer tokens for the local stack. The token endpoint issues ES256 JWTs for a resource; the Key Vault
 * and ARM stand-ins verify signature, audience, and time window, and answer 401 otherwise.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, KeyObject } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../../shared/fs";

export const VAULT_AUDIENCE = "https://vault.azure.net";
export const ARM_AUDIENCE = "https://management.azure.com";
export const LOCAL_TENANT_ID = "72f988bf-0000-4000-8000-00000000c0de";
export const LOCAL_ISSUER = `https://sts.windows.net/${LOCAL_TENANT_ID}/`;

export interface TokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  oid: string;
  sub: string;
  tid: string;
  appid: string;
  [claim: string]: unknown;
}

export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; reason: string };

export interface TokenAuthority {
  issue(resource: string, options?: { clientId?: string; lifetimeSeconds?: number; now?: number }): { token: string; claims: TokenClaims };
  /** Verifies `Authorization: Bearer <jwt>` for one audience (with or without a trailing slash, as Azure does). */
  verify(authorization: string | undefined, audience: string, now?: number): VerifyResult;
}

/** Normalises a resource or scope ("https://vault.azure.net/.default") to an audience without a trailing slash. */
export function audienceOf(resourceOrScope: string): string {
  return resourceOrScope.replace(/\/\.default$/, "").replace(/\/+$/, "");
}

export function createTokenAuthority(privateKey: KeyObject): TokenAuthority {
  const publicKey = createPublicKey(privateKey);
  const header = b64url(JSON.stringify({ alg: "ES256", typ: "JWT", kid: "kv-acme-local" }));
  return {
    issue(resource, options = {}) {
      const now = Math.floor((options.now ?? Date.now()) / 1000);
      const clientId = options.clientId ?? "00000000-0000-4000-8000-00000000a11e";
      const claims: TokenClaims = {
        aud: audienceOf(resource),
        iss: LOCAL_ISSUER,
        iat: now,
        nbf: now - 5,
        exp: now + (options.lifetimeSeconds ?? 3600),
        oid: clientId,
        sub: clientId,
        tid: LOCAL_TENANT_ID,
        appid: clientId,
        idtyp: "app",
      };
      const body = `${header}.${b64url(JSON.stringify(claims))}`;
      const signature = sign("sha256", Buffer.from(body), { key: privateKey, dsaEncoding: "ieee-p1363" });
      return { token: `${body}.${signature.toString("base64url")}`, claims };
    },
    verify(authorization, audience, now = Date.now()) {
      const match = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(authorization?.trim() ?? "");
      if (!match) return { ok: false, reason: "missing or malformed bearer token" };
      const [, h, p, s] = match;
      let claims: TokenClaims;
      try {
        const head = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as { alg?: string };
        if (head.alg !== "ES256") return { ok: false, reason: `unsupported token algorithm ${String(head.alg)}` };
        const valid = verify(
          "sha256",
          Buffer.from(`${h}.${p}`),
          { key: publicKey, dsaEncoding: "ieee-p1363" },
          Buffer.from(s, "base64url"),
        );
        if (!valid) return { ok: false, reason: "token signature is invalid" };
        claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as TokenClaims;
      } catch {
        return { ok: false, reason: "token is not a valid JWT" };
      }
      const seconds = Math.floor(now / 1000);
      if (audienceOf(String(claims.aud)) !== audienceOf(audience)) {
        return { ok: false, reason: `token audience ${String(claims.aud)} is not ${audienceOf(audience)}` };
      }
      if (typeof claims.exp !== "number" || claims.exp <= seconds) return { ok: false, reason: "token is expired" };
      if (typeof claims.nbf === "number" && claims.nbf > seconds + 300) return { ok: false, reason: "token is not yet valid" };
      return { ok: true, claims };
    },
  };
}

/** Loads the stack's token signing key from `dir`, creating it the first time (EC P-256, PKCS#8, 0600). */
export async function loadTokenAuthority(dir: string): Promise<TokenAuthority> {
  const file = path.join(dir, "token-signing-key.pem");
  let pem: string;
  try {
    pem = await fs.readFile(file, "utf8");
  } catch {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await writeFileAtomic(file, privateKey.export({ format: "pem", type: "pkcs8" }) as string, 0o600);
    pem = await fs.readFile(file, "utf8");
  }
  return createTokenAuthority(createPrivateKey(pem));
}

/** A random identity header value, as App Service sets IDENTITY_HEADER. */
export function newIdentityHeader(): string {
  return randomUUID();
}

function b64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}
