/**
 * Fault injection for the local stack, per dependency, the way the real services fail: throttling (429 with
 * Retry-After), 5xx, connection resets, slow answers; for DNS, SERVFAIL and unanswered queries; for the ACME CA,
 * `urn:ietf:params:acme:error:rateLimited` with Retry-After on new orders and 503s.
 *
 * Spec (command line `--faults`, or a file with one rule per line or comma-separated):
 *   keyvault=429:10%,arm=503:5%,identity=reset:2%,dns=timeout:5%,acme=rateLimited:5%,latency=50-400ms
 * - `<target>=<fault>:<percent>%` where fault is an HTTP status (4xx/5xx), `reset`, `timeout`, `servfail` or
 *   `rateLimited`; optional `/<seconds>` after the fault sets Retry-After (e.g. `keyvault=429/2:10%`, default 1 s).
 * - `*<count>` after the percent fires the rule at most that many times (`keyvault=429/3:100%*1`: the next request
 *   only), for tests that want one fault at a known moment.
 * - `latency=<min>-<max>ms` for every target, or `<target>.latency=<min>-<max>ms` for one.
 * Targets are free names (keyvault, arm, identity, dns, acme, cloudflare, ...): a stand-in asks for its own. A
 * stand-in may also name some of its operations: a request is then tried against `<target>` and after it against
 * `<target>-<operation>` (the Key Vault stand-in: `keyvault-create`, `keyvault-pending`, `keyvault-merge`,
 * `keyvault-update`, e.g. `keyvault-update=403:100%*1` refuses the next certificate update (tags) only).
 *
 * Interface for stand-ins: `injector.decide(target)` -> a {@link Fault} or undefined, `injector.latencyMs(target)`,
 * `withHttpFaults(handler, injector, target, style)` wraps a Node request handler, `injector.counts` tallies what
 * was injected. Nothing here is used outside src/local.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";

/** One kind of failure. */
export type Fault =
  | { kind: "status"; status: number; retryAfterSeconds: number }
  | { kind: "reset" }
  | { kind: "timeout" }
  | { kind: "servfail" }
  | { kind: "rateLimited"; retryAfterSeconds: number };

export interface FaultRule {
  target: string;
  fault: Fault;
  /** 0..1 */
  probability: number;
  /** Fires at most this many times (unlimited when absent). */
  limit?: number;
}

export interface FaultPlan {
  rules: FaultRule[];
  /** Latency ranges by target; "*" for every target. */
  latency: Record<string, { minMs: number; maxMs: number }>;
}

const DEFAULT_RETRY_AFTER_SECONDS = 1;

function parseFault(text: string): Fault {
  const [name, retry] = text.split("/");
  const retryAfterSeconds = retry === undefined ? DEFAULT_RETRY_AFTER_SECONDS : Number(retry);
  if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0 || retryAfterSeconds > 3600)
    throw new Error(`faults: Retry-After "${retry}" must be 0..3600 seconds`);
  if (/^\d{3}$/.test(name ?? "")) {
    const status = Number(name);
    if (status < 400 || status > 599) throw new Error(`faults: status ${status} is not an error status (400..599)`);
    return { kind: "status", status, retryAfterSeconds };
  }
  switch ((name ?? "").toLowerCase()) {
    case "reset":
      return { kind: "reset" };
    case "timeout":
      return { kind: "timeout" };
    case "servfail":
      return { kind: "servfail" };
    case "ratelimited":
      return { kind: "rateLimited", retryAfterSeconds };
    default:
      throw new Error(`faults: unknown fault "${text}" (an HTTP status, reset, timeout, servfail or rateLimited)`);
  }
}

function parseRange(text: string, what: string): { minMs: number; maxMs: number } {
  const m = /^(\d+)(?:-(\d+))?ms$/.exec(text.trim());
  if (!m) throw new Error(`faults: ${what} "${text}" must look like 50-400ms`);
  const minMs = Number(m[1]);
  const maxMs = m[2] === undefined ? minMs : Number(m[2]);
  if (maxMs < minMs || maxMs > 60_000) throw new Error(`faults: ${what} "${text}" must be an increasing range of at most 60000 ms`);
  return { minMs, maxMs };
}

