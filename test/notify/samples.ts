/** One realistic event of every type, shared by the notify tests. */
import * as n from "../../src/notify";

const time = new Date("2025-03-01T02:00:00Z");
const opts = { source: n.eventSource(["function-app", "func-certs-test"]), time };
const thumb = "3B6F1C0A9D2E4F5A6B7C8D9E0F1A2B3C4D5E6F70";

export function sampleEvents(): n.NotifyEvent[] {
  return [
    n.certificateIssued(
      {
        certificateName: "www-example-com",
        dnsNames: ["www.example.com"],
        version: "a1b2c3",
        thumbprint: thumb,
        notBefore: "2025-03-01T01:00:00Z",
        notAfter: "2025-05-30T01:00:00Z",
        caHost: "acme-v02.api.letsencrypt.org",
        keyVault: "kv-certs",
      },
      opts,
    ),
    n.certificateRenewed(
      {
        certificateName: "wildcard-example-com",
        dnsNames: ["*.example.com", "example.com"],
        version: "d4e5f6",
        previousVersion: "a1b2c3",
        thumbprint: thumb,
        notBefore: "2025-03-01T01:00:00Z",
        notAfter: "2025-05-30T01:00:00Z",
        caHost: "127.0.0.1:14000",
        reason: "days-before-expiry",
      },
      opts,
    ),
    n.certificateRenewalFailed(
      {
        certificateName: "api-example-com",
        dnsNames: ["api.example.com"],
        failedStep: "validate",
        error: {
          source: "acme",
          code: "urn:ietf:params:acme:error:unauthorized",
          message: 'Incorrect TXT record <"x"> & more',
          status: 403,
        },
        attempt: 2,
        operationId: "renew-api-example-com-20250301",
      },
      opts,
    ),
    n.certificateRevoked(
      { certificateName: "old-example-com", dnsNames: ["old.example.com"], version: "0a0b0c", thumbprint: thumb, reasonCode: 4 },
      opts,
    ),
    n.certificateExpiring(
      {
        certificateName: "api-example-com",
        dnsNames: ["api.example.com"],
        version: "0a0b0c",
        notAfter: "2025-03-08T00:00:00Z",
        daysRemaining: 6,
        reason: "renewal-attempts-exhausted",
        failedAttempts: 5,
        lastError: { source: "dns", code: "Throttled", message: "Too many requests", status: 429 },
      },
      opts,
    ),
    n.certificateIssuerChanged(
      {
        certificateName: "cluster-example-com",
        dnsNames: ["cluster.example.com"],
        version: "e7f8a9",
        thumbprint: thumb,
        issuer: {
          subject: "CN=R11,O=Let's Encrypt,C=US",
          keyId: "c5cf46a4eaf4c3c07a6c95c42db05e92f4b5f0bd",
          thumbprint: "696DB3AF0DFFC17E65C6A20D925C5A7BD24DEC7E",
        },
        previousVersion: "a1b2c3",
        previousIssuer: {
          subject: "CN=R10,O=Let's Encrypt,C=US",
          keyId: "bbbcc347a5e4bca9c6c3a4720c108da235e1c8e8",
          thumbprint: "00ABEFD055F9A9C784FFDEABD1DCDD8FED741436",
        },
        issuerPins: [],
        caHost: "acme-v02.api.letsencrypt.org",
        keyVault: "kv-certs",
      },
      opts,
    ),
    n.certificateIssuerRejected(
      {
        certificateName: "cluster-example-com",
        dnsNames: ["cluster.example.com"],
        issuer: { subject: "CN=R12,O=Let's Encrypt,C=US", thumbprint: "8D02536C887482BC34FF54E41D2BA659BF85B341" },
        issuerPins: ["696DB3AF0DFFC17E65C6A20D925C5A7BD24DEC7E"],
        currentVersion: "e7f8a9",
        message: "the new version of cluster-example-com was issued by CN=R12 (…), which is not in its issuer pins",
        operationId: "0af7651916cd43dd8448eb211c80319c",
        caHost: "acme-v02.api.letsencrypt.org",
        keyVault: "kv-certs",
      },
      opts,
    ),
    n.certificateLifetimeShortened(
      {
        certificateName: "cluster-example-com",
        dnsNames: ["cluster.example.com"],
        version: "e7f8a9",
        notAfter: "2025-05-01T00:00:00Z",
        previousVersion: "a1b2c3",
        previousNotAfter: "2025-05-30T01:00:00Z",
        caHost: "acme-v02.api.letsencrypt.org",
      },
      opts,
    ),
    n.renewalSummary(
      {
        runId: "run-20250301",
        startedAt: "2025-03-01T02:00:00Z",
        finishedAt: "2025-03-01T02:04:00Z",
        renewed: ["wildcard-example-com"],
        failed: [{ certificateName: "api-example-com", failedStep: "validate", error: "unauthorized" }],
        skipped: [{ certificateName: "www-example-com", reason: "not due" }],
      },
      opts,
    ),
    n.certificateInstalled(
      {
        host: "web01",
        certificateName: "www-example-com",
        version: "a1b2c3",
        thumbprint: thumb,
        bindingsUpdated: ["IIS:Default Web Site:443"],
      },
      opts,
    ),
    n.certificateInstallFailed(
      {
        host: "web02",
        certificateName: "www-example-com",
        version: "a1b2c3",
        thumbprint: thumb,
        failedStep: "reload",
        error: { source: "agent", message: "nginx -t failed" },
        bindingsUpdated: [],
      },
      opts,
    ),
    n.certificateHostStale(
      {
        host: "web03",
        reason: "outdated",
        message:
          "www-example-com: version a1b2c3 installed, the vault's current version is current since 2026-11-30T00:00:00.000Z, more than 24 h ago",
        lastSeen: "2026-12-01T09:00:00.000Z",
        agentVersion: "0.1.0",
        certificateName: "www-example-com",
        installedVersion: "a1b2c3",
      },
      "outdated:www-example-com:" + thumb,
      opts,
    ),
    n.webhookPing("kv-acme doctor", opts),
  ];
}
