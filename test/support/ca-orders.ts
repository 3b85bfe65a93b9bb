/**
 * What the CA holds for an account: its orders (the account's `orders` list, RFC 8555 §7.1.2.1, which Pebble serves)
 * and each order's authorizations, read with POST-as-GET requests signed by the account key. Tests use it to check
 * that a fault left nothing pending at the CA.
 */
import type { AcmeSession } from "../../src/acme/client";
import { internals, withNonceRetry } from "../../src/acme/client";

export interface CaAuthorization {
  url: string;
  identifier: string;
  status: string;
}

export interface CaOrder {
  url: string;
  status: string;
  identifiers: string[];
  authorizations: CaAuthorization[];
}

async function postAsGet<T>(session: AcmeSession, url: string): Promise<{ data: T; next?: string }> {
  const res = await withNonceRetry(() => internals(session.client).api.apiRequest(url, null, [200]));
  const link = res.headers.link ?? "";
  const next = /<([^>]+)>\s*;\s*rel="next"/.exec(link)?.[1];
  return { data: res.data as T, ...(next ? { next } : {}) };
}

/** Every order of the session's account at the CA, with its authorizations (following `Link: rel="next"` pages). */
export async function caOrders(session: AcmeSession): Promise<CaOrder[]> {
  const { data: account } = await postAsGet<{ orders?: string }>(session, session.accountUrl);
  if (typeof account.orders !== "string") throw new Error(`the CA's account object has no orders list: ${JSON.stringify(account)}`);
  const urls: string[] = [];
  for (let page: string | undefined = account.orders; page;) {
    const listed: { data: { orders?: string[] }; next?: string } = await postAsGet<{ orders?: string[] }>(session, page);
    urls.push(...(listed.data.orders ?? []));
    page = listed.next;
  }
  const out: CaOrder[] = [];
  for (const url of urls) {
    const { data: order } = await postAsGet<{ status: string; identifiers: { value: string }[]; authorizations: string[] }>(session, url);
    const authorizations: CaAuthorization[] = [];
    for (const authzUrl of order.authorizations) {
      const { data: authz } = await postAsGet<{ status: string; identifier: { value: string }; wildcard?: boolean }>(session, authzUrl);
      authorizations.push({ url: authzUrl, identifier: `${authz.wildcard ? "*." : ""}${authz.identifier.value}`, status: authz.status });
    }
    out.push({ url, status: order.status, identifiers: order.identifiers.map((i) => i.value), authorizations });
  }
  return out;
}
