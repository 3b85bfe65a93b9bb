/**
 * Structural checks of the ARM template in infra/azuredeploy.json (no Azure or Bicep here): references, resources,
 * dependencies, role assignments, secrets; and a small evaluator of ARM template expressions that computes the app
 * settings the template would write and loads them through src/config/settings.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { SETTINGS, WEBHOOK_SETTINGS, loadSettings, type SettingDescriptor } from "../../src/config/settings";
import { DNS_PROVIDER_TYPES } from "../../src/dns/registry";
import { DNS_SETTINGS } from "../../src/dns/settings";

/** The subscription ids of the Azure DNS instance the settings configure. */
function azureSubscriptions(s: { dns: { instances: { type: string; settings: unknown }[] } }): string[] {
  const azure = s.dns.instances.find((i) => i.type === "azure");
  return (azure?.settings as { subscriptionIds?: string[] } | undefined)?.subscriptionIds ?? [];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const ROOT = path.resolve(__dirname, "../..");
const TEMPLATE_PATH = path.join(ROOT, "infra/azuredeploy.json");
const EXAMPLE_PATH = path.join(ROOT, "infra/azuredeploy.parameters.example.json");

function loadJson(file: string): Obj {
  return JSON.parse(readFileSync(file, "utf8")) as Obj;
}

const template = loadJson(TEMPLATE_PATH);

/** Built-in Azure role definitions (name -> id) the template may grant; nothing broader (Owner, Contributor, Key Vault Administrator). */
const BUILT_IN_ROLES: Record<string, string> = {
  "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
  "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
  "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
  "Key Vault Certificates Officer": "a4417e6f-fecd-4de8-b567-7b0420556985",
  "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
  "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
  "DNS Zone Contributor": "befefa01-2a29-4197-83a8-272ff33ce314",
};

/**
 * App settings and site properties Flex Consumption deprecates ("Flex Consumption plan deprecations", Azure
 * Functions app settings reference): the runtime, scale and deployment moved to functionAppConfig.
 */
const FLEX_UNSUPPORTED_SETTINGS = [
  "FUNCTIONS_EXTENSION_VERSION",
  "FUNCTIONS_WORKER_RUNTIME",
  "FUNCTIONS_WORKER_RUNTIME_VERSION",
  "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
  "WEBSITE_CONTENTSHARE",
  "WEBSITE_NODE_DEFAULT_VERSION",
  "WEBSITE_RUN_FROM_PACKAGE",
  "SCM_DO_BUILD_DURING_DEPLOYMENT",
  "AzureWebJobsStorage",
];

/** Site properties (under properties or properties.siteConfig, compared case-insensitively) Flex Consumption does not support. */
const FLEX_UNSUPPORTED_SITE_PROPERTIES = [
  "ftpsState",
  "use32BitWorkerProcess",
  "isReserved",
  "isXenon",
  "windowsFxVersion",
  "alwaysOn",
  "preWarmedInstanceCount",
  "functionAppScaleLimit",
  "containerSize",
  "javaVersion",
  "powerShellVersion",
  "netFrameworkVersion",
  "linuxFxVersion",
  "nodeVersion",
];

/** Platform settings the template may write besides the ones src/config/settings.ts reads. */
const PLATFORM_SETTINGS = ["AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential"];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---------- walking templates ----------

function isObj(v: Json | undefined): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isExpression(s: string): boolean {
  return s.startsWith("[") && !s.startsWith("[[") && s.endsWith("]");
}

function resourcesOf(t: Obj): Obj[] {
  return ((t.resources as Json[] | undefined) ?? []).filter(isObj);
}

/** Nested deployments of a template (each must evaluate its template in the inner scope). */
function nestedDeployments(t: Obj): Obj[] {
  return resourcesOf(t).filter((r) => r.type === "Microsoft.Resources/deployments");
}

/** Every string of a template that is evaluated in its own scope: inner templates of nested deployments excluded. */
function ownStrings(v: Json, out: string[] = [], skipInner = true): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => ownStrings(x, out, skipInner));
  else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (skipInner && k === "template" && isObj(x) && typeof x.$schema === "string") continue;
      ownStrings(x, out, skipInner);
    }
  }
  return out;
}

function refsIn(strings: string[], fn: "parameters" | "variables"): Set<string> {
  const re = new RegExp(`\\b${fn}\\('([^']+)'\\)`, "g");
  const found = new Set<string>();
  for (const s of strings) if (isExpression(s)) for (const m of s.matchAll(re)) found.add(m[1] as string);
  return found;
}

/** The top-level template and every inner template, with a label for messages. */
function allTemplates(): { label: string; t: Obj }[] {
  const out = [{ label: "azuredeploy.json", t: template }];
  for (const d of nestedDeployments(template)) {
    const props = d.properties as Obj;
    out.push({ label: `nested deployment ${String(d.name)}`, t: props.template as Obj });
  }
  return out;
}

// ---------- a small ARM expression evaluator ----------

type Ast =
  | { k: "str"; v: string }
  | { k: "num"; v: number }
  | { k: "call"; fn: string; args: Ast[] }
  | { k: "prop"; of: Ast; name: string }
  | { k: "index"; of: Ast; at: Ast };

