/**
 * A small evaluator of ARM template expressions for the infra tests (no Azure or Bicep here): parses "[...]" strings
 * and evaluates them in a scope of parameters, variables and a fake reference(), with the functions the template uses.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = { [k: string]: Json };

export function isObj(v: Json | undefined): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isExpression(s: string): boolean {
  return s.startsWith("[") && !s.startsWith("[[") && s.endsWith("]");
}

export type Ast =
  | { k: "str"; v: string }
  | { k: "num"; v: number }
  | { k: "call"; fn: string; args: Ast[] }
  | { k: "prop"; of: Ast; name: string }
  | { k: "index"; of: Ast; at: Ast };

export function parseExpression(src: string): Ast {
  let i = 0;
  const ws = () => {
    while (src[i] === " ") i++;
  };
  const primary = (): Ast => {
    ws();
    if (src[i] === "'") {
      let s = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new Error(`unterminated string in ${src}`);
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src[i++];
      }
      return { k: "str", v: s };
    }
    const num = /^-?\d+/.exec(src.slice(i));
    if (num) {
      i += num[0].length;
      return { k: "num", v: Number(num[0]) };
    }
    const id = /^[A-Za-z_][\w]*/.exec(src.slice(i));
    if (!id) throw new Error(`unexpected "${src.slice(i, i + 10)}" in ${src}`);
    i += id[0].length;
    ws();
    if (src[i] !== "(") throw new Error(`expected ( after ${id[0]} in ${src}`);
    i++;
    const args: Ast[] = [];
    ws();
    if (src[i] === ")") i++;
    else {
      for (;;) {
        args.push(postfix());
        ws();
        if (src[i] === ",") {
          i++;
          continue;
        }
        if (src[i] === ")") {
          i++;
          break;
        }
        throw new Error(`expected , or ) at ${i} in ${src}`);
      }
    }
    return { k: "call", fn: id[0], args };
  };
  const postfix = (): Ast => {
    let node = primary();
    for (;;) {
      ws();
      if (src[i] === ".") {
        i++;
        const id = /^[A-Za-z_][\w]*/.exec(src.slice(i));
        if (!id) throw new Error(`expected a property name in ${src}`);
        i += id[0].length;
        node = { k: "prop", of: node, name: id[0] };
      } else if (src[i] === "[") {
        i++;
        const at = postfix();
        ws();
        if (src[i] !== "]") throw new Error(`expected ] in ${src}`);
        i++;
        node = { k: "index", of: node, at };
      } else return node;
    }
  };
  const ast = postfix();
  ws();
  if (i !== src.length) throw new Error(`trailing "${src.slice(i)}" in ${src}`);
  return ast;
}

export type Value = Json | undefined;

export interface Scope {
  params: Record<string, Value>;
  variables: Obj;
  varCache: Map<string, Value>;
  /** What reference(resourceId, ...) returns. */
  reference: (id: string) => Value;
  copyIndex?: number;
}

function hash(...parts: string[]): string {
  return createHash("sha256").update(parts.join("|")).digest("hex");
}

