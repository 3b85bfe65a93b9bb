/**
 * Durable instance ids and function names shared by the HTTP starters, the timer and the orchestrations.
 * One id per certificate: issuance and renewal of the same certificate can never run at the same time, because
 * starting an instance whose id is running is refused by the durable runtime.
 */
export const ORCHESTRATIONS = {
  issue: "issueCertificate",
  renewAll: "renewCertificates",
  /** A renewal run's renewals, one page per execution (continueAsNew). */
  renewBatch: "renewCertificatesBatch",
  revoke: "revokeCertificate",
} as const;

/** The singleton id of the renewal run started by the timer (overlapping runs are impossible). */
export const RENEW_ALL_INSTANCE_ID = "kv-acme-renew-all";

/**
 * An instance id for the certificate at `address` (`{name}` or `{vault}/{name}`, ../keyvault/address.ts): in the default
 * vault `kv-acme-<kind>-<name>` (the ids of a one-vault instance are what they always were), in another vault
 * `kv-acme-vault-<vault>--<kind>-<name>` (vault names have no `--`, so no two certificates share an id).
 */
function instanceId(kind: "certificate" | "revoke", address: string): string {
  const slash = address.indexOf("/");
  const id = slash < 0 ? `kv-acme-${kind}-${address}` : `kv-acme-vault-${address.slice(0, slash)}--${kind}-${address.slice(slash + 1)}`;
  return id.toLowerCase();
}

/** Instance id of any issuance or renewal of the certificate at `address` (names are ^[0-9a-zA-Z-]{1,127}$). */
export function certificateInstanceId(address: string): string {
  return instanceId("certificate", address);
}

/** Instance id of a revocation of the certificate at `address`. */
export function revokeInstanceId(address: string): string {
  return instanceId("revoke", address);
}
