/** Shared fixtures of the settings tests: the minimal environment, subscription ids, the problems a load reports. */
import assert from "node:assert/strict";
import { loadSettings, type Settings } from "../../src/config/settings";
import { ConfigurationError, type FieldProblem } from "../../src/shared/errors";
import type { AzureDnsOptions } from "../../src/dns/azure";

/** The settings of the Azure DNS instance "azure" (the top-level names). */
export function azure(s: Settings): AzureDnsOptions {
  const instance = s.dns.instances.find((i) => i.name === "azure");
  assert.ok(instance, "an azure DNS instance");
  return instance.settings as AzureDnsOptions;
}

export const SUB = "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10";
export const SUB2 = "11111111-2222-3333-4444-555555555555";
export const base = { KvAcme__VaultUrl: "https://myvault.vault.azure.net", KvAcme__DnsSubscriptionIds: SUB };

export function problemsOf(env: Record<string, string | undefined>): FieldProblem[] {
  try {
    loadSettings(env);
  } catch (err) {
    assert.ok(err instanceof ConfigurationError, `expected ConfigurationError, got ${String(err)}`);
    return (err.details as { problems: FieldProblem[] }).problems;
  }
  assert.fail("expected a ConfigurationError");
}
