/**
 * What a renewal run does after the CA refused one of its renewals as rateLimited (RFC 8555 §6.6): pure decisions,
 * executed by the renewal run (./run), which starts a run's first renewal alone so that a limit already reached costs
 * one refused new order, not one per due certificate.
 *
 * The CA's problem detail says which limit it is (Let's Encrypt's wording, ../../shared/reference/limits.md §1.1, 1.3):
 * - **account-wide** ("too many new orders … from this account", new registrations, or a wording not recognised —
 *   the cautious reading, since a retry storm is worse than a wait): every other renewal at that CA is held;
 * - **per registered domain** ("too many certificates (50) already issued for "example.com""): the certificates with
 *   a name in that registered domain (the refused certificate's own domains when the detail names none);
 * - **per identifier** (failed authorizations for "www.example.com"): the certificates naming that identifier;
 * - **exact set** ("… for this exact set of identifiers"): the refused certificate alone.
 * A held certificate gets the CA's time as kv-acme-renew-not-before (the decision's RateLimitedByCa rule), no failure
 * counted and no backoff.
 */
import { retryAfterFromMessage } from "../shared/errors";
import { registeredDomain } from "./plan-input";

/** The CA's own words, as AcmeRateLimitedError (../acme/client) writes them into a step's failure. */
const REFUSAL = /the CA rate-limited the request: ([\s\S]*?)\s*(?:\(Retry-After: \d+ s\)|$)/;

/** Which certificates a rateLimited refusal concerns. */
export type RateLimitScope =
  { kind: "account" } | { kind: "registeredDomain"; domain?: string } | { kind: "identifier"; identifier?: string } | { kind: "exactSet" };

/** A renewal the CA refused as rateLimited: its detail, its Retry-After and the limit's scope. */
export interface CaRefusal {
  detail: string;
  retryAfterMs: number;
  scope: RateLimitScope;
}

/** A certificate of the run, by address and names (the names of its current version, when the tags record them). */
export interface HoldCandidate {
  certificateName: string;
  dnsNames: readonly string[];
}

/** A certificate the run holds until the CA's time. */
export interface RateLimitHold {
  certificateName: string;
  /** ISO time: not before the CA's Retry-After. */
  until: string;
  /** Why, in words (the run's summary). */
  reason: string;
}

/** The quoted identifier of a Let's Encrypt limit message (`… for "example.com" …`), lower-cased. */
function quoted(detail: string): string | undefined {
  const m = /"([^"\s]+)"/.exec(detail);
  return m ? (m[1] as string).toLowerCase() : undefined;
}

/** The scope of the limit a rateLimited detail names (see the module comment). */
export function rateLimitScope(detail: string): RateLimitScope {
  const d = detail.toLowerCase();
  if (/exact set/.test(d)) return { kind: "exactSet" };
  if (/failed authorizations?|authorization failures?|paused/.test(d)) {
    const identifier = quoted(detail);
    return identifier ? { kind: "identifier", identifier } : { kind: "identifier" };
  }
  if (/certificates? (?:\(\d+\) )?already issued for|per[- ]registered[- ]domain/.test(d)) {
    const domain = quoted(detail);
    return domain ? { kind: "registeredDomain", domain: registeredDomain(domain) } : { kind: "registeredDomain" };
  }
  return { kind: "account" };
}

/**
 * The CA's rateLimited refusal in a renewal's failure message, or undefined for any other failure (and for a refusal
 * without a Retry-After: then nothing says how long to wait, and the failure backoff applies).
 */
export function caRefusalOf(failure: string | undefined): CaRefusal | undefined {
  const m = REFUSAL.exec(failure ?? "");
  const retryAfterMs = retryAfterFromMessage(failure ?? "");
  if (!m || retryAfterMs === undefined) return undefined;
  const detail = (m[1] as string).trim();
  return { detail, retryAfterMs, scope: rateLimitScope(detail) };
}

/**
 * Whether a renewal's failure stops the run's other renewals from starting: the CA refused it for an account-wide
 * limit (both drivers stop starting renewals then; the flow holds the ones not started, ./run).
 */
export function stopsTheRun(failure: string | undefined): boolean {
  return caRefusalOf(failure)?.scope.kind === "account";
}

function describe(scope: RateLimitScope): string {
  switch (scope.kind) {
    case "account":
      return "an account-wide limit";
    case "registeredDomain":
      return `the limit per registered domain${scope.domain ? ` (${scope.domain})` : ""}`;
    case "identifier":
      return `the limit per identifier${scope.identifier ? ` (${scope.identifier})` : ""}`;
    case "exactSet":
      return "the limit per exact set of names";
  }
}

/** Whether the limit of `scope`, refused for `refused`, also concerns `other`. */
function concerns(scope: RateLimitScope, refused: HoldCandidate, other: HoldCandidate): boolean {
  const names = other.dnsNames.map((n) => n.toLowerCase());
  switch (scope.kind) {
    case "account":
      return true;
    case "exactSet":
      return false;
    case "registeredDomain": {
      const domains = scope.domain ? [scope.domain] : refused.dnsNames.map(registeredDomain);
      return names.some((n) => domains.includes(registeredDomain(n)));
    }
    case "identifier": {
      const ids = scope.identifier ? [scope.identifier] : refused.dnsNames.map((n) => n.toLowerCase());
      return names.some((n) => ids.includes(n));
    }
  }
}

/**
 * The certificates of `others` (the run's renewals not started yet, at the same CA) that the refusal of `refused`
 * holds, each until `refusedAt` + the CA's Retry-After. `refusedAt` is the run's time when it learnt of the refusal
 * (never before the CA answered, so the hold never ends before the CA's time).
 */
export function holdsAfterRefusal(
  refused: HoldCandidate,
  refusal: CaRefusal,
  others: readonly HoldCandidate[],
  refusedAt: Date,
): RateLimitHold[] {
  const until = new Date(refusedAt.getTime() + refusal.retryAfterMs).toISOString();
  const reason = `the CA rate-limited the renewal of ${refused.certificateName} (${describe(refusal.scope)}: ${refusal.detail}): not before ${until}`;
  return others.filter((o) => concerns(refusal.scope, refused, o)).map((o) => ({ certificateName: o.certificateName, until, reason }));
}
