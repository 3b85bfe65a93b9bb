/**
 * Holds recorded exchanges against a Google API discovery document (the Cloud DNS one, or the extracted subset of it
 * under test/fixtures/schemas): the request must match a method's httpMethod and path, its query parameters must be
 * documented (with their types), its JSON body must validate against the method's request schema and a 2xx body
 * against its response schema; error answers must have Google's error shape. Discovery schemas become JSON Schema
 * ($ref by schema id, type, properties, items, enum, additionalProperties) for Ajv.
 */
import Ajv from "ajv";
import type { Exchange } from "./recorder";

interface Method {
  httpMethod: string;
  path: string;
  parameters?: Record<string, { location: string; type: string; required?: boolean }>;
  request?: { $ref: string };
  response?: { $ref: string };
}
interface Discovery {
  rootUrl: string;
  servicePath: string;
  resources: Record<string, { methods: Record<string, Method> }>;
  schemas: Record<string, unknown>;
}

function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "$ref") out.$ref = `#/definitions/${String(v)}`;
    else if (["type", "enum"].includes(k)) out[k] = v;
    else if (k === "properties") out.properties = Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, toJsonSchema(s)]));
    else if (k === "items" || k === "additionalProperties") out[k] = toJsonSchema(v);
  }
  return out;
}

export function discoveryValidator(doc: Discovery) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const definitions = Object.fromEntries(Object.entries(doc.schemas).map(([id, s]) => [id, toJsonSchema(s)]));
  const schemaOf = (id: string) => ajv.compile({ definitions, $ref: `#/definitions/${id}` });
  const methods = Object.values(doc.resources).flatMap((r) =>
    Object.values(r.methods).map((m) => ({
      m,
      re: new RegExp(`^/${doc.servicePath}${m.path.replace(/\{[^}]+\}/g, "([^/]+)")}$`),
      request: m.request ? schemaOf(m.request.$ref) : undefined,
      response: m.response ? schemaOf(m.response.$ref) : undefined,
    })),
  );
  const googleError = ajv.compile({
    type: "object",
    required: ["error"],
    properties: {
      error: {
        type: "object",
        required: ["code", "message"],
        properties: { code: { type: "integer" }, message: { type: "string" }, errors: { type: "array" }, status: { type: "string" } },
      },
    },
  });

  return function validate(exchange: Exchange): string[] {
    const label = `${exchange.method} ${exchange.url.pathname}`;
    const found = methods.find((x) => x.m.httpMethod === exchange.method && x.re.test(exchange.url.pathname));
    if (!found) return [`${label}: no such method in the discovery document`];
    const problems: string[] = [];
    const params = found.m.parameters ?? {};
    for (const [key, value] of exchange.url.searchParams) {
      const p = params[key];
      if (!p || p.location !== "query") problems.push(`${label}: query parameter ${key} is not documented`);
      else if (p.type === "integer" && !/^-?\d+$/.test(value)) problems.push(`${label}: ${key}=${value} is not an integer`);
    }
    if (exchange.url.searchParams.has("type") && params.name && !exchange.url.searchParams.has("name"))
      problems.push(`${label}: type without name`);
    if (found.request && exchange.requestBody && !found.request(JSON.parse(exchange.requestBody))) {
      problems.push(`${label}: request body: ${ajv.errorsText(found.request.errors)}`);
    }
    const body = JSON.parse(exchange.responseBody) as unknown;
    if (exchange.status >= 200 && exchange.status < 300) {
      if (found.response && !found.response(body))
        problems.push(`${label} -> ${exchange.status}: ${ajv.errorsText(found.response.errors)}`);
    } else if (!googleError(body))
      problems.push(`${label} -> ${exchange.status}: not a Google error body: ${ajv.errorsText(googleError.errors)}`);
    return problems;
  };
}
