/** Shared helpers of the issuance integration tests: deps for a local stack, chain verification, DNS state. */
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { DnsManagementClient } from "@azure/arm-dns";
import { loadSettings } from "../../src/config/settings";
import { createIssuanceDeps, type IssuanceDeps, type IssuanceSettings } from "../../src/issuance";
import type { Stack } from "../../src/local/stack";
import { pemBlocks, pemToDer, x509 } from "../../src/shared/x509";

export function stackSettings(stack: Stack, extra: Partial<IssuanceSettings> = {}): IssuanceSettings {
  const info = stack.info;
  // The stack's settings (its Azure DNS stand-in and every extra DNS provider it runs), every other setting at its
  // documented default, read through the settings descriptors.
  const defaults = loadSettings(stack.env);
  return {
    ...defaults,
    acmeDirectoryUrl: info.acmeDirectoryUrl,
    vaultUrl: info.keyVaultUrl,
    secretsVaultUrl: info.keyVaultUrl,
    dnsResolver: info.dnsServer,
    propagationTimeoutSeconds: 20,
    acmeTimeoutSeconds: 60,
    disableChallengeResourceVerification: true,
    ...(info.eab ? { eab: info.eab } : {}),
    ...extra,
  };
}

export function stackDeps(stack: Stack, extra: Partial<IssuanceSettings> = {}): IssuanceDeps {
  return createIssuanceDeps(stackSettings(stack, extra), stack.credential);
}

export function clients(stack: Stack) {
  const opts = { disableChallengeResourceVerification: true };
  return {
    certificates: new CertificateClient(stack.info.keyVaultUrl, stack.credential, opts),
    secrets: new SecretClient(stack.info.keyVaultUrl, stack.credential, opts),
    dns: new DnsManagementClient(stack.credential, stack.info.subscriptionId, {
      endpoint: stack.info.armEndpoint,
      credentialScopes: ["https://management.azure.com/.default"],
    }),
  };
}

/** Every TXT record set in the stack's zones (name -> values). */
export async function txtRecords(stack: Stack): Promise<Record<string, string[]>> {
  const { dns } = clients(stack);
  const out: Record<string, string[]> = {};
  for (const zone of stack.info.zones) {
    for await (const rs of dns.recordSets.listByDnsZone(stack.info.resourceGroup, zone)) {
      if (rs.txtRecords && rs.txtRecords.length > 0) out[`${rs.name}.${zone}`] = rs.txtRecords.map((r) => (r.value ?? []).join(""));
    }
  }
  return out;
}

/** The Pebble root (fetched from the management interface), PEM. */
export async function pebbleRoot(stack: Stack): Promise<string> {
  const res = await fetch(stack.info.pebbleRootUrl);
  if (!res.ok) throw new Error(`pebble root: HTTP ${res.status}`);
  return res.text();
}

/** Verifies a chain (leaf first) signature by signature up to a trusted root. */
export async function verifyChain(chainPems: string[], rootPem: string): Promise<x509.X509Certificate[]> {
  const certs = chainPems.map((p) => new x509.X509Certificate(p));
  const root = new x509.X509Certificate(rootPem);
  for (let i = 0; i < certs.length; i++) {
    const cert = certs[i] as x509.X509Certificate;
    const issuer = certs[i + 1] ?? root;
    if (!(await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }))) {
      throw new Error(`certificate ${i} (${cert.subject}) is not signed by ${issuer.subject}`);
    }
  }
  const last = certs[certs.length - 1] as x509.X509Certificate;
  if (last.issuer !== root.subject) throw new Error(`chain ends at ${last.issuer}, not at root ${root.subject}`);
  return certs;
}

export function sanNames(cert: x509.X509Certificate): string[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return (san?.names.items ?? [])
    .filter((n) => n.type === "dns")
    .map((n) => n.value)
    .sort();
}

export { pemBlocks, pemToDer, x509 };
