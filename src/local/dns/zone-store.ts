/**
 * The zones of the local Azure DNS stand-in: one source of truth shared by the ARM server and the authoritative
 * DNS server (same object, no cache), persisted as one JSON file under stateDir with atomic writes.
 *
 * Writes are serialised through one queue, and ETag preconditions are checked inside it, so two concurrent writes
 * with the same If-Match cannot both succeed. Every acknowledged write is on disk (temp file, fsync, rename).
 *
 * Name servers: every zone gets SOA and NS record sets at its apex naming `nameServers` (e.g. "ns1.kv-acme.test.").
 * The DNS server answers A queries for those host names with its own address, so a resolver that follows a
 * zone's NS records ends at our server.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { promises as fs } from "node:fs";
import path from "node:path";
import { KvAcmeError } from "../../shared/errors";
import { writeFileAtomic } from "../../shared/fs";
import {
  ArmBadRequest,
  DEFAULT_TTL,
  MAX_RECORD_SETS_PER_ZONE,
  RECORD_PROPERTY,
  RecordData,
  RecordType,
  isValidDomainName,
  normaliseRecordSetName,
  validateMetadata,
  validateRecordData,
  validateTtl,
} from "./records";

export interface SeedZone {
  name: string;
  resourceGroup: string;
}

export interface RecordSetSnapshot {
  zone: string;
  resourceGroup: string;
  /** Relative name in lower case, "@" for the apex. */
  name: string;
  type: RecordType;
  etag: string;
  ttl: number;
  metadata: Record<string, string>;
  records: RecordData;
}

export interface ZoneSnapshot {
  name: string;
  resourceGroup: string;
  etag: string;
  tags: Record<string, string>;
  numberOfRecordSets: number;
  nameServers: string[];
}

/** ETag preconditions as ARM takes them (If-Match: etag or "*"; If-None-Match: "*"). */
export interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

/** The ARM error a store operation failed with; `status` and `code` go on the wire as is. */
export class DnsStoreError extends KvAcmeError {
  constructor(status: number, code: string, message: string) {
    super(code, message, status);
  }
}

export interface RecordSetInput {
  ttl?: unknown;
  metadata?: unknown;
  /** The ARM `properties` object (TXTRecords, ARecords, ...). */
  properties: Record<string, unknown>;
}

interface StoredRecordSet {
  name: string;
  type: RecordType;
  etag: string;
  ttl: number;
  metadata: Record<string, string>;
  records: RecordData;
}

interface StoredZone {
  name: string;
  resourceGroup: string;
  etag: string;
  tags: Record<string, string>;
  recordSets: Map<string, StoredRecordSet>;
}

interface StateFile {
  format: 1;
  /** The name servers the zones were written with; apex NS/SOA still naming these follow a changed list. */
  nameServers?: string[];
  zones: { name: string; resourceGroup: string; etag: string; tags: Record<string, string>; recordSets: StoredRecordSet[] }[];
}

export interface ZoneStore {
  readonly subscriptionId: string;
  /** Name server host names with a trailing dot, as in each zone's apex NS record set. */
  readonly nameServers: string[];
  /** Increases by one on every committed write. */
  readonly version: number;
  /** Emits "change" ({ version, zone }) after every committed write. */
  readonly events: EventEmitter;
  listZones(resourceGroup?: string): ZoneSnapshot[];
  getZone(name: string): ZoneSnapshot | undefined;
  /** The zone that contains `fqdn` (longest suffix match, case-insensitive), if any. */
  findZoneFor(fqdn: string): ZoneSnapshot | undefined;
  getRecordSet(zone: string, name: string, type: RecordType): RecordSetSnapshot | undefined;
  listRecordSets(zone: string, type?: RecordType): RecordSetSnapshot[];
  /** All record sets at one relative name (lower case, "@" for apex). */
  recordSetsAt(zone: string, name: string): RecordSetSnapshot[];
  /** True if some record set exists at `name` or below it (RFC 4592 §2.2.2: empty non-terminals exist). */
  nameExists(zone: string, name: string): boolean;
  createOrUpdateZone(
    resourceGroup: string,
    name: string,
    input: { tags?: unknown },
    pre?: Preconditions,
  ): Promise<{ zone: ZoneSnapshot; created: boolean }>;
  updateZone(resourceGroup: string, name: string, input: { tags?: unknown }, pre?: Preconditions): Promise<ZoneSnapshot>;
  /** Deletes a zone and all its record sets; false if it did not exist. */
  deleteZone(resourceGroup: string, name: string, pre?: Preconditions): Promise<boolean>;
  createOrUpdateRecordSet(
    resourceGroup: string,
    zone: string,
    name: string,
    type: RecordType,
    input: RecordSetInput,
    pre?: Preconditions,
  ): Promise<{ recordSet: RecordSetSnapshot; created: boolean }>;
  /** PATCH semantics: only the given TTL, metadata and records change. */
  updateRecordSet(
    resourceGroup: string,
    zone: string,
    name: string,
    type: RecordType,
    input: RecordSetInput,
    pre?: Preconditions,
  ): Promise<RecordSetSnapshot>;
  /** False if it did not exist (and no If-Match was given). */
  deleteRecordSet(resourceGroup: string, zone: string, name: string, type: RecordType, pre?: Preconditions): Promise<boolean>;
}

