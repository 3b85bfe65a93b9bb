/**
 * Reads what the agent needs from Key Vault with the official SDK clients: the current version of an observed
 * certificate (metadata only, no key material), and the secret of one pinned version.
 *
 * Change detection reads `GET /certificates/{name}/` (CertificateClient.getCertificate): one request that
 * returns x5t and sid (secret id with the version) and never the private key. Identities that only hold
 * "Key Vault Secrets User" cannot read certificates (403); for them the reader falls back, per vault, to
 * `GET /secrets/{name}/versions` (listPropertiesOfSecretVersions), metadata only too. When the certificate's current
 * version is pending or disabled, the newest enabled secret version is installed instead. See docs/agent.md.
 */
import type { TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { UpstreamError, statusOf } from "../shared/errors";
import { sleep } from "../shared/time";

export interface CurrentVersion {
  /** 32-hex version id of the secret that is current, or undefined while only a pending version exists. */
  version?: string;
  /** SHA-1 thumbprint (upper hex) when the call revealed it. */
  thumbprint?: string;
  /** Why no installable version exists (pending, disabled). */
  reason?: string;
}

export interface SecretValue {
  value: string;
  contentType?: string;
  version: string;
}

/** What the poller needs from a vault. */
export interface VaultReader {
  currentVersion(vaultUrl: string, name: string, signal?: AbortSignal): Promise<CurrentVersion>;
  getSecret(vaultUrl: string, name: string, version: string, signal?: AbortSignal): Promise<SecretValue>;
}

export interface RequestStats {
  /** HTTP requests sent to vaults (each retry and the 401 challenge probe count). */
  requests: number;
  /** Secret values downloaded. */
  secretDownloads: number;
}

export interface SdkVaultReaderOptions {
  credential: TokenCredential;
  changeDetection?: "certificate" | "secretVersions";
  /** Retries of the SDK's own retry policy for 429/5xx within one call (default 3). */
  maxRetries?: number;
  /** First retry delay of the SDK retry policy (default 500 ms; Retry-After from the vault wins). */
  retryDelayInMs?: number;
  /** First wait after a 429 without Retry-After, doubled each time (default 1000 ms: Key Vault's 1, 2, 4, 8, 16 s). */
  throttleBackoffMs?: number;
}

/**
 * Backs off after a 429 that carries no Retry-After, which is how Key Vault throttles (a public capture of its 429
 * shows none) and which the SDK's retry policies do not retry: waits 1, 2, 4, ... s as Key Vault's throttling guidance
 * prescribes, at most `maxRetries` times. A 429 with Retry-After is left to the SDK, which waits that long.
 */
export function throttleBackoffPolicy(maxRetries: number, firstDelayMs: number): PipelinePolicy {
  return {
    name: "kvacmeAgentThrottleBackoff",
    async sendRequest(request, next) {
      for (let attempt = 0; ; attempt++) {
        const response = await next(request);
        if (response.status !== 429 || response.headers.get("retry-after") !== undefined || attempt >= maxRetries) return response;
        await sleep(firstDelayMs * 2 ** attempt, request.abortSignal as AbortSignal | undefined);
      }
    },
  };
}

/** A VaultReader over @azure/keyvault-certificates and @azure/keyvault-secrets; `stats` counts wire requests. */
export function createSdkVaultReader(options: SdkVaultReaderOptions): VaultReader & { stats: RequestStats } {
  const stats: RequestStats = { requests: 0, secretDownloads: 0 };
  const counter: PipelinePolicy = {
    name: "kvacmeAgentRequestCounter",
    async sendRequest(request, next) {
      stats.requests++;
      return next(request);
    },
  };
  // One retry budget for both: the SDK's retries and the backoff after a 429 without Retry-After.
  const maxRetries = options.maxRetries ?? 3;
  const clientOptions = (vaultUrl: string) => ({
    disableChallengeResourceVerification: isLoopback(vaultUrl),
    additionalPolicies: [
      { policy: throttleBackoffPolicy(maxRetries, options.throttleBackoffMs ?? 1000), position: "perCall" as const },
      { policy: counter, position: "perRetry" as const },
    ],
    retryOptions: { maxRetries, retryDelayInMs: options.retryDelayInMs ?? 500, maxRetryDelayInMs: 8000 },
  });
  const certClients = new Map<string, CertificateClient>();
  const secretClients = new Map<string, SecretClient>();
  const forcedSecretVersions = new Set<string>();
  const certs = (vaultUrl: string) => {
    let c = certClients.get(vaultUrl);
    if (!c) certClients.set(vaultUrl, (c = new CertificateClient(vaultUrl, options.credential, clientOptions(vaultUrl))));
    return c;
  };
  const secrets = (vaultUrl: string) => {
    let c = secretClients.get(vaultUrl);
    if (!c) secretClients.set(vaultUrl, (c = new SecretClient(vaultUrl, options.credential, clientOptions(vaultUrl))));
    return c;
  };

  async function viaSecretVersions(vaultUrl: string, name: string, signal?: AbortSignal): Promise<CurrentVersion> {
    let best: { version: string; created: number } | undefined;
    let disabledNewer = false;
    for await (const p of secrets(vaultUrl).listPropertiesOfSecretVersions(name, { abortSignal: signal })) {
      const created = p.createdOn?.getTime() ?? 0;
      if (p.enabled === false) {
        if (!best || created > best.created) disabledNewer = true;
        continue;
      }
      if (p.version && (!best || created > best.created)) {
        best = { version: p.version, created };
        disabledNewer = false;
      }
    }
    if (!best) throw new UpstreamError("KeyVault", `secret ${name} has no enabled version`, { status: 404 });
    return disabledNewer ? { version: best.version, reason: "a newer version is disabled or pending" } : { version: best.version };
  }

  return {
    stats,
    async currentVersion(vaultUrl, name, signal) {
      try {
        if (options.changeDetection === "secretVersions" || forcedSecretVersions.has(`${vaultUrl}|${name}`)) {
          return await viaSecretVersions(vaultUrl, name, signal);
        }
        try {
          const cert = await certs(vaultUrl).getCertificate(name, { abortSignal: signal });
          const sid = cert.secretId;
          if (!sid || cert.properties.enabled === false) {
            const why =
              cert.properties.enabled === false
                ? "the current certificate version is disabled or still pending"
                : "the certificate has no secret yet (pending)";
            // A node that starts during a renewal (or after a version was disabled) gets the newest enabled version.
            const newest = await viaSecretVersions(vaultUrl, name, signal).catch((e: unknown) => {
              if (statusOf(e) === 404 || statusOf(e) === 403) return undefined;
              throw e;
            });
            return newest ? { version: newest.version, reason: `${why}: the newest enabled version instead` } : { reason: why };
          }
          const version = sid.replace(/\/+$/, "").split("/").pop();
          const tp = cert.properties.x509Thumbprint;
          return { version, thumbprint: tp ? Buffer.from(tp).toString("hex").toUpperCase() : undefined };
        } catch (err) {
          if (statusOf(err) === 403) {
            // Secrets-only role (RBAC may be scoped per object): no certificates/get permission for this one.
            // Remember it and use the secret's version metadata from now on.
            forcedSecretVersions.add(`${vaultUrl}|${name}`);
            return await viaSecretVersions(vaultUrl, name, signal);
          }
          throw err;
        }
      } catch (err) {
        throw toUpstream(err, `reading the current version of ${name} in ${vaultUrl}`);
      }
    },
    async getSecret(vaultUrl, name, version, signal) {
      try {
        stats.secretDownloads++;
        const s = await secrets(vaultUrl).getSecret(name, { version, abortSignal: signal });
        if (s.value === undefined) throw new UpstreamError("KeyVault", `secret ${name}/${version} has no value`, { status: 500 });
        return { value: s.value, contentType: s.properties.contentType, version: s.properties.version ?? version };
      } catch (err) {
        if (statusOf(err) === 403 && /disabled secret/i.test((err as Error)?.message ?? ""))
          throw new SecretDisabledError(`secret ${name}/${version} in ${vaultUrl} is disabled (Key Vault: HTTP 403 Forbidden)`);
        throw toUpstream(err, `downloading secret ${name}/${version} from ${vaultUrl}`);
      }
    },
  };
}

/**
 * The version is disabled (Key Vault answers 403 "Operation get is not allowed on a disabled secret."): not an
 * install failure; the poller keeps what is installed and waits for an enabled version.
 */
export class SecretDisabledError extends UpstreamError {
  constructor(message: string) {
    super("KeyVault", message, { status: 403, retryable: false });
  }
}

function toUpstream(err: unknown, what: string): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const status = statusOf(err);
  const code = (err as { code?: unknown } | null)?.code;
  const msg = (err as Error)?.message ?? String(err);
  const retryable = status === undefined || status === 429 || status >= 500 || status === 408;
  return new UpstreamError(
    "KeyVault",
    `${what}: ${status ? `HTTP ${status} ` : ""}${typeof code === "string" ? `${code}: ` : ""}${msg.split("\n")[0]}`,
    {
      status: status ?? 502,
      retryable,
      cause: err,
    },
  );
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || host === "::1" || /^127\./.test(host);
}
