/**
 * ACME orders for DNS-01, one granular step per function (RFC 8555 §7.4–7.5, §8.4). Inputs and outputs are plain
 * JSON (URLs and statuses), so each step can run as a durable activity and be retried: every step first reads the
 * current state from the CA and only acts when the state calls for it.
 */
import type * as acme from "acme-client";
import { UpstreamError, errorMessage } from "../shared/errors";
import { derToPem, pemBlocks } from "../shared/x509";
import { alternateLinks, choosePreferredChain } from "./chains";
import { acmeError, internals, pollResource, withNonceRetry, type AcmeSession, type PollOptions } from "./client";
import { isReusableOrder, sameNames } from "./order-reuse";

/** The order as we keep it between steps. */
export interface OrderRef {
  url: string;
  status: string;
  finalize: string;
  authorizations: string[];
  identifiers: string[];
  certificate?: string;
  expires?: string;
  /** The RFC 9773 id of the certificate this order replaces, when the CA accepted `replaces`. */
  replaces?: string;
}

/** One DNS-01 challenge still to be satisfied. */
export interface Dns01Task {
  authorizationUrl: string;
  /** The identifier as requested: "example.com" or "*.example.com". */
  identifier: string;
  challengeUrl: string;
  token: string;
  /** The TXT value: base64url(SHA-256(key authorization)), RFC 8555 §8.4. */
  txtValue: string;
  /** Authorization status when read: "pending" needs work, "valid" (reused) needs none. */
  status: string;
}

interface RawOrder {
  status: string;
  finalize: string;
  authorizations?: string[];
  identifiers?: { type: string; value: string }[];
  certificate?: string;
  expires?: string;
  error?: { detail?: string; type?: string };
  url?: string;
  profile?: string;
  replaces?: string;
}

interface RawAuthz {
  status: string;
  identifier: { type: string; value: string };
  wildcard?: boolean;
  challenges: { type: string; url: string; token: string; status: string; error?: { detail?: string; type?: string } }[];
}

function toRef(raw: RawOrder, url: string, replaces?: string): OrderRef {
  const ref: OrderRef = {
    url,
    status: raw.status,
    finalize: raw.finalize,
    authorizations: raw.authorizations ?? [],
    identifiers: (raw.identifiers ?? []).map((i) => i.value),
  };
  if (raw.certificate) ref.certificate = raw.certificate;
  if (raw.expires) ref.expires = raw.expires;
  if (replaces) ref.replaces = replaces;
  return ref;
}

function problem(p: { detail?: string; type?: string } | undefined): string {
  if (!p) return "no detail given";
  return `${p.detail ?? "no detail"}${p.type ? ` (${p.type})` : ""}`;
}

/**
 * Creates an order for the names (RFC 8555 §7.4), with `profile` (draft-ietf-acme-profiles) when given. `replaces`
 * (RFC 9773 §5) is sent only when the directory offers renewalInfo; if the CA refuses it (e.g. the old certificate
 * came from another account), the order is retried without it.
 */
export async function createOrder(
  session: AcmeSession,
  input: { dnsNames: string[]; replaces?: string; profile?: string },
): Promise<OrderRef> {
  const identifiers = input.dnsNames.map((value) => ({ type: "dns", value }));
  const replaces = input.replaces && session.directory.renewalInfo ? input.replaces : undefined;
  const profile = input.profile === undefined ? {} : { profile: input.profile };
  const place = async (withReplaces?: string) => {
    const payload = { identifiers, ...profile, ...(withReplaces ? { replaces: withReplaces } : {}) } as Parameters<
      acme.Client["createOrder"]
    >[0];
    const order = await withNonceRetry(() => session.client.createOrder(payload));
    return toRef(order as unknown as RawOrder, order.url, withReplaces);
  };
  try {
    return await place(replaces);
  } catch (err) {
    if (replaces && /replace|alreadyReplaced|conflict/i.test(errorMessage(err))) {
      try {
        return await place(undefined);
      } catch (err2) {
        throw acmeError("creating the order", err2);
      }
    }
    throw acmeError("creating the order", err);
  }
}

/** An order of the account's list as first read: its names never change, its status is read again before reuse. */
interface ListedRef {
  url: string;
  identifiers: string[];
}

/**
 * Per session (one per process and account): the account's orders that were pending or ready when first listed and
 * have not been carried on. Listed on the session's first order, and again after a creation failed.
 */
const listedOrders = new WeakMap<AcmeSession, Promise<ListedRef[]>>();

