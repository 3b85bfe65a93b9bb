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
