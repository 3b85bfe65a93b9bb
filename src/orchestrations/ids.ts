/**
 * Durable instance ids and function names shared by the HTTP starters, the timer and the orchestrations.
 * One id per certificate: issuance and renewal of the same certificate can never run at the same time, because
 * starting an instance whose id is running is refused by the durable runtime.
 */
export const ORCHESTRATIONS = {
  issue: "issueCertificate",
  renewAll: "renewCertificates",
  revoke: "revokeCertificate",
} as const;

/** The singleton id of the renewal run started by the timer (overlapping runs are impossible). */
export const RENEW_ALL_INSTANCE_ID = "kv-acme-renew-all";

/** Instance id of any issuance or renewal of `certificateName` (names are ^[0-9a-zA-Z-]{1,127}$). */
export function certificateInstanceId(certificateName: string): string {
  return `kv-acme-certificate-${certificateName.toLowerCase()}`;
}

/** Instance id of a revocation of `certificateName`. */
export function revokeInstanceId(certificateName: string): string {
  return `kv-acme-revoke-${certificateName.toLowerCase()}`;
}
