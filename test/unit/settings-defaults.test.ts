/**
 * Each default is written once, in the settings descriptors: loading applies it, docs/settings.md shows it, and the
 * code that receives the settings uses it (no fallback of its own). Also: a module's own SettingsSection (the shape a
 * DNS provider declares its settings in) is loaded and documented by the core without the core knowing its fields.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import {
  InvalidSetting,
  SETTINGS,
  intIn,
  loadSection,
  loadSettings,
  parseNonEmpty,
  readSettings,
  renderSection,
  setting,
  type SettingDescriptor,
  type SettingsSection,
} from "../../src/config/settings";
import { createRuntime, getRuntime, setRuntime } from "../../src/app/runtime";
import { checkPropagation } from "../../src/issuance/compound-steps";
import { ConfigurationError, type FieldProblem } from "../../src/shared/errors";

const base = { KvAcme__VaultUrl: "https://myvault.vault.azure.net", KvAcme__DnsSubscriptionIds: "8c2f4a5e-0b1d-4c3a-9e7f-6d5b4a3c2e10" };
const doc = readFileSync(path.resolve(__dirname, "../../docs/settings.md"), "utf8");

function docRow(envName: string): string {
  const row = doc.split("\n").find((l) => l.startsWith(`| \`${envName}\` |`));
  assert.ok(row, `docs/settings.md has a row for ${envName}`);
  return row;
}

describe("settings defaults are written once, in the descriptors", () => {
  it("every top-level setting left unset loads as its descriptor's typed default", () => {
    const s = loadSettings(base) as unknown as Record<string, unknown>;
    const withDefault = Object.values(SETTINGS as Record<string, SettingDescriptor<unknown>>).filter(
      (d) => d.default !== undefined && /^[a-zA-Z]+$/.test(d.field),
    );
    assert.ok(withDefault.length >= 10, `found ${withDefault.length} top-level settings with a default`);
    for (const d of withDefault) assert.deepEqual(s[d.field], d.default, `${d.field} defaults to its descriptor's value`);
  });

  it("the propagation timeout defaults to the documented 300 s and renewals in flight to the documented 8", () => {
    const s = loadSettings(base);
    assert.equal(s.propagationTimeoutSeconds, 300);
    assert.equal(s.maxConcurrentRenewals, 8);
    assert.match(docRow("KvAcme__PropagationTimeoutSeconds"), /\| `300` \|/);
    assert.match(docRow("KvAcme__MaxConcurrentRenewals"), /\| `8` \|/);
  });

  it("the propagation check (presentAndValidate's) reports the documented 300 s timeout when PropagationTimeoutSeconds is unset", async () => {
    const credential: TokenCredential = { getToken: () => Promise.reject(new Error("no token is needed by this test")) };
    const previous = setRuntime(createRuntime(base, { credential }));
    try {
      const out = await checkPropagation([], 10_000, getRuntime().deps);
      assert.deepEqual(out, { visible: true, elapsedMs: 0, timeoutSeconds: 300 });
    } finally {
      setRuntime(previous);
    }
  });
});

// A section declared the way a DNS provider declares its own settings, in its own file.
const EXAMPLE = {
  apiUrl: setting({
    key: "Dns__<n>__ApiUrl",
    aliases: [],
    field: "example.apiUrl",
    type: "string",
    required: true,
    doc: "Where the example API is.",
    parse: parseNonEmpty,
  }),
  apiToken: setting({
    key: "Dns__<n>__ApiToken",
    aliases: [],
    field: "example.apiToken",
    type: "string",
    secret: true,
    doc: "Token of the example API.",
    parse: (raw) => {
      if (raw.length < 8) throw new InvalidSetting("is shorter than 8 characters");
      return raw;
    },
  }),
  ttl: setting({
    key: "Dns__<n>__Ttl",
    aliases: [],
    field: "example.ttl",
    type: "integer 1–3600",
    default: 60,
    doc: "TTL of the TXT records.",
    parse: intIn(1, 3600),
  }),
};

const exampleSection: SettingsSection<{ apiUrl: string; apiToken?: string; ttl: number }[]> = {
  title: "Example DNS provider",
  intro: "Instances indexed from 0.",
  settings: EXAMPLE,
  build: (r) => r.indices("Dns__<n>__").flatMap((n) => readSettings(r.at(n), EXAMPLE) ?? []),
};

describe("a module's own settings section", () => {
  it("is loaded per instance with its own defaults, and problems name the instance's setting", () => {
    const env = { KvAcme__Dns__0__ApiUrl: "https://a.example", KvAcme__Dns__2__ApiUrl: "https://b.example", KvAcme__Dns__2__Ttl: "300" };
    assert.deepEqual(loadSection(env, exampleSection), [
      { apiUrl: "https://a.example", ttl: 60 },
      { apiUrl: "https://b.example", ttl: 300 },
    ]);
    let problems: FieldProblem[] = [];
    try {
      loadSection({ "KvAcme:Dns:1:ApiToken": "short", KvAcme__Dns__1__Ttl: "0" }, exampleSection);
    } catch (err) {
      assert.ok(err instanceof ConfigurationError);
      problems = (err.details as { problems: FieldProblem[] }).problems;
    }
    assert.deepEqual(problems.map((p) => p.field).sort(), ["KvAcme:Dns:1:ApiToken", "KvAcme__Dns__1__ApiUrl", "KvAcme__Dns__1__Ttl"]);
    assert.match(problems.find((p) => p.field === "KvAcme:Dns:1:ApiToken")?.message ?? "", /shorter than 8 characters/);
  });

  it("readSettings derives the typed values from the descriptors: defaults applied, unset optional ones left out, undefined while a required one is missing", () => {
    // A reader over values keyed by field (the loader's own is exercised by the test above): get is all readSettings uses.
    const read = (env: Record<string, string>) =>
      readSettings(
        { get: (d: SettingDescriptor<unknown>) => (env[d.field] === undefined ? d.default : d.parse(env[d.field] as string)) } as never,
        EXAMPLE,
      );
    assert.deepEqual(read({ "example.apiUrl": "https://a.example" }), { apiUrl: "https://a.example", ttl: 60 });
    assert.deepEqual(read({ "example.apiUrl": "https://a.example", "example.apiToken": "12345678", "example.ttl": "5" }), {
      apiUrl: "https://a.example",
      apiToken: "12345678",
      ttl: 5,
    });
    assert.equal(read({ "example.apiToken": "12345678" }), undefined);
  });

  it("renders under its own heading with defaults and secrets marked", () => {
    const md = renderSection(exampleSection).join("\n");
    assert.match(md, /^## Example DNS provider\n\nInstances indexed from 0\.\n/);
    assert.match(md, /\| `KvAcme__Dns__<n>__ApiUrl` \| {2}\| `example.apiUrl` \| string \| \*\*required\*\* \|/);
    assert.match(md, /\| `KvAcme__Dns__<n>__ApiToken` .*\| \(none\) \| Token of the example API\. Secret\. \|/);
    assert.match(md, /\| `KvAcme__Dns__<n>__Ttl` .*\| `60` \| TTL of the TXT records\. \|/);
  });
});
