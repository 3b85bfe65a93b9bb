/**
 * Durable state of the Key Vault stand-in: one JSON file per certificate and per secret under the state
 * directory, mirrored in memory so reads and lists never touch the disk. A write is acknowledged only after
 * the file is atomically replaced (temp + fsync + rename); the in-memory copy is swapped in afterwards, so a
 * failed write changes nothing.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../../shared/fs";

/** The certificate policy in its wire form (snake_case, as the REST API returns it), minus `id`. */
export interface PolicyRecord {
  key_props: { exportable: boolean; kty: string; key_size?: number; reuse_key: boolean; crv?: string };
  secret_props: { contentType: string };
  x509_props: {
    subject: string;
    sans?: Record<string, string[]>;
    ekus: string[];
    key_usage: string[];
    validity_months: number;
    basic_constraints: { ca: boolean };
  };
  lifetime_actions: Array<{ trigger: Record<string, number>; action: { action_type: string } }>;
  issuer: { name: string; cert_transparency?: boolean; cty?: string };
  attributes: { enabled: boolean; created: number; updated: number };
}

export interface Attributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
}

export interface CertVersionRecord {
  version: string;
  attributes: Attributes;
  tags?: Record<string, string>;
  /** PKCS#8 PEM of the key pair generated in (or imported into) the vault. */
  keyPem: string;
  /** Base64 DER certificates, leaf first; absent while the version is a pending placeholder. */
  certs?: string[];
  contentType: string;
  exportable: boolean;
}

export interface PendingRecord {
  requestId: string;
  issuer: { name: string; cert_transparency?: boolean; cty?: string };
  csr: string;
  cancellationRequested: boolean;
  status: "inProgress" | "completed" | "cancelled" | "failed";
  statusDetails?: string;
  /** Why a `failed` operation failed (the service's `error` object: a CA-integrated issuer refused the request). */
  error?: { code: string; message: string };
  /** Version of the disabled placeholder holding the pending key. */
  version: string;
  /** Issuer "Self": the signed certificate, made at create time and published at `completesAt`. */
  selfSigned?: { certs: string[]; completesAt: number };
}

export interface DeletedInfo {
  deletedDate: number;
  scheduledPurgeDate: number;
  /** Epoch ms from which the deleted item is listed and readable (the service takes a few seconds). */
  visibleAt?: number;
}

export interface CertRecord {
  name: string;
  policy: PolicyRecord;
  versions: CertVersionRecord[];
  pending?: PendingRecord;
  deleted?: DeletedInfo;
}

export interface SecretVersionRecord {
  version: string;
  value: string;
  contentType?: string;
  attributes: Attributes;
  tags?: Record<string, string>;
}

export interface SecretRecord {
  name: string;
  versions: SecretVersionRecord[];
  deleted?: DeletedInfo;
}

type Kind = "certificates" | "secrets";

/** Persistent maps of certificates and secrets, keyed by lower-cased name (Key Vault names are case-insensitive). */
export class VaultStore {
  readonly certificates = new Map<string, CertRecord>();
  readonly secrets = new Map<string, SecretRecord>();
  private readonly locks = new Map<string, Promise<unknown>>();

  private constructor(private readonly dir: string) {}

  /** Loads every record from `dir` (creating the directories on first use). */
  static async open(dir: string): Promise<VaultStore> {
    const store = new VaultStore(dir);
    for (const kind of ["certificates", "secrets"] as const) {
      const sub = path.join(dir, kind);
      await fs.mkdir(sub, { recursive: true, mode: 0o700 });
      for (const file of await fs.readdir(sub)) {
        if (!file.endsWith(".json") || file.startsWith(".")) continue;
        const record = JSON.parse(await fs.readFile(path.join(sub, file), "utf8")) as CertRecord | SecretRecord;
        if (kind === "certificates") store.certificates.set(record.name.toLowerCase(), record as CertRecord);
        else store.secrets.set(record.name.toLowerCase(), record as SecretRecord);
      }
    }
    return store;
  }

  /** Runs `fn` with exclusive access to one name, so concurrent writes to it are serialised. */
  async withLock<T>(kind: Kind, name: string, fn: () => Promise<T>): Promise<T> {
    const key = `${kind}/${name.toLowerCase()}`;
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  private file(kind: Kind, name: string): string {
    return path.join(this.dir, kind, `${name.toLowerCase()}.json`);
  }

  /** Durably writes a certificate record, then makes it the in-memory state. */
  async putCertificate(record: CertRecord): Promise<void> {
    await writeFileAtomic(this.file("certificates", record.name), JSON.stringify(record));
    this.certificates.set(record.name.toLowerCase(), record);
  }

  /** Durably writes a secret record, then makes it the in-memory state. */
  async putSecret(record: SecretRecord): Promise<void> {
    await writeFileAtomic(this.file("secrets", record.name), JSON.stringify(record));
    this.secrets.set(record.name.toLowerCase(), record);
  }

  /** Removes a record for good (purge). */
  async remove(kind: Kind, name: string): Promise<void> {
    await fs.rm(this.file(kind, name), { force: true });
    const dirHandle = await fs.open(path.join(this.dir, kind), "r");
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    (kind === "certificates" ? this.certificates : this.secrets).delete(name.toLowerCase());
  }
}
