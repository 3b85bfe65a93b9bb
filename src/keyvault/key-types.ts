/** The key types and content types a certificate request may name (no imports: the dashboard bundles this too). */
export const KEY_TYPE_NAMES = ["RSA-2048", "RSA-3072", "RSA-4096", "EC-P256", "EC-P384", "EC-P521"] as const;

export const CONTENT_TYPE_NAMES = ["application/x-pkcs12", "application/x-pem-file"] as const;