const STATE_FILE = "dns-zones.json";

/** Opens (or creates) the zone store under `stateDir`, adding any seed zone that is missing. */
export async function openZoneStore(options: {
  stateDir: string;
  subscriptionId: string;
  seedZones: SeedZone[];
  nameServers: string[];
}): Promise<ZoneStore> {
  const nameServers = options.nameServers.map((n) => (n.endsWith(".") ? n : `${n}.`).toLowerCase());
  if (nameServers.length === 0 || !nameServers.every((n) => isValidDomainName(n.slice(0, -1)))) {
    throw new KvAcmeError(
      "ConfigurationInvalid",
      `nameServers must be one or more host names, got ${JSON.stringify(options.nameServers)}`,
      500,
    );
  }
  await fs.mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(options.stateDir, STATE_FILE);
  const zones = new Map<string, StoredZone>();
  let text: string | undefined;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (text !== undefined) {
    const state = JSON.parse(text) as StateFile;
    for (const z of state.zones) {
      zones.set(z.name, { ...z, recordSets: new Map(z.recordSets.map((r) => [key(r.name, r.type), r])) });
    }
  }
  const store = new FileZoneStore(file, options.subscriptionId, nameServers, zones);
  let seeded = text !== undefined && store.adoptNameServers((JSON.parse(text) as StateFile).nameServers ?? []);
  for (const seed of options.seedZones) {
    const name = normaliseZoneName(seed.name);
    if (!zones.has(name)) {
      zones.set(name, store.newZone(seed.resourceGroup, name, {}));
      seeded = true;
    }
  }
  if (seeded || text === undefined) await store.persist();
  return store;
}

function key(name: string, type: RecordType): string {
  return `${type} ${name}`;
}

function normaliseZoneName(name: string): string {
  const lower = name.toLowerCase().replace(/\.$/, "");
  if (!isValidDomainName(lower) || !lower.includes(".")) {
    throw new ArmBadRequest(
      `The zone name '${name}' is invalid. A zone name needs at least two labels of letters, digits and hyphens.`,
      "InvalidZoneName",
    );
  }
  return lower;
}

