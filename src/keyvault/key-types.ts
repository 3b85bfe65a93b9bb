/** The key types and content types a certificate request may name (no imports: the dashboard bundles this too). */
export const KEY_TYPE_NAMES = [
  "RSA-2048",
  "RSA-3072",
  "RSA-4096",
  "EC-P256",
  "EC-P384",
  "EC-P521",
  // Keys generated and kept in Key Vault's HSMs (Premium vaults only), never exportable.
  "RSA-HSM-2048",
  "RSA-HSM-3072",
  "RSA-HSM-4096",
  "EC-HSM-P256",
  "EC-HSM-P384",
  "EC-HSM-P521",
] as const;

export const CONTENT_TYPE_NAMES = ["application/x-pkcs12", "application/x-pem-file"] as const;
