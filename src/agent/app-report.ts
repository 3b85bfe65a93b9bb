/**
 * The agent's report to the Function App (`POST /api/agents/reports`, src/fleet/report.ts validates it there): after
 * every cycle (each install attempt, and so a heartbeat every polling interval) the host id, the agent version and,
 * per observed certificate, what is in service. Authenticated with the VM's managed identity (a token for the app's
 * Application ID URI, app role KvAcme.Agent) or a function key. A failed report is logged and never affects installs.
 */
import { readFile } from "node:fs/promises";
import os from "node:os";
import type { TokenCredential } from "@azure/core-auth";
import { errorMessage } from "../shared/errors";
import { KVACME_VERSION } from "../shared/version";
import type { AgentLogger, CycleResult } from "./poller";
import type { AgentSettings } from "./settings";
import type { AppReportSettings } from "./settings-kvacme";
import type { InstalledRecord } from "./state";

/** The report body (the shape src/fleet/report.ts parses). */
export interface AppReportBody {
  hostId: string;
  agentVersion: string;
  pollingIntervalInS: number;
  certificates: {
    name: string;
    vaultUrl: string;
    installedVersion?: string;
    thumbprint?: string;
    notAfter?: string;
    location?: string;
    bindingsUpdated: string[];
    lastError?: string;
  }[];
}

/** Errors are cut to what the app accepts (1,024 characters). */
const MAX_ERROR = 1024;

/** The report of one cycle (pure): statuses, the installed records and the bindings each last install updated. */
export function appReportBody(
  settings: AgentSettings,
  hostId: string,
  result: CycleResult,
  installed: (url: string) => InstalledRecord | undefined,
  bindings: (url: string) => string[],
): AppReportBody {
  return {
    hostId,
    agentVersion: KVACME_VERSION,
    pollingIntervalInS: settings.pollingIntervalInS,
    certificates: settings.observedCertificates.map((cert) => {
      const status = result.statuses.find((s) => s.url === cert.url);
      const rec = installed(cert.url);
      const inService = status?.version !== undefined && rec?.version === status.version ? rec : undefined;
      return {
        name: cert.name,
        vaultUrl: cert.vaultUrl,
        ...(inService
          ? {
              installedVersion: inService.version,
              thumbprint: inService.thumbprint,
              notAfter: inService.notAfter,
              location: inService.location,
            }
          : {}),
        bindingsUpdated: inService ? bindings(cert.url) : [],
        ...(status?.error ? { lastError: status.error.slice(0, MAX_ERROR) } : status ? {} : { lastError: "not attempted this cycle" }),
      };
    }),
  };
}

/**
 * The host id: `kvAcme.hostId`, else the machine id (systemd's /etc/machine-id, stable across reboots and unique per
 * VM image deployment), else the host name.
 */
export async function resolveHostId(
  settings: AgentSettings,
  read: (file: string) => Promise<string> = (f) => readFile(f, "utf8"),
): Promise<string> {
  if (settings.kvAcme.hostId) return settings.kvAcme.hostId;
  if (settings.platform === "linux") {
    try {
      const id = (await read("/etc/machine-id")).trim();
      if (/^[0-9a-f]{32}$/.test(id)) return id;
    } catch {
      // no machine id: the host name below
    }
  }
  return (settings.kvAcme.host ?? os.hostname()).replace(/[^A-Za-z0-9._:-]/g, "-").slice(0, 128);
}

export interface AppReporterOptions {
  report: AppReportSettings;
  /** For `resource`: the VM's managed identity. */
  credential?: () => TokenCredential;
  logger: AgentLogger;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Sends a report; resolves true when the app accepted it (202), logs and resolves false otherwise. */
export function appReporter(options: AppReporterOptions): (body: AppReportBody) => Promise<boolean> {
  const send = options.fetch ?? fetch;
  let credential: TokenCredential | undefined;
  return async (body) => {
    try {
      const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
      if (options.report.functionKey) headers["x-functions-key"] = options.report.functionKey;
      if (options.report.resource) {
        credential ??= options.credential?.();
        if (!credential) throw new Error("report.resource needs the managed identity credential");
        const token = await credential.getToken(`${options.report.resource.replace(/\/+$/, "")}/.default`);
        if (!token) throw new Error(`no token for ${options.report.resource}`);
        headers.authorization = `Bearer ${token.token}`;
      }
      const res = await send(options.report.url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        redirect: "error",
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
      const text = await res.text();
      if (res.status !== 202) {
        options.logger.warn("report to the app refused", { status: res.status, detail: text.slice(0, 500) });
        return false;
      }
      return true;
    } catch (err) {
      options.logger.warn("report to the app failed", { error: errorMessage(err) });
      return false;
    }
  };
}
