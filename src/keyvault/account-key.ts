/**
 * The ACME account key kept as a Key Vault secret (never on local disk: Functions plans do not keep files), one
 * secret per ACME directory host, with the account URL and directory URL as secret tags. RFC 8555 §7.3.
 */
import type { SecretClient } from "@azure/keyvault-secrets";
import { statusOf } from "../shared/errors";
import { vaultError } from "./certificates";

export const TAG_ACCOUNT_URL = "kv-acme-account-url";
export const TAG_ACCOUNT_DIRECTORY = "kv-acme-acme-directory";

export interface StoredAccountKey {
  secretName: string;
  /** PKCS#8 PEM of the account private key. */
  keyPem: string;
  /** The account URL (RFC 8555 §7.3 "Location"), absent until the CA confirmed the account. */
  accountUrl?: string;
  directoryUrl?: string;
  version: string;
}

/** "acme-account-<host-slug>": host (and port) of the directory, non-alphanumerics -> "-", at most 127 characters. */
export function accountSecretName(directoryUrl: string): string {
  const url = new URL(directoryUrl);
  const slug = url.host
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `acme-account-${slug}`.slice(0, 127);
}

/** Reads the stored account key for a directory, or undefined when there is none yet. */
export async function loadAccountKey(secrets: SecretClient, directoryUrl: string): Promise<StoredAccountKey | undefined> {
  const secretName = accountSecretName(directoryUrl);
  try {
    const secret = await secrets.getSecret(secretName);
    if (!secret.value) return undefined;
    const tags = secret.properties.tags ?? {};
    return {
      secretName,
      keyPem: secret.value,
      accountUrl: tags[TAG_ACCOUNT_URL] || undefined,
      directoryUrl: tags[TAG_ACCOUNT_DIRECTORY] || undefined,
      version: secret.properties.version ?? "",
    };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw vaultError(`reading the ACME account key ${secretName}`, err);
  }
}

/** Stores a new account key (a new secret version). */
export async function saveAccountKey(secrets: SecretClient, directoryUrl: string, keyPem: string): Promise<StoredAccountKey> {
  const secretName = accountSecretName(directoryUrl);
  try {
    const s = await secrets.setSecret(secretName, keyPem, {
      contentType: "application/x-pem-file",
      tags: { [TAG_ACCOUNT_DIRECTORY]: directoryUrl },
    });
    return { secretName, keyPem, directoryUrl, version: s.properties.version ?? "" };
  } catch (err) {
    throw vaultError(`storing the ACME account key ${secretName}`, err);
  }
}

/** Records the account URL on the stored key's secret version. */
export async function recordAccountUrl(secrets: SecretClient, stored: StoredAccountKey, accountUrl: string): Promise<StoredAccountKey> {
  try {
    await secrets.updateSecretProperties(stored.secretName, stored.version, {
      contentType: "application/x-pem-file",
      tags: { [TAG_ACCOUNT_DIRECTORY]: stored.directoryUrl ?? "", [TAG_ACCOUNT_URL]: accountUrl },
    });
    return { ...stored, accountUrl };
  } catch (err) {
    throw vaultError(`recording the ACME account URL on ${stored.secretName}`, err);
  }
}
