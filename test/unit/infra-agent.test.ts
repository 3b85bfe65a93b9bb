/**
 * infra/agent/azuredeploy-agent.json (the ARM fragment rolling the agent out to a VM or VM scale set), read statically
 * and evaluated like test/unit/infra-roles.test.ts does the app's template: the identity gets Key Vault Secrets User on
 * each observed certificate's secret and nothing vault-wide (so no agent role covers the app's own secrets), the
 * Custom Script Extension is the VM's or the scale set's, the agent settings travel only in protected settings as
 * base64 data, and the generated script (run for real with its paths moved into a temp folder) writes the settings
 * byte for byte, runs nothing from them, and hands over to the same rollout script as cloud-init.yaml.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { evalValue, isObj, type Json, type Obj, type Scope, type Value } from "../support/arm-expression";
import { GUID, ROOT, loadJson, resourcesOf } from "../support/arm-template";

const fragment = loadJson(path.join(ROOT, "infra/agent/azuredeploy-agent.json"));
const SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6";
const UAI = "/subscriptions/s/resourceGroups/rg-vm/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-agents";
const UAI_PRINCIPAL = "11111111-2222-3333-4444-555555555555";
const VM_PRINCIPAL = "66666666-7777-8888-9999-000000000000";

function reference(id: string): Value {
  if (id.includes("/userAssignedIdentities/")) return { principalId: UAI_PRINCIPAL, clientId: "c0ffee00-0000-0000-0000-000000000001" };
  if (id.includes("/Microsoft.Compute/")) return { identity: { principalId: VM_PRINCIPAL } };
  throw new Error(`no fake reference() for ${id}`);
}

function scopeFor(values: Record<string, Value>): Scope {
  const declared = fragment.parameters as Record<string, Obj>;
  const scope: Scope = { params: {}, variables: fragment.variables as Obj, varCache: new Map(), reference };
  for (const name of Object.keys(values)) assert.ok(name in declared, `parameter ${name} is not declared`);
  for (const [name, p] of Object.entries(declared)) {
    if (name in values) scope.params[name] = values[name];
    else {
      assert.ok("defaultValue" in p, `parameter ${name} needs a value`);
      scope.params[name] = name === "vaultResourceGroup" ? "rg-pki" : evalValue(p.defaultValue as Json, scope);
    }
  }
  return scope;
}

const SETTINGS = {
  secretsManagementSettings: {
    pollingIntervalInS: "3600",
    requireInitialSync: true,
    observedCertificates: [{ url: "https://kv-certs.vault.azure.net/secrets/web" }],
  },
  authenticationSettings: { msiClientId: "c0ffee00-0000-0000-0000-000000000001" },
  // Shell syntax in a value: it must land in the file as text and never run.
  kvAcme: { host: "$(touch PWNED) `touch PWNED2` '; touch PWNED3; '", report: { url: "https://app.example/api/agents/reports" } },
};
const BASE = {
  targetKind: "vmss",
  targetName: "vmss-web",
  agentIdentityResourceId: UAI,
  vaultName: "kv-certs",
  certificateNames: ["web", "api"],
  agentSettings: SETTINGS,
  releaseUrl: "https://releases.example.blob.core.windows.net/kv-acme-agent-0.1.0.tar.gz",
  releaseSha256: "a".repeat(64),
};

/** Every role assignment of the nested access deployment, evaluated. */
function assignments(values: Record<string, Value>) {
  const scope = scopeFor(values);
  const d = resourcesOf(fragment).find((r) => r.type === "Microsoft.Resources/deployments")!;
  const props = d.properties as Obj;
  const params: Record<string, Value> = {};
  for (const [k, v] of Object.entries(props.parameters as Record<string, Obj>)) params[k] = evalValue(v.value as Json, scope);
  const inner: Scope = { params, variables: {}, varCache: new Map(), reference };
  assert.equal(evalValue(d.resourceGroup as Json, scope), "rg-pki", "granted in the vault's resource group");
  const out: { name: string; scope: string; role: string; principalId: string; principalType: string }[] = [];
  for (const r of resourcesOf(props.template as Obj)) {
    assert.equal(r.type, "Microsoft.Authorization/roleAssignments", "the access deployment holds role assignments only");
    const count = isObj(r.copy) ? (evalValue(r.copy.count as Json, inner) as number) : 1;
    for (let n = 0; n < count; n++) {
      const s = { ...inner, copyIndex: n };
      const p = r.properties as Obj;
      out.push({
        name: evalValue(r.name as Json, s) as string,
        scope: evalValue(r.scope as Json, s) as string,
        role: String(evalValue(p.roleDefinitionId as Json, s))
          .split("/")
          .pop() as string,
        principalId: evalValue(p.principalId as Json, s) as string,
        principalType: evalValue(p.principalType as Json, s) as string,
      });
    }
  }
  return out;
}