function parseExpression(src: string): Ast {
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

type Value = Json | undefined;

interface Scope {
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

const RG_ID = "/subscriptions/8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10/resourceGroups/rg-kv-acme";
const ENV = {
  subscription: { subscriptionId: "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10", tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47" },
  resourceGroup: { id: RG_ID, name: "rg-kv-acme", location: "swedencentral" },
  environment: {
    name: "AzureCloud",
    authentication: { loginEndpoint: "https://login.microsoftonline.com/" },
    suffixes: { keyvaultDns: ".vault.azure.net", storage: "core.windows.net" },
  },
};

function evalAst(a: Ast, scope: Scope): Value {
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

function evalString(s: string, scope: Scope): Value {
  if (s.startsWith("[[")) return s.slice(1);
  return isExpression(s) ? evalAst(parseExpression(s.slice(1, -1)), scope) : s;
}

function evalValue(v: Json, scope: Scope): Value {
  if (typeof v === "string") return evalString(v, scope);
  if (Array.isArray(v)) return v.map((x) => evalValue(x, scope) as Json);
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, evalValue(x, scope) as Json]));
  return v;
}

const FAKE_CONNECTION_STRING =
  "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://swedencentral-0.in.applicationinsights.azure.com/";

function fakeReference(id: string): Value {
  if (id.includes("/Microsoft.Insights/components/")) return { ConnectionString: FAKE_CONNECTION_STRING };
  if (id.includes("/Microsoft.Storage/storageAccounts/"))
    return { primaryEndpoints: { blob: `https://${id.split("/").pop()}.blob.core.windows.net/` } };
  if (id.includes("/Microsoft.Web/sites/"))
    return {
      defaultHostName: `${id.split("/").pop()}.azurewebsites.net`,
      identity: { principalId: "9d1f3c2b-1111-4a5b-8c7d-000000000001" },
    };
  throw new Error(`no fake reference() for ${id}`);
}

/** The top-level scope for given parameter values (defaults filled in by evaluating them). */
function topScope(values: Record<string, Value>): Scope {
  const scope: Scope = { params: {}, variables: (template.variables ?? {}) as Obj, varCache: new Map(), reference: fakeReference };
  const declared = template.parameters as Record<string, Obj>;
  for (const name of Object.keys(values)) assert.ok(name in declared, `parameter ${name} is not declared by the template`);
  for (const [name, p] of Object.entries(declared)) {
    if (name in values) scope.params[name] = values[name];
    else {
      assert.ok("defaultValue" in p, `parameter ${name} has neither a value nor a default`);
      scope.params[name] = evalValue(p.defaultValue as Json, scope);
    }
  }
  return scope;
}

function resourceByName(t: Obj, type: string, nameEnd: string): Obj {
  const r = resourcesOf(t).find((x) => x.type === type && String(x.name).includes(nameEnd));
  assert.ok(r, `no ${type} named like ${nameEnd}`);
  return r;
}

/** The scope a nested deployment's inner template is evaluated in (its parameters evaluated in the outer scope). */
function innerScopeOf(d: Obj, scope: Scope): Scope {
  const props = d.properties as Obj;
  const inner = props.template as Obj;
  const innerParams: Record<string, Value> = {};
  for (const [k, v] of Object.entries(props.parameters as Record<string, Obj>)) innerParams[k] = evalValue(v.value as Json, scope);
  return { params: innerParams, variables: (inner.variables ?? {}) as Obj, varCache: new Map(), reference: fakeReference };
}

/** Every vault secret the template writes (only those whose condition holds), as `<vault>/<secret>` -> value. */
function writtenSecrets(scope: Scope): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of nestedDeployments(template)) {
    const innerScope = innerScopeOf(d, scope);
    for (const r of resourcesOf((d.properties as Obj).template as Obj).filter((x) => x.type === "Microsoft.KeyVault/vaults/secrets")) {
      if (r.condition !== undefined && !evalValue(r.condition, innerScope)) continue;
      out.set(evalValue(r.name as Json, innerScope) as string, evalValue((r.properties as Obj).value as Json, innerScope) as string);
    }
  }
  return out;
}

/** The secrets the template writes into the app's secrets vault, by secret name. */
function vaultSecrets(scope: Scope): Map<string, string> {
  const secretsVault = evalString("[variables('secretsVaultName')]", scope) as string;
  const out = new Map<string, string>();
  for (const [name, value] of writtenSecrets(scope)) {
    const [vault, secret] = name.split("/") as [string, string];
    assert.equal(vault, secretsVault, `secret ${name} is written outside the app's secrets vault`);
    out.set(secret, value);
  }
  return out;
}

/**
 * Every role assignment the template creates with these parameters, evaluated: role key, principal, scope (the
 * `scope` property, else the resource group of its deployment), expanded over copy loops.
 */
function evaluatedAssignments(values: Record<string, Value>): { role: string; principalId: string; scope: string }[] {
  const scope = topScope(values);
  const roles = (template.variables as Obj).roles as Record<string, string>;
  const roleKey = (id: string) => Object.entries(roles).find(([, v]) => id.endsWith(`/${v}`))?.[0] ?? id;
  const out: { role: string; principalId: string; scope: string }[] = [];
  for (const d of nestedDeployments(template)) {
    const copies = isObj(d.copy) ? (evalValue(d.copy.count as Json, scope) as number) : 1;
    for (let c = 0; c < copies; c++) {
      const outer = { ...scope, copyIndex: c };
      const innerScope = innerScopeOf(d, outer);
      const rg = d.resourceGroup !== undefined ? (evalValue(d.resourceGroup as Json, outer) as string) : ENV.resourceGroup.name;
      for (const r of resourcesOf((d.properties as Obj).template as Obj).filter(
        (x) => x.type === "Microsoft.Authorization/roleAssignments",
      )) {
        const count = isObj(r.copy) ? (evalValue(r.copy.count as Json, innerScope) as number) : 1;
        for (let n = 0; n < count; n++) {
          const s = { ...innerScope, copyIndex: n };
          const props = r.properties as Obj;
          out.push({
            role: roleKey(evalValue(props.roleDefinitionId as Json, s) as string),
            principalId: evalValue(props.principalId as Json, s) as string,
            scope: r.scope !== undefined ? (evalValue(r.scope as Json, s) as string) : `resourceGroup ${rg}`,
          });
        }
      }
    }
  }
  return out;
}

