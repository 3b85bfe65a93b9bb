/**
 * `kv-acme fleet [NAME]`: the hosts whose agents report, what each has installed, which are stale. Directly from the
 * fleet's table (the CLI's settings, or --stack) or through `GET /api/fleet` / `GET /api/certificates/{name}/hosts`
 * with --endpoint; the same rendering either way.
 */
import type { FleetHostView } from "../fleet/stale";

export interface FleetResult {
  generatedAt: string;
  staleHosts: number;
  hosts: FleetHostView[];
}

/** The fleet, optionally narrowed to the hosts that observe one certificate (pure). */
export function narrowFleet(result: FleetResult, name: string | undefined): FleetResult {
  if (name === undefined) return result;
  const n = name.toLowerCase();
  const hosts = result.hosts
    .filter((h) => h.certificates.some((c) => c.name.toLowerCase() === n))
    .map((h) => ({ ...h, certificates: h.certificates.filter((c) => c.name.toLowerCase() === n) }));
  return { ...result, hosts, staleHosts: hosts.filter((h) => h.stale).length };
}

/** One line per host and certificate, then each stale finding (pure). */
export function fleetText(result: FleetResult): string {
  if (result.hosts.length === 0) return "no agent has reported yet\n";
  const lines: string[] = [];
  for (const h of result.hosts) {
    lines.push(`${h.hostId}  last seen ${h.lastSeen}  agent ${h.agentVersion}${h.stale ? "  STALE" : ""}`);
    for (const c of h.certificates) {
      const state = c.installedVersion ? `${c.installedVersion}${c.current ? " (current)" : " (not current)"}` : "nothing installed";
      lines.push(
        `  ${c.name.padEnd(32)} ${state}${c.notAfter ? `  expires ${c.notAfter}` : ""}${c.lastError ? `  error: ${c.lastError}` : ""}`,
      );
    }
    for (const f of h.findings) lines.push(`  stale (${f.reason}): ${f.message}`);
  }
  lines.push(`${result.hosts.length} host(s), ${result.staleHosts} stale`);
  return lines.join("\n") + "\n";
}
