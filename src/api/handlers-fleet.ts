/**
 * The fleet routes: `POST /agents/reports` (an agent reports what it installed; app role KvAcme.Agent or a function
 * key), `GET /fleet` (every host, what it has installed, which are stale) and `GET /certificates/{name}/hosts` (the
 * hosts that observe one certificate). Reports are validated before anything is stored (src/fleet/report.ts).
 */
import { fleetStoreOf, loadFleet, parseAgentReport } from "../fleet";
import { nameParam, type Handler } from "./handlers";
import { json, readJsonObject } from "./http";

export const report: Handler = async (req, ctx) => {
  const parsed = parseAgentReport(readJsonObject(req));
  const receivedAt = new Date();
  await fleetStoreOf(ctx.runtime).saveReport(parsed, receivedAt);
  return json(202, { hostId: parsed.hostId, receivedAt: receivedAt.toISOString(), certificates: parsed.certificates.length });
};

export const fleet: Handler = async (_req, ctx) => {
  const now = new Date();
  const hosts = await loadFleet(ctx.runtime, now);
  return json(200, { generatedAt: now.toISOString(), staleHosts: hosts.filter((h) => h.stale).length, hosts });
};

export const certificateHosts: Handler = async (req, ctx) => {
  const name = nameParam(req).toLowerCase();
  const now = new Date();
  const hosts = (await loadFleet(ctx.runtime, now))
    .map((h) => ({ host: h, certificate: h.certificates.find((c) => c.name.toLowerCase() === name) }))
    .filter((x) => x.certificate !== undefined)
    .map(({ host, certificate }) => ({
      hostId: host.hostId,
      lastSeen: host.lastSeen,
      agentVersion: host.agentVersion,
      stale: certificate!.stale || host.findings.some((f) => f.reason === "unseen"),
      findings: host.findings.filter((f) => f.certificate === undefined || f.certificate.toLowerCase() === name),
      certificate: certificate!,
    }));
  return json(200, { generatedAt: now.toISOString(), name: nameParam(req), hosts });
};
