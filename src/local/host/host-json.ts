/**
 * The parts of host.json the Functions host and the Durable extension act on, read as Azure reads them:
 * `extensions.durableTask.hubName`, `extensions.http.routePrefix`, `functionTimeout` and
 * `extensions.durableTask.overridableExistingInstanceStates`. Bad values fail the host start, as they fail it on Azure.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** What the local host takes from host.json. */
export interface HostJson {
  /** Task hub name reported to durable clients. */
  hubName: string;
  /** Prefix of HTTP function routes, without slashes ("" serves them at the root). */
  routePrefix: string;
  /** Longest a function invocation may run; undefined = no limit ("-1" or absent). */
  functionTimeoutMs: number | undefined;
  /** Whether starting an instance id that is running replaces it ("AnyState") or is refused ("NonRunningStates"). */
  overridableExistingInstanceStates: "NonRunningStates" | "AnyState";
  /** The file read, when there was one. */
  file?: string;
}

/** Defaults of the Functions host and Durable extension v2+ when host.json leaves a value out. */
export const HOST_JSON_DEFAULTS: HostJson = {
  hubName: "TestHubName",
  routePrefix: "api",
  functionTimeoutMs: undefined,
  overridableExistingInstanceStates: "NonRunningStates",
};

/** Parses a TimeSpan as host.json writes it: "hh:mm:ss", "d.hh:mm:ss", optional fraction; "-1" = unlimited. */
export function parseTimeSpan(text: string): number | undefined {
  if (text.trim() === "-1") return undefined;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(text.trim());
  if (!m) throw new Error(`host.json: functionTimeout '${text}' is not a TimeSpan (hh:mm:ss or d.hh:mm:ss, or -1).`);
  const [, d, h, min, s, frac] = m;
  const ms = (((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60 + Number(s)) * 1000 + Math.round(Number(`0.${frac ?? 0}`) * 1000);
  if (ms <= 0) throw new Error(`host.json: functionTimeout '${text}' must be positive.`);
  return ms;
}

/** Reads and validates host.json content. */
export function parseHostJson(content: unknown, file?: string): HostJson {
  const root = (content ?? {}) as {
    functionTimeout?: unknown;
    extensions?: { durableTask?: { hubName?: unknown; overridableExistingInstanceStates?: unknown }; http?: { routePrefix?: unknown } };
  };
  const out: HostJson = { ...HOST_JSON_DEFAULTS, file };
  const durable = root.extensions?.durableTask ?? {};
  if (durable.hubName !== undefined) {
    // Azure Storage task hubs: 3-45 characters, a letter first, letters and digits only.
    if (typeof durable.hubName !== "string" || !/^[A-Za-z][A-Za-z0-9]{2,44}$/.test(durable.hubName))
      throw new Error(`host.json: extensions.durableTask.hubName must be 3-45 letters or digits starting with a letter.`);
    out.hubName = durable.hubName;
  }
  const states = durable.overridableExistingInstanceStates;
  if (states !== undefined) {
    const v = String(states);
    if (!/^(NonRunningStates|AnyState)$/i.test(v))
      throw new Error(`host.json: extensions.durableTask.overridableExistingInstanceStates must be NonRunningStates or AnyState.`);
    out.overridableExistingInstanceStates = /^AnyState$/i.test(v) ? "AnyState" : "NonRunningStates";
  }
  const prefix = root.extensions?.http?.routePrefix;
  if (prefix !== undefined) {
    if (typeof prefix !== "string") throw new Error(`host.json: extensions.http.routePrefix must be a string.`);
    out.routePrefix = prefix.replace(/^\/+|\/+$/g, "");
  }
  if (root.functionTimeout !== undefined) out.functionTimeoutMs = parseTimeSpan(String(root.functionTimeout));
  return out;
}

/** Finds host.json in `dir` or the nearest parent and reads it; the defaults when there is none. */
export function loadHostJson(dir: string): HostJson {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const file = path.join(d, "host.json");
    if (existsSync(file)) {
      let content: unknown;
      try {
        content = JSON.parse(readFileSync(file, "utf8"));
      } catch (err) {
        throw new Error(`host.json at ${file} is not valid JSON: ${(err as Error).message}`);
      }
      return parseHostJson(content, file);
    }
    if (path.dirname(d) === d) return { ...HOST_JSON_DEFAULTS };
  }
}

/** A TimeSpan for messages, as the host prints it (hh:mm:ss). */
export function formatTimeSpan(ms: number): string {
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}