/** The app settings the template writes with these parameters, with Key Vault references resolved as App Service would. */
function appSettingsFor(values: Record<string, Value>): { raw: Record<string, string>; resolved: Record<string, string> } {
  const scope = topScope(values);
  const cfg = resourceByName(template, "Microsoft.Web/sites/config", "appsettings");
  const raw = evalValue(cfg.properties as Json, scope) as Record<string, string>;
  const secrets = vaultSecrets(scope);
  const vaultUrl = evalString("[variables('secretsVaultUrl')]", scope) as string;
  const resolved: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    assert.equal(typeof v, "string", `app setting ${k} is not a string`);
    const ref = /^@Microsoft\.KeyVault\(SecretUri=(.+)\)$/.exec(v);
    if (!ref) {
      resolved[k] = v;
      continue;
    }
    const uri = new URL(ref[1] as string);
    assert.equal(uri.origin, vaultUrl, `${k} refers to another vault than the app's secrets vault`);
    const m = /^\/secrets\/([0-9A-Za-z-]+)\/$/.exec(uri.pathname);
    assert.ok(m, `${k}: ${uri.pathname} is not /secrets/<name>/`);
    const secret = secrets.get(m[1] as string);
    assert.ok(secret !== undefined, `${k} refers to secret ${m[1]}, which the template does not write`);
    resolved[k] = secret;
  }
  return { raw, resolved };
}

// ---------- setting names known to src/config/settings.ts ----------

function knownSettingNames(): { exact: Set<string>; patterns: RegExp[] } {
  const exact = new Set<string>();
  for (const d of [...Object.values(SETTINGS), ...Object.values(DNS_SETTINGS.settings)] as SettingDescriptor<unknown>[]) {
    if (d.key !== undefined) exact.add(`KvAcme__${d.key}`.toLowerCase());
    for (const a of d.aliases) exact.add((typeof a === "string" ? a : a.name).toLowerCase());
  }
  const patterns = (Object.values(WEBHOOK_SETTINGS) as SettingDescriptor<unknown>[]).map(
    (d) => new RegExp(`^kvacme__${(d.key as string).replace("<n>", "\\d+")}$`, "i"),
  );
  // DNS provider instances: KvAcme__Dns__<instance>__<Key> for the keys of every provider type.
  for (const t of DNS_PROVIDER_TYPES) {
    for (const d of [DNS_SETTINGS.settings.type, ...Object.values(t.settings)] as SettingDescriptor<unknown>[]) {
      patterns.push(new RegExp(`^kvacme__${(d.key as string).replace("<n>", "[a-z0-9-]+")}$`, "i"));
    }
  }
  return { exact, patterns };
}

/** Every app setting name the template can write, read statically from the variables and createObject() calls. */
function settingNamesInTemplate(): string[] {
  const vars = template.variables as Obj;
  const names = new Set<string>();
  const cfg = resourceByName(template, "Microsoft.Web/sites/config", "appsettings");
  const expr = cfg.properties as string;
  assert.ok(typeof expr === "string" && isExpression(expr), "appsettings properties should be one union() expression");
  const pending = [...refsIn([expr], "variables")];
  const seen = new Set<string>();
  const strings = [expr];
  while (pending.length > 0) {
    const v = pending.pop() as string;
    if (seen.has(v)) continue;
    seen.add(v);
    const value = vars[v];
    if (isObj(value)) Object.keys(value).forEach((k) => names.add(k));
    if (typeof value === "string") {
      strings.push(value);
      for (const r of refsIn([value], "variables")) pending.push(r);
    }
  }
  for (const s of strings)
    for (const m of s.matchAll(/createObject\(([^)]*)\)/g)) {
      // createObject('Name', value, 'Name2', value2, ...): names are the string literals in even positions.
      const args = splitArgs(m[1] as string);
      for (let k = 0; k < args.length; k += 2) {
        const lit = /^'([^']*)'$/.exec((args[k] as string).trim());
        assert.ok(lit, `createObject key ${args[k]} is not a literal`);
        names.add(lit[1] as string);
      }
    }
  return [...names];
}

/** Splits "a, f(b, c), 'd,e'" at top-level commas. */
function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = "";
  for (const ch of s) {
    if (ch === "'") quoted = !quoted;
    if (!quoted && ch === "(") depth++;
    if (!quoted && ch === ")") depth--;
    if (!quoted && depth === 0 && ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim() !== "") out.push(cur);
  return out;
}

// ---------- tests ----------

