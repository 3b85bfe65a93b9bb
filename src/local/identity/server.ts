/**
 * The local managed-identity token endpoint. Speaks both protocols @azure/identity's ManagedIdentityCredential
 * uses: App Service (IDENTITY_ENDPOINT + X-IDENTITY-HEADER, api-version 2019-08-01) at /msi/token, and the
 * VM instance metadata service (Metadata: true, api-version 2018-02-01) at /metadata/identity/oauth2/token.
 */
import { withHttpFaults, type FaultInjector } from "../faults";
import { listen } from "../net";
import http from "node:http";
import { audienceOf, TokenAuthority } from "./tokens";

export interface IdentityServerOptions {
  authority: TokenAuthority;
  identityHeader: string;
  host?: string;
  port?: number;
  /** When set, only these client ids exist; others get "Identity not found" as in Azure. */
  knownClientIds?: string[];
  /** Resources a token may be issued for (audiences); default: Key Vault, ARM and Azure Storage (the fleet's tables in Azurite). */
  resources?: string[];
  /** Fault injection (target "identity"): resets, 5xx, latency. */
  faults?: FaultInjector;
}

export interface IdentityServer {
  url: string;
  /** Value for IDENTITY_ENDPOINT. */
  identityEndpoint: string;
  /** Value for the agent's authenticationSettings.msiEndpoint / AZURE_POD_IDENTITY_AUTHORITY_HOST. */
  imdsEndpoint: string;
  close(): Promise<void>;
}

export async function startIdentityServer(options: IdentityServerOptions): Promise<IdentityServer> {
  const resources = new Set(
    (options.resources ?? ["https://vault.azure.net", "https://management.azure.com", "https://storage.azure.com"]).map(audienceOf),
  );
  const server = http.createServer(
    withHttpFaults(
      (req, res) => {
        const url = new URL(req.url ?? "/", "http://localhost");
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
          res.end(JSON.stringify(body));
        };
        if (req.method !== "GET") return send(405, { error: "invalid_request", error_description: "Only GET is supported." });
        const appService = url.pathname === "/msi/token";
        const imds = url.pathname.replace(/\/+$/, "") === "/metadata/identity/oauth2/token";
        if (!appService && !imds) return send(404, { error: "not_found", error_description: `No route ${url.pathname}` });
        if (appService && req.headers["x-identity-header"] !== options.identityHeader) {
          return send(401, { error: "unauthorized", error_description: "X-IDENTITY-HEADER is missing or wrong." });
        }
        if (imds && req.headers["metadata"] !== "true") {
          return send(400, { error: "invalid_request", error_description: "Required metadata header not specified" });
        }
        const resource = url.searchParams.get("resource");
        if (!resource) return send(400, { error: "invalid_request", error_description: "Required query variable 'resource' is missing" });
        if (!resources.has(audienceOf(resource))) {
          return send(400, {
            error: "invalid_resource",
            error_description: `AADSTS500011: The resource principal named ${resource} was not found.`,
          });
        }
        const clientId = url.searchParams.get("client_id") ?? url.searchParams.get("clientid") ?? undefined;
        if (clientId && options.knownClientIds && !options.knownClientIds.includes(clientId)) {
          return send(400, { error: "invalid_request", error_description: "Identity not found" });
        }
        const { token, claims } = options.authority.issue(resource, { clientId });
        const body: Record<string, string> = {
          access_token: token,
          expires_on: String(claims.exp),
          resource,
          token_type: "Bearer",
          client_id: claims.appid,
        };
        if (imds) Object.assign(body, { expires_in: String(claims.exp - claims.iat), not_before: String(claims.nbf), refresh_token: "" });
        send(200, body);
      },
      options.faults,
      "identity",
      "plain",
    ),
  );
  const port = await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    identityEndpoint: `${url}/msi/token`,
    imdsEndpoint: `${url}/metadata/identity`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
