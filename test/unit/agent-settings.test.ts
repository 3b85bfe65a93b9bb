import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_LINUX_STORE, parseAgentSettings, type Platform } from "../../src/agent/settings";
import { ValidationError } from "../../src/shared/errors";

const V = "https://myvault.vault.azure.net";

test("Windows v1 flat settings (URL strings, string interval)", () => {
  const { settings, warnings } = parseAgentSettings(
    JSON.stringify({
      secretsManagementSettings: {
        pollingIntervalInS: "3600",
        certificateStoreName: "MY",
        certificateStoreLocation: "LocalMachine",
        linkOnRenewal: true,
        requireInitialSync: true,
        observedCertificates: [`${V}/secrets/mycert`, `${V}/secrets/other/`],
      },
      authenticationSettings: {
        msiEndpoint: "http://169.254.169.254/metadata/identity",
        msiClientId: "11111111-2222-3333-4444-555555555555",
      },
    }),
    { platform: "windows" },
  );
  assert.deepEqual(warnings, []);
  assert.equal(settings.pollingIntervalInS, 3600);
  assert.equal(settings.linkOnRenewal, true);
  assert.equal(settings.requireInitialSync, true);
  assert.equal(settings.observedCertificates.length, 2);
  assert.deepEqual(
    settings.observedCertificates.map((c) => [
      c.url,
      c.vaultUrl,
      c.vaultName,
      c.name,
      c.certificateStoreName,
      c.certificateStoreLocation,
      c.keyExportable,
    ]),
    [
      [`${V}/secrets/mycert`, V, "myvault", "mycert", "MY", "LocalMachine", false],
      [`${V}/secrets/other`, V, "myvault", "other", "MY", "LocalMachine", false],
    ],
  );
  assert.equal(settings.authenticationSettings.msiClientId, "11111111-2222-3333-4444-555555555555");
});

test("Windows v3 objects override the flat defaults", () => {
  const { settings } = parseAgentSettings(
    {
      secretsManagementSettings: {
        pollingIntervalInS: 120,
        observedCertificates: [
          {
            url: `${V}/secrets/a`,
            certificateStoreName: "WebHosting",
            certificateStoreLocation: "CurrentUser",
            accounts: ["Network Service", "Local Service"],
            keyExportable: true,
          },
        ],
      },
    },
    { platform: "windows" },
  );
  const c = settings.observedCertificates[0];
  assert.equal(settings.pollingIntervalInS, 120);
  assert.deepEqual(
    [c.certificateStoreName, c.certificateStoreLocation, c.accounts, c.keyExportable],
    ["WebHosting", "CurrentUser", ["Network Service", "Local Service"], true],
  );
});

test("Linux v3 with directory, custom link, acls and kvAcme block", () => {
  const { settings, warnings } = parseAgentSettings(
    {
      secretsManagementSettings: {
        pollingIntervalInS: "60",
        aclEnabled: true,
        linkOnRenewal: true,
        observedCertificates: [
          {
            url: `${V}/secrets/app1`,
            certificateStoreLocation: "/etc/certs",
            customSymbolicLinkName: "app1Cert",
            acls: [{ user: "app1", group: "appGroup1" }],
          },
          `${V}/secrets/app2`,
        ],
      },
      kvAcme: {
        keepVersions: 3,
        statusFolder: "/var/lib/kv/status",
        stateFile: "/var/lib/kv/state.json",
        webhooks: ["https://hooks.example/x"],
        installers: [
          { type: "nginx", certificates: ["app1"], config: "/etc/nginx/nginx.conf" },
          { type: "haproxy", socket: "/run/haproxy/admin.sock" },
          { type: "command", command: ["/usr/local/bin/deploy"], timeoutInS: 30 },
        ],
      },
    },
    { platform: "linux" },
  );
  assert.deepEqual(warnings, ["secretsManagementSettings.linkOnRenewal: Windows only, ignored on Linux"]);
  const [a, b] = settings.observedCertificates;
  assert.equal(a.certificateStoreLocation, "/etc/certs");
  assert.equal(a.linkName, "app1Cert");
  assert.deepEqual(a.acls, [{ user: "app1", group: "appGroup1" }]);
  assert.equal(b.certificateStoreLocation, DEFAULT_LINUX_STORE);
  assert.equal(b.linkName, "myvault.app2");
  assert.equal(settings.aclEnabled, true);
  assert.equal(settings.kvAcme.keepVersions, 3);
  assert.equal(settings.kvAcme.stateFile, "/var/lib/kv/state.json");
  assert.deepEqual(settings.kvAcme.webhooks, [{ url: "https://hooks.example/x" }]);
  assert.deepEqual(
    settings.kvAcme.installers.map((i) => i.type),
    ["nginx", "haproxy", "command"],
  );
  assert.equal(settings.kvAcme.installers[0].type === "nginx" && settings.kvAcme.installers[0].binary, "/usr/sbin/nginx");
});

