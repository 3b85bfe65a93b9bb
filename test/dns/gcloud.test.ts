/**
 * Google Cloud DNS provider (service-account JWT -> OAuth token, atomic Changes) against the Google stand-in, held to
 * the Cloud DNS discovery document; token exchanges to RFC 6749 §5.1/§5.2.
 */
import { generateKeyPairSync } from "node:crypto";
import { GcloudDnsProvider, parseServiceAccountKey } from "../../src/dns/gcloud";
import discovery from "../fixtures/schemas/gcloud-dns-discovery.subset.json";
import { discoveryValidator } from "../support/discovery";
import type { Exchange } from "../support/recorder";
import { hostedProviderSuite } from "./hosted-suite";

const dns = discoveryValidator(discovery as unknown as Parameters<typeof discoveryValidator>[0]);

function validate(e: Exchange): string[] {
  if (e.url.pathname !== "/token") return dns(e);
  const body = JSON.parse(e.responseBody) as Record<string, unknown>;
  const form = new URLSearchParams(e.requestBody);
  const problems: string[] = [];
  if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer" || !form.get("assertion"))
    problems.push("token request is not a JWT bearer grant");
  if (e.status === 200 && (typeof body.access_token !== "string" || body.token_type !== "Bearer" || typeof body.expires_in !== "number")) {
    problems.push(`token response lacks access_token / token_type / expires_in: ${e.responseBody}`);
  }
  if (e.status !== 200 && typeof body.error !== "string") problems.push(`token error without "error": ${e.responseBody}`);
  return problems;
}

hostedProviderSuite({
  name: "gcloud",
  provider: (info, overrides = {}) => {
    const o = { ...info.options, ...overrides };
    return new GcloudDnsProvider({
      project: o.project as string,
      serviceAccountKey: parseServiceAccountKey(o.serviceAccountKey as string),
      apiUrl: o.apiUrl as string,
    });
  },
  // The same key file with a private key the stand-in does not know.
  badCredentials: (info) => ({
    serviceAccountKey: JSON.stringify({
      ...(JSON.parse(info.options.serviceAccountKey as string) as object),
      private_key: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    }),
  }),
  validate,
});
