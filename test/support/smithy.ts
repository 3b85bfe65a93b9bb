/**
 * Holds recorded REST-XML exchanges against a Smithy JSON model (the Route 53 model, or the extracted subset of it
 * under test/fixtures/schemas): the request must match an operation's HTTP binding (method, URI labels, documented
 * query parameters), its XML body the input shape, and the response XML the output shape (or, on errors, carry a
 * Code and Message, with an operation's modelled errors matching the shape). Shapes are checked member by member:
 * unknown elements, missing required members, enum values, numbers, booleans, lengths and list members.
 */
import { parseXml, type XmlElement } from "../../src/shared/xml";
import type { Exchange } from "./recorder";

interface Member {
  target: string;
  traits?: Record<string, unknown>;
}
interface Shape {
  type: string;
  members?: Record<string, Member>;
  member?: Member;
  input?: { target: string };
  output?: { target: string };
  errors?: { target: string }[];
  traits?: Record<string, unknown>;
}

const PRELUDE_NUMBER = new Set(["smithy.api#Integer", "smithy.api#Long", "smithy.api#PrimitiveLong", "smithy.api#PrimitiveInteger"]);

export function smithyValidator(model: { shapes: Record<string, Shape> }) {
  const shapes = model.shapes;
  const ops = Object.entries(shapes)
    .filter(([, s]) => s.type === "operation")
    .map(([id, s]) => {
      const http = s.traits?.["smithy.api#http"] as { method: string; uri: string };
      const names = [...http.uri.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
      return { id, shape: s, http, names, re: new RegExp(`^${http.uri.replace(/\{[^}]+\}/g, "([^/]+)")}$`) };
    });

  function checkValue(target: string, el: XmlElement, path: string, problems: string[]): void {
    const shape = shapes[target];
    const text = el.text.trim();
    if (!shape) {
      if (PRELUDE_NUMBER.has(target) && !/^-?\d+$/.test(text)) problems.push(`${path}: "${text}" is not an integer`);
      if (target === "smithy.api#Boolean" && !/^(true|false)$/.test(text)) problems.push(`${path}: "${text}" is not a boolean`);
      return;
    }
    const length = shape.traits?.["smithy.api#length"] as { min?: number; max?: number } | undefined;
    const range = shape.traits?.["smithy.api#range"] as { min?: number; max?: number } | undefined;
    switch (shape.type) {
      case "structure":
        return checkStructure(target, el, path, problems, false);
      case "list": {
        const memberName = (shape.member?.traits?.["smithy.api#xmlName"] as string | undefined) ?? "member";
        for (const c of el.children) {
          if (c.name !== memberName) problems.push(`${path}: unexpected <${c.name}> in a list of <${memberName}>`);
          else checkValue(shape.member?.target as string, c, `${path}/${memberName}`, problems);
        }
        if (length?.min !== undefined && el.children.length < length.min) problems.push(`${path}: fewer than ${length.min} items`);
        if (length?.max !== undefined && el.children.length > length.max) problems.push(`${path}: more than ${length.max} items`);
        return;
      }
      case "enum": {
        const allowed = Object.values(shape.members ?? {}).map((m) => m.traits?.["smithy.api#enumValue"]);
        if (!allowed.includes(text)) problems.push(`${path}: "${text}" is not one of ${allowed.join(", ")}`);
        return;
      }
      case "string":
        if (length?.max !== undefined && text.length > length.max) problems.push(`${path}: longer than ${length.max}`);
        if (length?.min !== undefined && text.length < length.min) problems.push(`${path}: shorter than ${length.min}`);
        return;
      case "long":
      case "integer":
        if (!/^-?\d+$/.test(text)) problems.push(`${path}: "${text}" is not an integer`);
        else if ((range?.min !== undefined && Number(text) < range.min) || (range?.max !== undefined && Number(text) > range.max))
          problems.push(`${path}: ${text} out of range`);
        return;
      case "boolean":
        if (!/^(true|false)$/.test(text)) problems.push(`${path}: "${text}" is not a boolean`);
        return;
      case "timestamp":
        if (Number.isNaN(Date.parse(text))) problems.push(`${path}: "${text}" is not a timestamp`);
        return;
      default:
        problems.push(`${path}: shape ${target} (${shape.type}) not checked by this validator`);
    }
  }

  function checkStructure(target: string, el: XmlElement, path: string, problems: string[], bodyOnly: boolean): void {
    const members = Object.entries(shapes[target]?.members ?? {});
    const inBody = members.filter(([, m]) => !bodyOnly || !Object.keys(m.traits ?? {}).some((t) => /#http(Label|Query|Header)$/.test(t)));
    const xmlName = (name: string, m: Member) => (m.traits?.["smithy.api#xmlName"] as string | undefined) ?? name;
    for (const c of el.children) {
      const found = inBody.find(([name, m]) => xmlName(name, m) === c.name);
      if (!found) problems.push(`${path}: <${c.name}> is not a member of ${target.split("#")[1]}`);
      else checkValue(found[1].target, c, `${path}/${c.name}`, problems);
    }
    for (const [name, m] of inBody) {
      if (m.traits?.["smithy.api#required"] !== undefined && !el.children.some((c) => c.name === xmlName(name, m))) {
        problems.push(`${path}: required member ${name} missing`);
      }
    }
  }

  return function validate(exchange: Exchange): string[] {
    const problems: string[] = [];
    const label = `${exchange.method} ${exchange.url.pathname}`;
    const op = ops.find((o) => o.http.method === exchange.method && o.re.test(exchange.url.pathname));
    if (!op) return [`${label}: no operation with this HTTP binding in the model`];
    const opName = op.id.split("#")[1] as string;
    const input = shapes[op.shape.input?.target as string];
    const members = Object.entries(input?.members ?? {});
    const queryNames = members.map(([, m]) => m.traits?.["smithy.api#httpQuery"]).filter((q): q is string => typeof q === "string");
    for (const key of exchange.url.searchParams.keys())
      if (!queryNames.includes(key)) problems.push(`${label}: query parameter ${key} is not in ${opName}`);
    for (const [name, m] of members) {
      if (m.traits?.["smithy.api#httpLabel"] !== undefined && !op.names.includes(name)) problems.push(`${label}: label ${name} unbound`);
    }
    if (exchange.requestBody) {
      const doc = parseXml(exchange.requestBody);
      const rootName = (input?.traits?.["smithy.api#xmlName"] as string | undefined) ?? (op.shape.input?.target.split("#")[1] as string);
      if (doc.name !== rootName) problems.push(`${label}: request root <${doc.name}>, expected <${rootName}>`);
      checkStructure(op.shape.input?.target as string, doc, `${opName} request`, problems, true);
    } else if (
      members.some(
        ([, m]) =>
          m.traits?.["smithy.api#required"] !== undefined && !Object.keys(m.traits ?? {}).some((t) => /#http(Label|Query|Header)$/.test(t)),
      )
    ) {
      problems.push(`${label}: ${opName} needs a request body`);
    }
    const doc = parseXml(exchange.responseBody);
    if (exchange.status >= 200 && exchange.status < 300) {
      const outName = op.shape.output?.target.split("#")[1] as string;
      if (doc.name !== outName) problems.push(`${label}: response root <${doc.name}>, expected <${outName}>`);
      checkStructure(op.shape.output?.target as string, doc, `${opName} response`, problems, true);
    } else {
      const modelled = (op.shape.errors ?? []).map((e) => e.target.split("#")[1]);
      const code =
        doc.name === "ErrorResponse"
          ? doc.children.find((c) => c.name === "Error")?.children.find((c) => c.name === "Code")?.text
          : doc.name;
      if (!code) problems.push(`${label} -> ${exchange.status}: error without a Code`);
      // Service-wide errors (authentication, throttling) are not in the operation's list; the modelled ones must be.
      const common = [
        "AccessDenied",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
        "Throttling",
        "InternalFailure",
      ];
      if (code && !modelled.includes(code) && !common.includes(code))
        problems.push(`${label} -> ${exchange.status}: error ${code} is not an error of ${opName}`);
    }
    return problems;
  };
}
