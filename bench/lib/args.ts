/**
 * The benchmarks' command-line options, parsed one way for every bench/*.ts that takes flags: `--name value` or
 * `--name=value`, declared with a type, a default and (for whole numbers) a floor. Bad input (an unknown option, a
 * missing value, a number that is not one) throws an Error naming the option and the usage line; the bench stops
 * with it and a non-zero exit. Built on node:util's parseArgs, which tokenizes.
 */
import { parseArgs } from "node:util";

/** One option: its type, default and checks. */
export type BenchOption =
  /** A whole number >= 0 (`${name} needs a whole number`); `min` raises smaller values to it. */
  | { type: "count"; default: number; min?: number }
  /** Any number (NaN refused); undefined when absent and no default. */
  | { type: "number"; default?: number }
  /** A string; `choices` (compared lower-cased when `lower`) restrict it. */
  | { type: "string"; default?: string; choices?: readonly string[]; lower?: boolean }
  /** A comma-separated list (entries trimmed, empty ones dropped); undefined when absent and no default. */
  | { type: "list"; default?: readonly string[] }
  /** Present or not. */
  | { type: "flag"; short?: string };

type ValueOf<O extends BenchOption> = O extends { type: "flag" }
  ? boolean
  : O extends { type: "count" }
    ? number
    : O extends { type: "number" }
      ? O extends { default: number }
        ? number
        : number | undefined
      : O extends { type: "list" }
        ? O extends { default: readonly string[] }
          ? string[]
          : string[] | undefined
        : O extends { default: string }
          ? string
          : string | undefined;

export type BenchArgs<S extends Record<string, BenchOption>> = { [K in keyof S]: ValueOf<S[K]> };

/** Parses `argv` (process.argv.slice(2)) against `spec`; `usage` is appended to every error. */
export function parseBenchArgs<S extends Record<string, BenchOption>>(argv: readonly string[], spec: S, usage: string): BenchArgs<S> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, o] of Object.entries(spec)) {
    options[name] = o.type === "flag" ? { type: "boolean", ...(o.short ? { short: o.short } : {}) } : { type: "string" };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(spec)) {
    const raw = values[name];
    const flag = `--${name}`;
    switch (o.type) {
      case "flag":
        out[name] = raw === true;
        break;
      case "count": {
        if (raw === undefined) {
          out[name] = o.default;
          break;
        }
        const v = Number(raw);
        if (String(raw).trim() === "" || !Number.isInteger(v) || v < 0) throw new Error(`${flag} needs a whole number\n${usage}`);
        out[name] = Math.max(o.min ?? 0, v);
        break;
      }
      case "number": {
        if (raw === undefined) {
          out[name] = o.default;
          break;
        }
        const v = Number(raw);
        if (String(raw).trim() === "" || Number.isNaN(v)) throw new Error(`${flag} needs a number\n${usage}`);
        out[name] = v;
        break;
      }
      case "list":
        out[name] =
          raw === undefined
            ? o.default && [...o.default]
            : String(raw)
                .split(",")
                .map((s) => s.trim())
                .filter(Boolean);
        break;
      case "string": {
        if (raw === undefined) {
          out[name] = o.default;
          break;
        }
        const v = o.lower ? String(raw).toLowerCase() : String(raw);
        if (o.choices && !o.choices.includes(v)) throw new Error(`${flag}: unknown value ${v} (known: ${o.choices.join(", ")})\n${usage}`);
        out[name] = v;
        break;
      }
    }
  }
  return out as BenchArgs<S>;
}
