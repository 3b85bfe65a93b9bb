/**
 * Which vault a certificate lives in. An instance may manage several Key Vaults (settings `KvAcme__Vaults__<name>__*`,
 * one of them the default); a certificate is addressed as `{vault}/{name}` where its name alone is ambiguous and as
 * `{name}` in the default vault (so ids and addresses of a one-vault instance are what they always were). Pure.
 */
import { validateCertificateName } from "../acme/names";
import { ValidationError } from "../shared/errors";

/** Key Vault's own naming rule: 3-24 letters, digits and single hyphens, starting with a letter. Lower case here. */
const VAULT_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){1,22}[a-z0-9]$/;

/** A vault name as settings and requests give it (case-insensitive, like Key Vault names), lower-cased; throws ValidationError. */
export function validateVaultName(raw: string, field = "vault"): string {
  const name = raw.trim().toLowerCase();
  if (!VAULT_NAME.test(name))
    throw new ValidationError([
      { field, message: `"${raw}" is not a vault name (3-24 letters, digits and single hyphens, starting with a letter)` },
    ]);
  return name;
}

/** A certificate address split: `{vault}/{name}` or `{name}` (vault undefined: the default vault). */
export interface CertificateAddress {
  vault?: string;
  name: string;
}

/** Splits `{vault}/{name}` or `{name}`, validating both parts (400 on bad input). */
export function parseAddress(address: string, field = "certificateName"): CertificateAddress {
  const slash = address.indexOf("/");
  if (slash < 0) return { name: validateCertificateName(address) };
  return { vault: validateVaultName(address.slice(0, slash), field), name: validateCertificateName(address.slice(slash + 1)) };
}

/** Splits an address without validating it (addresses the app built itself, e.g. a renewal run's children). */
export function splitAddress(address: string): CertificateAddress {
  const slash = address.indexOf("/");
  return slash < 0 ? { name: address } : { vault: address.slice(0, slash), name: address.slice(slash + 1) };
}

/** `{name}` in the default vault, `{vault}/{name}` elsewhere. */
export function formatAddress(vault: string | undefined, name: string, defaultVault: string): string {
  return vault === undefined || vault === defaultVault ? name : `${vault}/${name}`;
}