/** Parses a fault spec (see the module comment); throws with the offending part on bad input. */
export function parseFaultSpec(spec: string): FaultPlan {
  const plan: FaultPlan = { rules: [], latency: {} };
  const parts = spec
    .split(/[,\n]/)
    .map((p) => p.replace(/#.*$/, "").trim())
    .filter(Boolean);
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error(`faults: "${part}" must be <target>=<fault>:<percent>% or latency=<min>-<max>ms`);
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (key === "latency" || key.endsWith(".latency")) {
      const target = key === "latency" ? "*" : key.slice(0, -".latency".length);
      plan.latency[target] = parseRange(value, key);
      continue;
    }
    if (!/^[a-z][a-z0-9-]*$/.test(key)) throw new Error(`faults: target "${key}" must be a lower-case name`);
    const m = /^([^:]+):(\d+(?:\.\d+)?)%(?:\*(\d{1,9}))?$/.exec(value);
    if (!m) throw new Error(`faults: "${part}" must be <target>=<fault>:<percent>%[*<count>]`);
    const probability = Number(m[2]) / 100;
    if (probability > 1) throw new Error(`faults: "${part}": percent must be 0..100`);
    const rule: FaultRule = { target: key, fault: parseFault(m[1] ?? ""), probability };
    if (m[3] !== undefined) rule.limit = Number(m[3]);
    plan.rules.push(rule);
  }
  return plan;
}

/** A spec given inline or as a file path (`@file` or an existing file name). */
export function loadFaultSpec(specOrFile: string): FaultPlan {
  const file = specOrFile.startsWith("@") ? specOrFile.slice(1) : /[=,]/.test(specOrFile) ? undefined : specOrFile;
  return parseFaultSpec(file === undefined ? specOrFile : readFileSync(file, "utf8"));
}

/** Decides faults for requests; counts what it injected. `random` is injectable for tests. */
export class FaultInjector {
  readonly counts: Record<string, number> = {};
  readonly #fired = new Map<FaultRule, number>();
  constructor(
    readonly plan: FaultPlan,
    private readonly random: () => number = Math.random,
  ) {}

  /** A fault for one request to `target`, or undefined (at most one rule fires; rules are tried in order). */
  decide(target: string, accepts?: (f: Fault) => boolean): Fault | undefined {
    for (const rule of this.plan.rules) {
      if (rule.target !== target || (accepts && !accepts(rule.fault))) continue;
      const fired = this.#fired.get(rule) ?? 0;
      if (rule.limit !== undefined && fired >= rule.limit) continue;
      if (this.random() < rule.probability) {
        this.#fired.set(rule, fired + 1);
        const key = `${target}:${rule.fault.kind === "status" ? rule.fault.status : rule.fault.kind}`;
        this.counts[key] = (this.counts[key] ?? 0) + 1;
        return rule.fault;
      }
    }
    return undefined;
  }

  /** Extra delay for one request to `target` (0 when no latency is configured). */
  latencyMs(target: string): number {
    const r = this.plan.latency[target] ?? this.plan.latency["*"];
    if (!r) return 0;
    return Math.round(r.minMs + this.random() * (r.maxMs - r.minMs));
  }

  /** Everything injected so far. */
  total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}

/**
 * How a service words its HTTP errors: Azure's `{error: {code, message}}`, an ACME problem document, Cloudflare's
 * `{success: false, errors: [{code, message}]}`, Route 53's XML ErrorResponse, Google's `{error: {code, message,
 * status}}`, or plain text (Custom DNS, acme-dns).
 */
export type ErrorStyle = "azure" | "acme" | "cloudflare" | "route53" | "gcloud" | "plain";

const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Azure's error codes for the statuses a fault gives (Key Vault's 403 is a missing permission). */
const AZURE_CODES: Record<number, string> = { 403: "Forbidden", 404: "NotFound", 429: "TooManyRequests", 503: "ServiceUnavailable" };

