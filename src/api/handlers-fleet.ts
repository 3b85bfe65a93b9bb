/**
 * The fleet routes: `POST /agents/reports` (an agent reports what it installed; app role KvAcme.Agent or a function
 * key), `GET /fleet` (every host, what it has installed, which are stale) and `GET /certificates/{name}/hosts` (the
 * hosts that observe one certificate). Reports are validated before anything is stored (src/fleet/report.ts).
 */
import { fleetStoreOf, loadFleet, parseAgentReport } from "../fleet";
import { vaultCertificateKey } from "../fleet/stale";
import { nameParam, vaultDeps, type Handler } from "./handlers";
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
  const defaultVault = ctx.runtime.deps.settings.defaultVault;
  return json(200, { generatedAt: now.toISOString(), defaultVault, staleHosts: hosts.filter((h) => h.stale).length, hosts });
};

/** The hosts that observe one certificate of one vault (`?vault=`, default the default vault; a report naming no vault means the default one). */
export const certificateHosts: Handler = async (req, ctx) => {
  const name = nameParam(req);
  const deps = vaultDeps(req, ctx);
  const key = vaultCertificateKey(deps.settings.vaultUrl, name);
  const defaultVaultUrl = ctx.runtime.deps.settings.vaultUrl;
  const now = new Date();
  const hosts = (await loadFleet(ctx.runtime, now))
    .map((h) => ({ host: h, certificate: h.certificates.find((c) => vaultCertificateKey(c.vaultUrl ?? defaultVaultUrl, c.name) === key) }))
    .filter((x) => x.certificate !== undefined)
    .map(({ host, certificate }) => ({
      hostId: host.hostId,
      lastSeen: host.lastSeen,
      agentVersion: host.agentVersion,
      stale: certificate!.stale || host.findings.some((f) => f.reason === "unseen"),
      findings: host.findings.filter(
        (f) => f.certificate === undefined || vaultCertificateKey(f.vaultUrl ?? defaultVaultUrl, f.certificate) === key,
      ),
      certificate: certificate!,
    }));
  return json(200, { generatedAt: now.toISOString(), name, vault: deps.vault, hosts });
};
