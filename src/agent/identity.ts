/**
 * The agent's credential: @azure/identity's ManagedIdentityCredential, configured from the extension's
 * authenticationSettings.
 *
 * msiClientId -> `clientId` (needed whenever the VM has a user-assigned identity).
 * msiEndpoint -> @azure/identity (through MSAL's ManagedIdentityApplication) has no constructor option for the IMDS
 * endpoint; its documented override is the environment variable AZURE_POD_IDENTITY_AUTHORITY_HOST, to which it
 * appends `/metadata/identity/oauth2/token`. So an msiEndpoint of `http://host:port/metadata/identity` becomes
 * AZURE_POD_IDENTITY_AUTHORITY_HOST=`http://host:port`. MSAL selects its identity source once per process (a static
 * cache), so this is set before the first token request and one process serves one endpoint — the agent process.
 * If App Service variables (IDENTITY_ENDPOINT + IDENTITY_HEADER) are present, MSAL prefers them over IMDS.
 */
import type { TokenCredential } from "@azure/core-auth";
import { ManagedIdentityCredential } from "@azure/identity";
import type { AgentSettings } from "./settings";

const IMDS_PATH = "/metadata/identity";

/** The AZURE_POD_IDENTITY_AUTHORITY_HOST value for an extension-style msiEndpoint (pure). */
export function imdsAuthorityHost(msiEndpoint: string): string {
  const u = new URL(msiEndpoint);
  let p = u.pathname.replace(/\/+$/, "");
  if (p.endsWith("/oauth2/token")) p = p.slice(0, -"/oauth2/token".length);
  if (p.endsWith(IMDS_PATH)) p = p.slice(0, -IMDS_PATH.length);
  return `${u.protocol}//${u.host}${p}`;
}

/**
 * Creates the managed identity credential. `env` is the environment to configure (process.env in the agent);
 * passing it in keeps the one documented side effect visible at the call site.
 */
export function createAgentCredential(auth: AgentSettings["authenticationSettings"], env: NodeJS.ProcessEnv): TokenCredential {
  if (auth.msiEndpoint) env.AZURE_POD_IDENTITY_AUTHORITY_HOST = imdsAuthorityHost(auth.msiEndpoint);
  return auth.msiClientId ? new ManagedIdentityCredential({ clientId: auth.msiClientId }) : new ManagedIdentityCredential();
}

/** The Azure instance metadata service's identity endpoint (what the agent asks when msiEndpoint is not set). */
export const DEFAULT_IMDS_IDENTITY_ENDPOINT = "http://169.254.169.254/metadata/identity";

/**
 * With `msiClientId`, the agent first asks the identity endpoint for a token of that identity, so a VM without a usable
 * endpoint, or without that user-assigned identity, is refused at start with a clear message (exit 78) instead of
 * cycling on "Identity not found". Returns the problem, or undefined when the identity answers (or the endpoint fails
 * transiently, which the poller's retries handle).
 */
export async function identityEndpointProblem(
  auth: AgentSettings["authenticationSettings"],
  options: { fetch?: typeof fetch; timeoutMs?: number; attempts?: number; pauseMs?: number } = {},
): Promise<string | undefined> {
  if (!auth.msiClientId) return undefined;
  const endpoint = (auth.msiEndpoint ?? DEFAULT_IMDS_IDENTITY_ENDPOINT).replace(/\/+$/, "").replace(/\/oauth2\/token$/, "");
  const url = new URL(`${endpoint}/oauth2/token`);
  url.searchParams.set("api-version", "2018-02-01");
  url.searchParams.set("resource", "https://vault.azure.net");
  url.searchParams.set("client_id", auth.msiClientId);
  const attempts = options.attempts ?? 3;
  let lastError = "";
  for (let i = 1; i <= attempts; i++) {
    try {
      const res = await (options.fetch ?? fetch)(url, {
        headers: { Metadata: "true" },
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      const text = await res.text();
      if (res.status === 400 && /identity not found/i.test(text)) {
        return (
          `authenticationSettings.msiClientId ${auth.msiClientId}: the VM has no user-assigned identity with this client id ` +
          `(${endpoint} answered "Identity not found"). Assign the identity to the VM (with requireInitialSync, before the VM ` +
          'is deployed: docs/agent.md, "requireInitialSync and the identity"), or correct msiClientId.'
        );
      }
      return undefined;
    } catch (err) {
      lastError = (err as Error)?.message ?? String(err);
      if (i < attempts) await new Promise((r) => setTimeout(r, options.pauseMs ?? 1000));
    }
  }
  return (
    `authenticationSettings.msiClientId is set, but no identity endpoint answers at ${endpoint} (${lastError}). The agent gets ` +
    "tokens from the VM's instance metadata service: run it on an Azure VM with that user-assigned identity, or set " +
    "authenticationSettings.msiEndpoint to a reachable identity endpoint."
  );
}