/** Writes the error a service of `style` answers for `fault` (status faults and rateLimited). */
export function writeFaultResponse(res: ServerResponse, fault: Fault, style: ErrorStyle): void {
  if (fault.kind === "rateLimited") {
    const retryAt = new Date(Date.now() + fault.retryAfterSeconds * 1000);
    const body = {
      type: "urn:ietf:params:acme:error:rateLimited",
      detail: `too many new orders (local fault injection): retry after ${retryAt
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, " UTC")}`,
      status: 429,
    };
    res.writeHead(429, { "content-type": "application/problem+json", "retry-after": String(fault.retryAfterSeconds) });
    res.end(JSON.stringify(body));
    return;
  }
  if (fault.kind !== "status") return;
  const headers: Record<string, string> = {};
  if (fault.status === 429 || fault.status === 503) headers["retry-after"] = String(fault.retryAfterSeconds);
  const reason = REASONS[fault.status] ?? "Error";
  if (style === "azure") {
    const code = AZURE_CODES[fault.status] ?? (fault.status < 500 ? "BadRequest" : "InternalServerError");
    res.writeHead(fault.status, { ...headers, "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify({ error: { code, message: `${reason} (local fault injection).` } }));
  } else if (style === "acme") {
    const type = fault.status === 429 ? "urn:ietf:params:acme:error:rateLimited" : "urn:ietf:params:acme:error:serverInternal";
    res.writeHead(fault.status, { ...headers, "content-type": "application/problem+json" });
    res.end(JSON.stringify({ type, detail: `${reason} (local fault injection)`, status: fault.status }));
  } else if (style === "cloudflare") {
    // Cloudflare's API envelope; 10000-range codes are its own (971: rate limited).
    const code = fault.status === 429 ? 971 : 10000 + fault.status;
    res.writeHead(fault.status, { ...headers, "content-type": "application/json" });
    res.end(
      JSON.stringify({ success: false, errors: [{ code, message: `${reason} (local fault injection)` }], messages: [], result: null }),
    );
  } else if (style === "route53") {
    const code = fault.status === 429 ? "Throttling" : fault.status === 503 ? "ServiceUnavailable" : "InternalFailure";
    res.writeHead(fault.status, { ...headers, "content-type": "text/xml" });
    res.end(
      `<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>${fault.status < 500 ? "Sender" : "Receiver"}</Type>` +
        `<Code>${code}</Code><Message>${reason} (local fault injection)</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`,
    );
  } else if (style === "gcloud") {
    const status = fault.status === 429 ? "RESOURCE_EXHAUSTED" : fault.status === 503 ? "UNAVAILABLE" : "INTERNAL";
    res.writeHead(fault.status, { ...headers, "content-type": "application/json; charset=UTF-8" });
    res.end(JSON.stringify({ error: { code: fault.status, message: `${reason} (local fault injection)`, status } }));
  } else {
    res.writeHead(fault.status, { ...headers, "content-type": "text/plain" });
    res.end(`${reason} (local fault injection)\n`);
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Wraps a request handler: waits the configured latency, then answers with an injected fault (status, reset of
 * the connection, or no answer for `timeout`) or passes the request on. Without an injector it returns `handler`.
 */
export function withHttpFaults(
  handler: Handler,
  injector: FaultInjector | undefined,
  target: string,
  style: ErrorStyle = "azure",
  operationOf?: (req: IncomingMessage) => string | undefined,
): Handler {
  if (!injector) return handler;
  const httpFault = (f: Fault) => f.kind !== "servfail" && f.kind !== "rateLimited";
  return (req, res) => {
    const delay = injector.latencyMs(target);
    const go = (): void => {
      const operation = operationOf?.(req);
      const fault = injector.decide(target, httpFault) ?? (operation ? injector.decide(`${target}-${operation}`, httpFault) : undefined);
      if (!fault) return handler(req, res);
      req.resume();
      if (fault.kind === "reset") {
        // A TCP RST where the socket is plain TCP; TLS sockets are destroyed (the client sees the connection drop).
        if ("encrypted" in req.socket) req.socket.destroy();
        else req.socket.resetAndDestroy();
      } else if (fault.kind === "timeout") {
        // No answer: the client's own timeout fires. The socket is closed after a minute so servers can stop.
        setTimeout(() => req.socket.destroy(), 60_000).unref();
      } else {
        writeFaultResponse(res, fault, style);
      }
    };
    if (delay > 0) setTimeout(go, delay);
    else go();
  };
}
