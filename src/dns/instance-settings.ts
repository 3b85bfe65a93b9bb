/**
 * Setting shapes several DNS provider types declare (./provider.ts DnsProviderType.settings), written once: each is
 * read as `KvAcme__Dns__<instance>__<Key>` only, and documented by its own doc line.
 */
import { InvalidSetting, setting, type DefaultedSetting, type RequiredSetting } from "../config/descriptor";
import { intIn, parseServiceUrl } from "../config/parsers";

/** The key of one instance's setting, e.g. `Dns__<n>__ApiUrl`. */
function instanceKey(key: string): { key: string; aliases: [] } {
  return { key: `Dns__<n>__${key}`, aliases: [] };
}

/** An API base URL (https, or http on loopback), kept without its trailing slash. */
export function apiUrlSetting(d: { key?: string; field?: string; doc: string; default: string }): DefaultedSetting<string>;
export function apiUrlSetting(d: { key?: string; field?: string; doc: string; required: true }): RequiredSetting<string>;
export function apiUrlSetting(d: { key?: string; field?: string; doc: string; default?: string; required?: true }) {
  return setting({
    ...instanceKey(d.key ?? "ApiUrl"),
    field: d.field ?? "apiUrl",
    type: "URL",
    ...(d.default !== undefined ? { default: d.default } : { required: true as const }),
    doc: d.doc,
    parse: (raw: string) => parseServiceUrl(raw).href.replace(/\/+$/, ""),
  });
}

/** How long to wait for one call to the provider's server, in seconds (1–60, default 10). */
export function timeoutSecondsSetting(doc: string): DefaultedSetting<number> {
  return setting({
    ...instanceKey("TimeoutSeconds"),
    field: "timeoutSeconds",
    type: "integer 1–60",
    default: 10,
    doc,
    parse: intIn(1, 60),
  });
}

/** A required secret holding a JSON document, read by `parse` (its errors become the setting's problem). */
export function jsonSecretSetting<T>(d: { key: string; field: string; doc: string; parse: (raw: string) => T }): RequiredSetting<T> {
  return setting({
    ...instanceKey(d.key),
    field: d.field,
    type: "JSON",
    required: true as const,
    secret: true,
    doc: d.doc,
    parse: (raw: string) => {
      try {
        return d.parse(raw);
      } catch (err) {
        throw new InvalidSetting((err as Error).message);
      }
    },
  });
}
