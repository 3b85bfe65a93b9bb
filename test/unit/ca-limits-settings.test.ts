/**
 * CA limits configured per ACME directory (KvAcme__CaLimits__<name>__*): parsed through the settings descriptors,
 * bad values reported by name, resolved for the run's directory (configured, else built in), and honoured by the
 * planner.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadSettings } from "../../src/config/settings";
import { AZURE_BUDGETS, LETS_ENCRYPT_LIMITS, UNPUBLISHED_LIMITS } from "../../src/renewal/ca-limits";
import { configuredCaLimits, parseWindowLimit } from "../../src/renewal/ca-limits-settings";
import { planRenewals, type PlanCertificate } from "../../src/renewal/plan";
import { ConfigurationError } from "../../src/shared/errors";
import { base } from "../support/settings";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ZEROSSL = "https://acme.zerossl.com/v2/DV90";

function problemsOf(env: Record<string, string>): string {
  try {
    loadSettings(env);
  } catch (err) {
    assert.ok(err instanceof ConfigurationError, String(err));
    return err.message;
  }
  assert.fail("the settings loaded");
}

describe("parseWindowLimit", () => {
  const good: [string, number, number][] = [
    ["300/3h", 300, 3 * HOUR],
    ["50/7d", 50, 7 * DAY],
    ["20/10s", 20, 10_000],
    [" 100 / 90m ", 100, 90 * 60_000],
    ["5/7D", 5, 7 * DAY],
  ];
  for (const [raw, count, windowMs] of good)
    it(`"${raw}" is ${count} per ${windowMs} ms`, () => assert.deepEqual(parseWindowLimit(raw), { count, windowMs }));
  for (const raw of ["300", "300/3", "300/3w", "0/1h", "-1/1h", "1/0s", "1/32d", "1/500ms", "abc/1h", ""])
    it(`"${raw}" is refused`, () => assert.throws(() => parseWindowLimit(raw), /count\/window|at least 1|from 1s to 31d/));
});

describe("KvAcme__CaLimits__<name>__*", () => {
  it("none configured: an empty list, and the built-in limits per directory", () => {
    const s = loadSettings(base);
    assert.deepEqual(s.caLimits, []);
    assert.deepEqual(configuredCaLimits(s.acmeDirectoryUrl, s.caLimits), LETS_ENCRYPT_LIMITS);
    assert.deepEqual(configuredCaLimits(ZEROSSL, s.caLimits), UNPUBLISHED_LIMITS);
  });

  it("a configured directory (short name or URL) gets its limits; unset limits are not counted; others keep the built-in ones", () => {
    const s = loadSettings({
      ...base,
      KvAcme__AcmeDirectoryUrl: "zerossl",
      KvAcme__CaLimits__ZeroSSL__Directory: "zerossl",
      KvAcme__CaLimits__ZeroSSL__NewOrders: "100/1h",
      KvAcme__CaLimits__ZeroSSL__CertificatesPerExactSet: "10/7d",
      KvAcme__CaLimits__internal__Directory: "https://ca.internal.example/acme/directory",
      KvAcme__CaLimits__internal__AriRenewalsExempt: "true",
    });
    assert.deepEqual(s.caLimits, [
      { name: "internal", directoryUrl: "https://ca.internal.example/acme/directory", limits: { ariRenewalsExempt: true } },
      {
        name: "zerossl",
        directoryUrl: ZEROSSL,
        limits: {
          ariRenewalsExempt: false,
          newOrdersPerAccount: { count: 100, windowMs: HOUR },
          certificatesPerExactSet: { count: 10, windowMs: 7 * DAY },
        },
      },
    ]);
    assert.deepEqual(configuredCaLimits(s.acmeDirectoryUrl, s.caLimits), s.caLimits[1]!.limits);
    assert.deepEqual(configuredCaLimits("https://acme-v02.api.letsencrypt.org/directory", s.caLimits), LETS_ENCRYPT_LIMITS);
  });

  it("Let's Encrypt's limits can be overridden (a configured directory replaces the built-in limits)", () => {
    const s = loadSettings({ ...base, KvAcme__CaLimits__le__Directory: "letsencrypt", KvAcme__CaLimits__le__NewOrders: "1000/3h" });
    assert.deepEqual(configuredCaLimits(s.acmeDirectoryUrl, s.caLimits), {
      ariRenewalsExempt: false,
      newOrdersPerAccount: { count: 1000, windowMs: 3 * HOUR },
    });
  });

  it("every problem is reported by name: a bad limit, a missing directory, an unknown key, the same directory twice", () => {
    const message = problemsOf({
      ...base,
      KvAcme__CaLimits__a__Directory: "zerossl",
      KvAcme__CaLimits__a__NewOrders: "lots",
      KvAcme__CaLimits__b__NewOrders: "10/1h",
      KvAcme__CaLimits__c__Directory: "zerossl",
      KvAcme__CaLimits__c__NewOrder: "10/1h",
    });
    assert.match(message, /KvAcme__CaLimits__a__NewOrders.*"lots" is not count\/window/);
    assert.match(message, /KvAcme__CaLimits__b__Directory/);
    assert.match(message, /KvAcme__CaLimits__c__NewOrder\b.*is not a CA limits setting/);
    assert.match(message, /KvAcme__CaLimits__c__Directory.*names the directory of KvAcme__CaLimits__a__Directory again/);
  });

  it("the planner keeps new orders within a configured limit (3 per hour: the 4th waits an hour)", () => {
    const s = loadSettings({
      ...base,
      KvAcme__AcmeDirectoryUrl: "zerossl",
      KvAcme__CaLimits__z__Directory: "zerossl",
      KvAcme__CaLimits__z__NewOrders: "3/1h",
    });
    const now = Date.parse("2027-03-01T00:00:00Z");
    const certs: PlanCertificate[] = Array.from({ length: 4 }, (_, i) => ({
      name: `n${i}`,
      notBefore: new Date(now - 80 * DAY),
      notAfter: new Date(now + 10 * DAY),
      dueAt: new Date(now - DAY),
      order: "new",
      registeredDomains: [`d${i}.example`],
      exactSet: `n${i}.d${i}.example`,
      dnsWrites: {},
      armWrites: 0,
      vault: "v",
    }));
    const plan = planRenewals({
      now: new Date(now),
      horizonEnd: new Date(now + DAY),
      certificates: certs,
      ca: configuredCaLimits(s.acmeDirectoryUrl, s.caLimits),
      azure: AZURE_BUDGETS,
    });
    const times = plan.now.map((p) => p.at.getTime() - now);
    assert.deepEqual(times, [0, 0, 0, HOUR]);
    assert.equal(plan.now[3]!.heldBy, "ca:account");
  });
});
