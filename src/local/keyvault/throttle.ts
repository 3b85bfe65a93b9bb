/**
 * Key Vault's throttling for the stand-in: the published transaction limits per vault per 10 seconds, by transaction
 * type (shared/reference/limits.md §3.1, software-protected vault), counted in fixed 10-second windows. Over a
 * limit the stand-in answers as the service does: HTTP 429 with `{"error":{"code":"Throttled","message":"Request was
 * not processed because too many requests were received. Reason: VaultRequestTypeLimitReached"}}`, and a request
 * that got 429 does not count toward the limit (overview-throttling). It also sends `Retry-After` (seconds until the
 * window ends) so clients can wait exactly; a public capture of the service's 429 shows no Retry-After, so
 * `retryAfter: false` answers without it (clients then fall back to their exponential backoff).
 *
 * Transaction types: a certificate create makes a key in the vault, so it counts as a key CREATE (the inference
 * limits.md §3.1 states and src/renewal/plan.ts budgets by); a secret PUT and a certificate import as a secret
 * CREATE; every other request (reads, lists, updates, deletes, pending operations) as "all other secret/vault
 * transactions". Pure: the caller passes the time.
 */

/** The published limits per vault per 10 s (software-protected): key creates, secret creates, everything else. */
export const KEY_VAULT_LIMITS = { keyCreate: 20, secretCreate: 300, other: 4000 } as const;
export type TransactionType = keyof typeof KEY_VAULT_LIMITS;
export type KeyVaultLimits = Record<TransactionType, number>;

/** The window Key Vault's limits are stated for. */
export const THROTTLE_WINDOW_MS = 10_000;

/** The body Key Vault answers a throttled request with (error envelope, code Throttled). */
export const THROTTLED_ERROR = {
  code: "Throttled",
  message: "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
} as const;

/** The transaction type of one request, from its method and path segments (`["certificates", name, "create"]`). */
export function transactionType(method: string, segs: string[]): TransactionType {
  const [root, , action] = segs;
  if (root === "certificates" && method === "POST" && action === "create") return "keyCreate";
  if (root === "certificates" && method === "POST" && action === "import") return "secretCreate";
  if (root === "secrets" && method === "PUT" && segs.length === 2) return "secretCreate";
  return "other";
}

export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number };

/** Fixed-window counters per transaction type; `admitted` and `throttled` tally everything decided. */
export class VaultThrottle {
  readonly admitted: Record<TransactionType, number> = { keyCreate: 0, secretCreate: 0, other: 0 };
  readonly throttled: Record<TransactionType, number> = { keyCreate: 0, secretCreate: 0, other: 0 };
  #window = -1;
  #used: Record<TransactionType, number> = { keyCreate: 0, secretCreate: 0, other: 0 };

  constructor(readonly limits: KeyVaultLimits = KEY_VAULT_LIMITS) {
    for (const [type, limit] of Object.entries(limits)) {
      if (!Number.isInteger(limit) || limit < 1) throw new Error(`Key Vault limit ${type} must be a positive integer, not ${limit}`);
    }
  }

  /** Admits one transaction of `type` at `nowMs`, or says how long until its window ends (a refusal is not counted). */
  admit(type: TransactionType, nowMs: number): Admission {
    const window = Math.floor(nowMs / THROTTLE_WINDOW_MS);
    if (window !== this.#window) {
      this.#window = window;
      this.#used = { keyCreate: 0, secretCreate: 0, other: 0 };
    }
    if (this.#used[type] >= this.limits[type]) {
      this.throttled[type]++;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * THROTTLE_WINDOW_MS - nowMs) / 1000)) };
    }
    this.#used[type]++;
    this.admitted[type]++;
    return { ok: true };
  }
}

/** `--kv-limits`: "off", or type=N pairs replacing some of Key Vault's published limits. */
export function parseLimitsOption(raw: string | undefined): Partial<KeyVaultLimits> | false | undefined {
  if (raw === undefined) return undefined;
  if (raw === "off") return false;
  const limits: Partial<KeyVaultLimits> = {};
  for (const pair of raw.split(",").filter(Boolean)) {
    const [name, n] = pair.split("=");
    if (!(name in KEY_VAULT_LIMITS))
      throw new Error(`--kv-limits: unknown transaction type "${name}"; known: ${Object.keys(KEY_VAULT_LIMITS).join(", ")}, or "off"`);
    const value = Number(n);
    if (!Number.isInteger(value) || value < 1 || value > 1_000_000)
      throw new Error(`--kv-limits ${name} must be an integer from 1 to 1000000, got "${n}"`);
    limits[name as keyof KeyVaultLimits] = value;
  }
  return limits;
}