function etagMatches(header: string, etag: string): boolean {
  return header
    .split(",")
    .map((s) =>
      s
        .trim()
        .replace(/^W\//, "")
        .replace(/^"(.*)"$/, "$1"),
    )
    .some((s) => s === "*" || s === etag);
}

class FileZoneStore implements ZoneStore {
  readonly events = new EventEmitter();
  version = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    readonly subscriptionId: string,
    readonly nameServers: string[],
    private zones: Map<string, StoredZone>,
  ) {}

  newZone(resourceGroup: string, name: string, tags: Record<string, string>): StoredZone {
    const zone: StoredZone = { name, resourceGroup, etag: randomUUID(), tags, recordSets: new Map() };
    const soa: StoredRecordSet = {
      name: "@",
      type: "SOA",
      etag: randomUUID(),
      ttl: 3600,
      metadata: {},
      records: {
        SOARecord: {
          host: this.nameServers[0].slice(0, -1),
          email: `hostmaster.${this.nameServers[0].slice(0, -1).split(".").slice(1).join(".") || "kv-acme.test"}`,
          serialNumber: 1,
          refreshTime: 3600,
          retryTime: 300,
          expireTime: 2419200,
          minimumTTL: 300,
        },
      },
    };
    const ns: StoredRecordSet = {
      name: "@",
      type: "NS",
      etag: randomUUID(),
      ttl: 172800,
      metadata: {},
      records: { NSRecords: this.nameServers.map((n) => ({ nsdname: n.slice(0, -1) })) },
    };
    zone.recordSets.set(key("@", "SOA"), soa);
    zone.recordSets.set(key("@", "NS"), ns);
    return zone;
  }

  /**
   * Rewrites apex NS and SOA host that still name the `previous` name servers to the current ones (a changed
   * configuration); record sets a user changed are left alone. Returns true if anything changed.
   */
  adoptNameServers(previous: string[]): boolean {
    if (previous.length === 0 || previous.join() === this.nameServers.join()) return false;
    const strip = (n: string) => n.replace(/\.$/, "");
    let changed = false;
    for (const z of this.zones.values()) {
      const ns = z.recordSets.get(key("@", "NS"));
      if (ns?.records.NSRecords && ns.records.NSRecords.map((r) => r.nsdname).join() === previous.map(strip).join()) {
        ns.records = { NSRecords: this.nameServers.map((n) => ({ nsdname: strip(n) })) };
        ns.etag = randomUUID();
        changed = true;
      }
      const soa = z.recordSets.get(key("@", "SOA"));
      if (soa?.records.SOARecord && soa.records.SOARecord.host === strip(previous[0])) {
        soa.records.SOARecord.host = strip(this.nameServers[0]);
        soa.etag = randomUUID();
        changed = true;
      }
    }
    return changed;
  }

  async persist(): Promise<void> {
    const state: StateFile = {
      format: 1,
      nameServers: this.nameServers,
      zones: [...this.zones.values()].map((z) => ({
        name: z.name,
        resourceGroup: z.resourceGroup,
        etag: z.etag,
        tags: z.tags,
        recordSets: [...z.recordSets.values()],
      })),
    };
    await writeFileAtomic(this.file, `${JSON.stringify(state, null, 1)}\n`, 0o600);
  }

  /** Runs `fn` alone; it returns the zones map to commit. Nothing changes unless `fn` and the write succeed. */
  private write<T>(zoneName: string, fn: (draft: Map<string, StoredZone>) => T): Promise<T> {
    const run = async (): Promise<T> => {
      const draft = cloneZones(this.zones);
      const result = fn(draft);
      const before = this.zones;
      this.zones = draft;
      try {
        await this.persist();
      } catch (err) {
        this.zones = before;
        throw err;
      }
      this.version += 1;
      this.events.emit("change", { version: this.version, zone: zoneName });
      return result;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private zoneSnapshot(z: StoredZone): ZoneSnapshot {
    return {
      name: z.name,
      resourceGroup: z.resourceGroup,
      etag: z.etag,
      tags: { ...z.tags },
      numberOfRecordSets: z.recordSets.size,
      nameServers: [...this.nameServers],
    };
  }

  private setSnapshot(z: StoredZone, r: StoredRecordSet): RecordSetSnapshot {
    return {
      zone: z.name,
      resourceGroup: z.resourceGroup,
      name: r.name,
      type: r.type,
      etag: r.etag,
      ttl: r.ttl,
      metadata: { ...r.metadata },
      records: structuredClone(r.records),
    };
  }

  listZones(resourceGroup?: string): ZoneSnapshot[] {
    return [...this.zones.values()]
      .filter((z) => resourceGroup === undefined || z.resourceGroup.toLowerCase() === resourceGroup.toLowerCase())
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((z) => this.zoneSnapshot(z));
  }

  getZone(name: string): ZoneSnapshot | undefined {
    const z = this.zones.get(name.toLowerCase().replace(/\.$/, ""));
    return z && this.zoneSnapshot(z);
  }

  findZoneFor(fqdn: string): ZoneSnapshot | undefined {
    const labels = fqdn.toLowerCase().replace(/\.$/, "").split(".");
    for (let i = 0; i < labels.length; i++) {
      const z = this.zones.get(labels.slice(i).join("."));
      if (z) return this.zoneSnapshot(z);
    }
    return undefined;
  }

  getRecordSet(zone: string, name: string, type: RecordType): RecordSetSnapshot | undefined {
    const z = this.zones.get(zone.toLowerCase());
    const r = z?.recordSets.get(key(name.toLowerCase(), type));
    return z && r && this.setSnapshot(z, r);
  }

  listRecordSets(zone: string, type?: RecordType): RecordSetSnapshot[] {
    const z = this.zones.get(zone.toLowerCase());
    if (!z) return [];
    return [...z.recordSets.values()]
      .filter((r) => type === undefined || r.type === type)
      .sort((a, b) =>
        a.name === b.name ? a.type.localeCompare(b.type) : a.name === "@" ? -1 : b.name === "@" ? 1 : a.name.localeCompare(b.name),
      )
      .map((r) => this.setSnapshot(z, r));
  }

  recordSetsAt(zone: string, name: string): RecordSetSnapshot[] {
    const z = this.zones.get(zone.toLowerCase());
    if (!z) return [];
    const n = name.toLowerCase();
    return [...z.recordSets.values()].filter((r) => r.name === n).map((r) => this.setSnapshot(z, r));
  }

  nameExists(zone: string, name: string): boolean {
    const z = this.zones.get(zone.toLowerCase());
    if (!z) return false;
    const n = name.toLowerCase();
    if (n === "@") return true;
    for (const r of z.recordSets.values()) if (r.name === n || r.name.endsWith(`.${n}`)) return true;
    return false;
  }

  private zoneFor(draft: Map<string, StoredZone>, resourceGroup: string, zone: string): StoredZone {
    const z = draft.get(zone.toLowerCase().replace(/\.$/, ""));
    if (!z || z.resourceGroup.toLowerCase() !== resourceGroup.toLowerCase()) {
      throw new DnsStoreError(
        404,
        "ParentResourceNotFound",
        `Can not perform requested operation on nested resource. Parent resource '${zone}' not found.`,
      );
    }
    return z;
  }

  createOrUpdateZone(
    resourceGroup: string,
    name: string,
    input: { tags?: unknown },
    pre: Preconditions = {},
  ): Promise<{ zone: ZoneSnapshot; created: boolean }> {
    const zoneName = normaliseZoneName(name);
    const tags = validateTags(input.tags);
    checkPreconditionHeaders(pre);
    return this.write(zoneName, (draft) => {
      const existing = draft.get(zoneName);
      if (existing && existing.resourceGroup.toLowerCase() !== resourceGroup.toLowerCase()) {
        throw new DnsStoreError(409, "Conflict", `The zone '${zoneName}' already exists in resource group '${existing.resourceGroup}'.`);
      }
      checkPreconditions(pre, existing?.etag, `zone '${zoneName}'`);
      if (existing) {
        existing.tags = tags;
        existing.etag = randomUUID();
        return { zone: this.zoneSnapshot(existing), created: false };
      }
      const zone = this.newZone(resourceGroup, zoneName, tags);
      draft.set(zoneName, zone);
      return { zone: this.zoneSnapshot(zone), created: true };
    });
  }

  updateZone(resourceGroup: string, name: string, input: { tags?: unknown }, pre: Preconditions = {}): Promise<ZoneSnapshot> {
    const tags = input.tags === undefined ? undefined : validateTags(input.tags);
    checkPreconditionHeaders(pre);
    const zoneName = name.toLowerCase().replace(/\.$/, "");
    return this.write(zoneName, (draft) => {
      const z = draft.get(zoneName);
      if (!z || z.resourceGroup.toLowerCase() !== resourceGroup.toLowerCase()) throw zoneNotFound(resourceGroup, name);
      checkPreconditions(pre, z.etag, `zone '${zoneName}'`);
      if (tags) z.tags = tags;
      z.etag = randomUUID();
      return this.zoneSnapshot(z);
    });
  }

  deleteZone(resourceGroup: string, name: string, pre: Preconditions = {}): Promise<boolean> {
    checkPreconditionHeaders(pre);
    const zoneName = name.toLowerCase().replace(/\.$/, "");
    return this.write(zoneName, (draft) => {
      const z = draft.get(zoneName);
      if (!z || z.resourceGroup.toLowerCase() !== resourceGroup.toLowerCase()) {
        checkPreconditions(pre, undefined, `zone '${zoneName}'`);
        return false;
      }
      checkPreconditions(pre, z.etag, `zone '${zoneName}'`);
      draft.delete(zoneName);
      return true;
    });
  }

  createOrUpdateRecordSet(
    resourceGroup: string,
    zone: string,
    name: string,
    type: RecordType,
    input: RecordSetInput,
    pre: Preconditions = {},
  ): Promise<{ recordSet: RecordSetSnapshot; created: boolean }> {
    checkPreconditionHeaders(pre);
    const zoneName = zone.toLowerCase().replace(/\.$/, "");
    const relName = normaliseRecordSetName(name, zoneName);
    const records = validateRecordData(type, input.properties);
    const ttl = input.ttl === undefined || input.ttl === null ? DEFAULT_TTL : validateTtl(input.ttl);
    const metadata = validateMetadata(input.metadata);
    checkPlacement(relName, type);
    return this.write(zoneName, (draft) => {
      const z = this.zoneFor(draft, resourceGroup, zoneName);
      const k = key(relName, type);
      const existing = z.recordSets.get(k);
      checkPreconditions(pre, existing?.etag, `record set '${type}/${relName}'`);
      if (!existing) {
        if (type === "SOA") throw new ArmBadRequest("The SOA record set is created with the zone and can only be updated.");
        if (z.recordSets.size >= MAX_RECORD_SETS_PER_ZONE)
          throw new DnsStoreError(409, "Conflict", `The zone '${zoneName}' already has ${MAX_RECORD_SETS_PER_ZONE} record sets.`);
      }
      checkCnameExclusive(z, relName, type);
      if (type === "SOA" && existing?.records.SOARecord && records.SOARecord) {
        records.SOARecord.host = existing.records.SOARecord.host; // Azure DNS keeps the SOA host
      }
      const set: StoredRecordSet = { name: relName, type, etag: randomUUID(), ttl, metadata, records };
      z.recordSets.set(k, set);
      return { recordSet: this.setSnapshot(z, set), created: !existing };
    });
  }

  updateRecordSet(
    resourceGroup: string,
    zone: string,
    name: string,
    type: RecordType,
    input: RecordSetInput,
    pre: Preconditions = {},
  ): Promise<RecordSetSnapshot> {
    checkPreconditionHeaders(pre);
    const zoneName = zone.toLowerCase().replace(/\.$/, "");
    const relName = normaliseRecordSetName(name, zoneName);
    const records = validateRecordData(type, input.properties, { partial: true });
    const ttl = input.ttl === undefined || input.ttl === null ? undefined : validateTtl(input.ttl);
    const metadata = input.metadata === undefined || input.metadata === null ? undefined : validateMetadata(input.metadata);
    return this.write(zoneName, (draft) => {
      const z = this.zoneFor(draft, resourceGroup, zoneName);
      const existing = z.recordSets.get(key(relName, type));
      if (!existing) {
        if (pre.ifMatch !== undefined) checkPreconditions(pre, undefined, `record set '${type}/${relName}'`);
        throw recordSetNotFound(resourceGroup, zoneName, relName, type);
      }
      checkPreconditions(pre, existing.etag, `record set '${type}/${relName}'`);
      const prop = RECORD_PROPERTY[type];
      if (records[prop] !== undefined) {
        if (type === "SOA" && existing.records.SOARecord && records.SOARecord) records.SOARecord.host = existing.records.SOARecord.host;
        existing.records = records;
      }
      if (ttl !== undefined) existing.ttl = ttl;
      if (metadata !== undefined) existing.metadata = metadata;
      existing.etag = randomUUID();
      return this.setSnapshot(z, existing);
    });
  }

  deleteRecordSet(resourceGroup: string, zone: string, name: string, type: RecordType, pre: Preconditions = {}): Promise<boolean> {
    checkPreconditionHeaders(pre);
    const zoneName = zone.toLowerCase().replace(/\.$/, "");
    const relName = normaliseRecordSetName(name, zoneName);
    if (relName === "@" && (type === "SOA" || type === "NS")) {
      throw new ArmBadRequest(`The ${type} record set at the zone apex cannot be deleted.`);
    }
    return this.write(zoneName, (draft) => {
      const z = this.zoneFor(draft, resourceGroup, zoneName);
      const k = key(relName, type);
      const existing = z.recordSets.get(k);
      if (pre.ifMatch !== undefined) checkPreconditions(pre, existing?.etag, `record set '${type}/${relName}'`);
      if (!existing) return false;
      z.recordSets.delete(k);
      return true;
    });
  }
}

function cloneZones(zones: Map<string, StoredZone>): Map<string, StoredZone> {
  const out = new Map<string, StoredZone>();
  for (const [k, z] of zones) {
    out.set(k, {
      ...z,
      tags: { ...z.tags },
      recordSets: new Map(
        [...z.recordSets].map(([rk, r]) => [rk, { ...r, metadata: { ...r.metadata }, records: structuredClone(r.records) }]),
      ),
    });
  }
  return out;
}

function validateTags(tags: unknown): Record<string, string> {
  if (tags === undefined || tags === null) return {};
  if (typeof tags !== "object" || Array.isArray(tags))
    throw new ArmBadRequest("tags must be an object of strings.", "InvalidRequestContent");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags as Record<string, unknown>)) {
    if (typeof v !== "string") throw new ArmBadRequest(`tags.${k} must be a string.`, "InvalidRequestContent");
    out[k] = v;
  }
  return out;
}

