/**
 * A local Entra ID issuer for tests: the tenant's JWKS at `<authority>/<tenant>/discovery/v2.0/keys` over HTTPS with
 * a certificate of the local CA (trusted through NODE_EXTRA_CA_CERTS, verification on), and v2.0 access tokens
 * signed RS256 with the tenant's key, as Entra ID issues them.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import https from "node:https";
import { exportJWK, SignJWT, type JWTPayload } from "jose";
import { ensureLocalCa } from "../../src/local/ca";
import { listen } from "../../src/local/net";

export interface EntraIssuer {
  /** https://127.0.0.1:<port> */
  authority: string;
  tenantId: string;
  clientId: string;
  /** Requests the keys endpoint answered. */
  keyRequests(): number;
  /** A v2.0 access token for the app with `claims` over the defaults; `key: "stranger"` signs with a key not in the JWKS. */
  token(claims?: JWTPayload, options?: { key?: "tenant" | "stranger"; expiresInSeconds?: number; alg?: string }): Promise<string>;
  close(): Promise<void>;
}

function rsaKey(): { privateKey: KeyObject; publicKey: KeyObject; kid: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateKey, publicKey, kid: randomUUID() };
}

export async function startEntraIssuer(): Promise<EntraIssuer> {
  const ca = await ensureLocalCa();
  const { certPem, keyPem } = await ca.issueServerCertificate(["localhost", "127.0.0.1"]);
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const tenantKey = rsaKey();
  const stranger = rsaKey();
  const jwks = { keys: [{ ...(await exportJWK(tenantKey.publicKey)), kid: tenantKey.kid, use: "sig", alg: "RS256" }] };
  let keyRequests = 0;
  const server = https.createServer({ cert: certPem, key: keyPem }, (req, res) => {
    if (req.method === "GET" && req.url === `/${tenantId}/discovery/v2.0/keys`) {
      keyRequests++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(jwks));
      return;
    }
    res.writeHead(404).end();
  });
  const port = await listen(server, 0, "127.0.0.1");
  const authority = `https://127.0.0.1:${port}`;
  return {
    authority,
    tenantId,
    clientId,
    keyRequests: () => keyRequests,
    async token(claims = {}, options = {}) {
      const key = options.key === "stranger" ? stranger : tenantKey;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: `${authority}/${tenantId}/v2.0`,
        aud: clientId,
        tid: tenantId,
        ver: "2.0",
        oid: randomUUID(),
        sub: randomUUID(),
        preferred_username: "alice@contoso.example",
        iat: now,
        nbf: now,
        exp: now + (options.expiresInSeconds ?? 3600),
        ...claims,
      })
        .setProtectedHeader({ alg: options.alg ?? "RS256", kid: key.kid, typ: "JWT" })
        .sign(key.privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
