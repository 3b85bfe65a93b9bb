/**
 * `kv-acme --endpoint URL ...`: the same commands, driven through the HTTP API of the local Functions host or a deployed
 * app instead of acting on the vault directly. Long work (issue, renew, revoke) is started with a POST and the
 * operation is polled until it finishes, with each new step printed as progress. Auth: `--function-key K` (sent as
 * x-functions-key, on the /api/automation routes) or a bearer token from `--token` / KVACME_API_TOKEN (App Service
 * Authentication). API problems map to the CLI's exit codes (400 -> 2, 404 -> 3, 409 -> 4, 401/403 -> 78).
 */
import type { CheckResult } from "../doctor/checks";
import { renderChecklist } from "../doctor/report";
import { allFleetPages, type FleetPage } from "../fleet/pages";
import { fleetText, narrowFleet, type FleetResult } from "./fleet";
import {
  ConfigurationError,
  ConflictError,
  KvAcmeError,
  NotFoundError,
  UpstreamError,
  ValidationError,
  errorMessage,
} from "../shared/errors";
import { sleep } from "../shared/time";
import { parseAddress } from "../keyvault/address";
import type { RenewalSchedule } from "../api/handlers-renewals";
import { renewalsText } from "./addressing";
import { controlsFrom, type ControlValues } from "./controls";
import { issuerPinsArgs, pinList } from "./issuer-pins";

export interface EndpointValues extends ControlValues {
  endpoint?: string;
  "function-key"?: string;
  token?: string;
  "dns-names"?: string[];
  "dns-alias"?: string;
  name?: string;
  "key-type"?: string;
  exportable?: boolean;
  "no-exportable"?: boolean;
  "reuse-key"?: boolean;
  adopt?: boolean;
  "content-type"?: string;
  all?: boolean;
  ping?: boolean;
  "all-due"?: boolean;
  "dry-run"?: boolean;
  reason?: string;
  disable?: boolean;
  chain?: string;
  vault?: string;
  "issuer-pins"?: string[];
}

export interface EndpointIo {
  env: Record<string, string | undefined>;
  progress: (step: string, message: string) => void;
  readFile: (path: string) => Promise<string>;
  fetch?: typeof fetch;
  /** Upper bound of the wait between two polls (default 5 s). */
  maxPollIntervalMs?: number;
  /** Give up waiting for an operation after this long (default 30 min). */
  timeoutMs?: number;
}

/** What a command produced: the result (for --json) and its human rendering. */
export interface EndpointResult {
  result: unknown;
  text: string;
  /** Exit code when the call succeeded but the answer is a failure (doctor: a check failed). Default 0. */
  exitCode?: number;
}

interface ProblemBody {
  title?: string;
  detail?: string;
  code?: string;
  errors?: { field: string; message: string }[];
  operation?: string;
}

function usage(message: string): ValidationError {
  return new ValidationError([{ field: "arguments", message }]);
}

/** Maps a problem response to the error class that carries the CLI's exit code. */
export function errorFromProblem(status: number, body: ProblemBody | undefined, what: string): KvAcmeError {
  const detail = body?.detail ?? body?.title ?? `HTTP ${status}`;
  if (status === 400 || status === 413 || status === 415 || status === 422) {
    return body?.errors?.length ? new ValidationError(body.errors) : new ValidationError([{ field: "request", message: detail }]);
  }
  if (status === 404) return new NotFoundError(detail);
  if (status === 409) return new ConflictError(detail, body?.operation ? { operation: body.operation } : undefined);
  if (status === 401 || status === 403) {
    return new ConfigurationError(
      `${what}: ${status} ${detail}\n` +
        (status === 401
          ? "Pass a function key (--function-key / KVACME_FUNCTION_KEY, printed by npm start), or a current token (--token / KVACME_API_TOKEN; tokens expire after about an hour: get a new one with az account get-access-token --resource <the app's ID URI>)."
          : "The credentials were accepted but lack the role this command needs (KvAcme.Read, KvAcme.Issue or KvAcme.Revoke): assign it to the user or app in Entra ID (docs/deploy.md)."),
    );
  }
  return new UpstreamError("Api", `${what}: HTTP ${status}: ${detail}`, { status, retryable: status >= 500 || status === 429 });
}

/** Normalizes the endpoint: the app's origin (a trailing /api is accepted). */
export function apiBase(endpoint: string, automation: boolean): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigurationError(`--endpoint "${endpoint}" is not a URL (e.g. http://localhost:7071 or https://<app>.azurewebsites.net)`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ConfigurationError(`--endpoint must be http(s), got ${url.protocol}`);
  const root = url.pathname.replace(/\/+$/, "").replace(/\/api$/i, "");
  return new URL(`${url.origin}${root}/api/${automation ? "automation/" : ""}`);
}