describe("infra/azuredeploy.json: shape", () => {
  it("is a deployment template with $schema and contentVersion, and so is every inner template", () => {
    for (const { label, t } of allTemplates()) {
      assert.match(
        String(t.$schema),
        /^https:\/\/schema\.management\.azure\.com\/schemas\/\d{4}-\d{2}-\d{2}\/deploymentTemplate\.json#$/,
        label,
      );
      assert.equal(t.contentVersion, "1.0.0.0", label);
    }
  });

  it("nested deployments evaluate their templates in the inner scope", () => {
    for (const d of nestedDeployments(template)) {
      const props = d.properties as Obj;
      assert.deepEqual(props.expressionEvaluationOptions, { scope: "inner" }, String(d.name));
      assert.ok(isObj(props.template), String(d.name));
      assert.equal(props.mode, "Incremental", String(d.name));
    }
  });

  it("every parameters('x') is declared and every declared parameter is used, in each template", () => {
    for (const { label, t } of allTemplates()) {
      const declared = new Set(Object.keys((t.parameters ?? {}) as Obj));
      const used = refsIn(ownStrings(t), "parameters");
      for (const u of used) assert.ok(declared.has(u), `${label}: parameters('${u}') is not declared`);
      for (const d of declared) assert.ok(used.has(d), `${label}: parameter ${d} is declared but never used`);
    }
  });

  it("every variables('x') is declared and every declared variable is used", () => {
    for (const { label, t } of allTemplates()) {
      const declared = new Set(Object.keys((t.variables ?? {}) as Obj));
      const used = refsIn(ownStrings(t), "variables");
      for (const u of used) assert.ok(declared.has(u), `${label}: variables('${u}') is not declared`);
      for (const d of declared) assert.ok(used.has(d), `${label}: variable ${d} is declared but never used`);
    }
  });

  it("nested deployments pass exactly the parameters their inner templates declare", () => {
    for (const d of nestedDeployments(template)) {
      const props = d.properties as Obj;
      const passed = Object.keys(props.parameters as Obj).sort();
      const declared = Object.keys(((props.template as Obj).parameters ?? {}) as Obj).sort();
      assert.deepEqual(passed, declared, String(d.name));
    }
  });

  it("every expression parses", () => {
    for (const s of ownStrings(template, [], false)) if (isExpression(s)) assert.doesNotThrow(() => parseExpression(s.slice(1, -1)), s);
  });

  it("every resource has type, name and a released apiVersion, one version per type across the templates", () => {
    const versions = new Map<string, Set<string>>();
    for (const { label, t } of allTemplates()) {
      for (const r of resourcesOf(t)) {
        assert.equal(typeof r.type, "string", `${label}: a resource without type`);
        assert.equal(typeof r.name, "string", `${label}: ${String(r.type)} without name`);
        assert.match(
          String(r.apiVersion),
          /^\d{4}-\d{2}-\d{2}$/,
          `${label}: ${String(r.type)}@${String(r.apiVersion)} is not a released version`,
        );
        versions.set(r.type as string, (versions.get(r.type as string) ?? new Set()).add(r.apiVersion as string));
      }
    }
    for (const [type, v] of versions) assert.equal(v.size, 1, `${type} is declared with several API versions: ${[...v].join(", ")}`);
  });

  it("every reference() with an API version uses the version its resource is declared with", () => {
    const declared = new Map(allTemplates().flatMap(({ t }) => resourcesOf(t).map((r) => [r.type as string, r.apiVersion as string])));
    const found: string[] = [];
    const walk = (a: Ast): void => {
      if (a.k === "call") {
        const [target, version] = a.args;
        if (a.fn === "reference" && version?.k === "str" && target?.k === "call" && target.fn === "resourceId") {
          const type = target.args.find((x): x is { k: "str"; v: string } => x.k === "str" && x.v.includes("/"));
          assert.ok(type, "reference(resourceId(...)) without a literal resource type");
          assert.equal(version.v, declared.get(type.v), `reference() of ${type.v} at ${version.v}, declared at ${declared.get(type.v)}`);
          found.push(type.v);
        }
        a.args.forEach(walk);
      } else if (a.k === "prop") walk(a.of);
      else if (a.k === "index") {
        walk(a.of);
        walk(a.at);
      }
    };
    for (const s of ownStrings(template, [], false)) if (isExpression(s)) walk(parseExpression(s.slice(1, -1)));
    assert.ok(found.includes("Microsoft.Web/sites") && found.includes("Microsoft.Storage/storageAccounts"), found.join(", "));
  });

  it("Microsoft.Web/sites uses an API version that has functionAppConfig (2023-12-01 or later)", () => {
    const site = resourceByName(template, "Microsoft.Web/sites", "functionAppName");
    assert.ok(String(site.apiVersion) >= "2023-12-01", String(site.apiVersion));
  });

  it("every dependsOn names a resource or copy loop of the same template", () => {
    for (const { label, t } of allTemplates()) {
      const resources = resourcesOf(t);
      const keys = new Set(resources.map((r) => `${String(r.type)}|${nameSegments(r.name as string).join("/")}`));
      const copies = new Set(resources.map((r) => (isObj(r.copy) ? (r.copy.name as string) : "")).filter(Boolean));
      for (const r of resources) {
        for (const dep of (r.dependsOn ?? []) as string[]) {
          if (copies.has(dep)) continue;
          const m = /^\[resourceId\((.*)\)\]$/.exec(dep);
          assert.ok(m, `${label}: dependsOn ${dep} of ${String(r.name)} should be resourceId(...) or a copy loop name`);
          const args = splitArgs(m[1] as string).map((a) => a.trim());
          const typeAt = args.findIndex((a) => /^'[^']*\/[^']*'$/.test(a));
          const type = (args[typeAt] as string).slice(1, -1);
          const key = `${type}|${args
            .slice(typeAt + 1)
            .map(unquote)
            .join("/")}`;
          assert.ok(keys.has(key), `${label}: dependsOn ${dep} of ${String(r.name)} matches no resource`);
          assert.notEqual(
            key,
            `${String(r.type)}|${nameSegments(r.name as string).join("/")}`,
            `${label}: ${String(r.name)} depends on itself`,
          );
        }
      }
    }
  });
});

function unquote(a: string): string {
  return /^'[^']*'$/.test(a) ? a.slice(1, -1) : a;
}

/** "[format('{0}/default/{1}', A, B)]" -> [A, "default", B]; "[variables('x')]" -> ["variables('x')"]; "a/b" -> [a, b]. */
function nameSegments(name: string): string[] {
  if (!isExpression(name)) return name.split("/");
  const inner = name.slice(1, -1);
  const f = /^format\('([^']*)', (.*)\)$/.exec(inner);
  if (!f) return [inner];
  const args = splitArgs(f[2] as string).map((a) => a.trim());
  return (f[1] as string).split("/").map((seg) => seg.replace(/\{(\d+)\}/g, (_, n: string) => args[Number(n)] as string));
}