/** The extension resources whose condition holds, evaluated. */
function extensions(values: Record<string, Value>) {
  const scope = scopeFor(values);
  return resourcesOf(fragment)
    .filter((r) => String(r.type).endsWith("/extensions"))
    .filter((r) => evalValue(r.condition as Json, scope) === true)
    .map((r) => ({
      type: String(r.type),
      name: evalValue(r.name as Json, scope) as string,
      properties: evalValue(r.properties as Json, scope) as Obj,
    }));
}

describe("infra/agent/azuredeploy-agent.json", () => {
  it("grants Key Vault Secrets User on each observed certificate's secret only, never vault-wide", () => {
    const got = assignments(BASE);
    assert.deepEqual(
      got.map((a) => a.scope),
      ["Microsoft.KeyVault/vaults/kv-certs/secrets/web", "Microsoft.KeyVault/vaults/kv-certs/secrets/api"],
    );
    for (const a of got) {
      assert.equal(a.role, SECRETS_USER);
      assert.equal(a.principalId, UAI_PRINCIPAL, "the user-assigned identity");
      assert.equal(a.principalType, "ServicePrincipal");
      assert.match(a.name, GUID);
      assert.doesNotMatch(a.scope, /^Microsoft\.KeyVault\/vaults\/[^/]+$/, "no role on the whole vault (the app's own secrets)");
    }
    assert.equal(new Set(got.map((a) => a.name)).size, 2, "distinct deterministic names");
    const roleIds = Object.values((fragment.variables as Obj).roles as Obj);
    assert.deepEqual(roleIds, [SECRETS_USER], "no other role is granted");
  });

  it("with the system-assigned identity the grant goes to the VM's own principal", () => {
    const got = assignments({
      ...BASE,
      targetKind: "vm",
      targetName: "vm-web-1",
      identityType: "SystemAssigned",
      agentIdentityResourceId: "",
    });
    assert.deepEqual([...new Set(got.map((a) => a.principalId))], [VM_PRINCIPAL]);
  });

  it("deploys the Custom Script Extension to the scale set or to the VM, after the grant, settings only in protectedSettings", () => {
    for (const [kind, type] of [
      ["vmss", "Microsoft.Compute/virtualMachineScaleSets/extensions"],
      ["vm", "Microsoft.Compute/virtualMachines/extensions"],
    ]) {
      const [ext, ...more] = extensions({ ...BASE, targetKind: kind });
      assert.equal(more.length, 0, `${kind}: exactly one extension`);
      assert.equal(ext!.type, type);
      assert.equal(ext!.name, "vmss-web/kv-acme-agent");
      assert.equal(ext!.properties.publisher, "Microsoft.Azure.Extensions");
      assert.equal(ext!.properties.type, "CustomScript");
      assert.deepEqual(ext!.properties.settings, {}, "nothing in the public settings");
      assert.deepEqual(Object.keys(ext!.properties.protectedSettings as Obj), ["script"]);
      const raw = resourcesOf(fragment).find((r) => r.type === type)!;
      assert.match(String((raw.dependsOn as string[])[0]), /Microsoft\.Resources\/deployments/, "after the role assignments");
    }
    assert.equal((fragment.parameters as Record<string, Obj>).agentSettings!.type, "secureObject");
  });

  it("the generated script writes the settings byte for byte as data, runs nothing from them, and hands over to cloud-init's rollout script", async () => {
    const [ext] = extensions({ ...BASE, releaseUrl: "http://not-https.example/agent.tar.gz" });
    const script = Buffer.from(String((ext!.properties.protectedSettings as Obj).script), "base64").toString("utf8");
    assert.ok(!script.includes("touch PWNED"), "the settings are not in the script text");
    const cloudInit = JSON.parse(readFileSync(path.join(ROOT, "infra/agent/cloud-init.yaml"), "utf8").replace(/^(#[^\n]*\n)+/, "")) as {
      write_files: { path: string; content: string }[];
    };
    const rollout = cloudInit.write_files.find((f) => f.path === "/usr/local/sbin/kv-acme-agent-rollout")!.content;
    assert.ok(script.includes(`<<'KVACME_ROLLOUT_EOF'\n${rollout}KVACME_ROLLOUT_EOF\n`), "the same rollout script as cloud-init, quoted");

    const dir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-arm-agent-"));
    try {
      const moved = script.replaceAll("/etc/kv-acme", path.join(dir, "etc")).replaceAll("/usr/local/sbin", path.join(dir, "sbin"));
      await writeFile(path.join(dir, "script.sh"), moved, { mode: 0o700 });
      const r = spawnSync("sh", [path.join(dir, "script.sh")], { cwd: dir, encoding: "utf8" });
      // The rollout script refuses the http:// URL before downloading anything.
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /the release URL must be https/);
      assert.equal(await readFile(path.join(dir, "etc", "agent.settings"), "utf8"), JSON.stringify(SETTINGS));
      assert.equal(
        await readFile(path.join(dir, "etc", "release.env"), "utf8"),
        `KVACME_AGENT_RELEASE_URL=http://not-https.example/agent.tar.gz\nKVACME_AGENT_RELEASE_SHA256=${"a".repeat(64)}\n`,
      );
      const mode = (f: string) => execFileSync("stat", ["-c", "%a", path.join(dir, f)], { encoding: "utf8" }).trim();
      assert.equal(mode("etc/agent.settings"), "600");
      assert.equal(mode("etc"), "700");
      assert.equal(mode("sbin/kv-acme-agent-rollout"), "700");
      for (const f of ["PWNED", "PWNED2", "PWNED3"]) assert.equal(existsSync(path.join(dir, f)), false, `${f}: nothing ran`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("infra/agent/azuredeploy-agent.json on Windows (osType Windows)", () => {
  const WIN = { ...BASE, osType: "Windows" };
  /** The PowerShell command line and its two base64 literals ($s settings, $r release), split apart. */
  function command(values: Record<string, Value>) {
    const [ext] = extensions(values);
    const cmd = String((ext!.properties.protectedSettings as Obj).commandToExecute);
    const m = /^powershell\.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "\$s='([^']*)'; \$r='([^']*)'; ([^"]*)"$/.exec(
      cmd,
    );
    assert.ok(m, `one -Command argument with two quoted literals: ${cmd.slice(0, 160)}`);
    return { settingsB64: m[1]!, releaseB64: m[2]!, body: m[3]! };
  }

  it("deploys the Custom Script Extension for Windows to the VM or scale set, after the grant, everything in protectedSettings", () => {
    for (const [kind, type] of [
      ["vmss", "Microsoft.Compute/virtualMachineScaleSets/extensions"],
      ["vm", "Microsoft.Compute/virtualMachines/extensions"],
    ]) {
      const [ext, ...more] = extensions({ ...WIN, targetKind: kind });
      assert.equal(more.length, 0, `${kind}: exactly one extension (no Linux one)`);
      assert.equal(ext!.type, type);
      assert.equal(ext!.name, "vmss-web/kv-acme-agent-windows");
      assert.equal(ext!.properties.publisher, "Microsoft.Compute");
      assert.equal(ext!.properties.type, "CustomScriptExtension");
      assert.equal(ext!.properties.typeHandlerVersion, "1.10");
      assert.deepEqual(ext!.properties.settings, {}, "nothing in the public settings");
      const prot = ext!.properties.protectedSettings as Obj;
      assert.deepEqual(Object.keys(prot), ["fileUris", "managedIdentity", "commandToExecute"]);
      assert.deepEqual(prot.fileUris, [BASE.releaseUrl], "the release, downloaded by the extension");
      assert.deepEqual(prot.managedIdentity, { clientId: "c0ffee00-0000-0000-0000-000000000001" }, "with the user-assigned identity");
      const raw = resourcesOf(fragment).filter((r) => r.type === type)[1]!;
      assert.match(String((raw.dependsOn as string[])[0]), /Microsoft\.Resources\/deployments/, "after the role assignments");
    }
    const [sys] = extensions({ ...WIN, targetKind: "vm", identityType: "SystemAssigned", agentIdentityResourceId: "" });
    assert.deepEqual((sys!.properties.protectedSettings as Obj).managedIdentity, {}, "the VM's system-assigned identity");
    assert.deepEqual(
      extensions(BASE).map((e) => e.properties.publisher),
      ["Microsoft.Azure.Extensions"],
      "Linux stays the default",
    );
  });

  it("passes the settings and the release as base64 data: the command's text is constant, the values decode byte for byte", () => {
    const a = command(WIN);
    assert.match(a.settingsB64, /^[A-Za-z0-9+/=]+$/, "base64 only: no quote, space or shell character can end the literal");
    assert.match(a.releaseB64, /^[A-Za-z0-9+/=]+$/);
    assert.equal(Buffer.from(a.settingsB64, "base64").toString("utf8"), JSON.stringify(SETTINGS));
    assert.equal(
      Buffer.from(a.releaseB64, "base64").toString("utf8"),
      `KVACME_AGENT_RELEASE_URL=${BASE.releaseUrl}\nKVACME_AGENT_RELEASE_SHA256=${"a".repeat(64)}\n`,
    );
    assert.ok(!a.body.includes("PWNED") && !a.body.includes("kv-certs"), "no value in the script text");
    const other = command({ ...WIN, agentSettings: { ...SETTINGS, kvAcme: { host: "x" } }, releaseSha256: "b".repeat(64) });
    assert.equal(other.body, a.body, "the same script whatever the values");
    assert.doesNotMatch(a.body, /["%]/, "nothing cmd.exe would end or expand");
  });

  it("the script locks the folder before writing the settings, checks https and SHA-256, and runs the release's installer", () => {
    const { body } = command(WIN);
    const at = (s: string) => {
      const i = body.indexOf(s);
      assert.ok(i >= 0, `script contains ${s}`);
      return i;
    };
    assert.ok(at("SetAccessRuleProtection($true, $false)") < at("Set-Acl -LiteralPath $dir"));
    assert.ok(at("'S-1-5-18', 'S-1-5-32-544'") < at("Set-Acl"), "SYSTEM and Administrators only");
    assert.ok(at("Set-Acl -LiteralPath $dir") < at("[IO.File]::WriteAllBytes($settingsFile, [Convert]::FromBase64String($s))"));
    assert.ok(at("throw 'kv-acme-agent-rollout: the release URL must be https'") < at("Get-FileHash -Algorithm SHA256"));
    assert.ok(at("-ne $sha) { throw 'kv-acme-agent-rollout: SHA-256 mismatch' }") < at("tar.exe -xzf $tgz"));
    assert.ok(at("tar.exe -xzf $tgz") < at("'install-windows-service.ps1') -KvAcmeDir $pkg.FullName -SettingsFile $settingsFile"));
    const installer = readFileSync(path.join(ROOT, "infra/agent/install-windows-service.ps1"), "utf8");
    assert.match(installer, /\[Parameter\(Mandatory = \$true\)\]\[string\]\$KvAcmeDir/);
    assert.match(installer, /\[Parameter\(Mandatory = \$true\)\]\[string\]\$SettingsFile/);
    assert.match(
      readFileSync(path.join(ROOT, "scripts/package/build.ts"), "utf8"),
      /"infra\/agent\/install-windows-service\.ps1"/,
      "in the release",
    );
  });
});
