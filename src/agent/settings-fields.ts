/** Field readers shared by the agent's settings parsers (./settings.ts, ./settings-kvacme.ts): pure, each reporting problems by JSON path. */
import { parseBoolean } from "../shared/bool";

export type Platform = "linux" | "windows";

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export type Report = (field: string, message: string) => void;

export function boolField(v: unknown, field: string, dflt: boolean, p: Report): boolean {
  if (v === undefined) return dflt;
  const b = parseBoolean(v, "strict");
  if (b !== undefined) return b;
  p(field, "must be true or false");
  return dflt;
}

export function optString(v: unknown, field: string, p: Report): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.trim() === "") {
    p(field, "must be a non-empty string");
    return undefined;
  }
  return v.trim();
}

export function optStringArray(v: unknown, field: string, p: Report): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string" || s.trim() === "")) {
    p(field, "must be an array of non-empty strings");
    return [];
  }
  return v.map((s: string) => s.trim());
}

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}
