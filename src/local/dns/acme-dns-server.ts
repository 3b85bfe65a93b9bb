/**
 * HTTPS stand-in for the acme-dns HTTP API (acme-dns/acme-dns README and pkg/api: register.go, update.go, auth.go;
 * Debian has no acme-dns package), serving its zone through the stack's DNS server:
 *   POST /register  optional {"allowfrom":[CIDR]} -> 201 {username, password, fulldomain, subdomain, allowfrom}
 *   POST /update    X-Api-User (lower-case UUID) + X-Api-Key (40 characters) + {"subdomain","txt"} -> 200 {"txt"}
 *                   the subdomain keeps the two most recent values; 401 {"error":"forbidden"} for bad credentials or
 *                   a subdomain not the user's; 400 bad_subdomain / bad_txt (43 characters of [A-Za-z0-9_-])
 *   GET  /health    200
 * Accounts are derived from a secret (password and subdomain are MACs of the username), so a restarted stand-in
 * knows them; `allowfrom` is kept in memory.
 */
import type { FaultInjector } from "../faults";
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLarge, changeTxt, ensureZones, readBody, sendJson, startHttpsStandIn, type StandInServer } from "./standin";
import type { ZoneStore } from "./zone-store";

export const ACME_DNS_RESOURCE_GROUP = "acme-dns";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function startAcmeDnsServer(options: {
  /** The stack's fault injector: this stand-in fails as the real API does (target "acme-dns"). */
  faults?: FaultInjector;
  store: ZoneStore;
  tls: { certPem: string; keyPem: string };
  zone: string;
  secret: string;
  host?: string;
  port?: number;
}): Promise<StandInServer> {
  const { store } = options;
  await ensureZones(store, ACME_DNS_RESOURCE_GROUP, [options.zone]);
  const mac = (purpose: string, username: string) => createHmac("sha256", options.secret).update(`${purpose}\u0000${username}`).digest();
  const passwordOf = (username: string) => mac("password", username).toString("base64url").slice(0, 40);
  const subdomainOf = (username: string) => {
    const h = mac("subdomain", username).toString("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  const allowFrom = new Map<string, string[]>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://stand-in");
    const body = await readBody(req);
    if (req.method === "GET" && url.pathname === "/health") return void res.writeHead(200).end();
    if (req.method === "POST" && url.pathname === "/register") {
      let input: { allowfrom?: unknown } = {};
      if (body.length > 0) {
        try {
          input = JSON.parse(body) as typeof input;
        } catch {
          return void sendJson(res, 400, { error: "malformed_json_payload" });
        }
      }
      const cidrs = Array.isArray(input.allowfrom) ? input.allowfrom : [];
      if (!cidrs.every((c) => typeof c === "string" && /^[0-9a-f.:]+\/\d{1,3}$/i.test(c)))
        return void sendJson(res, 400, { error: "invalid_allowfrom_cidr" });
      const username = randomUUID();
      if (cidrs.length > 0) allowFrom.set(username, cidrs as string[]);
      const subdomain = subdomainOf(username);
      return void sendJson(res, 201, {
        username,
        password: passwordOf(username),
        fulldomain: `${subdomain}.${options.zone}`,
        subdomain,
        allowfrom: cidrs,
      });
    }
    if (req.method === "POST" && url.pathname === "/update") {
      const user = String(req.headers["x-api-user"] ?? "");
      const key = String(req.headers["x-api-key"] ?? "");
      let input: { subdomain?: unknown; txt?: unknown } = {};
      try {
        input = JSON.parse(body) as typeof input;
      } catch {
        // acme-dns logs json_error and then fails the subdomain check: forbidden.
      }
      const known = UUID.test(user) && key.length === 40 && timingSafeEqual(Buffer.from(key), Buffer.from(passwordOf(user)));
      const sourceOk = !allowFrom.has(user) || (allowFrom.get(user) ?? []).some((c) => c.startsWith(`${req.socket.remoteAddress ?? ""}/`));
      if (!known || !sourceOk || input.subdomain !== subdomainOf(user)) return void sendJson(res, 401, { error: "forbidden" });
      const txt = input.txt;
      if (typeof txt !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(txt)) return void sendJson(res, 400, { error: "bad_txt" });
      await changeTxt(store, ACME_DNS_RESOURCE_GROUP, options.zone, subdomainOf(user), (current) => ({
        values: [...current.filter((v) => v !== txt), txt].slice(-2),
        ttl: 1,
      }));
      return void sendJson(res, 200, { txt });
    }
    sendJson(res, 404, { error: "not_found" });
  }

  return startHttpsStandIn({
    tls: options.tls,
    host: options.host,
    port: options.port,
    faults: options.faults,
    faultTarget: "acme-dns",
    faultStyle: "plain",
    handle,
    onError(res, err) {
      sendJson(res, err instanceof BodyTooLarge ? 413 : 500, { error: err instanceof BodyTooLarge ? "payload_too_large" : "db_error" });
    },
  });
}
