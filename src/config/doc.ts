/**
 * docs/settings.md, rendered from the descriptors (./descriptors.ts and every SettingsSection) so the doc never drifts
 * from what the loader reads: `npx tsx src/config/write-doc.ts` writes it, test/unit/settings-load.test.ts fails when it drifts.
 */
import { envNamesOf, type SettingDescriptor, type SettingsSection } from "./descriptor";
import { SETTINGS, WEBHOOK_SETTINGS } from "./descriptors";
import { ACME_DIRECTORIES } from "./parsers";
import { DNS_SETTINGS } from "../dns/settings";
import { FLEET_SETTINGS } from "../fleet/settings";
import { CA_LIMITS_SETTINGS } from "../renewal/ca-limits-settings";
import { ORDER_SETTINGS } from "../acme/order-options";
import { VAULTS_SECTION } from "./vaults";
import { ACMEBOT_SETTINGS_DOC } from "./acmebot";

/** The DNS section as docs/settings.md shows it (each provider type's own keys are in docs/dns-providers.md). */
const DNS_SETTINGS_DOC = {
  ...DNS_SETTINGS,
  intro: `${DNS_SETTINGS.intro ?? ""} Each provider type's own keys: docs/dns-providers.md.`,
};

function cell(s: string): string {
  return s.replace(/\|/g, "\\|");
}

function row(d: SettingDescriptor<unknown>): string {
  const names = envNamesOf(d).map((c) => c.name);
  const primary = names[0] ?? d.field;
  const aliasNotes = d.aliases.map((a) => (typeof a === "string" ? `\`${a}\`` : `\`${a.name}\`${a.note ? ` (${a.note})` : ""}`));
  const also = d.key !== undefined ? aliasNotes : aliasNotes.slice(1);
  const doc = d.secret ? `${d.doc} Secret.` : d.doc;
  return `| \`${primary}\` | ${cell(also.join(", ") || "")} | \`${d.field}\` | ${cell(d.type)} | ${cell(defaultCell(d))} | ${cell(doc)} |`;
}

/** The Default column: the descriptor's typed default as written, or how the docs describe it. */
function defaultCell(d: SettingDescriptor<unknown>): string {
  if (d.required) return "**required**";
  if (d.defaultDoc !== undefined) return d.defaultDoc;
  if (d.default === undefined) return "(none)";
  return `\`${Array.isArray(d.default) ? d.default.join(", ") : String(d.default)}\``;
}

const HEADER = "| Setting | Also accepted | Field | Type | Default | Description |\n|---|---|---|---|---|---|";

/** One section of the doc: its heading, intro and one row per descriptor. */
export function renderSection(section: Pick<SettingsSection<unknown>, "title" | "intro" | "settings">): string[] {
  return [
    `## ${section.title}`,
    "",
    ...(section.intro ? [section.intro, ""] : []),
    HEADER,
    ...Object.values(section.settings).map((d) => row(d)),
    "",
  ];
}

type DocSection = Pick<SettingsSection<unknown>, "title" | "intro" | "settings">;

/** The sections after the core settings and webhooks, in documentation order. */
const SETTINGS_SECTIONS: readonly DocSection[] = [
  VAULTS_SECTION,
  ORDER_SETTINGS,
  DNS_SETTINGS_DOC,
  FLEET_SETTINGS,
  ACMEBOT_SETTINGS_DOC,
  CA_LIMITS_SETTINGS,
];

/** Every setting descriptor the loader reads, in documentation order (`kv-acme migrate` maps names through them). */
export function everySettingDescriptor(): SettingDescriptor<unknown>[] {
  return [SETTINGS, WEBHOOK_SETTINGS, ...SETTINGS_SECTIONS.map((s) => s.settings)].flatMap(
    (t) => Object.values(t) as SettingDescriptor<unknown>[],
  );
}

/**
 * The Markdown of docs/settings.md, generated from the descriptor tables so the doc never drifts; `sections` are the
 * settings modules declare for themselves (a DNS provider's), each rendered under its own heading.
 */
export function renderSettingsDoc(sections: readonly DocSection[] = SETTINGS_SECTIONS): string {
  const lines = [
    "# kv-acme settings",
    "",
    "<!-- Generated from the descriptors in src/config/descriptors.ts by `npx tsx src/config/write-doc.ts`; test/unit/settings-load.test.ts fails when it drifts. -->",
    "",
    "kv-acme reads every setting once at start-up into one validated object; an invalid or missing value stops it",
    "with one error listing every problem. Names are `KvAcme__<Key>` (Azure app settings, environment variables) or",
    "`KvAcme:<Key>`, matched case-insensitively. The leading C# tool's `Acmebot__*` names are accepted too, so its",
    "users can switch by redeploying; when both are set, the `KvAcme` name wins. Empty values count as unset.",
    "URLs must be https; plain http is accepted only for 127.0.0.1, [::1] and localhost (the local stack).",
    "",
    ...renderSection({ title: "Settings", settings: SETTINGS }),
    ...renderSection({
      title: "Webhooks",
      intro: "Any number of targets, indexed from 0 in the Azure style (`KvAcme__Webhooks__0__Url`, `KvAcme__Webhooks__1__Url`, ...).",
      settings: WEBHOOK_SETTINGS,
    }),
    ...sections.flatMap((section) => renderSection(section)),
    "## ACME directory short names",
    "",
    "| Name | Directory URL |",
    "|---|---|",
    ...Object.entries(ACME_DIRECTORIES).map(([k, v]) => `| \`${k}\` | ${v} |`),
    "",
  ];
  return lines.join("\n");
}
