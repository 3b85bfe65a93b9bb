/**
 * The fleet routes: `POST /agents/reports` (an agent reports what it installed; app role KvAcme.Agent or a function
 * key), `GET /fleet` (every host, what it has installed, which are stale) and `GET /certificates/{name}/hosts` (the
 * hosts that observe one certificate). Reports are validated before anything is stored (src/fleet/report.ts).
 */
import { FLEET_PAGE_DEFAULT, FLEET_PAGE_MAX, fleetStoreOf, loadFleet, loadFleetPage, parseAgentReport } from "../fleet";
import { ValidationError } from "../shared/errors";
import { vaultCertificateKey } from "../fleet/stale";
import { nameParam, vaultDeps, type Handler } from "./handlers";
import { json, readJsonObject } from "./http";

export const report: Handler = async (req, ctx) => {
  const parsed = parseAgentReport(readJsonObject(req));
  const receivedAt = new Date();
  await fleetStoreOf(ctx.runtime).saveReport(parsed, receivedAt);
  return json(202, { hostId: parsed.hostId, receivedAt: receivedAt.toISOString(), certificates: parsed.certificates.length });
};

/**
 * One page of the fleet in host id order: `top` hosts (default FLEET_PAGE_DEFAULT, at most FLEET_PAGE_MAX) after
 * the `continuationToken` of the previous page; the answer carries `continuationToken` while more hosts follow.
 * `staleHosts` counts this page's stale hosts.
 */
export const fleet: Handler = async (req, ctx) => {
  const { limit, after } = parsePage(req.query.get("top"), req.query.get("continuationToken"));
  const now = new Date();
  const page = await loadFleetPage(ctx.runtime, now, { limit, ...(after === undefined ? {} : { after }) });
  const defaultVault = ctx.runtime.deps.settings.defaultVault;
  return json(200, {
    generatedAt: now.toISOString(),
    defaultVault,
    staleHosts: page.hosts.filter((h) => h.stale).length,
    hosts: page.hosts,
    ...(page.next === undefined ? {} : { continuationToken: Buffer.from(page.next, "utf8").toString("base64url") }),
  });
};

/** `top` and `continuationToken` of GET /fleet; ValidationError (400) naming the bad one. */
export function parsePage(top: string | null, token: string | null): { limit: number; after?: string } {
  const problems: { field: string; message: string }[] = [];
  let limit = FLEET_PAGE_DEFAULT;
  if (top !== null) {
    limit = Number(top);
    if (!/^\d{1,5}$/.test(top) || limit < 1 || limit > FLEET_PAGE_MAX)
      problems.push({ field: "top", message: `must be an integer from 1 to ${FLEET_PAGE_MAX}` });
  }
  let after: string | undefined;
  if (token !== null) {
    after = /^[A-Za-z0-9_-]{1,400}$/.test(token) ? Buffer.from(token, "base64url").toString("utf8") : "";
    if (after === "" || Buffer.from(after, "utf8").toString("base64url") !== token)
      problems.push({ field: "continuationToken", message: "is not a token this route returned" });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return after === undefined ? { limit } : { limit, after };
}

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