function checkPreconditionHeaders(pre: Preconditions): void {
  if (pre.ifNoneMatch !== undefined && pre.ifNoneMatch.trim() !== "*") {
    throw new ArmBadRequest("If-None-Match supports only '*'.", "InvalidIfNoneMatchHeader");
  }
}

/** RFC 9110 §13.1.1/§13.1.2 as ARM applies them: 412 PreconditionFailed when a condition does not hold. */
function checkPreconditions(pre: Preconditions, etag: string | undefined, what: string): void {
  if (pre.ifMatch !== undefined) {
    if (etag === undefined)
      throw new DnsStoreError(412, "PreconditionFailed", `The ${what} does not exist, so If-Match '${pre.ifMatch}' cannot match.`);
    if (!etagMatches(pre.ifMatch, etag))
      throw new DnsStoreError(412, "PreconditionFailed", `The ${what} has etag '${etag}', which does not match If-Match '${pre.ifMatch}'.`);
  }
  if (pre.ifNoneMatch !== undefined && etag !== undefined) {
    throw new DnsStoreError(412, "PreconditionFailed", `The ${what} already exists (If-None-Match: *).`);
  }
}

function checkPlacement(relName: string, type: RecordType): void {
  if (type === "SOA" && relName !== "@") throw new ArmBadRequest("An SOA record set can only exist at the zone apex '@'.");
  if (type === "CNAME" && relName === "@")
    throw new ArmBadRequest("A CNAME record set cannot be created at the zone apex (RFC 1034 §3.6.2).");
}

/** RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME cannot coexist with other data at the same name. */
function checkCnameExclusive(z: StoredZone, relName: string, type: RecordType): void {
  for (const r of z.recordSets.values()) {
    if (r.name !== relName || r.type === type) continue;
    if (type === "CNAME" || r.type === "CNAME") {
      throw new DnsStoreError(
        409,
        "Conflict",
        `The record set '${type}/${relName}' conflicts with the existing ${r.type} record set at the same name; a CNAME cannot coexist with other records.`,
      );
    }
  }
}

function zoneNotFound(resourceGroup: string, zone: string): DnsStoreError {
  return new DnsStoreError(
    404,
    "ResourceNotFound",
    `The Resource 'Microsoft.Network/dnszones/${zone}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

function recordSetNotFound(resourceGroup: string, zone: string, name: string, type: RecordType): DnsStoreError {
  return new DnsStoreError(
    404,
    "ResourceNotFound",
    `The resource record '${name}' of type ${type} does not exist in zone '${zone}' of resource group '${resourceGroup}'.`,
  );
}

export { zoneNotFound, recordSetNotFound };
