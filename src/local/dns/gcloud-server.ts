/**
 * HTTPS stand-in for Google Cloud DNS (dns/v1) and Google's OAuth token endpoint, for the calls kv-acme's Google
 * provider makes, following the Cloud DNS discovery document (subset: test/fixtures/schemas/gcloud-dns-discovery.subset.json):
 *   POST /token                                                   JWT bearer grant (RFC 7523): the assertion must be
 *        RS256-signed by a registered service account key, aud = this URL, a DNS scope, at most one hour
 *   GET  /dns/v1/projects/{project}/managedZones                  managedZones.list (dnsName, maxResults, pageToken)
 *   GET  /dns/v1/projects/{project}/managedZones/{zone}/rrsets    resourceRecordSets.list (name, type, maxResults, pageToken)
 *   POST /dns/v1/projects/{project}/managedZones/{zone}/changes   changes.create: deletions must match exactly
 *        (412 conditionNotMet), additions must not exist (409 alreadyExists); all or nothing
 *   GET  /dns/v1/projects/{project}/managedZones/{zone}/changes/{id}  changes.get: pending, then done
 * Access tokens are checked on every API call (401 UNAUTHENTICATED); a service account may be limited to some zones
 * (403 forbidden elsewhere). Errors use Google's JSON error shape. Nothing is written on any error.
 */
import { createHash, createHmac, createPublicKey, createVerify, timingSafeEqual, type KeyObject } from "node:crypto";
import type { FaultInjector } from "../faults";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLarge, changeTxt, ensureZones, readBody, relativeName, sendJson, startHttpsStandIn, type StandInServer } from "./standin";
import type { ZoneStore } from "./zone-store";

export const GCLOUD_RESOURCE_GROUP = "gcloud";
const TOKEN_LIFETIME_S = 3600;
const DNS_SCOPES = ["https://www.googleapis.com/auth/ndev.clouddns.readwrite", "https://www.googleapis.com/auth/cloud-platform"];

export interface GcloudServiceAccount {
  clientEmail: string;
  keyId: string;
  publicKeyPem: string;
  /** Managed zone names the account may change ("*" = all). */
  zones: "*" | string[];
}

class GoogleError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly statusText: string,
  ) {
    super(message);
  }
}

/**
 * One page of a list method as the discovery document declares them: `maxResults` (a positive int32; the server's
 * page size when absent) and `pageToken` (opaque: the offset, bound to the query so a token of another list is
 * refused), `nextPageToken` while more items follow.
 */
function listPage<T>(all: T[], url: URL, pageSize: number): { items: T[]; nextPageToken?: string } {
  const raw = url.searchParams.get("maxResults");
  const max = raw === null ? pageSize : Number(raw);
  if (!Number.isInteger(max) || max < 1 || max > 2 ** 31 - 1)
    throw new GoogleError(400, "invalid", `Invalid value for maxResults: ${raw}`, "INVALID_ARGUMENT");
  const query = [...url.searchParams]
    .filter(([k]) => k !== "pageToken" && k !== "maxResults")
    .sort()
    .join("&");
  const scope = createHash("sha256").update(`${url.pathname}?${query}`).digest("base64url").slice(0, 12);
  const token = url.searchParams.get("pageToken");
  let offset = 0;
  if (token) {
    const m = /^(\d+)\.([\w-]{12})$/.exec(Buffer.from(token, "base64url").toString("utf8"));
    if (!m || m[2] !== scope) throw new GoogleError(400, "invalid", "The pageToken is invalid.", "INVALID_ARGUMENT");
    offset = Number(m[1]);
  }
  const items = all.slice(offset, offset + max);
  const next = offset + max;
  return { items, ...(next < all.length ? { nextPageToken: Buffer.from(`${next}.${scope}`).toString("base64url") } : {}) };
}

const zoneName = (dnsName: string) => dnsName.replace(/\.$/, "").replace(/\./g, "-");

