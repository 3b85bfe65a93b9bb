/**
 * Structural checks of the ARM template in infra/azuredeploy.json (no Azure or Bicep here): schemas, parameters and
 * variables declared and used, expressions that parse, API versions and dependencies.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isExpression, isObj, parseExpression, type Ast, type Obj } from "../support/arm-expression";
import {
  allTemplates,
  nestedDeployments,
  ownStrings,
  refsIn,
  resourceByName,
  resourcesOf,
  splitArgs,
  template,
} from "../support/arm-template";

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