describe("infra/azuredeploy.json: role assignments", () => {
  const roles = (template.variables as Obj).roles as Record<string, string>;
  const knownIds = new Set(Object.values(BUILT_IN_ROLES));

  it("the role table holds well-formed GUIDs of the expected built-in roles only", () => {
    for (const [key, id] of Object.entries(roles)) {
      assert.match(id, GUID, key);
      assert.ok(knownIds.has(id), `${key}: ${id} is not one of the built-in roles the template may grant`);
    }
    assert.deepEqual(new Set(Object.values(roles)), knownIds, "every expected role is in the table");
  });

  /** role key granted by each role assignment, per deployment, resolved through the nested deployment's parameters. */
  function grants(): { where: string; role: string; assignment: Obj }[] {
    const out: { where: string; role: string; assignment: Obj }[] = [];
    for (const r of resourcesOf(template).filter((x) => x.type === "Microsoft.Authorization/roleAssignments")) {
      const m = /variables\('roles'\)\.(\w+)/.exec(String((r.properties as Obj).roleDefinitionId));
      assert.ok(m, `top-level role assignment ${String(r.name)} does not take its role from variables('roles')`);
      out.push({ where: "top", role: m[1] as string, assignment: r });
    }
    for (const d of nestedDeployments(template)) {
      const props = d.properties as Obj;
      for (const r of resourcesOf(props.template as Obj).filter((x) => x.type === "Microsoft.Authorization/roleAssignments")) {
        const def = String((r.properties as Obj).roleDefinitionId);
        const p = /^\[subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', parameters\('(\w+)'\)\)\]$/.exec(def);
        assert.ok(p, `${String(d.name)}: roleDefinitionId ${def} is not subscriptionResourceId(roleDefinitions, parameters(...))`);
        const passed = String(((props.parameters as Obj)[p[1] as string] as Obj).value);
        const v = /^\[variables\('roles'\)\.(\w+)\]$/.exec(passed);
        assert.ok(v, `${String(d.name)}: parameter ${p[1]} is ${passed}, not a role from variables('roles')`);
        out.push({ where: String(d.name), role: v[1] as string, assignment: r });
      }
    }
    return out;
  }

  it("every granted role is in the table, with a deterministic guid() name and a principal type", () => {
    const all = grants();
    for (const g of all) {
      assert.ok(g.role in roles, `${g.where}: role ${g.role} is not in variables('roles')`);
      assert.match(String(g.assignment.name), /^\[guid\(/, `${g.where}: role assignment names come from guid()`);
      const props = g.assignment.properties as Obj;
      assert.ok(props.principalType, `${g.where}: principalType avoids replication-delay failures`);
      assert.ok(typeof props.description === "string" && props.description.length > 10, `${g.where}: say why the role is needed`);
    }
  });

  it("grants exactly the least-privilege set: storage data roles, Certificates Officer on the certificate vault, Secrets Officer on the secrets vault, Secrets User for agents, DNS Zone Contributor", () => {
    const byDeployment = new Map<string, string[]>();
    for (const g of grants()) byDeployment.set(g.where, [...(byDeployment.get(g.where) ?? []), g.role].sort());
    assert.deepEqual(
      byDeployment.get("top"),
      undefined,
      "no role assignment outside nested deployments (names must not depend on reference())",
    );
    assert.deepEqual(byDeployment.get("[variables('storageAccessDeploymentName')]"), [
      "storageBlobDataOwner",
      "storageQueueDataContributor",
      "storageTableDataContributor",
    ]);
    assert.deepEqual(byDeployment.get("[variables('vaultAccessDeploymentName')]"), [
      "keyVaultCertificatesOfficer",
      "keyVaultSecretsUser",
      "keyVaultSecretsUser",
    ]);
    assert.deepEqual(byDeployment.get("[variables('secretsAccessDeploymentName')]"), ["keyVaultSecretsOfficer"]);
    const dns = [...byDeployment.entries()].filter(([k]) => k.includes("kvacme-dns-"));
    assert.equal(dns.length, 1);
    assert.deepEqual(dns[0]?.[1], ["dnsZoneContributor"]);
  });

  it("the agents' Secrets User grant goes to agentPrincipalIds, the other vault grants to the app identity", () => {
    const vault = grants().filter((g) => g.where === "[variables('vaultAccessDeploymentName')]");
    for (const g of vault) {
      const principal = String((g.assignment.properties as Obj).principalId);
      if (g.role === "keyVaultSecretsUser") assert.match(principal, /agentPrincipalIds/);
      else assert.equal(principal, "[parameters('principalId')]");
    }
  });

  it("evaluated role assignment names are distinct GUIDs", () => {
    const scope = topScope({ agentPrincipalIds: ["a0000000-0000-0000-0000-000000000001", "a0000000-0000-0000-0000-000000000002"] });
    const names = new Set<string>();
    for (const d of nestedDeployments(template)) {
      const props = d.properties as Obj;
      const inner = props.template as Obj;
      const params: Record<string, Value> = {};
      for (const [k, v] of Object.entries(props.parameters as Record<string, Obj>))
        params[k] = evalValue(v.value as Json, { ...scope, copyIndex: 0 });
      const innerScope: Scope = { params, variables: {}, varCache: new Map(), reference: fakeReference };
      for (const r of resourcesOf(inner).filter((x) => x.type === "Microsoft.Authorization/roleAssignments")) {
        const count = isObj(r.copy) ? (evalValue(r.copy.count as Json, innerScope) as number) : 1;
        for (let n = 0; n < count; n++) {
          const name = evalValue(r.name as Json, { ...innerScope, copyIndex: n }) as string;
          assert.match(name, GUID);
          assert.ok(!names.has(name), `duplicate role assignment name ${name}`);
          names.add(name);
        }
      }
    }
    assert.equal(names.size, 3 + 1 + 2 + 1 + 1);
  });

  const AGENTS = ["a0000000-0000-0000-0000-000000000001", "a0000000-0000-0000-0000-000000000002"];
  const APP = "9d1f3c2b-1111-4a5b-8c7d-000000000001";
  for (const [label, values] of [
    ["new vault", { agentPrincipalIds: AGENTS }],
    [
      "existing vault",
      { agentPrincipalIds: AGENTS, useExistingKeyVault: true, keyVaultName: "kv-contoso", existingKeyVaultResourceGroup: "rg-pki" },
    ],
    ["agents scoped to certificates", { agentPrincipalIds: AGENTS, agentCertificateNames: ["www-contoso-com", "api-contoso-com"] }],
    [
      "EAB and webhook secrets",
      { agentPrincipalIds: AGENTS, eabKeyId: "kid", eabHmacKey: "aG1hYw", webhookUrl: "https://hooks.slack.com/services/T/B/X" },
    ],
  ] as const) {
    it(`no agent role covers the app's secrets (${label}): agents hold only Secrets User, only on the certificate vault or its secrets`, () => {
      const scope = topScope(values as Record<string, Value>);
      const certVault = evalString("[variables('keyVaultName')]", scope) as string;
      const secretsVault = evalString("[variables('secretsVaultName')]", scope) as string;
      assert.notEqual(certVault, secretsVault, "the app's secrets need a vault of their own");
      const assignments = evaluatedAssignments(values as Record<string, Value>);
      const agentGrants = assignments.filter((a) => (AGENTS as readonly string[]).includes(a.principalId));
      assert.ok(agentGrants.length >= AGENTS.length, "every agent gets a grant");
      for (const a of agentGrants) {
        assert.equal(a.role, "keyVaultSecretsUser", `agent ${a.principalId} holds ${a.role}`);
        assert.ok(
          a.scope === `Microsoft.KeyVault/vaults/${certVault}` || a.scope.startsWith(`Microsoft.KeyVault/vaults/${certVault}/secrets/`),
          `agent grant scoped to ${a.scope}`,
        );
        assert.ok(!a.scope.includes(secretsVault) && !a.scope.startsWith("resourceGroup"), `agent grant scoped to ${a.scope}`);
      }
      // The app's own secrets: written to, referenced from and read in the secrets vault only.
      for (const name of writtenSecrets(scope).keys()) assert.ok(name.startsWith(`${secretsVault}/`), name);
      const { raw } = appSettingsFor(values as Record<string, Value>);
      assert.equal(raw.KvAcme__SecretsVaultUrl, `https://${secretsVault}.vault.azure.net`);
      assert.equal(raw.KvAcme__VaultUrl, `https://${certVault}.vault.azure.net`);
      const s = loadSettings(appSettingsFor(values as Record<string, Value>).resolved);
      assert.equal(s.secretsVaultUrl, `https://${secretsVault}.vault.azure.net`);
      // The app itself: certificates (no secrets, so no private keys) on the certificate vault, secrets on its own vault.
      const appGrants = assignments.filter((a) => a.principalId === APP && a.scope.startsWith("Microsoft.KeyVault/"));
      assert.deepEqual(appGrants.map((a) => `${a.role} ${a.scope}`).sort(), [
        `keyVaultCertificatesOfficer Microsoft.KeyVault/vaults/${certVault}`,
        `keyVaultSecretsOfficer Microsoft.KeyVault/vaults/${secretsVault}`,
      ]);
    });
  }

  it("agentCertificateNames: one Secrets User assignment per agent and certificate, scoped to that certificate's secret, none on the vault", () => {
    const names = ["www-contoso-com", "api-contoso-com", "mail-contoso-com"];
    const scope = topScope({ agentPrincipalIds: AGENTS, agentCertificateNames: names });
    const certVault = evalString("[variables('keyVaultName')]", scope) as string;
    const agentGrants = evaluatedAssignments({ agentPrincipalIds: AGENTS, agentCertificateNames: names }).filter((a) =>
      (AGENTS as readonly string[]).includes(a.principalId),
    );
    const want = AGENTS.flatMap((a) => names.map((n) => `${a} Microsoft.KeyVault/vaults/${certVault}/secrets/${n}`)).sort();
    assert.deepEqual(agentGrants.map((g) => `${g.principalId} ${g.scope}`).sort(), want);
    const declared = (template.parameters as Record<string, Obj>).agentCertificateNames as Obj;
    assert.ok((declared.maxLength as number) <= 800, "ARM copies at most 800 resources per loop");
  });
});

describe("infra/azuredeploy.json: Function App", () => {
  const site = resourceByName(template, "Microsoft.Web/sites", "functionAppName");
  const plan = resourceByName(template, "Microsoft.Web/serverfarms", "planName");
  const storage = resourceByName(template, "Microsoft.Storage/storageAccounts", "storageAccountName");

  it("runs on Flex Consumption (FC1, Linux, Node 22) with a system-assigned identity", () => {
    assert.deepEqual(plan.sku, { tier: "FlexConsumption", name: "FC1" });
    assert.equal((plan.properties as Obj).reserved, true);
    assert.equal(site.kind, "functionapp,linux");
    assert.deepEqual(site.identity, { type: "SystemAssigned" });
    const cfg = (site.properties as Obj).functionAppConfig as Obj;
    assert.deepEqual(cfg.runtime, { name: "node", version: "22" });
    const storageCfg = (cfg.deployment as Obj).storage as Obj;
    assert.equal(storageCfg.type, "blobContainer");
    assert.deepEqual(storageCfg.authentication, { type: "SystemAssignedIdentity" });
    assert.equal((site.properties as Obj).httpsOnly, true);
  });

  it("no site property Flex Consumption does not support (properties and siteConfig)", () => {
    const props = site.properties as Obj;
    const names = [...Object.keys(props), ...Object.keys((props.siteConfig as Obj | undefined) ?? {})].map((n) => n.toLowerCase());
    for (const bad of FLEX_UNSUPPORTED_SITE_PROPERTIES) assert.ok(!names.includes(bad.toLowerCase()), `site property ${bad}`);
    assert.ok(names.includes("functionappconfig") && names.includes("httpsonly"), "the walk sees the site's properties");
  });

  it("keeps one always-ready instance for the durable group by default (Microsoft's Durable Functions on Flex advice); 0 turns it off", () => {
    const scale = (p: Record<string, Value>) =>
      (evalValue((site.properties as Obj).functionAppConfig as Json, topScope(p)) as Obj).scaleAndConcurrency as Obj;
    assert.deepEqual(scale({}).alwaysReady, [{ name: "durable", instanceCount: 1 }]);
    assert.deepEqual(scale({ durableAlwaysReadyInstances: 2 }).alwaysReady, [{ name: "durable", instanceCount: 2 }]);
    assert.deepEqual(scale({ durableAlwaysReadyInstances: 0 }).alwaysReady, []);
  });

  it("storage refuses shared keys and the app connects with its identity", () => {
    const props = storage.properties as Obj;
    assert.equal(props.allowSharedKeyAccess, false);
    assert.equal(props.allowBlobPublicAccess, false);
    assert.equal(props.minimumTlsVersion, "TLS1_2");
    const { raw } = appSettingsFor({});
    assert.equal(raw.AzureWebJobsStorage__accountName, evalString("[variables('storageAccountName')]", topScope({})));
    assert.equal(raw.AzureWebJobsStorage__credential, "managedidentity");
    assert.equal(raw.AzureWebJobsStorage, undefined, "no connection string");
    assert.ok(!ownStrings(template, [], false).some((s) => /listKeys|AccountKey=/i.test(s)), "no storage keys anywhere");
  });

  it("a new vault uses RBAC authorization and soft delete; purge protection is never sent as false", () => {
    const vault = resourceByName(template, "Microsoft.KeyVault/vaults", "keyVaultName");
    const props = vault.properties as Obj;
    assert.equal(props.enableRbacAuthorization, true);
    assert.equal(props.enableSoftDelete, true);
    const scope = topScope({ enablePurgeProtection: false });
    assert.equal(evalValue(props.enablePurgeProtection as Json, scope), null);
    assert.equal(evalValue(props.enablePurgeProtection as Json, topScope({})), true);
    assert.equal(evalValue(vault.condition as Json, topScope({ useExistingKeyVault: true, keyVaultName: "existing-kv" })), false);
  });

  it("App Service Authentication: Entra ID, 401 for anonymous callers, function-key paths excluded; only with a client id", () => {
    const auth = resourceByName(template, "Microsoft.Web/sites/config", "authsettingsV2");
    assert.equal(evalValue(auth.condition as Json, topScope({})), false);
    assert.equal(evalValue(auth.condition as Json, topScope({ authClientId: "3c1e5b7a-0000-4000-8000-000000000001" })), true);
    const props = evalValue(auth.properties as Json, topScope({ authClientId: "3c1e5b7a-0000-4000-8000-000000000001" })) as Obj;
    const gv = props.globalValidation as Obj;
    assert.equal(gv.requireAuthentication, true);
    assert.equal(gv.unauthenticatedClientAction, "Return401");
    for (const p of ["/api/automation", "/runtime/webhooks"]) assert.ok((gv.excludedPaths as string[]).includes(p), p);
    const aad = (props.identityProviders as Obj).azureActiveDirectory as Obj;
    assert.equal(aad.enabled, true);
    assert.equal((aad.registration as Obj).clientId, "3c1e5b7a-0000-4000-8000-000000000001");
    assert.equal((aad.registration as Obj).openIdIssuer, `https://login.microsoftonline.com/${ENV.subscription.tenantId}/v2.0`);
  });

  it("outputs the app name, host name, principal id and vault URL", () => {
    const outputs = evalValue(template.outputs as Json, topScope({ functionAppName: "kv-acme-x" })) as Record<string, Obj>;
    assert.equal(outputs.functionAppName?.value, "kv-acme-x");
    assert.equal(outputs.functionAppHostName?.value, "kv-acme-x.azurewebsites.net");
    assert.match(String(outputs.principalId?.value), GUID);
    assert.match(String(outputs.vaultUrl?.value), /^https:\/\/kvacme-[a-z]{13}\.vault\.azure\.net$/);
  });
});

describe("infra/azuredeploy.json: app settings", () => {
  it("every KvAcme__ (and other) setting name is one src/config/settings.ts understands", () => {
    const { exact, patterns } = knownSettingNames();
    const names = settingNamesInTemplate();
    assert.ok(names.length >= 10, `found only ${names.join(", ")}`);
    for (const n of names) {
      if (PLATFORM_SETTINGS.includes(n)) continue;
      assert.ok(exact.has(n.toLowerCase()) || patterns.some((p) => p.test(n)), `app setting ${n} is not read by src/config/settings.ts`);
    }
  });

  it("no setting Flex Consumption rejects", () => {
    const names = settingNamesInTemplate();
    for (const bad of FLEX_UNSUPPORTED_SETTINGS) assert.ok(!names.includes(bad), bad);
  });

  it("defaults: the settings load, functionKeys mode, Let's Encrypt, this subscription, daily at 03:00", () => {
    const { raw, resolved } = appSettingsFor({});
    const s = loadSettings(resolved);
    assert.equal(s.auth.mode, "functionKeys");
    assert.equal(s.acmeDirectoryUrl, "https://acme-v02.api.letsencrypt.org/directory");
    assert.deepEqual(azureSubscriptions(s), [ENV.subscription.subscriptionId]);
    assert.equal(s.renewalSchedule, "0 0 3 * * *");
    assert.equal(s.renewBeforeExpiryDays, 30);
    assert.match(s.vaultUrl, /^https:\/\/kvacme-[a-z]+\.vault\.azure\.net$/);
    assert.equal(s.appInsightsConnectionString, FAKE_CONNECTION_STRING);
    assert.equal(s.eab, undefined);
    assert.deepEqual(s.webhooks, []);
    assert.equal(raw.KvAcme__Contacts, undefined, "empty optional settings are left out");
  });

  it("the example parameters file loads (placeholders replaced by GUIDs) and turns App Service Authentication on", () => {
    const example = loadJson(EXAMPLE_PATH);
    assert.match(String(example.$schema), /deploymentParameters\.json#$/);
    const values: Record<string, Value> = {};
    let n = 0;
    const fill = (v: Json): Json =>
      typeof v === "string"
        ? v.replace(/<[^>]+>/g, () => `0000000${++n}-0000-4000-8000-000000000000`.slice(-36))
        : Array.isArray(v)
          ? v.map(fill)
          : v;
    for (const [k, v] of Object.entries(example.parameters as Record<string, Obj>)) {
      assert.ok("value" in v, `${k}: the example passes secrets only as Key Vault references (docs/deploy.md), never inline`);
      assert.notEqual(
        ((template.parameters as Record<string, Obj>)[k] as Obj | undefined)?.type,
        "securestring",
        `${k}: no secret in the example file`,
      );
      values[k] = fill(v.value as Json);
    }
    const { resolved } = appSettingsFor(values);
    const s = loadSettings(resolved);
    assert.equal(s.auth.mode, "appServiceAuth");
    assert.deepEqual(s.auth.entra, {
      tenantId: ENV.subscription.tenantId,
      clientId: values.authClientId,
      authority: "https://login.microsoftonline.com",
    });
    assert.equal(s.auth.platformAuthEnabled, false, "the API works without WEBSITE_AUTH_ENABLED");
    assert.deepEqual(s.auth.keyRoles, ["KvAcme.Read", "KvAcme.Issue"]);
    assert.deepEqual(s.contacts, ["mailto:pki-team@contoso.example"]);
    assert.equal(s.vaultUrl, "https://kv-acme-contoso.vault.azure.net");
    assert.equal(azureSubscriptions(s).length, 2);
  });

  it("EAB and webhook: secrets go to the vault; the app settings hold Key Vault references only", () => {
    const hmac = "c2VjcmV0LWhtYWMta2V5LWZyb20tdGhlLWNh";
    const hook = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX";
    const { raw, resolved } = appSettingsFor({
      eabKeyId: "kid-1",
      eabHmacKey: hmac,
      eabAlgorithm: "HS384",
      webhookUrl: hook,
      contacts: "a@example.com",
    });
    assert.match(
      raw.KvAcme__Eab__HmacKey as string,
      /^@Microsoft\.KeyVault\(SecretUri=https:\/\/[^/]+\.vault\.azure\.net\/secrets\/kv-acme-eab-hmac-key\/\)$/,
    );
    assert.match(raw.KvAcme__Webhooks__0__Url as string, /^@Microsoft\.KeyVault\(SecretUri=/);
    for (const [k, v] of Object.entries(raw)) {
      assert.ok(!v.includes(hmac) && !v.includes("hooks.slack.com"), `app setting ${k} carries a secret in plain text`);
    }
    const s = loadSettings(resolved);
    assert.deepEqual(s.eab, { keyId: "kid-1", hmacKey: hmac, algorithm: "HS384" });
    assert.equal(s.webhooks[0]?.url, hook);
    assert.equal(s.webhooks[0]?.format, "slack");
  });

  it("EAB without an HMAC value refers to an existing vault secret and writes none", () => {
    const scope = topScope({ eabKeyId: "kid-1", eabHmacKeySecretName: "my-eab" });
    assert.equal(vaultSecrets(scope).size, 0);
    const raw = evalValue(resourceByName(template, "Microsoft.Web/sites/config", "appsettings").properties as Json, scope) as Record<
      string,
      string
    >;
    assert.match(raw.KvAcme__Eab__HmacKey as string, /\/secrets\/my-eab\/\)$/);
  });

  it("securestring parameters appear only in empty() tests, in values passed to inner securestring parameters, and in vault secrets", () => {
    for (const { label, t } of allTemplates()) {
      const secure = Object.entries((t.parameters ?? {}) as Record<string, Obj>)
        .filter(([, p]) => p.type === "securestring")
        .map(([k]) => k);
      const allowed = new Set<string>();
      for (const d of nestedDeployments(t)) {
        const props = d.properties as Obj;
        const innerParams = ((props.template as Obj).parameters ?? {}) as Record<string, Obj>;
        for (const [k, v] of Object.entries(props.parameters as Record<string, Obj>))
          if (innerParams[k]?.type === "securestring") allowed.add(v.value as string);
      }
      for (const r of resourcesOf(t).filter((x) => x.type === "Microsoft.KeyVault/vaults/secrets"))
        allowed.add((r.properties as Obj).value as string);
      for (const s of ownStrings(t)) {
        for (const p of secure) {
          if (!s.includes(`parameters('${p}')`) || allowed.has(s)) continue;
          const stripped = s.replaceAll(`empty(parameters('${p}'))`, "");
          assert.ok(!stripped.includes(`parameters('${p}')`), `${label}: securestring ${p} used in ${s}`);
        }
      }
    }
  });
});

describe("host.json for Durable Functions on Flex Consumption", () => {
  const host = loadJson(path.join(ROOT, "host.json"));
  const durable = ((host.extensions as Obj).durableTask ?? {}) as Obj;

  it("polls the durable queues at most every 10 s (Microsoft's Flex advice; the default is 30 s)", () => {
    const interval = String(((durable.storageProvider ?? {}) as Obj).maxQueuePollingInterval);
    const m = /^(\d{2}):(\d{2}):(\d{2})$/.exec(interval);
    assert.ok(m, `maxQueuePollingInterval "${interval}" is not hh:mm:ss`);
    const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
    assert.ok(seconds > 0 && seconds <= 10, `${seconds} s`);
  });

  it("uses an extension bundle of the 4.x line, which Flex Consumption requires", () => {
    assert.deepEqual(host.extensionBundle, { id: "Microsoft.Azure.Functions.ExtensionBundle", version: "[4.*, 5.0.0)" });
  });
});