test("handler settings wrapper is accepted", () => {
  const { settings } = parseAgentSettings(
    {
      runtimeSettings: [
        { handlerSettings: { publicSettings: { secretsManagementSettings: { observedCertificates: [`${V}/secrets/x`] } } } },
      ],
    },
    { platform: "linux" },
  );
  assert.equal(settings.observedCertificates[0].name, "x");
  assert.equal(settings.pollingIntervalInS, 3600);
  assert.equal(settings.requireInitialSync, false);
});

test("unknown keys are warnings, not errors", () => {
  const { warnings } = parseAgentSettings(
    { secretsManagementSettings: { observedCertificates: [{ url: `${V}/secrets/x`, foo: 1 }], bar: 2 } },
    { platform: "linux" },
  );
  assert.deepEqual(warnings, [
    "secretsManagementSettings.bar: unknown setting, ignored",
    "secretsManagementSettings.observedCertificates[0].foo: unknown setting, ignored",
  ]);
});

function problems(input: unknown, platform: Platform = "linux"): string[] {
  try {
    parseAgentSettings(input, { platform });
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.problems.map((p) => `${p.field}: ${p.message}`);
  }
  assert.fail("expected a ValidationError");
}

const ok = (extra: Record<string, unknown> = {}, obs: unknown[] = [`${V}/secrets/x`]) => ({
  secretsManagementSettings: { observedCertificates: obs, ...extra },
});

