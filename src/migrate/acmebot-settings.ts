/**
 * The settings side of `kv-acme migrate --from-acmebot`: reading an Acmebot Function App's app settings (the JSON
 * `az functionapp config appsettings list` prints, a local.settings.json, or `NAME=value` lines) and saying, for
 * each Acmebot name, what kv-acme reads it as, or why it does not carry over. Pure: the mapping comes from the
 * setting descriptors (their `Acmebot__*` aliases) and the DNS table (src/dns/acmebot-names.ts), never from a
 * second list; values are never shown (they hold credentials).
 */
import { everySettingDescriptor, PREFIX, type SettingDescriptor } from "../config/settings";
import { ACMEBOT_DNS_NOT_CARRIED, ACMEBOT_DNS_ROWS } from "../dns/acmebot-names";
import type { FieldProblem } from "../shared/errors";
import { ValidationError } from "../shared/errors";

/** Acmebot settings kv-acme has no setting for, and what to do instead. */
const NOT_READ: Readonly<Record<string, string>> = {
  requireapproles: "kv-acme's API always checks app roles (KvAcme.Read, KvAcme.Issue, KvAcme.Revoke: docs/security.md)",
};

/** Reads app settings from a file's text: `[{name, value}]` (az CLI), `{Values: {...}}` (local.settings.json), `{...}`, or `NAME=value` lines. */
export function parseSettingsFile(text: string, file: string): Record<string, string> {
  const trimmed = text.trim();
  const bad = (why: string) => new ValidationError([{ field: "--settings", message: `${file}: ${why}` }]);
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw bad(`not JSON (${(err as Error).message})`);
    }
    if (Array.isArray(parsed)) {
      const out: Record<string, string> = {};
      for (const entry of parsed as { name?: unknown; value?: unknown }[]) {
        if (typeof entry?.name !== "string")
          throw bad("an entry of the array has no name (expected az functionapp config appsettings list --output json)");
        if (entry.value !== null && entry.value !== undefined) out[entry.name] = String(entry.value);
      }
      return out;
    }
    const obj = parsed as Record<string, unknown>;
    const values = typeof obj.Values === "object" && obj.Values !== null ? (obj.Values as Record<string, unknown>) : obj;
    return Object.fromEntries(
      Object.entries(values).flatMap(([k, v]) =>
        typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? [[k, String(v)]] : [],
      ),
    );
  }
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_:.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw bad(`line ${i + 1} is not NAME=value`);
    out[m[1] as string] = (m[2] as string).replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
  }
  return out;
}

/** What becomes of one setting. */
export interface SettingMapping {
  name: string;
  /** maps: kv-acme reads it; ignored: read, no effect; not-carried: a start-up problem or not read at all. */
  status: "maps" | "ignored" | "not-carried";
  /** The kv-acme setting (or settings field) it configures. */
  to?: string;
  note?: string;
}

function norm(name: string): string {
  return name.replace(/:/g, "__").toLowerCase();
}

function targetOf(d: SettingDescriptor<unknown>): string {
  return d.key !== undefined ? `${PREFIX}__${d.key}` : d.field;
}

/**
 * Each Acmebot setting of `source` (names only) and what kv-acme makes of it, given the problems loading them
 * reported (`problems`, by setting name). Also the platform settings kv-acme reads (APPLICATIONINSIGHTS_*, WEBSITE_*).
 */
export function mapAcmebotSettings(source: Record<string, string | undefined>, problems: readonly FieldProblem[]): SettingMapping[] {
  const byAlias = new Map<string, { d: SettingDescriptor<unknown>; note?: string }>();
  for (const d of everySettingDescriptor())
    for (const a of d.aliases) {
      const name = typeof a === "string" ? a : a.name;
      if (!byAlias.has(norm(name))) byAlias.set(norm(name), { d, ...(typeof a !== "string" && a.note ? { note: a.note } : {}) });
    }
  const problemOf = new Map(problems.map((p) => [norm(p.field), p.message]));
  const rows: SettingMapping[] = [];
  for (const name of Object.keys(source).sort()) {
    if (source[name] === undefined || source[name]?.trim() === "") continue;
    const key = norm(name);
    const problem = problemOf.get(key);
    const hit = byAlias.get(key);
    if (problem) rows.push({ name, status: "not-carried", note: problem });
    else if (hit) rows.push({ name, status: "maps", to: targetOf(hit.d), ...(hit.note ? { note: hit.note } : {}) });
    else if (key.startsWith("acmebot__")) rows.push(acmebotOnly(name, key));
  }
  return rows;
}

/** An Acmebot name no descriptor aliases: acme-dns zones, ignored DNS keys, settings kv-acme has no counterpart for. */
function acmebotOnly(name: string, key: string): SettingMapping {
  const [, section = "", rest = ""] = /^acmebot__([^_]+(?:_[^_]+)*)__(.+)$/.exec(key) ?? [];
  const row = ACMEBOT_DNS_ROWS.find((r) => r.section.toLowerCase() === section);
  if (row?.derived && /^zones__\d+__(name|subdomain|username|password)$/.test(rest))
    return { name, status: "maps", to: `${PREFIX}__Dns__${row.instance}__${row.derived.key}`, note: "one account per zone index" };
  if (row?.ignored?.some((i) => i.toLowerCase() === rest))
    return {
      name,
      status: "ignored",
      note: `kv-acme's ${row.type} provider has no use for it (it checks propagation at the zone's name servers)`,
    };
  const notCarried = Object.entries(ACMEBOT_DNS_NOT_CARRIED).find(([s]) => s.toLowerCase() === section);
  if (notCarried) return { name, status: "not-carried", note: `kv-acme has no ${notCarried[1]} provider` };
  const bare = key.replace(/^acmebot__/, "");
  return { name, status: "not-carried", note: NOT_READ[bare] ?? "kv-acme does not read this name" };
}
