/**
 * What a certificate asks of its ACME order beyond its names, per app (settings) and per certificate (the issue
 * request, kept in tags across renewals):
 *   - preferred chain: among the chains the CA offers for the certificate (the default one and each
 *     `Link: rel="alternate"`, RFC 8555 §7.4.2), the one whose issuer name matches (./chains.ts);
 *   - ACME profile (draft-ietf-acme-profiles): one of the directory's `meta.profiles`, sent as newOrder `profile`;
 *     a profile the CA does not offer is refused before anything is written;
 *   - CAA pre-flight (RFC 8659): whether to check CAA before ordering (src/dns/caa.ts).
 * The per-certificate value wins over the app's; both are validated by the same parsers.
 */
import { InvalidSetting, setting, type SettingsSection } from "../config/descriptor";
import { parseBool } from "../config/parsers";
import { ValidationError } from "../shared/errors";

/** The app-wide order options (a SettingsSection, rendered into docs/settings.md). */
export interface OrderSettings {
  /** Issuer common name of the preferred chain; undefined: the CA's default chain. */
  preferredChain?: string;
  /** ACME profile of every order; undefined: none sent (the CA picks its default). */
  acmeProfile?: string;
  /** Check CAA at the authoritative servers before ordering. */
  caaCheck: boolean;
}

/** Longest issuer common name matched (X.520 ub-common-name). */
export const MAX_PREFERRED_CHAIN_LENGTH = 64;
/** Profile names: letters, digits, `.`, `_`, `-` (Let's Encrypt's `classic`, `tlsserver`, `shortlived`), at most 64. */
const PROFILE_FORM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A preferred chain's issuer name: trimmed, 1-64 printable characters. Throws a message on bad input. */
export function checkPreferredChain(raw: string): string {
  const value = raw.trim();
  if (value === "") throw new Error("is empty");
  if (value.length > MAX_PREFERRED_CHAIN_LENGTH) throw new Error(`is longer than ${MAX_PREFERRED_CHAIN_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new Error("contains control characters");
  return value;
}

/** An ACME profile name (letters, digits, `.`, `_`, `-`; at most 64). Throws a message on bad input. */
export function checkProfileName(raw: string): string {
  const value = raw.trim();
  if (!PROFILE_FORM.test(value)) throw new Error(`"${value.slice(0, 70)}" is not a profile name (letters, digits, . _ -; at most 64)`);
  return value;
}

function asSetting(check: (raw: string) => string): (raw: string) => string {
  return (raw) => {
    try {
      return check(raw);
    } catch (err) {
      throw new InvalidSetting((err as Error).message);
    }
  };
}

/** A request field checked with one of the checks above: a 400 naming the field. */
export function requestField(field: string, value: string | undefined, check: (raw: string) => string): string | undefined {
  if (value === undefined) return undefined;
  try {
    return check(value);
  } catch (err) {
    throw new ValidationError((err as Error).message, field);
  }
}

export const ORDER_SETTINGS_DESCRIPTORS = {
  preferredChain: setting({
    key: "PreferredChain",
    aliases: ["Acmebot__PreferredChain"],
    field: "order.preferredChain",
    type: "issuer common name",
    defaultDoc: "(the CA's default chain)",
    doc: 'Of the chains the CA offers (its default and each `Link: rel="alternate"`), take the one with a certificate issued by this common name, the match nearest the root winning (as certbot and acme-client choose); none matching: the default chain. A certificate\'s own `preferredChain` wins.',
    parse: asSetting(checkPreferredChain),
  }),
  acmeProfile: setting({
    key: "AcmeProfile",
    aliases: ["Acmebot__PreferredProfile"],
    field: "order.acmeProfile",
    type: "profile name",
    defaultDoc: "(none: the CA's default profile)",
    doc: "ACME profile of every order (draft-ietf-acme-profiles: one of the directory's `meta.profiles`, e.g. Let's Encrypt's `classic`, `tlsserver`, `shortlived`), sent as newOrder `profile`. A profile the CA does not offer fails the issue with a 400 before anything is written. A certificate's own `profile` wins.",
    parse: asSetting(checkProfileName),
  }),
  caaCheck: setting({
    key: "CaaCheck",
    aliases: [],
    field: "order.caaCheck",
    type: "boolean",
    default: true,
    doc: "Before ordering, read CAA for every name at the authoritative servers (RFC 8659: tree climbing, CNAMEs followed); when the CA's `meta.caaIdentities` may not issue, the issue fails with a 400 naming the record, before anything is written. A CA that publishes no caaIdentities is not checked.",
    parse: parseBool,
  }),
} as const;

export const ORDER_SETTINGS: SettingsSection<OrderSettings> = {
  title: "ACME orders",
  intro:
    "What every order asks of the CA besides its names; a certificate's own `preferredChain` and `profile` (issue request) win and are kept across renewals. docs/certificates.md.",
  settings: ORDER_SETTINGS_DESCRIPTORS,
  build(r) {
    const preferredChain = r.get(ORDER_SETTINGS_DESCRIPTORS.preferredChain);
    const acmeProfile = r.get(ORDER_SETTINGS_DESCRIPTORS.acmeProfile);
    return {
      ...(preferredChain !== undefined ? { preferredChain } : {}),
      ...(acmeProfile !== undefined ? { acmeProfile } : {}),
      caaCheck: r.get(ORDER_SETTINGS_DESCRIPTORS.caaCheck),
    };
  },
};

/** A certificate's own choices (the request, or the tags a renewal reads). */
export interface CertificateOrderOptions {
  preferredChain?: string;
  profile?: string;
}

/** What an order of this certificate uses: its own choice, else the app's. */
export function effectiveOrderOptions(own: CertificateOrderOptions, app: OrderSettings): CertificateOrderOptions {
  const preferredChain = own.preferredChain !== undefined ? own.preferredChain : app.preferredChain;
  const profile = own.profile !== undefined ? own.profile : app.acmeProfile;
  return { ...(preferredChain !== undefined ? { preferredChain } : {}), ...(profile !== undefined ? { profile } : {}) };
}

/**
 * Refuses a profile the directory does not offer (400, before anything is written). A directory without
 * `meta.profiles` offers none, so asking for one is refused too: the CA would ignore or refuse it.
 */
export function assertProfileOffered(profile: string | undefined, offered: Record<string, string> | undefined, directoryUrl: string): void {
  if (profile === undefined) return;
  const names = Object.keys(offered ?? {});
  if (names.includes(profile)) return;
  const what = names.length === 0 ? "offers no profiles (no meta.profiles in its directory)" : `offers ${names.join(", ")}`;
  throw new ValidationError(`the CA ${directoryUrl} does not offer the ACME profile "${profile}": it ${what}`, "profile");
}
