/** URL helpers for messages and reports: webhook and endpoint URLs carry tokens in their path or query. */

/** Scheme, host and port of a URL, never its path, query or fragment; undefined when `raw` is not an absolute URL. */
export function urlOrigin(raw: string): string | undefined {
  try {
    const origin = new URL(raw).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * How a URL appears in an error message: scheme, host and port only, plus "/…" when there was more. Errors end up in
 * logs, so a message never repeats more than the origin.
 */
export function describeUrlForError(raw: string): string {
  const origin = urlOrigin(raw);
  if (origin === undefined) return `a value of ${raw.length} characters`;
  const url = new URL(raw);
  const rest = `${url.pathname}${url.search}${url.hash}`;
  return rest === "/" || rest === "" ? `"${origin}"` : `"${origin}/…"`;
}
