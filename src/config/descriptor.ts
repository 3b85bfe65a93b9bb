/**
 * What a setting is: its names, its parser, its typed default and its documentation. The core settings
 * (./descriptors.ts) and any module that owns settings of its own (a DNS provider, say) declare descriptors with
 * `setting()`, group them in a `SettingsSection` with the function that builds their typed value, and the loader
 * (./load.ts) reads them; the same descriptors render docs/settings.md (./doc.ts). A default is written once, here:
 * code that receives loaded settings never falls back to a value of its own.
 */

/** A parser failure: the message says what is wrong with the value (the loader adds the setting's name). */
export class InvalidSetting extends Error {}

export type Parser<T> = (raw: string) => T;

export interface AliasSpec<T> {
  name: string;
  /** A different parser for values in the alias's own format. */
  parse?: Parser<T>;
  note?: string;
}

/** One setting: where it is read from, how it is parsed, its default, and how it is documented. */
export interface SettingDescriptor<T = unknown> {
  /** Key under the KvAcme prefix (env `KvAcme__<key>`, `__` for nesting, `<n>` for an index); undefined for platform-only settings. */
  key?: string;
  /** Other accepted names, in order of precedence after the kv-acme name. */
  aliases: (string | AliasSpec<T>)[];
  /** Path in the settings object, for the docs. */
  field: string;
  type: string;
  /** The value when the setting is unset: the one place this default is written. */
  default?: T;
  /** How the docs show the default when the value alone does not say it ("(none)", "(sniffed from the URL host)"). */
  defaultDoc?: string;
  required?: boolean;
  /** A credential: never logged, redacted when settings are shown. */
  secret?: boolean;
  doc: string;
  parse: Parser<T>;
}

/** A descriptor with a typed default: reading it always yields a value. */
export interface DefaultedSetting<T> extends SettingDescriptor<T> {
  default: T;
}

/** A descriptor that must be set: reading it yields `T` once the loader has checked it is there. */
export interface RequiredSetting<T> extends SettingDescriptor<T> {
  required: true;
}

/** The prefix of kv-acme's own setting names. */
export const PREFIX = "KvAcme";

/** Every name a setting is read from, in order of precedence (`<n>` replaced by index). */
export function envNamesOf(d: SettingDescriptor<unknown>, index?: number | string): { name: string; parse?: Parser<unknown> }[] {
  const out: { name: string; parse?: Parser<unknown> }[] = [];
  if (d.key !== undefined) out.push({ name: `${PREFIX}__${index === undefined ? d.key : d.key.replace("<n>", String(index))}` });
  for (const a of d.aliases) out.push(typeof a === "string" ? { name: a } : { name: a.name, parse: a.parse });
  return out;
}

/** Declares a setting; with a `default` or `required: true`, a section of them yields `T`, otherwise `T | undefined`. */
export function setting<T>(d: DefaultedSetting<T>): DefaultedSetting<T>;
export function setting<T>(d: RequiredSetting<T>): RequiredSetting<T>;
export function setting<T>(d: SettingDescriptor<T>): SettingDescriptor<T>;
export function setting<T>(d: SettingDescriptor<T>): SettingDescriptor<T> {
  return d;
}

/** Reads settings for a section's `build`: values parsed (problems collected by the loader), never the raw environment. */
export interface SettingsReader {
  get<T>(d: DefaultedSetting<T>): T;
  get<T>(d: SettingDescriptor<T>): T | undefined;
  /** Whether any name of the setting has a value, valid or not. */
  isSet(d: SettingDescriptor<unknown>): boolean;
  /** The indices n present for a key with `<n>` (like `Webhooks__<n>__Url`), ascending. */
  indices(keyPattern: string): number[];
  /**
   * The names present for `<n>` in a key pattern (like `Dns__<n>__`, for `KvAcme__Dns__bind__Type`): one name segment
   * (no `__`), lower case, sorted.
   */
  names(keyPattern: string): string[];
  /** Every set name under a key prefix (like `Dns__bind__`): the name as written and the rest of the key after the prefix. */
  keysUnder(prefix: string): { name: string; suffix: string }[];
  /** Every set name that starts with a whole name prefix outside the KvAcme names (like `Acmebot__GoDaddy__`), and the rest. */
  namesStartingWith(prefix: string): { name: string; suffix: string }[];
  /** A reader that substitutes n (an index or a name) for `<n>` in keys. */
  at(n: number | string): SettingsReader;
  /** Reports a problem across settings (the field is an env name, like `KvAcme__Eab__HmacKey`). */
  problem(field: string, message: string): void;
}

/**
 * A group of settings owned by one module (a DNS provider declares one in its own file): the descriptors, in
 * documentation order, and the function that builds the module's typed settings from them. The loader collects
 * sections and reports every problem of every section at once; the core never reads a section's fields.
 */
export interface SettingsSection<T> {
  /** Heading in docs/settings.md. */
  title: string;
  /** Markdown paragraph under the heading. */
  intro?: string;
  settings: Readonly<Record<string, SettingDescriptor<unknown>>>;
  build(reader: SettingsReader): T;
}

/** The keys of a descriptor record whose value may be absent (neither a default nor required). */
type OptionalKeys<D> = { [K in keyof D]: D[K] extends DefaultedSetting<unknown> | RequiredSetting<unknown> ? never : K }[keyof D];
type ValueOf<S> = S extends SettingDescriptor<infer T> ? T : never;

/** The typed values of a record of descriptors: one property per descriptor, optional where the setting may be unset. */
export type SectionValues<D> = { [K in Exclude<keyof D, OptionalKeys<D>>]: ValueOf<D[K]> } & { [K in OptionalKeys<D>]?: ValueOf<D[K]> };

/**
 * Reads every descriptor of `descriptors`, in their order, into one object under the same keys: defaults applied, unset
 * optional ones left out. Undefined when a required setting is missing or invalid (the reader has reported it), so a
 * section's `build` never checks its fields by hand.
 */
export function readSettings<D extends Readonly<Record<string, SettingDescriptor<unknown>>>>(
  reader: SettingsReader,
  descriptors: D,
): SectionValues<D> | undefined {
  const out: Record<string, unknown> = {};
  let complete = true;
  for (const [key, d] of Object.entries(descriptors) as [string, SettingDescriptor<unknown>][]) {
    const value = reader.get(d);
    if (value !== undefined) out[key] = value;
    else if (d.required) complete = false;
  }
  return complete ? (out as SectionValues<D>) : undefined;
}
