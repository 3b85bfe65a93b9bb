/**
 * Stale-host detection, run by the fleet timer (functions/timer.ts, FLEET_SCHEDULE): every host's stale findings
 * (./stale.ts), and for each one not sent before a `certificate.host_stale` webhook and a `fleet.hostStale` telemetry
 * event; the notice keys are then recorded on the host, so each is sent once per host and version (or, for a host
 * not seen, once per absence).
 */
import type { Runtime } from "../app/runtime";
import { appEventSource, deliverEvent, type Warn } from "../issuance/reporting";
import { certificateHostStale } from "../notify";
import { currentVersions, fleetStoreOf, stalePolicyOf } from "./index";
import { staleFindings, unsentFindings, type StaleFinding } from "./stale";

export interface StaleRun {
  hosts: number;
  staleHosts: number;
  /** Notices sent by this run (host id and finding). */
  notified: { hostId: string; finding: StaleFinding }[];
}

/** One detection pass as of `now`. */
export async function detectStaleHosts(runtime: Runtime, now: Date, warn?: Warn): Promise<StaleRun> {
  const store = fleetStoreOf(runtime);
  const [hosts, current] = await Promise.all([store.listHosts(), currentVersions(runtime)]);
  const policy = stalePolicyOf(runtime);
  const run: StaleRun = { hosts: hosts.length, staleHosts: 0, notified: [] };
  for (const host of hosts) {
    const findings = staleFindings(host, current, now, policy);
    if (findings.length > 0) run.staleHosts++;
    const unsent = unsentFindings(host, findings);
    for (const f of unsent) {
      const event = certificateHostStale(
        {
          host: host.hostId,
          reason: f.reason,
          message: f.message,
          lastSeen: host.lastSeen,
          agentVersion: host.agentVersion,
          ...(f.certificate ? { certificateName: f.certificate } : {}),
          ...(f.installedVersion ? { installedVersion: f.installedVersion } : {}),
        },
        f.noticeKey,
        { time: now, source: appEventSource(runtime.settings) },
      );
      await deliverEvent(event, undefined, runtime, warn);
      runtime.telemetry.trackHostStale({
        hostId: host.hostId,
        reason: f.reason,
        lastSeen: host.lastSeen,
        ...(f.certificate ? { certificateName: f.certificate } : {}),
        ...(f.installedVersion ? { installedVersion: f.installedVersion } : {}),
      });
      run.notified.push({ hostId: host.hostId, finding: f });
    }
    if (unsent.length > 0)
      await store.markNotified(
        host.hostId,
        unsent.map((f) => f.noticeKey),
      );
  }
  await runtime.telemetry.flush().catch(() => undefined);
  return run;
}
