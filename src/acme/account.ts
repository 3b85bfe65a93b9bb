/**
 * The ACME account (RFC 8555 §7.3): created on first use per directory, its key kept as a Key Vault secret and
 * reused afterwards, so renewals come from the same account (which ARI `replaces` needs, RFC 9773 §5).
 * External Account Binding (§7.3.4) with HS256/384/512; when the directory requires EAB and none is configured,
 * a ConfigurationError is thrown before anything is written.
 */
import { createHmac, generateKeyPairSync } from "node:crypto";
import type { SecretClient } from "@azure/keyvault-secrets";
import * as acme from "acme-client";
import { ConfigurationError } from "../shared/errors";
import { loadAccountKey, recordAccountUrl, saveAccountKey } from "../keyvault/account-key";
import { acmeError, fetchDirectory, internals, newAcmeClient, withNonceRetry, type AcmeDirectory, type AcmeSession } from "./client";

export type EabAlgorithm = "HS256" | "HS384" | "HS512";

/** External Account Binding credentials issued by the CA (key id + base64url HMAC key). */
export interface EabCredentials {
  keyId: string;
  hmacKey: string;
  algorithm?: EabAlgorithm;
}

export interface AccountSettings {
  acmeDirectoryUrl: string;
  /** Contact URLs or plain e-mail addresses (mailto: added). Optional. */
  contacts?: string[];
  eab?: EabCredentials;
}

/** Normalizes contacts to RFC 8555 §7.3 URLs ("mailto:..."). */
export function contactUrls(contacts: readonly string[] = []): string[] {
  return contacts
    .map((c) => c.trim())
    .filter((c) => c !== "")
    .map((c) => (/^[a-z][a-z0-9+.-]*:/i.test(c) ? c : `mailto:${c}`));
}

/** Checks EAB settings against the directory's meta (RFC 8555 §7.1.1 externalAccountRequired). */
export function checkEab(directory: AcmeDirectory, directoryUrl: string, eab: EabCredentials | undefined): void {
  if (directory.meta?.externalAccountRequired && !eab) {
    throw new ConfigurationError(
      `The ACME CA at ${directoryUrl} requires External Account Binding, but none is configured: ` +
        `set KvAcme__Eab__KeyId and KvAcme__Eab__HmacKey to the key id and HMAC key the CA gave you`,
      { acmeDirectoryUrl: directoryUrl },
    );
  }
  if (eab) {
    if (!eab.keyId.trim()) throw new ConfigurationError("The External Account Binding key id is empty");
    if (!/^[A-Za-z0-9_\-+/]+=*$/.test(eab.hmacKey.trim()))
      throw new ConfigurationError("The External Account Binding HMAC key is not base64url");
    if (eab.algorithm && !["HS256", "HS384", "HS512"].includes(eab.algorithm)) {
      throw new ConfigurationError(`Unsupported External Account Binding algorithm "${eab.algorithm}"; use HS256, HS384 or HS512`);
    }
  }
}

/**
 * The externalAccountBinding JWS of a newAccount request (RFC 8555 §7.3.4): payload = the account JWK, protected
 * header {alg, kid, url}, HMAC with the CA-issued key.
 */
export function externalAccountBinding(
  eab: EabCredentials,
  newAccountUrl: string,
  accountJwk: object,
): { protected: string; payload: string; signature: string } {
  const alg = eab.algorithm ?? "HS256";
  const hash = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[alg];
  const protectedHeader = Buffer.from(JSON.stringify({ alg, kid: eab.keyId, url: newAccountUrl })).toString("base64url");
  const payload = Buffer.from(JSON.stringify(accountJwk)).toString("base64url");
  const key = Buffer.from(eab.hmacKey.trim().replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""), "base64url");
  const signature = createHmac(hash, key).update(`${protectedHeader}.${payload}`).digest("base64url");
  return { protected: protectedHeader, payload, signature };
}