export const RG_ID = "/subscriptions/8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10/resourceGroups/rg-kv-acme";
export const ENV = {
  subscription: { subscriptionId: "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10", tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47" },
  resourceGroup: { id: RG_ID, name: "rg-kv-acme", location: "swedencentral" },
  environment: {
    name: "AzureCloud",
    authentication: { loginEndpoint: "https://login.microsoftonline.com/" },
    suffixes: { keyvaultDns: ".vault.azure.net", storage: "core.windows.net" },
  },
};

export function evalAst(a: Ast, scope: Scope): Value {
  switch (a.k) {
    case "str":
      return a.v;
    case "num":
      return a.v;
    case "prop": {
      const of = evalAst(a.of, scope);
      assert.ok(isObj(of as Json), `property ${a.name} of a non-object`);
      return (of as Obj)[a.name];
    }
    case "index": {
      const of = evalAst(a.of, scope) as Json;
      const at = evalAst(a.at, scope);
      if (Array.isArray(of)) return of[at as number];
      return (of as Obj)[at as string];
    }
    case "call":
      return call(a.fn, a.args, scope);
  }
}

function call(fn: string, args: Ast[], scope: Scope): Value {
  const ev = (n: number) => evalAst(args[n] as Ast, scope);
  const all = () => args.map((x) => evalAst(x, scope));
  switch (fn) {
    case "parameters": {
      const name = ev(0) as string;
      assert.ok(name in scope.params, `parameter ${name} has no value`);
      return scope.params[name];
    }
    case "variables": {
      const name = ev(0) as string;
      if (!scope.varCache.has(name)) {
        assert.ok(name in scope.variables, `variable ${name} is not declared`);
        scope.varCache.set(name, evalValue(scope.variables[name] as Json, scope));
      }
      return scope.varCache.get(name);
    }
    case "if":
      return ev(0) ? ev(1) : ev(2); // only the branch taken is evaluated, as in ARM
    case "and":
      return all().every(Boolean);
    case "or":
      return all().some(Boolean);
    case "not":
      return !ev(0);
    case "greater":
      return (ev(0) as number) > (ev(1) as number);
    case "equals":
      return JSON.stringify(ev(0)) === JSON.stringify(ev(1));
    case "empty": {
      const v = ev(0);
      if (v === null || v === undefined) return true;
      if (typeof v === "string" || Array.isArray(v)) return v.length === 0;
      if (isObj(v as Json)) return Object.keys(v as Obj).length === 0;
      return false;
    }
    case "length": {
      const v = ev(0);
      return Array.isArray(v) || typeof v === "string" ? v.length : Object.keys(v as Obj).length;
    }
    case "mul":
      return (ev(0) as number) * (ev(1) as number);
    case "div":
      return Math.trunc((ev(0) as number) / (ev(1) as number));
    case "mod":
      return (ev(0) as number) % (ev(1) as number);
    case "max":
      return Math.max(...(all() as number[]));
    case "true":
      return true;
    case "false":
      return false;
    case "null":
      return null;
    case "string": {
      const v = ev(0);
      return typeof v === "string" ? v : JSON.stringify(v);
    }
    case "json":
      return JSON.parse(ev(0) as string) as Json;
    case "base64":
      return Buffer.from(ev(0) as string, "utf8").toString("base64");
    case "format": {
      const [f, ...rest] = all();
      return (f as string).replace(/\{(\d+)\}/g, (_, n: string) => String(rest[Number(n)]));
    }
    case "concat":
      return all().map(String).join("");
    case "take": {
      const [v, n] = all();
      return (v as string).slice(0, n as number);
    }
    case "createObject": {
      const v = all();
      const o: Obj = {};
      for (let k = 0; k < v.length; k += 2) o[v[k] as string] = v[k + 1] as Json;
      return o;
    }
    case "createArray":
      return all() as Json[];
    case "union": {
      const v = all();
      return Object.assign({}, ...(v as Obj[]));
    }
    case "uniqueString":
      return hash(...(all() as string[]))
        .slice(0, 13)
        .replace(/[0-9]/g, (d) => "abcdefghij"[Number(d)] as string);
    case "guid": {
      const h = hash(...(all() as string[]));
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
    }
    case "subscription":
      return ENV.subscription;
    case "resourceGroup":
      return ENV.resourceGroup;
    case "environment":
      return ENV.environment;
    case "copyIndex":
      assert.ok(scope.copyIndex !== undefined, "copyIndex() outside a copy loop");
      return scope.copyIndex;
    case "resourceId": {
      const v = all() as string[];
      const typeAt = v.findIndex((x) => x.includes("/"));
      const rg = typeAt > 0 ? `/subscriptions/${ENV.subscription.subscriptionId}/resourceGroups/${v[typeAt - 1]}` : RG_ID;
      const [ns, ...types] = (v[typeAt] as string).split("/");
      const names = v.slice(typeAt + 1);
      return `${rg}/providers/${ns}/${types.map((t, n) => `${t}/${names[n]}`).join("/")}`;
    }
    case "subscriptionResourceId": {
      const [type, name] = all() as string[];
      return `/subscriptions/${ENV.subscription.subscriptionId}/providers/${type}/${name}`;
    }
    case "reference":
      return scope.reference(ev(0) as string);
    default:
      throw new Error(`the test's evaluator does not know the template function ${fn}()`);
  }
}

export function evalString(s: string, scope: Scope): Value {
  if (s.startsWith("[[")) return s.slice(1);
  return isExpression(s) ? evalAst(parseExpression(s.slice(1, -1)), scope) : s;
}

export function evalValue(v: Json, scope: Scope): Value {
  if (typeof v === "string") return evalString(v, scope);
  if (Array.isArray(v)) return v.map((x) => evalValue(x, scope) as Json);
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, evalValue(x, scope) as Json]));
  return v;
}