/** POST-as-GET of `url` (RFC 8555 §6.3): the body and the `Link: rel="next"` target, when given. */
async function postAsGet<T>(session: AcmeSession, url: string): Promise<{ data: T; next?: string }> {
  const res = await withNonceRetry(() => internals(session.client).api.apiRequest(url, null, [200]));
  const next = /<([^>]+)>\s*;\s*rel="next"/.exec(res.headers.link ?? "")?.[1];
  return { data: res.data as T, ...(next ? { next } : {}) };
}

/** The URLs of the account's orders (RFC 8555 §7.1.2.1, every page), or undefined when the CA lists none. */
export async function listAccountOrders(session: AcmeSession): Promise<string[] | undefined> {
  const { data: account } = await postAsGet<{ orders?: unknown }>(session, session.accountUrl);
  if (typeof account.orders !== "string") return undefined;
  const urls: string[] = [];
  const seen = new Set<string>();
  for (let page: string | undefined = account.orders; page !== undefined && !seen.has(page);) {
    seen.add(page);
    const listed: { data: { orders?: unknown }; next?: string } = await postAsGet<{ orders?: unknown }>(session, page);
    if (Array.isArray(listed.data.orders)) urls.push(...listed.data.orders.filter((u): u is string => typeof u === "string"));
    page = listed.next;
  }
  return urls;
}

/** The account's orders that are pending or ready now, with their names (none when the CA lists no orders). */
async function openOrders(session: AcmeSession): Promise<ListedRef[]> {
  const urls = (await listAccountOrders(session)) ?? [];
  const open: ListedRef[] = [];
  await eachLimit(urls, ANSWER_CONCURRENCY, async (url) => {
    const raw = await getOrder(session, { url }).catch(() => undefined);
    if (raw && (raw.status === "pending" || raw.status === "ready")) open.push({ url, identifiers: raw.identifiers });
  });
  return open;
}

/**
 * The order for a request: one the account already has at the CA for exactly this request (./order-reuse.ts: an
 * order whose creation a killed run never recorded), else a new one (createOrder). The account's orders are listed
 * once per session, so a restarted process looks once, and again after a creation failed (its answer may have been
 * lost after the CA created the order); a listed order is carried on at most once. A CA that lists no orders
 * (Boulder, which reuses a pending order for the same names itself) costs one account read per session.
 */
export async function placeOrReuseOrder(
  session: AcmeSession,
  input: { dnsNames: string[]; replaces?: string; profile?: string },
  now: Date = new Date(),
): Promise<{ order: OrderRef; reused: boolean }> {
  let listing = listedOrders.get(session);
  if (!listing) {
    listing = openOrders(session).catch(() => []);
    listedOrders.set(session, listing);
  }
  const open = await listing;
  const replaces = input.replaces && session.directory.renewalInfo ? input.replaces : undefined;
  const wanted = {
    dnsNames: input.dnsNames,
    ...(input.profile === undefined ? {} : { profile: input.profile }),
    ...(replaces ? { replaces } : {}),
  };
  for (const listed of open.filter((o) => sameNames(o.identifiers, input.dnsNames))) {
    open.splice(open.indexOf(listed), 1); // claimed (or found finished): never looked at again
    const raw = await withNonceRetry(() => session.client.getOrder({ url: listed.url } as acme.Order)).catch(() => undefined);
    const order = raw as unknown as RawOrder | undefined;
    if (!order) continue;
    const identifiers = (order.identifiers ?? []).map((i) => i.value);
    if (isReusableOrder({ ...order, identifiers }, wanted, now)) return { order: toRef(order, listed.url, order.replaces), reused: true };
  }
  try {
    return { order: await createOrder(session, input), reused: false };
  } catch (err) {
    listedOrders.delete(session);
    throw err;
  }
}

/** Reads an order (POST-as-GET). */
export async function getOrder(session: AcmeSession, order: Pick<OrderRef, "url" | "replaces">): Promise<OrderRef> {
  try {
    const raw = await withNonceRetry(() => session.client.getOrder({ url: order.url } as acme.Order));
    return toRef(raw as unknown as RawOrder, order.url, order.replaces);
  } catch (err) {
    throw acmeError("reading the order", err);
  }
}