/** Loopback hosts, where plain http never leaves the machine (the local host). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Credentials (function key, bearer token) go to the endpoint's origin only: never over plain http to a host that is
 * not loopback, never to another origin named by a Location header or a redirect (followed by hand, same origin only).
 */
class ApiClient {
  private readonly base: URL;
  private readonly headers: Record<string, string> = { accept: "application/json" };
  private readonly fetch: typeof fetch;

  constructor(
    values: EndpointValues,
    private readonly io: EndpointIo,
  ) {
    const key = values["function-key"] ?? io.env.KVACME_FUNCTION_KEY;
    const token = values.token ?? io.env.KVACME_API_TOKEN;
    this.base = apiBase(values.endpoint ?? "", key !== undefined);
    if ((key !== undefined || token) && this.base.protocol === "http:" && !isLoopbackHost(this.base.hostname)) {
      throw new ConfigurationError(
        `--endpoint ${this.base.origin} is plain http to a host that is not loopback: the ${key !== undefined ? "function key" : "token"} ` +
          "would cross the network in clear text. Use https (a deployed app is https://<app>.azurewebsites.net).",
      );
    }
    if (key !== undefined) this.headers["x-functions-key"] = key;
    if (token) this.headers.authorization = `Bearer ${token}`;
    this.fetch = io.fetch ?? fetch;
  }

  /** The URL of a path or Location on the endpoint; another origin is refused (credentials never go there). */
  private resolve(path: string, what: string): URL {
    const url = new URL(path.replace(/^\/api\/(automation\/)?/, ""), this.base);
    if (url.origin !== this.base.origin) {
      throw new UpstreamError(
        "Api",
        `${what}: the app pointed at another origin (${url.origin}); kv-acme does not send its credentials there`,
      );
    }
    return url;
  }

