/**
 * One polling cycle over every observed certificate: read the current version's metadata, download the secret
 * only when the version changed, verify it, install it, put it in service (installers), record state, report.
 * One certificate's failure never stops the others; it is retried next cycle.
 */
import { readFile } from "node:fs/promises";
import { errorMessage } from "../shared/errors";
import { issuerOf, issuerPinRefusal } from "./issuer-pins";
import { parseSecretMaterial, type CertificateMaterial } from "./material";
import { createInstaller, type Installer } from "./reload";
import { installerApplies, type AgentSettings, type ObservedCertificate } from "./settings";
import { loadState, saveState, type AgentState, type CertificateStatus, type HandlerStatus, type InstalledRecord } from "./state";
import type { CertificateStore, StoreInstallResult } from "./stores/types";
import { SecretDisabledError, type SecretValue, type VaultReader } from "./vault";

export interface AgentLogger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** Reported after every install attempt (the lead wires it to the notify module's webhooks). */
export interface AgentEvent {
  type: "certificate.installed" | "certificate.install_failed";
  host: string;
  certificateName: string;
  vaultUrl: string;
  version: string;
  thumbprint?: string;
  bindingsUpdated: string[];
  error?: string;
}

export interface PollerDeps {
  vault: VaultReader;
  store: CertificateStore;
  logger: AgentLogger;
  host: string;
  /** Environment for command hooks and server binaries. */
  env: NodeJS.ProcessEnv;
  report?: (event: AgentEvent) => void | Promise<void>;
  installers?: Installer[];
  clock?: () => Date;
}

export interface CycleResult {
  statuses: CertificateStatus[];
  installed: string[];
  failed: string[];
  /** Every observed certificate has a version in service. */
  allInstalled: boolean;
}

/** Delay before initial-sync attempt `attempt + 1` (1-based attempt that just failed): 5 s doubling, at most 100 s. */
export function initialSyncDelayMs(attempt: number, baseMs = 5000, capMs = 100_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** Spread of every later polling wait: the interval +/- this fraction of it (docs/agent.md, "Polling and jitter"). */
export const POLL_JITTER_FRACTION = 0.1;

/**
 * Wait before the next polling cycle (pure; `random` is a draw from [0, 1)). Each later wait is the interval +/-
 * POLL_JITTER_FRACTION of it (uniform), so hosts do not drift back into step. The first wait after the start-up cycle
 * is drawn from that renewal process's stationary ("equilibrium") distribution: uniform up to (1 - fraction) x the
 * interval, then a density falling linearly to zero at (1 + fraction) x the interval (the chance that a jittered wait
 * is still running). With a plain uniform first wait over one interval, the hosts whose first wait was short poll
 * again (after 0.9-1.1 intervals) while the ones whose first wait was long have not polled yet, so a fleet started
 * together polled up to 1.5x its mean rate around one interval after the start; with this first wait the fleet's
 * polling rate is flat from the start-up on (docs/agent.md, "Polling and jitter"). Never below one second.
 */
export function pollDelayMs(intervalS: number, first: boolean, random: number, fraction = POLL_JITTER_FRACTION): number {
  const intervalMs = intervalS * 1000;
  const r = Math.min(Math.max(random, 0), 1);
  const f = Math.min(Math.max(fraction, 0), 1);
  let ms: number;
  if (!first) ms = intervalMs * (1 + f * (2 * r - 1));
  else if (r <= 1 - f || f === 0) ms = intervalMs * r;
  // Inverse of the stationary CDF on the jitter band: F(x) = (1 - f) + (s - s^2 / (4 f I)) / I for x = (1 - f) I + s.
  else ms = intervalMs * (1 - f + 2 * f * (1 - Math.sqrt(Math.max(0, 1 - (r - (1 - f)) / f))));
  return Math.max(1000, Math.round(ms));
}

/** Overall handler status from per-certificate statuses (pure). */
export function overallStatus(statuses: CertificateStatus[], phase: "initialSync" | "polling"): { status: HandlerStatus; message: string } {
  const failed = statuses.filter((s) => s.state !== "installed");
  if (failed.length === 0) return { status: "success", message: `${statuses.length} certificate(s) installed and current` };
  const why = failed.map((s) => `${s.name}: ${s.error ?? s.state}`).join("; ");
  if (phase === "initialSync")
    return { status: "transitioning", message: `initial sync: ${statuses.length - failed.length}/${statuses.length} installed; ${why}` };
  return { status: "warning", message: `${failed.length} of ${statuses.length} certificate(s) not current: ${why}` };
}

export class Poller {
  private state: AgentState | undefined;
  private readonly failures = new Map<string, number>();
  private readonly reported = new Map<string, string>();
  private readonly bindingsOf = new Map<string, string[]>();
  private readonly installers: Installer[];
  private readonly clock: () => Date;

  constructor(
    private readonly settings: AgentSettings,
    private readonly deps: PollerDeps,
  ) {
    this.installers = deps.installers ?? settings.kvAcme.installers.map((s) => createInstaller(s, { env: deps.env }));
    this.clock = deps.clock ?? (() => new Date());
  }

  /** What the state records as installed for an observed certificate (after the first cycle). */
  installed(url: string): InstalledRecord | undefined {
    return this.state?.certificates[url];
  }

  /** The bindings and servers the last install of this certificate updated (this process's lifetime). */
  bindingsUpdated(url: string): string[] {
    return this.bindingsOf.get(url) ?? [];
  }

  /** Runs one cycle; never throws for a single certificate's failure. */
  async cycle(signal?: AbortSignal): Promise<CycleResult> {
    if (!this.state) this.state = await loadState(this.settings.kvAcme.stateFile);
    const statuses: CertificateStatus[] = [];
    const installed: string[] = [];
    const failed: string[] = [];
    for (const cert of this.settings.observedCertificates) {
      if (signal?.aborted) break;
      const status = await this.one(cert, signal, installed);
      if (status.state !== "installed") failed.push(cert.url);
      statuses.push(status);
    }
    return {
      statuses,
      installed,
      failed,
      allInstalled: failed.length === 0 && statuses.length === this.settings.observedCertificates.length,
    };
  }

  private async one(cert: ObservedCertificate, signal: AbortSignal | undefined, installedNow: string[]): Promise<CertificateStatus> {
    const state = this.state as AgentState;
    const now = this.clock().toISOString();
    const rec = state.certificates[cert.url];
    const base = { url: cert.url, name: cert.name, lastAttemptAt: now };
    let version: string | undefined;
    let thumbprint: string | undefined;
    let material: CertificateMaterial | undefined;
    let bindings: string[] = [];
    // What is installed stays in service (same version, or none installable yet): its status, or undefined.
    const keepInstalled = async () => {
      if (!rec || !(await this.deps.store.isInstalled(cert, rec.location))) return undefined;
      this.failures.delete(cert.url);
      return {
        ...base,
        state: "installed" as const,
        version: rec.version,
        thumbprint: rec.thumbprint,
        location: rec.location,
        consecutiveFailures: 0,
      };
    };
    try {
      const current = await this.deps.vault.currentVersion(cert.vaultUrl, cert.name, signal);
      version = current.version;
      thumbprint = current.thumbprint;
      if (!version) {
        const kept = await keepInstalled();
        if (kept) return kept;
        throw new Error(`no installable version yet: ${current.reason ?? "unknown"}`);
      }
      if (rec?.version === version) {
        const kept = await keepInstalled();
        if (kept) return kept;
      }
      let secret: SecretValue;
      try {
        secret = await this.deps.vault.getSecret(cert.vaultUrl, cert.name, version, signal);
      } catch (err) {
        if (!(err instanceof SecretDisabledError)) throw err;
        // Disabled between the version read and the download: keep what is installed, wait for an enabled version.
        const kept = await keepInstalled();
        if (kept) return kept;
        version = undefined; // nothing to report as an install failure: the vault holds no installable version
        throw new Error(`no installable version yet: ${err.message}`);
      }
      material = parseSecretMaterial(secret.value, secret.contentType);
      thumbprint = material.thumbprint;
      if (current.thumbprint && current.thumbprint !== material.thumbprint) {
        throw new Error(`the secret's leaf (${material.thumbprint}) is not the certificate version's x5t (${current.thumbprint})`);
      }
      const refusal = issuerPinRefusal(this.settings.kvAcme.issuerPins[cert.url], issuerOf(material));
      if (refusal) throw new Error(refusal);
      const previous = rec && {
        thumbprint: rec.thumbprint,
        location: rec.location,
        ...(rec.keyAccounts ? { keyAccounts: rec.keyAccounts } : {}),
      };
      const result = await this.deps.store.install(cert, version, material, previous);
      bindings = [...result.bindingsUpdated];
      bindings.push(...(await this.putInService(cert, version, material, result)));
      await result.commit();
      state.certificates[cert.url] = {
        version,
        thumbprint: material.thumbprint,
        serialNumber: material.serialNumber,
        location: result.location,
        dnsNames: material.dnsNames,
        notAfter: material.notAfter.toISOString(),
        installedAt: now,
        ...(cert.accounts.length > 0 ? { keyAccounts: [...cert.accounts] } : {}),
      };
      await saveState(this.settings.kvAcme.stateFile, state);
      this.failures.delete(cert.url);
      this.reported.delete(cert.url);
      this.bindingsOf.set(cert.url, bindings);
      installedNow.push(cert.url);
      this.deps.logger.info("certificate installed", {
        certificate: cert.name,
        version,
        thumbprint: material.thumbprint,
        location: result.location,
        bindings,
      });
      await this.emit({
        type: "certificate.installed",
        host: this.deps.host,
        certificateName: cert.name,
        vaultUrl: cert.vaultUrl,
        version,
        thumbprint: material.thumbprint,
        bindingsUpdated: bindings,
      });
      return { ...base, state: "installed", version, thumbprint: material.thumbprint, location: result.location, consecutiveFailures: 0 };
    } catch (err) {
      const n = (this.failures.get(cert.url) ?? 0) + 1;
      this.failures.set(cert.url, n);
      const message = errorMessage(err);
      this.deps.logger.warn("certificate not installed", { certificate: cert.name, version, error: message, consecutiveFailures: n });
      // One webhook per distinct failure of a known new version, not one per cycle.
      if (version && this.reported.get(cert.url) !== `${version}|${message}`) {
        this.reported.set(cert.url, `${version}|${message}`);
        await this.emit({
          type: "certificate.install_failed",
          host: this.deps.host,
          certificateName: cert.name,
          vaultUrl: cert.vaultUrl,
          version,
          thumbprint,
          bindingsUpdated: [],
          error: message,
        });
      }
      const inService = rec && (await this.deps.store.isInstalled(cert, rec.location).catch(() => false));
      return {
        ...base,
        state: "failed",
        version: inService ? rec.version : undefined,
        thumbprint: inService ? rec.thumbprint : undefined,
        location: inService ? rec.location : undefined,
        error: inService ? `${message} (version ${rec.version} stays in service)` : message,
        consecutiveFailures: n,
      };
    }
  }

  /** Runs the installers for this certificate; on failure rolls the store back and re-applies the earlier ones. */
  private async putInService(
    cert: ObservedCertificate,
    version: string,
    material: CertificateMaterial,
    result: StoreInstallResult,
  ): Promise<string[]> {
    const done: Installer[] = [];
    const updated: string[] = [];
    for (const inst of this.installers.filter((i) => installerApplies(i.settings, cert))) {
      try {
        updated.push(...(await inst.apply({ cert, version, material, result })));
        done.push(inst);
      } catch (err) {
        await result.rollback();
        const rec = this.state?.certificates[cert.url];
        if (rec && done.length) {
          // Earlier installers already switched to the new version: point them back at the previous one.
          try {
            const previous = rec.location.startsWith("/") ? parseSecretMaterial(await readFile(rec.location, "utf8")) : undefined;
            for (const d of previous ? done : []) {
              await d.apply({
                cert,
                version: rec.version,
                material: previous as CertificateMaterial,
                result: { ...result, location: rec.location },
              });
            }
          } catch (restoreErr) {
            this.deps.logger.error("restoring the previous certificate in an earlier installer failed", {
              certificate: cert.name,
              error: errorMessage(restoreErr),
            });
          }
        }
        throw err;
      }
    }
    return updated;
  }

  private async emit(event: AgentEvent): Promise<void> {
    if (!this.deps.report) return;
    try {
      await this.deps.report(event);
    } catch (err) {
      this.deps.logger.warn("report failed", { type: event.type, certificate: event.certificateName, error: errorMessage(err) });
    }
  }
}