/** The DNS-01 challenges of the order's authorizations (RFC 8555 §7.5) with their TXT values (§8.4). */
export async function getDns01Tasks(session: AcmeSession, order: Pick<OrderRef, "authorizations">): Promise<Dns01Task[]> {
  try {
    const authzs = await withNonceRetry(() =>
      session.client.getAuthorizations({ authorizations: order.authorizations } as unknown as acme.Order),
    );
    return await Promise.all(
      authzs.map(async (a) => {
        const authz = a as unknown as RawAuthz & { url: string };
        const identifier = authz.wildcard ? `*.${authz.identifier.value}` : authz.identifier.value;
        const challenge = authz.challenges.find((c) => c.type === "dns-01");
        if (!challenge) {
          throw new UpstreamError(
            "Acme",
            `ACME: the CA offers no dns-01 challenge for ${identifier} (offered: ${authz.challenges.map((c) => c.type).join(", ")})`,
          );
        }
        const txtValue = await session.client.getChallengeKeyAuthorization(
          challenge as Parameters<acme.Client["getChallengeKeyAuthorization"]>[0],
        );
        return {
          authorizationUrl: authz.url,
          identifier,
          challengeUrl: challenge.url,
          token: challenge.token,
          txtValue,
          status: authz.status,
        };
      }),
    );
  } catch (err) {
    throw acmeError("reading the authorizations", err);
  }
}

/** Runs `fn` over items with at most `limit` in flight. */
async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Challenges answered at once; the CA validates them in parallel anyway and bursts only add DNS load. */
const ANSWER_CONCURRENCY = 10;

/** Tells the CA to validate each challenge whose authorization is still pending (RFC 8555 §7.5.1). Idempotent. */
export async function answerChallenges(session: AcmeSession, tasks: readonly Dns01Task[]): Promise<{ answered: number }> {
  let answered = 0;
  await eachLimit(tasks, ANSWER_CONCURRENCY, async (task) => {
    try {
      const authz = (
        await withNonceRetry(() => session.client.getAuthorizations({ authorizations: [task.authorizationUrl] } as unknown as acme.Order))
      )[0] as unknown as RawAuthz;
      if (authz.status !== "pending") return;
      const challenge = authz.challenges.find((c) => c.url === task.challengeUrl);
      if (challenge?.status !== "pending") return;
      await withNonceRetry(() =>
        session.client.completeChallenge({ type: "dns-01", url: task.challengeUrl, token: task.token, status: "pending" } as Parameters<
          acme.Client["completeChallenge"]
        >[0]),
      );
      answered++;
    } catch (err) {
      throw acmeError(`answering the challenge for ${task.identifier}`, err);
    }
  });
  return { answered };
}

/**
 * Waits until the CA has validated every authorization, by polling the order (one resource however many names;
 * it turns "ready" when all authorizations are valid, "invalid" when one fails, RFC 8555 §7.1.6). On failure the
 * authorizations are read to name each failed identifier with the CA's problem detail.
 */
export async function waitForValidation(
  session: AcmeSession,
  order: OrderRef,
  tasks: readonly Dns01Task[],
  options: PollOptions = {},
): Promise<OrderRef> {
  const raw = await pollResource<RawOrder>(session, order.url, (o) => o.status !== "pending", options);
  if (raw.status === "ready" || raw.status === "processing" || raw.status === "valid") return toRef(raw, order.url, order.replaces);
  const failures: string[] = [];
  await eachLimit(tasks, ANSWER_CONCURRENCY, async (task) => {
    const authz = (
      await withNonceRetry(() =>
        session.client.getAuthorizations({ authorizations: [task.authorizationUrl] } as unknown as acme.Order),
      ).catch(() => [])
    )[0] as unknown as RawAuthz | undefined;
    if (authz && authz.status !== "valid")
      failures.push(`${task.identifier}: ${problem(authz.challenges.find((c) => c.type === "dns-01")?.error)}`);
  });
  throw new UpstreamError("Acme", `ACME: validation failed (order ${raw.status}): ${failures.join("; ") || problem(raw.error)}`, {
    status: 400,
    details: { orderUrl: order.url, failures },
  });
}

/** Waits until the order is "ready" (all authorizations valid) or later (RFC 8555 §7.4). */
export async function waitForOrderReady(session: AcmeSession, order: OrderRef, options: PollOptions = {}): Promise<OrderRef> {
  const raw = await pollResource<RawOrder>(
    session,
    order.url,
    (o) => {
      if (o.status === "ready" || o.status === "processing" || o.status === "valid") return true;
      if (o.status === "pending") return false;
      throw new UpstreamError("Acme", `ACME: order ${order.url} is ${o.status}: ${problem(o.error)}`, { status: 400 });
    },
    options,
  );
  return toRef(raw, order.url, order.replaces);
}

