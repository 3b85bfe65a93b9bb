/** Stale-host decisions (src/fleet/stale.ts): named scenarios over one host, the vault's current versions and a clock. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fleetView,
  staleFindings,
  unsentFindings,
  vaultCertificateKey,
  type CurrentVersions,
  type StalePolicy,
} from "../../src/fleet/stale";
import type { HostRecord } from "../../src/fleet/store";

const OLD = "A".repeat(40);
const NEW = "B".repeat(40);
const NOW = new Date("2026-12-10T12:00:00Z");
const POLICY: StalePolicy = { staleAfterHours: 24, missedIntervals: 3, expiryWarningDays: 7 };
const h = (hours: number) => new Date(NOW.getTime() - hours * 3600_000).toISOString();
const inDays = (days: number) => new Date(NOW.getTime() + days * 86400_000).toISOString();

function host(overrides: Partial<HostRecord> = {}, cert: Partial<HostRecord["certificates"][number]> = {}): HostRecord {
  return {
    hostId: "vm-1",
    lastSeen: h(0.5),
    agentVersion: "0.1.0",
    pollingIntervalInS: 3600,
    notified: [],
    certificates: [
      { name: "web", installedVersion: "v1", thumbprint: OLD, notAfter: inDays(60), bindingsUpdated: [], reportedAt: h(0.5), ...cert },
    ],
    ...overrides,
  };
}
const DEFAULT_VAULT = "https://v1.vault.azure.net";
/** The default vault's current version of "web" (the host's report names no vault: the default one). */
const vault = (thumbprint: string, sinceHoursAgo: number): CurrentVersions => ({
  byKey: new Map([[vaultCertificateKey(DEFAULT_VAULT, "web"), { name: "web", thumbprint, since: h(sinceHoursAgo) }]]),
  defaultVaultUrl: DEFAULT_VAULT,
});

describe("staleFindings", () => {
  const scenarios: [string, HostRecord, CurrentVersions, string[]][] = [
    ["a host on the current version, seen recently, is not stale", host(), vault(OLD, 100), []],
    ["a host behind a version that became current 23 h ago is not stale yet", host(), vault(NEW, 23), []],
    ["a host behind a version that became current 24 h ago is outdated", host(), vault(NEW, 24), ["outdated"]],
    [
      "a host with nothing installed while a version is current for 25 h is outdated",
      host({}, { installedVersion: undefined, thumbprint: undefined }),
      vault(NEW, 25),
      ["outdated"],
    ],
    ["a host not seen for 3 polling intervals and a bit is unseen", host({ lastSeen: h(3.1) }), vault(OLD, 100), ["unseen"]],
    ["a host seen 2.9 polling intervals ago is not unseen", host({ lastSeen: h(2.9) }), vault(OLD, 100), []],
    ["a longer polling interval stretches the unseen limit", host({ lastSeen: h(10), pollingIntervalInS: 4 * 3600 }), vault(OLD, 100), []],
    [
      "an installed certificate expiring within the warning window is expiring",
      host({}, { notAfter: inDays(6) }),
      vault(OLD, 100),
      ["expiring"],
    ],
    ["a certificate the vault does not have is only checked for expiry", host(), { byKey: new Map(), defaultVaultUrl: DEFAULT_VAULT }, []],
    [
      "unseen, outdated and expiring together",
      host({ lastSeen: h(5) }, { notAfter: inDays(1) }),
      vault(NEW, 48),
      ["unseen", "outdated", "expiring"],
    ],
  ];
  for (const [name, hostRecord, current, reasons] of scenarios) {
    it(name, () =>
      assert.deepEqual(
        staleFindings(hostRecord, current, NOW, POLICY).map((f) => f.reason),
        reasons,
      ),
    );
  }

  it("notice keys name the version concerned, so a later renewal is a new notice and a repeat is not", () => {
    const [first] = staleFindings(host(), vault(NEW, 30), NOW, POLICY);
    assert.equal(first!.noticeKey, `outdated:web:${NEW}`);
    const notified = host({ notified: [first!.noticeKey] });
    assert.deepEqual(unsentFindings(notified, staleFindings(notified, vault(NEW, 30), NOW, POLICY)), []);
    const third = "C".repeat(40);
    assert.deepEqual(
      unsentFindings(notified, staleFindings(notified, vault(third, 30), NOW, POLICY)).map((f) => f.noticeKey),
      [`outdated:web:${third}`],
    );
  });

  it("an unseen host is noticed once per absence: a report and a new silence is a new notice", () => {
    const [a] = staleFindings(host({ lastSeen: h(4) }), vault(OLD, 1), NOW, POLICY);
    const [b] = staleFindings(host({ lastSeen: h(3.5) }), vault(OLD, 1), NOW, POLICY);
    assert.notEqual(a!.noticeKey, b!.noticeKey);
  });
});

describe("fleetView", () => {
  it("marks each certificate current or not and stale with its reasons; the host is stale when any finding is", () => {
    const [view] = fleetView([host()], vault(NEW, 30), NOW, POLICY);
    assert.equal(view!.stale, true);
    assert.equal(view!.certificates[0]!.current, false);
    assert.deepEqual(view!.certificates[0]!.staleReasons, ["outdated"]);
    const [fresh] = fleetView([host()], vault(OLD, 30), NOW, POLICY);
    assert.equal(fresh!.stale, false);
    assert.equal(fresh!.certificates[0]!.current, true);
  });
});
