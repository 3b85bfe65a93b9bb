/**
 * The fleet's settings (a SettingsSection, rendered into docs/settings.md): where agent reports are stored and when a
 * host counts as stale. Without a table endpoint the fleet routes answer 404 FleetNotConfigured and the dashboard
 * hides its Fleet page.
 */
import { InvalidSetting, setting, type SettingsSection } from "../config/descriptor";
import { intIn, parseServiceUrl } from "../config/parsers";

export interface FleetSettings {
  /** The storage account's table endpoint; undefined = no fleet. */
  tableEndpoint?: string;
  tableName: string;
  staleAfterHours: number;
  missedIntervals: number;
}

const FLEET = {
  tableEndpoint: setting({
    key: "Fleet__TableEndpoint",
    aliases: [],
    field: "fleet.tableEndpoint",
    type: "URL",
    defaultDoc: "(none: no fleet)",
    doc: "Table endpoint of the storage account that keeps the agents' reports, normally the Function App's own (`https://<account>.table.core.windows.net`, set by infra/azuredeploy.json); reached with the app's managed identity, which needs Storage Table Data Contributor on that account. Locally the stack's Azurite (`stack.json` tableEndpoint).",
    parse: (raw: string) => parseServiceUrl(raw).href.replace(/\/+$/, ""),
  }),
  tableName: setting({
    key: "Fleet__TableName",
    aliases: [],
    field: "fleet.tableName",
    type: "table name",
    default: "kvacmefleet",
    doc: "Table holding one partition per host (created on first use).",
    parse: (raw: string) => {
      if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(raw))
        throw new InvalidSetting(`"${raw}" is not a table name (3-63 letters and digits, starting with a letter)`);
      return raw;
    },
  }),
  staleAfterHours: setting({
    key: "Fleet__StaleAfterHours",
    aliases: [],
    field: "fleet.staleAfterHours",
    type: "integer 1–8760",
    default: 24,
    doc: "A host still on an older version this many hours after a newer version became current is stale (`certificate.host_stale`).",
    parse: intIn(1, 8760),
  }),
  missedIntervals: setting({
    key: "Fleet__MissedIntervals",
    aliases: [],
    field: "fleet.missedIntervals",
    type: "integer 2–100",
    default: 3,
    doc: "A host that has not reported for this many of its polling intervals is stale.",
    parse: intIn(2, 100),
  }),
};

export const FLEET_SETTINGS: SettingsSection<FleetSettings> = {
  title: "Fleet (agent reports)",
  intro:
    "The agents report what they installed (`POST /api/agents/reports`); the app keeps the reports in Azure Table Storage and finds stale hosts on its fleet timer. docs/agent.md, section Fleet.",
  settings: FLEET,
  build(r) {
    const tableEndpoint = r.get(FLEET.tableEndpoint);
    return {
      ...(tableEndpoint !== undefined ? { tableEndpoint } : {}),
      tableName: r.get(FLEET.tableName),
      staleAfterHours: r.get(FLEET.staleAfterHours),
      missedIntervals: r.get(FLEET.missedIntervals),
    };
  },
};
