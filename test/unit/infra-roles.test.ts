/**
 * The role assignments of infra/azuredeploy.json, read statically and evaluated: least privilege, deterministic
 * names, agents confined to the certificate vault.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { evalString, evalValue, isObj, type Json, type Obj, type Scope, type Value } from "../support/arm-expression";
import {
  GUID,
  appSettingsFor,
  evaluatedAssignments,
  fakeReference,
  nestedDeployments,
  resourcesOf,
  template,
  topScope,
  writtenSecrets,
} from "../support/arm-template";
import { loadSettings } from "../../src/config/settings";

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
