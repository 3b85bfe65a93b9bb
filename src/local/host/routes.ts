/** Route templates of HTTP functions: `{param}`, `{param?}`, `{param:constraint}`, `{*rest}`. */

interface Segment {
  literal?: string;
  param?: string;
  optional?: boolean;
  catchAll?: boolean;
  constraint?: (v: string) => boolean;
}

/** A compiled route template. */
export interface CompiledRoute {
  template: string;
  segments: Segment[];
  /** Literal segment count, used to prefer specific routes over parameterised ones. */
  specificity: number;
}

const CONSTRAINTS: Record<string, (arg: string | undefined) => (v: string) => boolean> = {
  alpha: () => (v) => /^[a-z]+$/i.test(v),
  int: () => (v) => /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) && Math.abs(Number(v)) <= 2 ** 31,
  long: () => (v) => /^-?\d+$/.test(v),
  bool: () => (v) => /^(true|false)$/i.test(v),
  guid: () => (v) => /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i.test(v),
  double: () => (v) => v.trim() !== "" && Number.isFinite(Number(v)),
  datetime: () => (v) => !Number.isNaN(Date.parse(v)),
  minlength: (a) => (v) => v.length >= Number(a),
  maxlength: (a) => (v) => v.length <= Number(a),
  length: (a) => {
    const [min, max] = String(a).split(",").map(Number);
    return (v) => (max === undefined ? v.length === min : v.length >= min && v.length <= max);
  },
  min: (a) => (v) => Number(v) >= Number(a),
  max: (a) => (v) => Number(v) <= Number(a),
  regex: (a) => {
    const re = new RegExp(String(a), "i");
    return (v) => re.test(v);
  },
};

/** Compiles a template such as `certificates/{name:alpha}/renew` or `items/{id?}`. */
export function compileRoute(template: string): CompiledRoute {
  const parts = template
    .replace(/^\/+|\/+$/g, "")
    .split("/")
    .filter((p) => p !== "");
  const segments: Segment[] = parts.map((part) => {
    const m = /^\{(\*)?([A-Za-z_][\w]*)((?::[^:?}]+(?:\([^)]*\))?)*)(\?)?\}$/.exec(part);
    if (!m) {
      if (/[{}]/.test(part)) throw new Error(`Unsupported route segment '${part}' in '${template}'.`);
      return { literal: part.toLowerCase() };
    }
    const checks: ((v: string) => boolean)[] = [];
    for (const c of m[3].split(":").filter(Boolean)) {
      const cm = /^(\w+)(?:\((.*)\))?$/.exec(c);
      const factory = cm && CONSTRAINTS[cm[1].toLowerCase()];
      if (!factory) throw new Error(`Unsupported route constraint '${c}' in '${template}'.`);
      checks.push(factory(cm[2]));
    }
    return {
      param: m[2],
      catchAll: !!m[1],
      optional: !!m[4] || !!m[1],
      constraint: checks.length ? (v) => checks.every((f) => f(v)) : undefined,
    };
  });
  return { template, segments, specificity: segments.filter((s) => s.literal !== undefined).length };
}

/** Matches a request path (without the route prefix) against a route; returns params or undefined. */
export function matchRoute(route: CompiledRoute, path: string): Record<string, string> | undefined {
  const parts = path
    .replace(/^\/+|\/+$/g, "")
    .split("/")
    .filter((p) => p !== "");
  const params: Record<string, string> = {};
  let i = 0;
  for (const seg of route.segments) {
    if (seg.catchAll) {
      const rest = parts.slice(i).map(decodeURIComponent).join("/");
      if (rest) params[seg.param!] = rest;
      i = parts.length;
      continue;
    }
    const part = parts[i];
    if (part === undefined) {
      if (seg.optional) continue;
      return undefined;
    }
    if (seg.literal !== undefined) {
      if (part.toLowerCase() !== seg.literal) return undefined;
    } else {
      let value: string;
      try {
        value = decodeURIComponent(part);
      } catch {
        return undefined;
      }
      if (seg.constraint && !seg.constraint(value)) return undefined;
      params[seg.param!] = value;
    }
    i++;
  }
  return i === parts.length ? params : undefined;
}
