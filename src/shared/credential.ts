/**
 * Token failures named as what they are. A failed token request surfaces inside whichever Azure SDK call needed the
 * token, worded by @azure/identity ("CredentialUnavailableError: ManagedIdentityCredential: …", even for a 503 or a
 * reset connection, which it has already retried 3 times). Wrapped by `identityFailures`, it becomes an
 * UpstreamError of service Identity that says which resource the token was for, and is retryable when the token
 * endpoint was down, throttled or unreachable (the durable driver then tries the step again after a timer) rather
 * than misconfigured. Callers that wrap SDK errors keep it as it is (`identityFailureOf`), so a give-up names the
 * managed identity, not Key Vault or ARM.
 */
import type { GetTokenOptions, TokenCredential } from "@azure/core-auth";
import { UpstreamError, errorMessage, statusOf } from "./errors";

/** Words of a token failure that a later try may not have: the endpoint down, throttled, reset or slow. */
const TRANSIENT =
  /network_error|Network unreachable|ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up|fetch failed|timed? ?out|status code:? (?:429|5\d\d)|answered (?:429|5\d\d)/i;

function describe(err: unknown): string {
  const nested = (err as { errors?: unknown[] } | null)?.errors;
  const text = [errorMessage(err), ...(Array.isArray(nested) ? nested.map(errorMessage) : [])].join("\n");
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause ? `${text}\n${errorMessage(cause)} ${String((cause as { code?: unknown }).code ?? "")}` : text;
}

/** Whether a token failure may pass on a later try. */
export function isTransientTokenFailure(err: unknown): boolean {
  const status = statusOf(err);
  return (status !== undefined && (status === 429 || status >= 500)) || TRANSIENT.test(describe(err));
}

/** The first informative line of a token failure (the managed identity's own, not the chain's header). */
function summary(err: unknown): string {
  const lines = describe(err)
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const mi = lines.find((l) => /ManagedIdentityCredential/.test(l) && !/is unavailable/.test(l));
  const first = (mi ?? lines.find((l) => !/^ChainedTokenCredential/.test(l)) ?? lines[0] ?? "no detail").slice(0, 400);
  // msal words the endpoint's status on a line of its own.
  const status = /Http status code: (\d{3})/.exec(lines.join("\n"))?.[1];
  return status && !first.includes(status) ? `${first} (HTTP ${status})` : first;
}

/** A credential whose failures are Identity UpstreamErrors naming the resource. */
export function identityFailures(inner: TokenCredential): TokenCredential {
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions) {
      try {
        return await inner.getToken(scopes, options);
      } catch (err) {
        if (identityFailureOf(err)) throw err;
        const resource = String([scopes].flat()[0] ?? "").replace(/\/\.default$/, "");
        const transient = isTransientTokenFailure(err);
        throw new UpstreamError("Identity", `Managed identity: getting a token for ${resource} failed: ${summary(err)}`, {
          status: transient ? 503 : 401,
          retryable: transient,
          cause: err,
        });
      }
    },
  };
}

/** The Identity UpstreamError an SDK error is (or wraps), so wrappers pass it on instead of blaming the service. */
export function identityFailureOf(err: unknown): UpstreamError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof UpstreamError && (e.details as { service?: string } | undefined)?.service === "Identity") return e;
  }
  return undefined;
}