export async function startGcloudServer(options: {
  /** The stack's fault injector: this stand-in fails as the real API does (target "gcloud"). */
  faults?: FaultInjector;
  store: ZoneStore;
  tls: { certPem: string; keyPem: string };
  project: string;
  zones: string[];
  serviceAccounts: GcloudServiceAccount[];
  /** Signs the access tokens this stand-in issues, so tokens stay valid across a restart (like Google's). */
  tokenSecret: string;
  doneDelayMs?: number;
  /** Results per page of managedZones.list and resourceRecordSets.list when the request has no maxResults ("the server decides"). */
  pageSize?: number;
  host?: string;
  port?: number;
}): Promise<StandInServer & { tokenUri: string; apiUrl: string }> {
  const { store } = options;
  await ensureZones(store, GCLOUD_RESOURCE_GROUP, options.zones);
  const keys = new Map<string, { account: GcloudServiceAccount; key: KeyObject }>(
    options.serviceAccounts.map((a) => [`${a.clientEmail} ${a.keyId}`, { account: a, key: createPublicKey(a.publicKeyPem) }]),
  );
  const mac = (payload: string) => createHmac("sha256", options.tokenSecret).update(payload).digest("base64url");
  const changes = new Map<string, { zone: string; startTime: number; body: Record<string, unknown> }>();
  const doneDelay = options.doneDelayMs ?? 200;
  const pageSize = options.pageSize ?? 100;
  let tokenUri = "";
  const zones = () =>
    store.listZones(GCLOUD_RESOURCE_GROUP).map((z) => ({
      kind: "dns#managedZone",
      name: zoneName(z.name),
      dnsName: `${z.name}.`,
      id: String(BigInt(`0x${Buffer.from(z.name).toString("hex").slice(0, 14)}`)),
      description: "kv-acme local",
      nameServers: store.nameServers,
      visibility: "public",
      creationTime: "2026-01-01T00:00:00.000Z",
    }));

  function token(req: IncomingMessage, body: string): Record<string, unknown> {
    const form = new URLSearchParams(body);
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      throw new GoogleError(400, "unsupported_grant_type", "Invalid grant_type.", "");
    }
    const parts = (form.get("assertion") ?? "").split(".");
    const invalid = (why: string) => new GoogleError(400, "invalid_grant", why, "");
    if (parts.length !== 3) throw invalid("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.");
    let header: { alg?: string; kid?: string };
    let claims: { iss?: string; scope?: string; aud?: string; iat?: number; exp?: number };
    try {
      header = JSON.parse(Buffer.from(parts[0] as string, "base64url").toString("utf8")) as typeof header;
      claims = JSON.parse(Buffer.from(parts[1] as string, "base64url").toString("utf8")) as typeof claims;
    } catch {
      throw invalid("Invalid JWT: the header or claims are not JSON.");
    }
    const entry =
      keys.get(`${claims.iss} ${header.kid}`) ??
      (header.kid ? undefined : [...keys.values()].find((k) => k.account.clientEmail === claims.iss));
    if (header.alg !== "RS256" || !entry) throw invalid("Invalid JWT Signature.");
    const ok = createVerify("RSA-SHA256")
      .update(`${parts[0]}.${parts[1]}`)
      .verify(entry.key, Buffer.from(parts[2] as string, "base64url"));
    if (!ok) throw invalid("Invalid JWT Signature.");
    const now = Math.floor(Date.now() / 1000);
    if (claims.aud !== tokenUri) throw invalid(`Invalid JWT: audience must be ${tokenUri}.`);
    if (
      typeof claims.iat !== "number" ||
      typeof claims.exp !== "number" ||
      claims.exp - claims.iat > 3600 ||
      claims.exp < now ||
      claims.iat > now + 300
    ) {
      throw invalid("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.");
    }
    if (!(claims.scope ?? "").split(" ").some((s) => DNS_SCOPES.includes(s)))
      throw new GoogleError(400, "invalid_scope", "Invalid OAuth scope.", "");
    void req;
    const payload = Buffer.from(JSON.stringify({ sub: entry.account.clientEmail, exp: Date.now() + TOKEN_LIFETIME_S * 1000 })).toString(
      "base64url",
    );
    const accessToken = `ya29.${payload}.${mac(payload)}`;
    return { access_token: accessToken, expires_in: TOKEN_LIFETIME_S, token_type: "Bearer" };
  }

  function authenticate(req: IncomingMessage): GcloudServiceAccount {
    const [, payload, sig] = /^Bearer ya29\.([\w-]+)\.([\w-]+)$/.exec(req.headers.authorization ?? "") ?? [];
    const valid =
      payload !== undefined &&
      sig !== undefined &&
      sig.length === mac(payload).length &&
      timingSafeEqual(Buffer.from(sig), Buffer.from(mac(payload)));
    const claims = valid ? (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub: string; exp: number }) : undefined;
    const account = claims && claims.exp > Date.now() ? options.serviceAccounts.find((a) => a.clientEmail === claims.sub) : undefined;
    if (!account) {
      throw new GoogleError(
        401,
        "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        "UNAUTHENTICATED",
      );
    }
    return account;
  }

  async function applyChange(zone: string, body: string): Promise<Record<string, unknown>> {
    let change: { additions?: unknown; deletions?: unknown };
    try {
      change = JSON.parse(body) as typeof change;
    } catch {
      throw new GoogleError(400, "parseError", "Invalid JSON payload received.", "INVALID_ARGUMENT");
    }
    type Set = { name?: unknown; type?: unknown; ttl?: unknown; rrdatas?: unknown };
    const list = (x: unknown): Set[] => (Array.isArray(x) ? (x as Set[]) : []);
    const parsed = [
      ...list(change.deletions).map((s) => ({ s, del: true })),
      ...list(change.additions).map((s) => ({ s, del: false })),
    ].map(({ s, del }) => {
      if (s.type !== "TXT") throw new GoogleError(400, "invalid", "This stand-in changes TXT record sets only.", "INVALID_ARGUMENT");
      const name = typeof s.name === "string" ? s.name.toLowerCase() : "";
      if (!name.endsWith("."))
        throw new GoogleError(
          400,
          "invalid",
          `Invalid value for 'entity.change.additions[0].name': '${String(s.name)}'`,
          "INVALID_ARGUMENT",
        );
      const rel = relativeName(name, zone);
      if (!rel)
        throw new GoogleError(400, "invalid", `The resource record set name '${name}' is not in zone '${zone}.'`, "INVALID_ARGUMENT");
      const rrdatas = Array.isArray(s.rrdatas) ? (s.rrdatas as unknown[]) : [];
      if (rrdatas.length === 0 || !rrdatas.every((r) => typeof r === "string" && /^\s*"/.test(r))) {
        throw new GoogleError(
          400,
          "invalid",
          "Invalid value for 'entity.change.additions[0].rrdata': TXT data must be quoted strings",
          "INVALID_ARGUMENT",
        );
      }
      if (typeof s.ttl !== "number" || !Number.isInteger(s.ttl) || s.ttl < 0)
        throw new GoogleError(400, "invalid", "Invalid TTL.", "INVALID_ARGUMENT");
      const texts = (rrdatas as string[]).map((r) =>
        [...r.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] as string).replace(/\\(.)/g, "$1")).join(""),
      );
      return { del, rel, name, ttl: s.ttl, texts };
    });
    if (parsed.length === 0)
      throw new GoogleError(400, "required", "The 'entity.change' parameter is required but was missing.", "INVALID_ARGUMENT");
    if (new Set(parsed.map((p) => p.rel)).size > 1)
      throw new GoogleError(400, "invalid", "This stand-in applies changes to one record set.", "INVALID_ARGUMENT");
    await changeTxt(store, GCLOUD_RESOURCE_GROUP, zone, parsed[0]?.rel as string, (current, currentTtl) => {
      let state: { ttl: number; values: string[] } | undefined =
        currentTtl === undefined ? undefined : { ttl: currentTtl, values: current };
      for (const p of parsed) {
        if (p.del) {
          const same =
            state && state.ttl === p.ttl && state.values.length === p.texts.length && p.texts.every((t) => state?.values.includes(t));
          if (!same)
            throw new GoogleError(
              412,
              "conditionNotMet",
              `Precondition not met for 'entity.change.deletions[${p.name}][TXT]'`,
              "FAILED_PRECONDITION",
            );
          state = undefined;
        } else {
          if (state)
            throw new GoogleError(
              409,
              "alreadyExists",
              `The resource 'entity.change.additions[${p.name}][TXT]' named '${p.name} (TXT)' already exists`,
              "ALREADY_EXISTS",
            );
          state = { ttl: p.ttl, values: [...new Set(p.texts)] };
        }
      }
      return { values: state?.values ?? [], ttl: state?.ttl ?? 0 };
    });
    const id = String(changes.size + 1);
    const record = { zone, startTime: Date.now(), body: { additions: change.additions, deletions: change.deletions } };
    changes.set(`${zone} ${id}`, record);
    return changeJson(id, record);
  }

  const changeJson = (id: string, c: { startTime: number; body: Record<string, unknown> }) => ({
    kind: "dns#change",
    id,
    ...Object.fromEntries(Object.entries(c.body).filter(([, v]) => v !== undefined)),
    startTime: new Date(c.startTime).toISOString(),
    status: Date.now() - c.startTime >= doneDelay ? "done" : "pending",
    isServing: true,
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://stand-in");
    const body = await readBody(req);
    if (req.method === "POST" && url.pathname === "/token")
      return void sendJson(res, 200, token(req, body), { "cache-control": "no-store" });
    const account = authenticate(req);
    const m = /^\/dns\/v1\/projects\/([^/]+)\/managedZones(?:\/([^/]+)(?:\/(rrsets|changes)(?:\/([^/]+))?)?)?$/.exec(url.pathname);
    if (!m) throw new GoogleError(404, "notFound", `The requested URL ${url.pathname} was not found.`, "NOT_FOUND");
    if (decodeURIComponent(m[1] as string) !== options.project) {
      throw new GoogleError(
        403,
        "forbidden",
        `The caller does not have permission in project ${decodeURIComponent(m[1] as string)}`,
        "PERMISSION_DENIED",
      );
    }
    if (!m[2] && req.method === "GET") {
      const dnsName = url.searchParams.get("dnsName")?.toLowerCase();
      const { items, nextPageToken } = listPage(
        zones().filter((z) => !dnsName || z.dnsName === dnsName),
        url,
        pageSize,
      );
      return void sendJson(res, 200, {
        kind: "dns#managedZonesListResponse",
        managedZones: items,
        ...(nextPageToken ? { nextPageToken } : {}),
      });
    }
    const zone = zones().find((z) => z.name === decodeURIComponent(m[2] ?? "") || z.id === m[2]);
    if (!zone) throw new GoogleError(404, "notFound", `The 'parameters.managedZone' resource named '${m[2]}' does not exist.`, "NOT_FOUND");
    const dnsName = zone.dnsName.replace(/\.$/, "");
    if (account.zones !== "*" && !account.zones.includes(zone.name)) {
      throw new GoogleError(
        403,
        "forbidden",
        `Forbidden: ${account.clientEmail} may not change managed zone ${zone.name}`,
        "PERMISSION_DENIED",
      );
    }
    if (m[3] === "rrsets" && !m[4] && req.method === "GET") {
      const name = url.searchParams.get("name")?.toLowerCase();
      const type = url.searchParams.get("type");
      if (type && !name) throw new GoogleError(400, "invalid", "The 'type' parameter requires 'name'.", "INVALID_ARGUMENT");
      const rrsets = store
        .listRecordSets(dnsName, "TXT")
        .map((s) => ({
          kind: "dns#resourceRecordSet",
          name: `${s.name === "@" ? dnsName : `${s.name}.${dnsName}`}.`,
          type: "TXT",
          ttl: s.ttl,
          rrdatas: (s.records.TXTRecords ?? []).map((r) => r.value.map((v) => `"${v.replace(/(["\\])/g, "\\$1")}"`).join(" ")),
        }))
        .filter((s) => (!name || s.name === name) && (!type || type === "TXT"));
      const { items, nextPageToken } = listPage(rrsets, url, pageSize);
      return void sendJson(res, 200, {
        kind: "dns#resourceRecordSetsListResponse",
        rrsets: items,
        ...(nextPageToken ? { nextPageToken } : {}),
      });
    }
    if (m[3] === "changes" && !m[4] && req.method === "POST") return void sendJson(res, 200, await applyChange(dnsName, body));
    if (m[3] === "changes" && m[4] && req.method === "GET") {
      const c = changes.get(`${dnsName} ${decodeURIComponent(m[4])}`);
      if (!c) throw new GoogleError(404, "notFound", `The 'parameters.changeId' resource named '${m[4]}' does not exist.`, "NOT_FOUND");
      return void sendJson(res, 200, changeJson(decodeURIComponent(m[4]), c));
    }
    throw new GoogleError(404, "notFound", `The requested URL ${url.pathname} was not found.`, "NOT_FOUND");
  }

  const server = await startHttpsStandIn({
    tls: options.tls,
    host: options.host,
    port: options.port,
    faults: options.faults,
    faultTarget: "gcloud",
    faultStyle: "gcloud",
    handle,
    onError(res, err) {
      if (err instanceof GoogleError && err.statusText === "") {
        return sendJson(res, err.status, { error: err.reason, error_description: err.message });
      }
      const e =
        err instanceof GoogleError
          ? err
          : err instanceof BodyTooLarge
            ? new GoogleError(413, "tooLarge", "Request body too large.", "INVALID_ARGUMENT")
            : new GoogleError(500, "backendError", "Internal error encountered.", "INTERNAL");
      sendJson(res, e.status, {
        error: {
          code: e.status,
          message: e.message,
          errors: [{ message: e.message, domain: "global", reason: e.reason }],
          status: e.statusText,
        },
      });
    },
  });
  tokenUri = `${server.url}/token`;
  return { ...server, tokenUri, apiUrl: `${server.url}/dns/v1` };
}
