/** Test helpers for the Key Vault stand-in: a server in a temp dir, SDK clients with a traffic recorder. */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { ensureLocalCa } from "../../src/local/ca";
import { createTokenAuthority, VAULT_AUDIENCE, type TokenAuthority } from "../../src/local/identity/tokens";
import { startKeyVaultServer, type KeyVaultServer, type KeyVaultServerOptions } from "../../src/local/keyvault/server";

export const REPO = path.resolve(__dirname, "../..");

export interface Recorded {
  method: string;
  url: string;
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface Vault {
  server: KeyVaultServer;
  authority: TokenAuthority;
  stateDir: string;
  tls: { certPem: string; keyPem: string };
  credential: TokenCredential;
  certificates: CertificateClient;
  secrets: SecretClient;
  traffic: Recorded[];
  token(resource?: string, lifetimeSeconds?: number): string;
  restart(): Promise<void>;
  /** New SDK clients (no cached token: their first request meets the 401 challenge again). */
  renewClients(): void;
  close(): Promise<void>;
}

/** A policy that records every response the SDK sees (including the 401 challenge). */
export function recorder(traffic: Recorded[]): PipelinePolicy {
  return {
    name: "kvacme-test-recorder",
    async sendRequest(request, next) {
      const response = await next(request);
      let body: unknown = null;
      if (response.bodyAsText) {
        try {
          body = JSON.parse(response.bodyAsText);
        } catch {
          body = response.bodyAsText;
        }
      }
      traffic.push({ method: request.method, url: request.url, status: response.status, body, headers: response.headers.toJSON() });
      return response;
    },
  };
}

/** Starts a Key Vault stand-in on an ephemeral port in a fresh temp dir (or `stateDir`), with SDK clients. */
export async function startVault(extra: Partial<KeyVaultServerOptions> = {}): Promise<Vault> {
  // $KVACME_HOME's CA (the one NODE_EXTRA_CA_CERTS trusts, scripts/lib/ensure.sh), else the project's .local/: a copy
  // of the project (Stryker's sandbox, which leaves .local out) would otherwise make a CA of its own that nothing trusts.
  const ca = await ensureLocalCa();
  const tls = await ca.issueServerCertificate(["127.0.0.1", "localhost"]);
  const authority = createTokenAuthority(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
  const stateDir = extra.stateDir ?? mkdtempSync(path.join(os.tmpdir(), "kvacme-kv-"));
  const credential: TokenCredential = {
    getToken: async (scopes) => {
      const t = authority.issue(String([scopes].flat()[0]));
      return { token: t.token, expiresOnTimestamp: t.claims.exp * 1000 };
    },
  };
  const traffic: Recorded[] = [];
  const options: KeyVaultServerOptions = { authority, tls, stateDir, timing: "instant", ...extra };
  let server = await startKeyVaultServer(options);
  const clientOptions = () => ({
    disableChallengeResourceVerification: true,
    additionalPolicies: [{ policy: recorder(traffic), position: "perRetry" as const }],
    retryOptions: { maxRetries: 0 },
  });
  const vault: Vault = {
    server,
    authority,
    stateDir,
    tls,
    credential,
    certificates: new CertificateClient(server.url, credential, clientOptions()),
    secrets: new SecretClient(server.url, credential, clientOptions()),
    traffic,
    token: (resource = VAULT_AUDIENCE, lifetimeSeconds) => authority.issue(resource, { lifetimeSeconds }).token,
    renewClients() {
      vault.certificates = new CertificateClient(server.url, credential, clientOptions());
      vault.secrets = new SecretClient(server.url, credential, clientOptions());
    },
    async restart() {
      await server.close();
      server = await startKeyVaultServer({ ...options, port: server.port });
      vault.server = server;
    },
    async close() {
      await server.close();
      if (!extra.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return vault;
}

/** A raw REST call with a valid vault token (or `token` given, or none when `token` is null). */
export async function kvFetch(
  vault: Vault,
  method: string,
  pathAndQuery: string,
  body?: string | object,
  token: string | null = vault.token(),
): Promise<{
  status: number;
  headers: Headers;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
  text: string;
}> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const sep = pathAndQuery.includes("?") ? "&" : "?";
  const url = /api[-%]/i.test(pathAndQuery)
    ? `${vault.server.url}${pathAndQuery}`
    : `${vault.server.url}${pathAndQuery}${sep}api-version=2025-07-01`;
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = {} as { error?: { code: string; message: string } } & Record<string, unknown>;
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    // not JSON (204)
  }
  return { status: res.status, headers: res.headers, json, text };
}
