/**
 * The Linux store, laid out like the Key Vault VM extension's: in certificateStoreLocation (directory 0700)
 * one PEM file per version (`<vault>.<name>.<version>.pem`, mode 0600: leaf, intermediates, root if present,
 * private key last), and a symlink `<vault>.<name>` (or customSymbolicLinkName) pointing at the newest one.
 * Files are written to a temp file, fsynced and renamed; the symlink is switched by renaming a temp symlink
 * over it, so a reader sees the old or the new certificate, never a mix. ACLs (setfacl) are applied to the
 * temp file before the rename when aclEnabled. Older versions are kept unless keepVersions is set.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { toPemBundle } from "../material";
import type { AclEntry, ObservedCertificate } from "../settings";
import type { CertificateStore, StoreInstallResult } from "./types";

const run = promisify(execFile);

export interface LinuxStoreOptions {
  aclEnabled: boolean;
  /** Keep this many versions per certificate; undefined keeps all. */
  keepVersions?: number;
  /** setfacl binary (default "setfacl" on PATH). */
  setfacl?: string;
}

/** File name of one version. */
export function versionFileName(cert: ObservedCertificate, version: string): string {
  return `${cert.vaultName}.${cert.name}.${version}.pem`;
}

/** setfacl -m specification for the files (read) and the directory (traverse). Pure. */
export function aclSpec(acls: AclEntry[], perm: "r" | "x"): string | undefined {
  const parts: string[] = [];
  for (const a of acls) {
    if (a.user) parts.push(`u:${a.user}:${perm}`);
    if (a.group) parts.push(`g:${a.group}:${perm}`);
  }
  return parts.length ? parts.join(",") : undefined;
}

export function createLinuxStore(options: LinuxStoreOptions): CertificateStore {
  const setfacl = options.setfacl ?? "setfacl";
  const applyAcl = async (target: string, acls: AclEntry[], perm: "r" | "x") => {
    const spec = options.aclEnabled ? aclSpec(acls, perm) : undefined;
    if (!spec) return;
    try {
      await run(setfacl, ["-m", spec, target]);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`setfacl -m ${spec} ${target} failed: ${(e.stderr || e.message).trim()}`);
    }
  };

  return {
    async install(cert, version, material): Promise<StoreInstallResult> {
      const dir = cert.certificateStoreLocation;
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const st = await fs.stat(dir);
      if ((st.mode & 0o777) !== 0o700) await fs.chmod(dir, 0o700);
      await applyAcl(dir, cert.acls, "x");

      const file = path.join(dir, versionFileName(cert, version));
      const link = path.join(dir, cert.linkName);
      const previous = await currentTarget(link);
      await writeVersionFile(file, toPemBundle(material), async (tmp) => applyAcl(tmp, cert.acls, "r"));
      await switchLink(link, path.basename(file));
      const fileIsNew = previous !== file;
      return {
        location: file,
        linkPath: link,
        previous,
        bindingsUpdated: [],
        async rollback() {
          if (previous) await switchLink(link, path.relative(dir, previous));
          else await fs.rm(link, { force: true });
          if (fileIsNew) await fs.rm(file, { force: true });
          await syncDir(dir);
        },
        async commit() {
          if (options.keepVersions) await prune(cert, dir, file, options.keepVersions);
        },
      };
    },
    async isInstalled(cert, location) {
      const target = await currentTarget(path.join(cert.certificateStoreLocation, cert.linkName));
      if (target !== location) return false;
      try {
        return (await fs.stat(location)).isFile();
      } catch {
        return false;
      }
    },
  };
}

/** Absolute path the link points at, or undefined when there is no link. Refuses to treat a regular file as a link. */
async function currentTarget(link: string): Promise<string | undefined> {
  let st;
  try {
    st = await fs.lstat(link);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (!st.isSymbolicLink()) throw new Error(`${link} exists and is not a symlink; refusing to replace it`);
  return path.resolve(path.dirname(link), await fs.readlink(link));
}

async function writeVersionFile(file: string, data: string, beforeRename: (tmp: string) => Promise<void>): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await fs.open(tmp, "wx", 0o600);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.chmod(tmp, 0o600);
    await beforeRename(tmp);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** Points `link` at `target` (relative to the link's directory) atomically: temp symlink + rename. */
export async function switchLink(link: string, target: string): Promise<void> {
  const dir = path.dirname(link);
  const tmp = path.join(dir, `.${path.basename(link)}.${randomBytes(6).toString("hex")}.lnk`);
  await fs.symlink(target, tmp);
  try {
    await fs.rename(tmp, link);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function prune(cert: ObservedCertificate, dir: string, current: string, keep: number): Promise<void> {
  const prefix = `${cert.vaultName}.${cert.name}.`;
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[0-9a-fA-F]{32}\\.pem$`);
  const names = (await fs.readdir(dir)).filter((n) => re.test(n));
  const withTimes = await Promise.all(names.map(async (n) => ({ n, t: (await fs.stat(path.join(dir, n))).mtimeMs })));
  withTimes.sort((a, b) => b.t - a.t);
  const keepSet = new Set(withTimes.slice(0, keep).map((x) => x.n));
  keepSet.add(path.basename(current));
  for (const { n } of withTimes) if (!keepSet.has(n)) await fs.rm(path.join(dir, n), { force: true });
}
