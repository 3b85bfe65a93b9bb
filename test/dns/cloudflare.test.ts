/** Cloudflare provider (API v4, scoped token) against the Cloudflare stand-in, held to Cloudflare's OpenAPI. */
import { CloudflareDnsProvider } from "../../src/dns/cloudflare";
import schema from "../fixtures/schemas/cloudflare-openapi.subset.json";
import { openApiValidator } from "../support/openapi";
import { hostedProviderSuite } from "./hosted-suite";

// The record schema create bodies share lists the server-assigned `id` as required (not marked readOnly).
const validate = openApiValidator(schema as unknown as Parameters<typeof openApiValidator>[0], "/client/v4", { serverAssigned: ["id"] });

hostedProviderSuite({
  name: "cloudflare",
  provider: (info, overrides = {}) =>
    new CloudflareDnsProvider({ apiToken: overrides.apiToken ?? (info.options.apiToken as string), apiUrl: info.options.apiUrl as string }),
  badCredentials: () => ({ apiToken: "not-a-valid-token" }),
  validate,
});