function newAccountKeyPem(): string {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/** Registers (or finds, for an existing key: §7.3.1) the account for a key and returns its URL. */
async function register(client: acme.Client, directory: AcmeDirectory, settings: AccountSettings): Promise<string> {
  const payload: NonNullable<Parameters<acme.Client["createAccount"]>[0]> = { termsOfServiceAgreed: true };
  const contact = contactUrls(settings.contacts);
  if (contact.length > 0) payload.contact = contact;
  if (settings.eab) {
    const jwk = (internals(client).http as unknown as { getJwk(): object }).getJwk();
    payload.externalAccountBinding = externalAccountBinding(settings.eab, directory.newAccount, jwk);
  }
  try {
    await withNonceRetry(() => client.createAccount({ ...payload }));
  } catch (err) {
    // The key already has an account (another process registered it a moment ago: HTTP 200 with its Location), and
    // acme-client followed up with an update the CA refuses as empty. The account exists: confirm it with
    // POST-as-GET (§7.3) instead of failing.
    const url = accountUrlOf(client);
    if (!url) throw err;
    await withNonceRetry(() => client.updateAccount({}));
  }
  return client.getAccountUrl();
}

function accountUrlOf(client: acme.Client): string | undefined {
  try {
    return client.getAccountUrl();
  } catch {
    return undefined;
  }
}

/**
 * Returns a session bound to the account for `settings.acmeDirectoryUrl`: loads the key from Key Vault, or creates a
 * key, stores it (before registering, so a crash never orphans an account whose key we lost), registers it and
 * records the account URL. Idempotent.
 */
export async function ensureAccount(secrets: SecretClient, settings: AccountSettings, convergeAttempted = false): Promise<AcmeSession> {
  const directoryUrl = settings.acmeDirectoryUrl;
  const directory = await fetchDirectory(directoryUrl);
  checkEab(directory, directoryUrl, settings.eab);

  let stored = await loadAccountKey(secrets, directoryUrl);
  if (stored?.accountUrl) {
    return {
      directoryUrl,
      directory,
      accountUrl: stored.accountUrl,
      client: newAcmeClient(directoryUrl, stored.keyPem, stored.accountUrl),
    };
  }
  if (!stored) {
    await saveAccountKey(secrets, directoryUrl, newAccountKeyPem());
    // Re-read: when two processes raced, both converge on the latest version.
    stored = await loadAccountKey(secrets, directoryUrl);
    if (!stored) throw acmeError("storing the account key", new Error("the key was not readable after writing it"));
  }
  const client = newAcmeClient(directoryUrl, stored.keyPem);
  let accountUrl: string;
  try {
    accountUrl = await register(client, directory, settings);
  } catch (err) {
    throw acmeError(`registering an account at ${directoryUrl}`, err);
  }
  await recordAccountUrl(secrets, stored, accountUrl, settings.eab?.keyId);
  // Two first uses racing on an empty vault may each have registered a key. Every process must end on the same
  // account (an order placed by one account cannot be finalized by another), so all converge on the latest version.
  const latest = await loadAccountKey(secrets, directoryUrl);
  if (latest && latest.version !== stored.version && !convergeAttempted) return ensureAccount(secrets, settings, true);
  return { directoryUrl, directory, accountUrl, client: newAcmeClient(directoryUrl, stored.keyPem, accountUrl) };
}

/** How long readAccountAtCa waits for the directory to answer at all. */
const ACCOUNT_PROBE_TIMEOUT_MS = 5000;

/** The CA's view of an account (RFC 8555 §7.1.2), never its key. */
export interface AccountAtCa {
  status?: string;
  contact?: string[];
  termsOfServiceAgreed?: boolean;
}

/**
 * Reads the account object at the CA (POST-as-GET to the account URL, signed with the account key, which is read from
 * Key Vault to sign and never returned). Never registers anything.
 */
export async function readAccountAtCa(secrets: SecretClient, directoryUrl: string): Promise<AccountAtCa | undefined> {
  const stored = await loadAccountKey(secrets, directoryUrl);
  if (!stored?.accountUrl) return undefined;
  // A view must not wait out acme-client's retries (5 attempts, 5 s apart) for a CA that does not answer at all.
  try {
    await fetch(directoryUrl, { signal: AbortSignal.timeout(ACCOUNT_PROBE_TIMEOUT_MS) });
  } catch (err) {
    throw acmeError(`reaching ${directoryUrl}`, err);
  }
  const client = newAcmeClient(directoryUrl, stored.keyPem, stored.accountUrl);
  let account: { status?: unknown; contact?: unknown; termsOfServiceAgreed?: unknown };
  try {
    account = (await withNonceRetry(() => client.updateAccount({}))) as typeof account;
  } catch (err) {
    throw acmeError(`reading the account at ${directoryUrl}`, err);
  }
  const out: AccountAtCa = {};
  if (typeof account.status === "string") out.status = account.status;
  if (Array.isArray(account.contact)) out.contact = account.contact.map(String);
  if (typeof account.termsOfServiceAgreed === "boolean") out.termsOfServiceAgreed = account.termsOfServiceAgreed;
  return out;
}
