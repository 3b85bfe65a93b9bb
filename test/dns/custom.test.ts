/**
 * Custom DNS provider (the C# tool's "Custom DNS" HTTP contract) against the Custom DNS stand-in. There is no
 * published schema: requests are held to the contract as Acmebot's CustomDnsProvider.cs sends it (paths, Accept and
 * API key headers, the PUT body) and answers to what it reads (a JSON array of {id, name, nameServers}; 2xx).
 */
import Ajv from "ajv";
import { CustomDnsProvider } from "../../src/dns/custom";
import type { Exchange } from "../support/recorder";
import { hostedProviderSuite } from "./hosted-suite";

const ajv = new Ajv({ allErrors: true });
const zonesAnswer = ajv.compile({
  type: "array",
  items: {
    type: "object",
    required: ["id", "name", "nameServers"],
    properties: { id: { type: "string" }, name: { type: "string" }, nameServers: { type: "array", items: { type: "string" } } },
  },
});
const putBody = ajv.compile({
  type: "object",
  required: ["type", "ttl", "values"],
  additionalProperties: false,
  properties: { type: { const: "TXT" }, ttl: { type: "integer" }, values: { type: "array", minItems: 1, items: { type: "string" } } },
});

function validate(e: Exchange): string[] {
  const problems: string[] = [];
  const label = `${e.method} ${e.url.pathname}`;
  if (e.requestHeaders.accept !== "application/json") problems.push(`${label}: Accept is not application/json`);
  if (!e.requestHeaders["x-api-key"]) problems.push(`${label}: no X-Api-Key header`);
  const record = /^\/api\/zones\/[^/]+\/records\/[a-z0-9._-]+$/.exec(e.url.pathname);
  if (e.method === "GET" && e.url.pathname === "/api/zones") {
    if (e.status === 200 && !zonesAnswer(JSON.parse(e.responseBody))) problems.push(`${label}: ${ajv.errorsText(zonesAnswer.errors)}`);
  } else if (e.method === "PUT" && record) {
    if (!putBody(JSON.parse(e.requestBody))) problems.push(`${label}: body ${ajv.errorsText(putBody.errors)}`);
  } else if (!(e.method === "DELETE" && record && e.requestBody === "")) problems.push(`${label}: not a call of the Custom DNS contract`);
  return problems;
}

hostedProviderSuite({
  name: "custom",
  provider: (info, overrides = {}) => {
    const o = { ...info.options, ...overrides };
    return new CustomDnsProvider({
      endpoint: o.endpoint as string,
      apiKey: o.apiKey as string,
      apiKeyHeaderName: o.apiKeyHeaderName as string,
      resolvers: [o.resolvers as string],
    });
  },
  badCredentials: () => ({ apiKey: "not-the-api-key" }),
  validate,
});
