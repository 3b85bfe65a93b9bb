/**
 * Which order the account already has at the CA may be carried on instead of creating a new one (pure; the reading is
 * in ./order.ts, `placeOrReuseOrder`). A run that dies between the CA creating its order and recording the answer
 * (the host killed while the newOrder response is on its way) retries the step: without this, the first order stays
 * pending at the CA with its authorizations until they expire. Boulder (Let's Encrypt) hands back the account's
 * pending order for the same names itself and serves no orders list; Pebble and others create a new one each time and
 * list the account's orders (RFC 8555 §7.1.2.1), which is where the earlier order is found.
 */

/** An order as the CA lists it (the fields the decision reads). */
export interface ListedOrder {
  status: string;
  identifiers: string[];
  expires?: string;
  profile?: string;
  replaces?: string;
}

/** What the new order would ask for. */
export interface WantedOrder {
  dnsNames: readonly string[];
  profile?: string;
  replaces?: string;
}

/** An order to be carried on must stay valid this long: validation and finalization still lie ahead. */
export const REUSE_MIN_REMAINING_MS = 10 * 60_000;

const nameSet = (names: readonly string[]): string => [...new Set(names.map((n) => n.toLowerCase()))].sort().join("\n");

/** Whether two lists name the same identifiers, case, order and repeats aside (a CA may return them in any order). */
export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return nameSet(a) === nameSet(b);
}

/**
 * Whether `order` can stand in for a new order for `wanted` at `now`: still pending or ready (nothing finalized), for
 * exactly the same names (case and order aside), the same profile and the same `replaces`, and not expiring within
 * REUSE_MIN_REMAINING_MS.
 */
export function isReusableOrder(order: ListedOrder, wanted: WantedOrder, now: Date): boolean {
  if (order.status !== "pending" && order.status !== "ready") return false;
  if (!sameNames(order.identifiers, wanted.dnsNames)) return false;
  if ((order.profile ?? undefined) !== (wanted.profile ?? undefined)) return false;
  if ((order.replaces ?? undefined) !== (wanted.replaces ?? undefined)) return false;
  if (order.expires === undefined) return true;
  const expires = Date.parse(order.expires);
  return Number.isFinite(expires) && expires - now.getTime() >= REUSE_MIN_REMAINING_MS;
}