/**
 * Finalizes the order with a CSR (standard base64 DER, e.g. from Key Vault) and waits until the certificate is issued
 * (RFC 8555 §7.4). Idempotent: an order already processing or valid is only polled.
 */
export async function finalizeOrder(
  session: AcmeSession,
  order: OrderRef,
  csrBase64: string,
  options: PollOptions = {},
): Promise<OrderRef> {
  let current = await waitForOrderReady(session, order, options);
  if (current.status === "ready") {
    const csrPem = derToPem(Buffer.from(csrBase64, "base64"), "CERTIFICATE REQUEST");
    try {
      const raw = await withNonceRetry(() =>
        session.client.finalizeOrder({ url: order.url, finalize: current.finalize } as acme.Order, csrPem),
      );
      current = toRef(raw as unknown as RawOrder, order.url, order.replaces);
    } catch (err) {
      // A retried finalize may find the order already moving on.
      const after = await getOrder(session, order).catch(() => undefined);
      if (!after || (after.status !== "processing" && after.status !== "valid")) throw acmeError("finalizing the order", err);
      current = after;
    }
  }
  if (current.status === "valid" && current.certificate) return current;
  const raw = await pollResource<RawOrder>(
    session,
    order.url,
    (o) => {
      if (o.status === "valid") return true;
      if (o.status === "processing" || o.status === "ready") return false;
      throw new UpstreamError("Acme", `ACME: order ${order.url} became ${o.status} after finalize: ${problem(o.error)}`, { status: 400 });
    },
    options,
  );
  return toRef(raw, order.url, order.replaces);
}

/** A downloaded chain: PEM blocks, leaf first, and which of the CA's chains it is when a preference chose it. */
export interface DownloadedChain {
  chain: string[];
  /** With a preferred chain: whether one of the offered chains matched it, and the top issuer of each offered. */
  choice?: { preferredChain: string; matched: boolean; offered: string[] };
}

/**
 * Downloads the issued chain (RFC 8555 §7.4.2): PEM blocks, leaf first. With `preferredChain`, the alternates the CA
 * links (`Link: rel="alternate"`) are downloaded too and the one issued by that name is returned (./chains.ts).
 */
export async function downloadChain(session: AcmeSession, order: OrderRef, preferredChain?: string): Promise<DownloadedChain> {
  const certificateUrl = order.certificate;
  if (!certificateUrl) throw new UpstreamError("Acme", `ACME: order ${order.url} has no certificate URL yet (status ${order.status})`);
  const fetchChain = async (url: string): Promise<{ blocks: string[]; link: string | undefined }> => {
    const resp = await withNonceRetry(() => internals(session.client).api.apiRequest(url, null, [200]));
    const blocks = pemBlocks(typeof resp.data === "string" ? resp.data : Buffer.from(resp.data as Uint8Array).toString("utf8"));
    if (blocks.length === 0) throw new Error("the CA returned no PEM certificate");
    return { blocks, link: resp.headers.link };
  };
  try {
    const main = await fetchChain(certificateUrl);
    if (preferredChain === undefined) return { chain: main.blocks };
    const alternates = await Promise.all(alternateLinks(main.link).map(async (url) => (await fetchChain(url)).blocks));
    const chains = [main.blocks, ...alternates];
    const choice = choosePreferredChain(chains, preferredChain);
    return { chain: chains[choice.index] as string[], choice: { preferredChain, matched: choice.matched, offered: choice.offered } };
  } catch (err) {
    throw acmeError("downloading the certificate", err);
  }
}

/**
 * Deactivates the authorizations that are still pending (RFC 8555 §7.5.2) so a failed order leaves nothing half-done
 * at the CA. Best effort; returns how many were deactivated.
 */
export async function deactivatePendingAuthorizations(
  session: AcmeSession,
  authorizationUrls: readonly string[],
): Promise<{ deactivated: number }> {
  let deactivated = 0;
  await Promise.all(
    authorizationUrls.map(async (url) => {
      try {
        const authz = (await withNonceRetry(() => session.client.getAuthorizations({ authorizations: [url] } as unknown as acme.Order)))[0];
        if (authz?.status !== "pending") return;
        await withNonceRetry(() => session.client.deactivateAuthorization(authz));
        deactivated++;
      } catch {
        // Best effort: an authorization we cannot deactivate expires on its own.
      }
    }),
  );
  return { deactivated };
}
