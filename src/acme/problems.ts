/** RFC 8555 §6.7 problem types kv-acme acts on (no imports: deterministic orchestrator code reads them too). */

/** The request exceeds a rate limit (§6.6); the CA says when to retry in Retry-After. */
export const RATE_LIMITED = "urn:ietf:params:acme:error:rateLimited";
