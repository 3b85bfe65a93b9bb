/**
 * An Acmebot deployment's leftovers in a local stack's vault, for `npm run demo:acmebot` and its test: self-signed
 * certificates tagged as Acmebot v4 and v5 tag theirs, one neither tool manages and one Acmebot certificate tagged
 * kv-acme-ignore; and the app settings export (`az functionapp config appsettings list --output json`) of such an app.
 */
import type { CertificateClient } from "@azure/keyvault-certificates";
import type { StackInfo } from "./stack";

export interface SeededCertificate {
  name: string;
  dnsNames: [string, ...string[]];
  tags: Record<string, string>;
}

/** The certificates, in the stack's first zone. */
export function acmebotCertificates(info: Pick<StackInfo, "zones" | "acmeDirectoryUrl">): SeededCertificate[] {
  const zone = info.zones[0] as string;
  const host = new URL(info.acmeDirectoryUrl).host;
  const v5 = JSON.stringify({ endpoint: host, dnsProvider: "Azure DNS", certificateId: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" });
  return [
    { name: "acmebot-v4", dnsNames: [`v4.${zone}`], tags: { Issuer: "Acmebot", Endpoint: host, DnsProvider: "Azure DNS" } },
    { name: "acmebot-v5", dnsNames: [`v5.${zone}`, `*.v5.${zone}`], tags: { Acmebot: v5 } },
    { name: "foreign", dnsNames: [`foreign.${zone}`], tags: { owner: "team-x" } },
    { name: "acmebot-ignored", dnsNames: [`ignored.${zone}`], tags: { Acmebot: v5, "kv-acme-ignore": "true" } },
  ];
}

/** Creates them (self-signed by the vault, as any certificate another tool put there). */
export async function seedAcmebotCertificates(certs: CertificateClient, seeded: readonly SeededCertificate[]): Promise<void> {
  for (const c of seeded) {
    const poller = await certs.beginCreateCertificate(
      c.name,
      { issuerName: "Self", subject: `CN=${c.dnsNames[0]}`, subjectAlternativeNames: { dnsNames: c.dnsNames }, validityInMonths: 3 },
      { tags: c.tags },
    );
    await poller.pollUntilDone();
  }
}

/** An Acmebot app's settings as the az CLI exports them, pointing at the stack. */
export function acmebotAppSettings(
  info: Pick<StackInfo, "acmeDirectoryUrl" | "keyVaultUrl" | "subscriptionId">,
  extra: { name: string; value: string }[] = [],
): { name: string; value: string; slotSetting: boolean }[] {
  return [
    { name: "FUNCTIONS_WORKER_RUNTIME", value: "dotnet-isolated" },
    { name: "Acmebot__Endpoint", value: new URL("/", info.acmeDirectoryUrl).href },
    { name: "Acmebot__Contacts", value: "ops@example.com" },
    { name: "Acmebot__VaultBaseUrl", value: info.keyVaultUrl },
    { name: "Acmebot__AzureDns__SubscriptionId", value: info.subscriptionId },
    { name: "Acmebot__RenewBeforeExpiry", value: "30" },
    { name: "Acmebot__Webhook__Endpoint", value: "https://hooks.slack.com/services/T/B/X" },
    { name: "Acmebot__UseSystemNameServer", value: "false" },
    { name: "Acmebot__RequireAppRoles", value: "true" },
    ...extra,
  ].map((e) => ({ ...e, slotSetting: false }));
}
