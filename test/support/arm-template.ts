/**
 * The ARM template in infra/azuredeploy.json as the infra tests see it: walking its (inner) templates, evaluating
 * what it deploys for given parameters (role assignments, vault secrets, app settings with Key Vault references
 * resolved) and the setting names src/config understands.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { SETTINGS, WEBHOOK_SETTINGS, type SettingDescriptor } from "../../src/config/settings";
import { DNS_PROVIDER_TYPES } from "../../src/dns/registry";
import { FLEET_SETTINGS } from "../../src/fleet/settings";
import { ORDER_SETTINGS } from "../../src/acme/order-options";
import { DNS_SETTINGS } from "../../src/dns/settings";
import { ENV, evalString, evalValue, isExpression, isObj, type Json, type Obj, type Scope, type Value } from "./arm-expression";

/** The subscription ids of the Azure DNS instance the settings configure. */
export function azureSubscriptions(s: { dns: { instances: { type: string; settings: unknown }[] } }): string[] {
  const azure = s.dns.instances.find((i) => i.type === "azure");
  return (azure?.settings as { subscriptionIds?: string[] } | undefined)?.subscriptionIds ?? [];
}

export const ROOT = path.resolve(__dirname, "../..");
const TEMPLATE_PATH = path.join(ROOT, "infra/azuredeploy.json");
export const EXAMPLE_PATH = path.join(ROOT, "infra/azuredeploy.parameters.example.json");

export function loadJson(file: string): Obj {
  return JSON.parse(readFileSync(file, "utf8")) as Obj;
}

export const template = loadJson(TEMPLATE_PATH);

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function resourcesOf(t: Obj): Obj[] {
  return ((t.resources as Json[] | undefined) ?? []).filter(isObj);
}

/** Nested deployments of a template (each must evaluate its template in the inner scope). */
export function nestedDeployments(t: Obj): Obj[] {
  return resourcesOf(t).filter((r) => r.type === "Microsoft.Resources/deployments");
}

/** Every string of a template that is evaluated in its own scope: inner templates of nested deployments excluded. */
export function ownStrings(v: Json, out: string[] = [], skipInner = true): string[] {
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

export function refsIn(strings: string[], fn: "parameters" | "variables"): Set<string> {
  const re = new RegExp(`\\b${fn}\\('([^']+)'\\)`, "g");
  const found = new Set<string>();
  for (const s of strings) if (isExpression(s)) for (const m of s.matchAll(re)) found.add(m[1] as string);
  return found;
}

/** The top-level template and every inner template, with a label for messages. */
export function allTemplates(): { label: string; t: Obj }[] {
  const out = [{ label: "azuredeploy.json", t: template }];
  for (const d of nestedDeployments(template)) {
    const props = d.properties as Obj;
    out.push({ label: `nested deployment ${String(d.name)}`, t: props.template as Obj });
  }
  return out;
}

export const FAKE_CONNECTION_STRING =
  "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://swedencentral-0.in.applicationinsights.azure.com/";

export function fakeReference(id: string): Value {
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
export function topScope(values: Record<string, Value>): Scope {
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

export function resourceByName(t: Obj, type: string, nameEnd: string): Obj {
  const r = resourcesOf(t).find((x) => x.type === type && String(x.name).includes(nameEnd));
  assert.ok(r, `no ${type} named like ${nameEnd}`);
  return r;
}

/** The scope a nested deployment's inner template is evaluated in (its parameters evaluated in the outer scope). */
export function innerScopeOf(d: Obj, scope: Scope): Scope {
  const props = d.properties as Obj;
  const inner = props.template as Obj;
  const innerParams: Record<string, Value> = {};
  for (const [k, v] of Object.entries(props.parameters as Record<string, Obj>)) innerParams[k] = evalValue(v.value as Json, scope);
  return { params: innerParams, variables: (inner.variables ?? {}) as Obj, varCache: new Map(), reference: fakeReference };
}

/** Every vault secret the template writes (only those whose condition holds), as `<vault>/<secret>` -> value. */
export function writtenSecrets(scope: Scope): Map<string, string> {
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
export function vaultSecrets(scope: Scope): Map<string, string> {
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
export function evaluatedAssignments(values: Record<string, Value>): { role: string; principalId: string; scope: string }[] {
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
export function appSettingsFor(values: Record<string, Value>): { raw: Record<string, string>; resolved: Record<string, string> } {
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

export function knownSettingNames(): { exact: Set<string>; patterns: RegExp[] } {
  const exact = new Set<string>();
  for (const d of [
    ...Object.values(SETTINGS),
    ...Object.values(DNS_SETTINGS.settings),
    ...Object.values(FLEET_SETTINGS.settings),
    ...Object.values(ORDER_SETTINGS.settings),
  ] as SettingDescriptor<unknown>[]) {
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
export function settingNamesInTemplate(): string[] {
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
export function splitArgs(s: string): string[] {
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