  /** One API call; a status of 400 or more throws its problem, unless `accept` lists it (e.g. health's 503). */
  async call(
    method: string,
    path: string,
    body?: unknown,
    accept: number[] = [],
  ): Promise<{ status: number; headers: Headers; body: unknown }> {
    let url = this.resolve(path, `${method} ${path}`);
    const what = `${method} ${url.pathname}`;
    let res: Response;
    try {
      for (let hops = 0; ; hops++) {
        res = await this.fetch(url, {
          method,
          headers: body === undefined ? this.headers : { ...this.headers, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
          redirect: "manual",
          signal: AbortSignal.timeout(120_000),
        });
        const location = res.headers.get("location");
        if (![301, 302, 303, 307, 308].includes(res.status) || !location || hops >= 5) break;
        await res.body?.cancel();
        url = this.resolve(new URL(location, url).href, what);
      }
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      throw new UpstreamError(
        "Api",
        `${what}: ${errorMessage(err)}${(err as { cause?: unknown }).cause ? ` (${errorMessage((err as { cause?: unknown }).cause)})` : ""}`,
        { retryable: true },
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (res.status >= 400 && !accept.includes(res.status))
      throw errorFromProblem(res.status, typeof parsed === "object" ? (parsed as ProblemBody) : { detail: String(parsed ?? "") }, what);
    return { status: res.status, headers: res.headers, body: parsed };
  }

  /** Polls an operation until it finishes; prints every new step; throws when it failed. */
  async waitFor(location: string, first: { status: number; headers: Headers; body: unknown }): Promise<unknown> {
    const deadline = Date.now() + (this.io.timeoutMs ?? 30 * 60_000);
    let current = first;
    let lastStep = "";
    for (;;) {
      const view = current.body as
        | { status?: string; customStatus?: { step?: string; message?: string } | string; output?: unknown; error?: { message?: string } }
        | undefined;
      const step =
        typeof view?.customStatus === "object" && view.customStatus
          ? (view.customStatus.step ?? "")
          : typeof view?.customStatus === "string"
            ? view.customStatus
            : "";
      if (step && step !== lastStep) {
        this.io.progress(
          step,
          typeof view?.customStatus === "object" && view.customStatus?.message ? view.customStatus.message : `${view?.status ?? "running"}`,
        );
        lastStep = step;
      }
      if (current.status === 200 && view?.status && view.status !== "Running" && view.status !== "Pending") {
        if (view.status === "Completed") return view.output;
        throw new UpstreamError(
          "Operation",
          `operation ${view.status.toLowerCase()}: ${view.error?.message?.split("\n")[0] ?? "no details"}`,
        );
      }
      if (Date.now() > deadline)
        throw new UpstreamError("Operation", `gave up waiting for ${location}; it is still running`, { retryable: true });
      const retryAfter = Number(current.headers.get("retry-after") ?? "2");
      const waitMs = Math.min(Math.max(Number.isFinite(retryAfter) ? retryAfter * 1000 : 2000, 250), this.io.maxPollIntervalMs ?? 5000);
      await sleep(waitMs);
      current = await this.call("GET", location);
    }
  }

  /** POST (or PUT) that may answer 202 + Location: waits for the operation. */
  async start(path: string, body: unknown, method: "POST" | "PUT" = "POST"): Promise<unknown> {
    const res = await this.call(method, path, body);
    const location = res.headers.get("location");
    if (res.status === 202 && location) {
      this.io.progress("operation", `started ${location}`);
      return this.waitFor(location, await this.call("GET", location));
    }
    const view = res.body as { status?: string; output?: unknown } | undefined;
    return view && view.status === "Completed" && "output" in view ? view.output : res.body;
  }
}

function keyOptionsBody(values: EndpointValues): Record<string, unknown> {
  if (values.exportable && values["no-exportable"]) throw usage("--exportable and --no-exportable exclude each other");
  const body: Record<string, unknown> = {};
  if (values["key-type"] !== undefined) body.keyType = values["key-type"];
  if (values.exportable) body.exportable = true;
  if (values["no-exportable"]) body.exportable = false;
  if (values["reuse-key"]) body.reuseKey = true;
  if (values["content-type"] !== undefined) body.contentType = values["content-type"];
  if (values.adopt) body.adopt = true;
  return body;
}

function dnsNames(values: EndpointValues): string[] {
  return (values["dns-names"] ?? [])
    .flatMap((n) => n.split(","))
    .map((n) => n.trim())
    .filter((n) => n !== "");
}

function oneName(positionals: string[], what: string): string {
  const name = positionals[0];
  if (!name) throw usage(`${what} needs a certificate name`);
  if (positionals.length > 1) throw usage(`unexpected arguments: ${positionals.slice(1).join(" ")}`);
  return name;
}

/** `?vault=V` of --vault (the server validates it), or nothing. */
function vaultQuery(values: EndpointValues, more = ""): string {
  const q = new URLSearchParams(more);
  if (values.vault !== undefined) q.set("vault", values.vault);
  const text = q.toString();
  return text === "" ? "" : `?${text}`;
}

/** The route of the certificate `raw` names (`{vault}/{name}` or `{name}` with --vault): `certificates/N<suffix>?vault=V`. */
function certificateRoute(raw: string, values: EndpointValues, suffix = ""): string {
  const { vault, name } = parseAddress(raw);
  if (vault !== undefined && values.vault !== undefined && vault !== values.vault.toLowerCase())
    throw usage(`"${raw}" names vault ${vault}, --vault names ${values.vault}`);
  const v = vault ?? values.vault;
  return `certificates/${encodeURIComponent(name)}${suffix}${v === undefined ? "" : `?vault=${encodeURIComponent(v)}`}`;
}

function summaryText(result: unknown): string {
  if (typeof result !== "object" || result === null) return `${String(result)}\n`;
  const lines = Object.entries(result as Record<string, unknown>)
    .filter(([k, v]) => k !== "csr" && k !== "csrPem" && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
  const csr = (result as { csrPem?: unknown }).csrPem;
  return `${lines.join("\n")}\n${typeof csr === "string" ? `\n${csr}` : ""}`;
}

interface ListedCertificate {
  name: string;
  vault?: string;
  expiresOn?: string;
  pending: boolean;
  enabled: boolean;
  managedBy: string;
  lastOperation?: { status: string };
}

function listText(items: ListedCertificate[], defaultVault: string | undefined): string {
  if (items.length === 0) return "no certificates\n";
  return (
    items
      .map(
        (r) =>
          `${(r.vault === undefined || r.vault === defaultVault ? r.name : `${r.vault}/${r.name}`).padEnd(40)} ${(r.pending ? "pending" : (r.expiresOn ?? "")).padEnd(24)} ${r.managedBy}${r.enabled ? "" : " disabled"}${r.lastOperation ? ` last:${r.lastOperation.status}` : ""}`,
      )
      .join("\n") + "\n"
  );
}

/** Runs one CLI command against the HTTP API. */
export async function runEndpointCommand(
  command: string,
  positionals: string[],
  values: EndpointValues,
  io: EndpointIo,
): Promise<EndpointResult> {
  const api = new ApiClient(values, io);
  const done = (result: unknown): EndpointResult => ({ result, text: summaryText(result) });
  switch (command) {
    case "issue": {
      if (positionals.length > 0) throw usage(`unexpected arguments: ${positionals.join(" ")}`);
      const names = dnsNames(values);
      if (names.length === 0) throw usage("issue needs --dns-names (comma-separated)");
      return done(
        await api.start("certificates", {
          dnsNames: names,
          ...(values.name !== undefined ? { certificateName: values.name } : {}),
          ...(values["dns-alias"] !== undefined ? { dnsAlias: values["dns-alias"] } : {}),
          ...(values.vault !== undefined ? { vault: values.vault } : {}),
          ...(values["issuer-pins"] !== undefined ? { issuerPins: pinList(values["issuer-pins"]) } : {}),
          ...controlsFrom(values),
          ...keyOptionsBody(values),
        }),
      );
    }
    case "issuer-pins": {
      const { action, name, pins } = issuerPinsArgs(positionals);
      const route = certificateRoute(name, values, "/issuer-pins");
      if (action === "show") return done((await api.call("GET", route)).body);
      return done((await api.call("PUT", route, { issuerPins: action === "clear" ? [] : pins })).body);
    }
    case "doctor": {
      if (positionals.length > 0) throw usage(`unexpected arguments: ${positionals.join(" ")}`);
      const res = await api.call("GET", `health${values.ping ? "?ping=true" : ""}`, undefined, [503]);
      const report = res.body as { ok: boolean; checks: CheckResult[] };
      return { result: report, text: renderChecklist(report.checks), exitCode: report.ok ? 0 : 1 };
    }
    case "fleet": {
      if (positionals.length > 1) throw usage(`unexpected arguments: ${positionals.slice(1).join(" ")}`);
      const all = await allFleetPages(async (p) => (await api.call("GET", p)).body as FleetPage<FleetResult["hosts"][number]>);
      const result = narrowFleet({ generatedAt: all.generatedAt ?? "", staleHosts: all.staleHosts, hosts: all.hosts }, positionals[0]);
      return { result, text: fleetText(result) };
    }
    case "list": {
      const res = await api.call("GET", `certificates${vaultQuery(values, values.all ? "" : "managed=true")}`);
      const body = res.body as { certificates?: ListedCertificate[]; defaultVault?: string };
      const items = body.certificates ?? [];
      return { result: items, text: listText(items, body.defaultVault) };
    }
    case "renewals": {
      if (positionals.length > 0) throw usage(`unexpected arguments: ${positionals.join(" ")}`);
      const res = await api.call(
        "GET",
        `renewals${vaultQuery(values, values.name === undefined ? "" : `name=${encodeURIComponent(values.name)}`)}`,
      );
      const schedule = res.body as RenewalSchedule;
      return { result: schedule, text: renewalsText(schedule) };
    }
    case "renew": {
      if (values["all-due"] || values["dry-run"])
        throw usage(
          "renew --all-due / --dry-run are not available with --endpoint (the app's timer renews what is due); use renew --name N",
        );
      const name = values.name ?? positionals[0];
      if (!name) throw usage("renew needs --name N");
      return done(await api.start(certificateRoute(name, values, "/renew"), {}));
    }
    case "names": {
      const name = oneName(positionals, "names");
      const names = dnsNames(values);
      if (names.length === 0) throw usage("names needs --dns-names (comma-separated)");
      return done(await api.start(certificateRoute(name, values, "/names"), { dnsNames: names }, "PUT"));
    }
    case "revoke": {
      const name = oneName(positionals, "revoke");
      return done(
        await api.start(certificateRoute(name, values, "/revoke"), {
          ...(values.reason !== undefined ? { reason: values.reason } : {}),
          disable: values.disable ?? false,
        }),
      );
    }
    case "pending": {
      const [action, ...rest] = positionals;
      const name = oneName(rest, `pending ${action ?? ""}`.trim());
      switch (action) {
        case "show":
          return done((await api.call("GET", certificateRoute(name, values, "/pending"))).body);
        case "cancel":
          return done((await api.call("POST", certificateRoute(name, values, "/pending/cancel"))).body);
        case "delete":
          return done((await api.call("DELETE", certificateRoute(name, values, "/pending"))).body);
        case "merge": {
          if (!values.chain) throw usage("pending merge needs --chain chain.pem");
          let chainPem: string;
          try {
            chainPem = await io.readFile(values.chain);
          } catch (err) {
            throw usage(`cannot read ${values.chain}: ${errorMessage(err)}`);
          }
          return done((await api.call("POST", certificateRoute(name, values, "/pending/merge"), { chainPem })).body);
        }
        case "create": {
          const names = dnsNames(values);
          if (names.length === 0) throw usage("pending create needs --dns-names");
          return done(
            (await api.call("POST", certificateRoute(name, values, "/pending"), { dnsNames: names, ...keyOptionsBody(values) })).body,
          );
        }
        default:
          throw usage(`unknown pending action "${action ?? ""}"; use show, cancel, delete, merge or create`);
      }
    }
    default:
      throw usage(`unknown command "${command}"`);
  }
}
