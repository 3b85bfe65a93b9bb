/**
 * Holds recorded HTTP exchanges against an OpenAPI 3.0 document (the vendor's published schema, or the extracted
 * subset of it under test/fixtures/schemas): each request must match a documented path and method, its query
 * parameters and JSON body must validate against the parameter and request body schemas, and the response body
 * against the schema of its status (or the "4xx" range). Returns every problem found.
 */
import Ajv from "ajv";
import type { Exchange } from "./recorder";

interface Operation {
  operationId?: string;
  parameters?: { in: string; name: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

/**
 * OpenAPI 3.0 §4.7.25: a readOnly property in `required` binds responses only, a writeOnly one requests only. Returns
 * a copy of the document with those properties taken out of `required` for the given direction.
 */
function forDirection(doc: unknown, direction: "request" | "response", serverAssigned: readonly string[] = []): unknown {
  const skip = direction === "request" ? "readOnly" : "writeOnly";
  const resolve = (ref: string): unknown =>
    ref
      .replace(/^#\//, "")
      .split("/")
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
  // Property names marked `skip` in a schema, through $ref and allOf/oneOf/anyOf (required lists may sit above them).
  const marked = (schema: unknown, seen = new Set<unknown>()): Set<string> => {
    const out = new Set<string>();
    if (!schema || typeof schema !== "object" || seen.has(schema)) return out;
    seen.add(schema);
    const s = schema as Record<string, unknown>;
    if (typeof s.$ref === "string") for (const n of marked(resolve(s.$ref), seen)) out.add(n);
    for (const [name, prop] of Object.entries((s.properties ?? {}) as Record<string, Record<string, unknown>>))
      if (prop?.[skip] === true) out.add(name);
    for (const key of ["allOf", "oneOf", "anyOf"]) for (const m of (s[key] ?? []) as unknown[]) for (const n of marked(m, seen)) out.add(n);
    return out;
  };
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (!x || typeof x !== "object") return x;
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) o[k] = walk(v);
    if (Array.isArray(o.required)) {
      const names = marked(x);
      if (direction === "request") for (const n of serverAssigned) names.add(n);
      o.required = (o.required as string[]).filter((name) => !names.has(name));
    }
    return o;
  };
  return walk(doc);
}

/**
 * `serverAssigned`: properties a schema shares between the resource and its create request that the server assigns
 * although the schema does not mark them readOnly (Cloudflare's record `id`); they are not required in requests.
 */
export function openApiValidator(
  doc: { paths: Record<string, Record<string, Operation>> },
  basePath: string,
  options: { serverAssigned?: string[] } = {},
) {
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema(forDirection(doc, "request", options.serverAssigned) as object, "request");
  ajv.addSchema(forDirection(doc, "response") as object, "response");
  const compiled = new Map<string, ReturnType<Ajv["compile"]>>();
  const validatorAt = (pointer: string, direction: "request" | "response") => {
    let v = compiled.get(`${direction}${pointer}`);
    if (!v) {
      // Compiled in the document's scope so its "#/components/..." references resolve.
      v = ajv.compile({ $ref: `${direction}#${pointer}` });
      compiled.set(`${direction}${pointer}`, v);
    }
    return v;
  };
  const escape = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
  const templates = Object.keys(doc.paths).map((template) => ({
    template,
    re: new RegExp(`^${template.replace(/\{[^}]+\}/g, "([^/]+)")}$`),
    names: [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string),
  }));

  return function validate(exchange: Exchange): string[] {
    const problems: string[] = [];
    const label = `${exchange.method} ${exchange.url.pathname}`;
    const path = exchange.url.pathname.startsWith(basePath) ? exchange.url.pathname.slice(basePath.length) : exchange.url.pathname;
    const match = templates.find((t) => t.re.test(path));
    const method = exchange.method.toLowerCase();
    const op = match ? doc.paths[match.template]?.[method] : undefined;
    if (!match || !op) return [`${label}: no such operation in the schema`];
    const opPointer = `/paths/${escape(match.template)}/${method}`;
    const values = match.re.exec(path)?.slice(1) ?? [];
    (op.parameters ?? []).forEach((param, i) => {
      const raw =
        param.in === "path"
          ? decodeURIComponent(values[match.names.indexOf(param.name)] ?? "")
          : param.in === "query"
            ? exchange.url.searchParams.get(param.name)
            : undefined;
      if (param.in !== "path" && param.in !== "query") return;
      if (raw === null || raw === undefined) {
        if (param.required) problems.push(`${label}: required ${param.in} parameter ${param.name} missing`);
        return;
      }
      const v = validatorAt(`${opPointer}/parameters/${i}/schema`, "request");
      const candidates: unknown[] = [raw];
      if (raw !== "" && !Number.isNaN(Number(raw))) candidates.unshift(Number(raw));
      if (raw === "true" || raw === "false") candidates.unshift(raw === "true");
      if (!candidates.some((c) => v(c))) problems.push(`${label}: ${param.in} parameter ${param.name}=${raw}: ${ajv.errorsText(v.errors)}`);
    });
    const known = new Set((op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name));
    for (const key of exchange.url.searchParams.keys()) if (!known.has(key)) problems.push(`${label}: undocumented query parameter ${key}`);
    const bodySchema = op.requestBody?.content?.["application/json"];
    if (bodySchema?.schema && exchange.requestBody) {
      const v = validatorAt(`${opPointer}/requestBody/content/application~1json/schema`, "request");
      if (!v(JSON.parse(exchange.requestBody))) problems.push(`${label}: request body: ${ajv.errorsText(v.errors)}`);
    }
    const statusKey = [String(exchange.status), `${String(exchange.status)[0]}xx`, `${String(exchange.status)[0]}XX`, "default"].find(
      (k) => op.responses[k],
    );
    if (!statusKey) return [...problems, `${label}: status ${exchange.status} is not documented`];
    const resSchema = op.responses[statusKey]?.content?.["application/json"];
    if (resSchema?.schema) {
      const pointer = `${opPointer}/responses/${statusKey}/content/application~1json/schema`;
      // Cloudflare documents some error answers as allOf(success envelope, failure envelope), which no answer can
      // satisfy (success: true and false): error answers are held to the failure envelope members of such an allOf.
      const allOf = (resSchema.schema as { allOf?: { $ref?: string }[] }).allOf;
      const failureMembers =
        exchange.status >= 400 ? (allOf ?? []).map((m, i) => [m, i] as const).filter(([m]) => /failure$/.test(m.$ref ?? "")) : [];
      const pointers = failureMembers.length > 0 ? failureMembers.map(([, i]) => `${pointer}/allOf/${i}`) : [pointer];
      for (const p of pointers) {
        const v = validatorAt(p, "response");
        if (!v(JSON.parse(exchange.responseBody)))
          problems.push(`${label} -> ${exchange.status}: response body: ${ajv.errorsText(v.errors)}`);
      }
    }
    return problems;
  };
}