const errorCases: Array<[string, unknown, Platform, RegExp]> = [
  ["not JSON", "{nope", "linux", /^settings: not valid JSON/],
  [
    "backslash-escaped JSON text",
    '{\\"secretsManagementSettings\\": {}}',
    "linux",
    /^settings: the settings JSON has backslash-escaped quotes/,
  ],
  ["JSON string containing JSON", JSON.stringify(JSON.stringify(ok())), "linux", /^settings: is a JSON string containing JSON/],
  [
    "secretsManagementSettings as an escaped string",
    { secretsManagementSettings: JSON.stringify({ observedCertificates: [] }) },
    "linux",
    /^secretsManagementSettings: is a JSON string containing JSON/,
  ],
  ["array root", "[]", "linux", /^settings: the settings must be a JSON object/],
  ["missing secretsManagementSettings", {}, "linux", /^secretsManagementSettings: is required/],
  ["bad wrapper", { runtimeSettings: [] }, "linux", /^runtimeSettings: must be a non-empty array/],
  [
    "wrapper without publicSettings",
    { runtimeSettings: [{ handlerSettings: {} }] },
    "linux",
    /^runtimeSettings\[0\]\.handlerSettings\.publicSettings: must be an object/,
  ],
  [
    "missing observedCertificates",
    { secretsManagementSettings: {} },
    "linux",
    /^secretsManagementSettings\.observedCertificates: is required/,
  ],
  ["empty observedCertificates", ok({}, []), "linux", /^secretsManagementSettings\.observedCertificates: must be a non-empty array/],
  [
    "interval not a number",
    ok({ pollingIntervalInS: "1h" }),
    "linux",
    /^secretsManagementSettings\.pollingIntervalInS: must be a whole number/,
  ],
  ["interval zero", ok({ pollingIntervalInS: 0 }), "linux", /pollingIntervalInS: must be a whole number/],
  ["bool as number", ok({ requireInitialSync: 1 }), "linux", /^secretsManagementSettings\.requireInitialSync: must be true or false/],
  ["linkOnRenewal bad", ok({ linkOnRenewal: "yes" }), "windows", /^secretsManagementSettings\.linkOnRenewal: must be true or false/],
  ["aclEnabled bad", ok({ aclEnabled: null }), "linux", /^secretsManagementSettings\.aclEnabled: must be true or false/],
  [
    "Windows location case",
    ok({ certificateStoreLocation: "localmachine" }),
    "windows",
    /certificateStoreLocation: must be "LocalMachine" or "CurrentUser" \(case-sensitive\)/,
  ],
  [
    "Linux relative location",
    ok({}, [{ url: `${V}/secrets/x`, certificateStoreLocation: "certs" }]),
    "linux",
    /observedCertificates\[0\]\.certificateStoreLocation: must be an absolute directory/,
  ],
  [
    "Windows settings on Linux",
    ok({ certificateStoreLocation: "LocalMachine" }),
    "linux",
    /^secretsManagementSettings\.certificateStoreLocation: must be an absolute directory/,
  ],
  ["observed item wrong type", ok({}, [42]), "linux", /^secretsManagementSettings\.observedCertificates\[0\]: must be a secret URL string/],
  ["missing url", ok({}, [{}]), "linux", /observedCertificates\[0\]\.url: is required/],
  ["not a URL", ok({}, ["vault/secrets/x"]), "linux", /observedCertificates\[0\]\.url: is not a URL/],
  ["http URL", ok({}, ["http://v.vault.azure.net/secrets/x"]), "linux", /url: must use https/],
  [
    "certificate URL",
    ok({}, [`${V}/certificates/x`]),
    "linux",
    /url: must be a secret URL \(https:\/\/myvault\.vault\.azure\.net\/secrets\/x\)/,
  ],
  ["versioned URL", ok({}, [`${V}/secrets/x/0123456789abcdef0123456789abcdef`]), "linux", /url: must be versionless: remove/],
  ["bad name", ok({}, [`${V}/secrets/a_b`]), "linux", /url: must look like/],
  [
    "duplicate",
    ok({}, [`${V}/secrets/x`, `${V}/secrets/X/`]),
    "linux",
    /observedCertificates\[1\]\.url: duplicates observedCertificates\[0\]/,
  ],
  [
    "shared symlink",
    ok({}, [
      { url: `${V}/secrets/x`, customSymbolicLinkName: "l" },
      { url: `${V}/secrets/y`, customSymbolicLinkName: "l" },
    ]),
    "linux",
    /two certificates would share the symlink/,
  ],
  [
    "accounts not strings",
    ok({}, [{ url: `${V}/secrets/x`, accounts: [1] }]),
    "windows",
    /observedCertificates\[0\]\.accounts: must be an array of non-empty strings/,
  ],
  [
    "keyExportable bad",
    ok({}, [{ url: `${V}/secrets/x`, keyExportable: "no" }]),
    "windows",
    /observedCertificates\[0\]\.keyExportable: must be true or false/,
  ],
  [
    "link with slash",
    ok({}, [{ url: `${V}/secrets/x`, customSymbolicLinkName: "../x" }]),
    "linux",
    /customSymbolicLinkName: must be a plain file name/,
  ],
  ["acls not array", ok({}, [{ url: `${V}/secrets/x`, acls: {} }]), "linux", /observedCertificates\[0\]\.acls: must be an array/],
  ["acl empty", ok({}, [{ url: `${V}/secrets/x`, acls: [{}] }]), "linux", /acls\[0\]: needs a user or a group/],
  [
    "acl bad user",
    ok({}, [{ url: `${V}/secrets/x`, acls: [{ user: "a b" }] }]),
    "linux",
    /acls\[0\]\.user: is not a valid user or group name/,
  ],
  ["auth not object", { ...ok(), authenticationSettings: 5 }, "linux", /^authenticationSettings: must be an object/],
  [
    "msiEndpoint bad",
    { ...ok(), authenticationSettings: { msiEndpoint: "169.254.169.254" } },
    "linux",
    /^authenticationSettings\.msiEndpoint: must be an http\(s\) URL/,
  ],
  [
    "msiClientId bad",
    { ...ok(), authenticationSettings: { msiClientId: "abc" } },
    "linux",
    /^authenticationSettings\.msiClientId: must be the client id \(a GUID\)/,
  ],
  ["kvAcme not object", { ...ok(), kvAcme: [] }, "linux", /^kvAcme: must be an object/],
  ["keepVersions zero", { ...ok(), kvAcme: { keepVersions: 0 } }, "linux", /^kvAcme\.keepVersions: must be an integer ≥ 1/],
  ["stateFile relative", { ...ok(), kvAcme: { stateFile: "state.json" } }, "linux", /^kvAcme\.stateFile: must be an absolute path/],
  [
    "changeDetection bad",
    { ...ok(), kvAcme: { changeDetection: "poll" } },
    "linux",
    /^kvAcme\.changeDetection: must be "certificate" or "secretVersions"/,
  ],
  [
    "webhook bad url",
    { ...ok(), kvAcme: { webhooks: [{ url: "ftp://x" }] } },
    "linux",
    /^kvAcme\.webhooks\[0\]\.url: must be an http\(s\) URL/,
  ],
  [
    "webhook secret of the old form",
    { ...ok(), kvAcme: { webhooks: [{ url: "https://h.example/x", secret: "plain" }] } },
    "linux",
    /^kvAcme\.webhooks\[0\]\.secret: must start with "whsec_"/,
  ],
  [
    "webhook legacy secret alone",
    { ...ok(), kvAcme: { webhooks: [{ url: "https://h.example/x", legacySecret: "plain" }] } },
    "linux",
    /^kvAcme\.webhooks\[0\]\.secret: is required with secondarySecret or legacySecret/,
  ],
  [
    "installer unknown type",
    { ...ok(), kvAcme: { installers: [{ type: "apache" }] } },
    "linux",
    /^kvAcme\.installers\[0\]\.type: must be "nginx", "haproxy" or "command"/,
  ],
  [
    "installer unknown cert",
    { ...ok(), kvAcme: { installers: [{ type: "command", command: ["x"], certificates: ["nope"] }] } },
    "linux",
    /^kvAcme\.installers\[0\]\.certificates\[0\]: "nope" is not an observed certificate/,
  ],
  [
    "haproxy without socket",
    { ...ok(), kvAcme: { installers: [{ type: "haproxy" }] } },
    "linux",
    /^kvAcme\.installers\[0\]\.socket: is required/,
  ],
  [
    "command as a string",
    { ...ok(), kvAcme: { installers: [{ type: "command", command: "systemctl reload x" }] } },
    "linux",
    /^kvAcme\.installers\[0\]\.command: must be a non-empty argv array/,
  ],
  [
    "nginx reloadCommand empty",
    { ...ok(), kvAcme: { installers: [{ type: "nginx", reloadCommand: [] }] } },
    "linux",
    /^kvAcme\.installers\[0\]\.reloadCommand: must be a non-empty argv array/,
  ],
  [
    "nginx on Windows",
    { ...ok(), kvAcme: { installers: [{ type: "nginx" }] } },
    "windows",
    /^kvAcme\.installers\[0\]\.type: nginx installers run on Linux only/,
  ],
  [
    "command timeout bad",
    { ...ok(), kvAcme: { installers: [{ type: "command", command: ["x"], timeoutInS: -1 }] } },
    "linux",
    /^kvAcme\.installers\[0\]\.timeoutInS: must be an integer ≥ 1/,
  ],
];

for (const [name, input, platform, expected] of errorCases) {
  test(`settings error: ${name}`, () => {
    const list = problems(input, platform);
    assert.ok(
      list.some((l) => expected.test(l)),
      `expected ${expected} in ${JSON.stringify(list)}`,
    );
  });
}

test("wrapper errors are prefixed with the wrapper path", () => {
  const list = problems({ runtimeSettings: [{ handlerSettings: { publicSettings: ok({ pollingIntervalInS: "x" }) } }] });
  assert.deepEqual(
    list.map((l) => l.split(":")[0]),
    ["runtimeSettings[0].handlerSettings.publicSettings.secretsManagementSettings.pollingIntervalInS"],
  );
});

test("every problem is reported at once", () => {
  const list = problems(ok({ pollingIntervalInS: "x", requireInitialSync: "maybe" }, ["http://a/secrets/x", `${V}/keys/k`]));
  assert.equal(list.length, 4);
});
