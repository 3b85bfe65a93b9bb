/**
 * The CA limits a renewal plan respects, configured per ACME directory (a SettingsSection, rendered into
 * docs/settings.md): `KvAcme__CaLimits__<name>__Directory` names the directory, the other keys of that name its limits
 * as `count/window` (`300/3h`, `50/7d`). A configured directory's limits replace the built-in ones (./ca-limits:
 * Let's Encrypt's published defaults); an unset limit is not counted. docs/scale.md.
 */
import { InvalidSetting, PREFIX, setting, type SettingsReader, type SettingsSection } from "../config/descriptor";
import { parseBool, parseDirectory } from "../config/parsers";
import { caLimitsFor, type CaLimits, type WindowLimit } from "./ca-limits";

/** The limits configured for one ACME directory. */
export interface ConfiguredCaLimits {
  /** The instance name (`<name>` of the keys). */
  name: string;
  directoryUrl: string;
  limits: CaLimits;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The longest window a limit may have (the planner looks back this far at most: a CA's weekly limits fit). */
const MAX_WINDOW_MS = 31 * UNITS.d!;

/** `count/window`, the window a number with a unit s, m, h or d (`300/3h`, `50/7d`, `20/10s`). */
export function parseWindowLimit(raw: string): WindowLimit {
  const m = /^\s*(\d{1,7})\s*\/\s*(\d{1,6})\s*([smhd])\s*$/i.exec(raw);
  if (!m) throw new InvalidSetting(`"${raw}" is not count/window (like 300/3h or 50/7d; units s, m, h, d)`);
  const count = Number(m[1]);
  const windowMs = Number(m[2]) * (UNITS[(m[3] as string).toLowerCase()] as number);
  if (count < 1) throw new InvalidSetting(`"${raw}": the count must be at least 1`);
  if (windowMs < 1000 || windowMs > MAX_WINDOW_MS) throw new InvalidSetting(`"${raw}": the window must be from 1s to 31d`);
  return { count, windowMs };
}

const LIMIT_TYPE = "count/window (`300/3h`; s, m, h, d)";
const NOT_LIMITED = "(none: not counted)";

const CA_LIMITS = {
  directory: setting({
    key: "CaLimits__<n>__Directory",
    aliases: [],
    field: "caLimits[].directoryUrl",
    type: "URL or CA short name",
    required: true,
    doc: "The ACME directory these limits are for (a URL or a short name as for `KvAcme__AcmeDirectoryUrl`); `<n>` is any name (letters, digits, hyphens). Renewal runs at that directory use these limits instead of the built-in ones (Let's Encrypt's published defaults; other CAs have none built in).",
    parse: parseDirectory,
  }),
  newOrders: setting({
    key: "CaLimits__<n>__NewOrders",
    aliases: [],
    field: "caLimits[].limits.newOrdersPerAccount",
    type: LIMIT_TYPE,
    defaultDoc: NOT_LIMITED,
    doc: "New orders per ACME account (first issuances and changed names; renewals of the same names are not counted). Let's Encrypt: `300/3h`.",
    parse: parseWindowLimit,
  }),
  certificatesPerDomain: setting({
    key: "CaLimits__<n>__CertificatesPerDomain",
    aliases: [],
    field: "caLimits[].limits.newCertificatesPerRegisteredDomain",
    type: LIMIT_TYPE,
    defaultDoc: NOT_LIMITED,
    doc: "New certificates per registered domain (eTLD+1, Public Suffix List), all accounts. Let's Encrypt: `50/7d`.",
    parse: parseWindowLimit,
  }),
  certificatesPerExactSet: setting({
    key: "CaLimits__<n>__CertificatesPerExactSet",
    aliases: [],
    field: "caLimits[].limits.certificatesPerExactSet",
    type: LIMIT_TYPE,
    defaultDoc: NOT_LIMITED,
    doc: "Certificates for the same set of names, renewals included. Let's Encrypt: `5/7d`.",
    parse: parseWindowLimit,
  }),
  ariRenewalsExempt: setting({
    key: "CaLimits__<n>__AriRenewalsExempt",
    aliases: [],
    field: "caLimits[].limits.ariRenewalsExempt",
    type: "boolean",
    default: false,
    doc: "Whether the CA exempts ARI renewals (`replaces`, inside its suggested window) from these limits, as Let's Encrypt does.",
    parse: parseBool,
  }),
};

const INSTANCE_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export const CA_LIMITS_SETTINGS: SettingsSection<ConfiguredCaLimits[]> = {
  title: "CA limits",
  intro:
    "The limits the renewal planner keeps each CA's orders within, per ACME directory (docs/scale.md). Let's Encrypt's published limits are built in; configure others, such as a CA with contractual limits, as `KvAcme__CaLimits__<name>__*` (for example `KvAcme__CaLimits__zerossl__Directory=zerossl`, `KvAcme__CaLimits__zerossl__NewOrders=100/1h`).",
  settings: CA_LIMITS,
  build(r: SettingsReader): ConfiguredCaLimits[] {
    const out: ConfiguredCaLimits[] = [];
    const known = new Set(Object.values(CA_LIMITS).map((d) => (d.key ?? "").replace(/^CaLimits__<n>__/, "").toLowerCase()));
    for (const name of r.names("CaLimits__<n>__")) {
      const field = `${PREFIX}__CaLimits__${name}__Directory`;
      if (!INSTANCE_NAME.test(name)) {
        r.problem(field, `"${name}" is not a CA limits name (letters, digits and hyphens, at most 32)`);
        continue;
      }
      for (const key of r.keysUnder(`CaLimits__${name}__`))
        if (!known.has(key.suffix.toLowerCase()))
          r.problem(key.name, `is not a CA limits setting (its settings: ${[...known].join(", ")})`);
      const at = r.at(name);
      const directoryUrl = at.get(CA_LIMITS.directory);
      if (directoryUrl === undefined) continue; // the reader reported it
      const twin = out.find((c) => c.directoryUrl === directoryUrl);
      if (twin) {
        r.problem(field, `names the directory of ${PREFIX}__CaLimits__${twin.name}__Directory again`);
        continue;
      }
      const limits: CaLimits = { ariRenewalsExempt: at.get(CA_LIMITS.ariRenewalsExempt) };
      const newOrders = at.get(CA_LIMITS.newOrders);
      const perDomain = at.get(CA_LIMITS.certificatesPerDomain);
      const perSet = at.get(CA_LIMITS.certificatesPerExactSet);
      if (newOrders) limits.newOrdersPerAccount = newOrders;
      if (perDomain) limits.newCertificatesPerRegisteredDomain = perDomain;
      if (perSet) limits.certificatesPerExactSet = perSet;
      out.push({ name, directoryUrl, limits });
    }
    return out;
  },
};

/** The limits of the CA at `directoryUrl`: the configured ones for that directory, else the built-in ones (./ca-limits). */
export function configuredCaLimits(directoryUrl: string, configured: readonly ConfiguredCaLimits[]): CaLimits {
  return caLimitsFor(directoryUrl, configured.find((c) => c.directoryUrl === directoryUrl)?.limits);
}
