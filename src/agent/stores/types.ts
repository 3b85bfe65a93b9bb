/** The small interface every certificate store implements (Linux files, Windows certificate store). */
import type { CertificateMaterial } from "../material";
import type { ObservedCertificate } from "../settings";

export interface StoreInstallResult {
  /** Where the new version now lives (file path, or Cert:\LocalMachine\My\<thumbprint>). */
  location: string;
  /** Path the server configuration points at (Linux: the symlink). */
  linkPath?: string;
  /** What was in service before (file path or thumbprint), if anything. */
  previous?: string;
  /** Bindings the store itself moved (Windows: IIS / HTTP.sys / renewal links). */
  bindingsUpdated: string[];
  /** Put the previous version back in service and remove the new one (used when a reload fails). */
  rollback(): Promise<void>;
  /** Called after every reload succeeded: prune old versions. */
  commit(): Promise<void>;
}

export interface CertificateStore {
  /**
   * Installs one version; `previous` is the version the agent installed for this vault certificate before (the Windows
   * store rebinds and links only from it), with the accounts its key was ACLed to.
   */
  install(
    cert: ObservedCertificate,
    version: string,
    material: CertificateMaterial,
    previous?: { thumbprint: string; location: string; keyAccounts?: string[] },
  ): Promise<StoreInstallResult>;
  /** Is this exact installed record still in place (so no download is needed)? */
  isInstalled(cert: ObservedCertificate, location: string): Promise<boolean>;
}
