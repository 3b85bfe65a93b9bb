/**
 * The ACME account key kept as a Key Vault secret (never on local disk: Functions plans do not keep files), one
 * secret per ACME directory host, with the account URL and directory URL as secret tags. RFC 8555 §7.3.
 */
import type { SecretClient } from "@azure/keyvault-secrets";
import { statusOf } from "../shared/errors";
import { vaultError } from "./certificates";

export const TAG_ACCOUNT_URL = "kv-acme-account-url";
export const TAG_ACCOUNT_DIRECTORY = "kv-acme-acme-directory";
/** The External Account Binding key id the account was registered with (recorded since GET /api/account). */
export const TAG_ACCOUNT_EAB_KEY_ID = "kv-acme-account-eab-key-id";

/** Secret names of account keys start with this (accountSecretName). */
const ACCOUNT_SECRET_PREFIX = "acme-account-";

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
  return `${ACCOUNT_SECRET_PREFIX}${slug}`.slice(0, 127);
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

/** Records the account URL (and the EAB key id it was bound with) on the stored key's secret version. */
export async function recordAccountUrl(
  secrets: SecretClient,
  stored: StoredAccountKey,
  accountUrl: string,
  eabKeyId?: string,
): Promise<StoredAccountKey> {
  try {
    await secrets.updateSecretProperties(stored.secretName, stored.version, {
      contentType: "application/x-pem-file",
      tags: {
        [TAG_ACCOUNT_DIRECTORY]: stored.directoryUrl ?? "",
        [TAG_ACCOUNT_URL]: accountUrl,
        ...(eabKeyId === undefined ? {} : { [TAG_ACCOUNT_EAB_KEY_ID]: eabKeyId }),
      },
    });
    return { ...stored, accountUrl };
  } catch (err) {
    throw vaultError(`recording the ACME account URL on ${stored.secretName}`, err);
  }
}

/** A stored account as its secret's properties describe it: never the key. */
export interface StoredAccountInfo {
  secretName: string;
  directoryUrl?: string;
  accountUrl?: string;
  eabKeyId?: string;
  /** When the current key version was stored (the account's creation by kv-acme). */
  createdOn?: string;
}

/** Every stored ACME account key of the vault, from the secrets' properties only (no value is read). */
export async function listAccountKeys(secrets: SecretClient): Promise<StoredAccountInfo[]> {
  const out: StoredAccountInfo[] = [];
  try {
    for await (const p of secrets.listPropertiesOfSecrets()) {
      if (!p.name.startsWith(ACCOUNT_SECRET_PREFIX) || p.enabled === false) continue;
      const tags = p.tags ?? {};
      const info: StoredAccountInfo = { secretName: p.name };
      if (tags[TAG_ACCOUNT_DIRECTORY]) info.directoryUrl = tags[TAG_ACCOUNT_DIRECTORY];
      if (tags[TAG_ACCOUNT_URL]) info.accountUrl = tags[TAG_ACCOUNT_URL];
      if (tags[TAG_ACCOUNT_EAB_KEY_ID]) info.eabKeyId = tags[TAG_ACCOUNT_EAB_KEY_ID];
      if (p.createdOn) info.createdOn = p.createdOn.toISOString();
      out.push(info);
    }
  } catch (err) {
    throw vaultError("listing the ACME account keys", err);
  }
  return out.sort((a, b) => a.secretName.localeCompare(b.secretName));
}
