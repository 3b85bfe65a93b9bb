/**
 * Record set data for the Azure DNS stand-in, in the shape of the ARM `properties` object of
 * Microsoft.Network/dnsZones/{type} (api-version 2018-05-01), with validation of that shape.
 * Both the ARM server and the authoritative DNS server read this one representation.
 */
import { isIPv4, isIPv6 } from "node:net";
import { KvAcmeError } from "../../shared/errors";

export const RECORD_TYPES = ["A", "AAAA", "CAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT"] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** The ARM property that holds the records of each type. */
export const RECORD_PROPERTY: Record<RecordType, keyof RecordData> = {
  A: "ARecords",
  AAAA: "AAAARecords",
  CAA: "caaRecords",
  CNAME: "CNAMERecord",
  MX: "MXRecords",
  NS: "NSRecords",
  PTR: "PTRRecords",
  SOA: "SOARecord",
  SRV: "SRVRecords",
  TXT: "TXTRecords",
};

export interface SoaRecord {
  host: string;
  email: string;
  serialNumber: number;
  refreshTime: number;
  retryTime: number;
  expireTime: number;
  minimumTTL: number;
}

/** Records of one record set, exactly one property set (the one of its type). */
export interface RecordData {
  ARecords?: { ipv4Address: string }[];
  AAAARecords?: { ipv6Address: string }[];
  caaRecords?: { flags: number; tag: string; value: string }[];
  CNAMERecord?: { cname: string };
  MXRecords?: { preference: number; exchange: string }[];
  NSRecords?: { nsdname: string }[];
  PTRRecords?: { ptrdname: string }[];
  SOARecord?: SoaRecord;
  SRVRecords?: { priority: number; weight: number; port: number; target: string }[];
  TXTRecords?: { value: string[] }[];
}

/** Azure DNS limits, relaxed where noted: Azure allows 20 records per set by default; we allow 400. */
export const MAX_RECORDS_PER_RECORD_SET = 400;
export const MAX_RECORD_SETS_PER_ZONE = 10000;
/** Longest single TXT string we accept (ARM accepts up to 1024 characters per string; DNS splits at 255 bytes). */
export const MAX_TXT_STRING_LENGTH = 1024;
export const DEFAULT_TTL = 3600;
const MAX_TTL = 2147483647;

/** A 400 from the ARM stand-in: bad input, nothing written. */
export class ArmBadRequest extends KvAcmeError {
  constructor(message: string, code = "BadRequest") {
    super(code, message, 400);
  }
}

/** Parses a record type from a URL segment (case-insensitive, as ARM). */
export function parseRecordType(text: string): RecordType | undefined {
  const upper = text.toUpperCase();
  return (RECORD_TYPES as readonly string[]).includes(upper) ? (upper as RecordType) : undefined;
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}$/i;

/** True if `name` (no trailing dot) is a host name of LDH/underscore labels, RFC 1035 §2.3.4 lengths. */
export function isValidDomainName(name: string, options: { allowWildcard?: boolean } = {}): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  return labels.every((label, i) => (options.allowWildcard && i === 0 && label === "*") || LABEL.test(label));
}

/**
 * Normalises and validates a relative record set name: "@" for the apex, else labels (leftmost may be "*").
 * Names are case-insensitive (RFC 4343) and stored in lower case.
 */
export function normaliseRecordSetName(name: string, zone: string): string {
  const lower = name.toLowerCase();
  if (lower === "@") return "@";
  if (lower.endsWith(".") || !isValidDomainName(lower, { allowWildcard: true }) || `${lower}.${zone}`.length > 253) {
    throw new ArmBadRequest(
      `The record set name '${name}' is invalid. Use '@' for the zone apex or a relative name of valid DNS labels.`,
      "BadRequest",
    );
  }
  return lower;
}

/** Validates the `properties` body of a record set PUT/PATCH for `type` and returns the records in canonical form. */
export function validateRecordData(type: RecordType, properties: Record<string, unknown>, options: { partial?: boolean } = {}): RecordData {
  const wanted = RECORD_PROPERTY[type];
  for (const t of RECORD_TYPES) {
    const prop = RECORD_PROPERTY[t];
    if (t !== type && properties[prop] !== undefined && properties[prop] !== null) {
      throw new ArmBadRequest(`A record set of type ${type} cannot contain ${prop}.`);
    }
  }
  const raw = properties[wanted];
  if (raw === undefined || raw === null) {
    if (options.partial) return {};
    if (type === "CNAME" || type === "SOA") throw new ArmBadRequest(`A record set of type ${type} needs properties.${wanted}.`);
    return { [wanted]: [] } as RecordData;
  }
  const list = (): unknown[] => {
    if (!Array.isArray(raw)) throw new ArmBadRequest(`properties.${wanted} must be an array.`);
    if (raw.length > MAX_RECORDS_PER_RECORD_SET)
      throw new ArmBadRequest(`properties.${wanted} has ${raw.length} records; the limit is ${MAX_RECORDS_PER_RECORD_SET}.`);
    return raw;
  };
  const obj = (v: unknown, where: string): Record<string, unknown> => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ArmBadRequest(`${where} must be an object.`);
    return v as Record<string, unknown>;
  };
  const str = (v: unknown, where: string): string => {
    if (typeof v !== "string") throw new ArmBadRequest(`${where} must be a string.`);
    return v;
  };
  const int = (v: unknown, where: string, max: number): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max)
      throw new ArmBadRequest(`${where} must be an integer from 0 to ${max}.`);
    return v;
  };
  const host = (v: unknown, where: string): string => {
    const s = str(v, where).replace(/\.$/, "");
    if (!isValidDomainName(s)) throw new ArmBadRequest(`${where} '${String(v)}' is not a valid domain name.`);
    return s.toLowerCase();
  };
  const p = `properties.${wanted}`;
  switch (type) {
    case "A":
      return {
        ARecords: list().map((r, i) => {
          const a = str(obj(r, `${p}[${i}]`).ipv4Address, `${p}[${i}].ipv4Address`);
          if (!isIPv4(a)) throw new ArmBadRequest(`${p}[${i}].ipv4Address '${a}' is not an IPv4 address.`);
          return { ipv4Address: a };
        }),
      };
    case "AAAA":
      return {
        AAAARecords: list().map((r, i) => {
          const a = str(obj(r, `${p}[${i}]`).ipv6Address, `${p}[${i}].ipv6Address`);
          if (!isIPv6(a)) throw new ArmBadRequest(`${p}[${i}].ipv6Address '${a}' is not an IPv6 address.`);
          return { ipv6Address: a };
        }),
      };
    case "CAA":
      return {
        caaRecords: list().map((r, i) => {
          const o = obj(r, `${p}[${i}]`);
          const tag = str(o.tag, `${p}[${i}].tag`);
          if (!/^[a-z0-9]{1,15}$/i.test(tag)) throw new ArmBadRequest(`${p}[${i}].tag '${tag}' is not a valid CAA tag (RFC 8659 §4.1).`);
          return { flags: int(o.flags, `${p}[${i}].flags`, 255), tag, value: str(o.value, `${p}[${i}].value`) };
        }),
      };
    case "CNAME":
      return { CNAMERecord: { cname: host(obj(raw, p).cname, `${p}.cname`) } };
    case "MX":
      return {
        MXRecords: list().map((r, i) => {
          const o = obj(r, `${p}[${i}]`);
          return { preference: int(o.preference, `${p}[${i}].preference`, 65535), exchange: host(o.exchange, `${p}[${i}].exchange`) };
        }),
      };
    case "NS":
      return { NSRecords: list().map((r, i) => ({ nsdname: host(obj(r, `${p}[${i}]`).nsdname, `${p}[${i}].nsdname`) })) };
    case "PTR":
      return { PTRRecords: list().map((r, i) => ({ ptrdname: host(obj(r, `${p}[${i}]`).ptrdname, `${p}[${i}].ptrdname`) })) };
    case "SRV":
      return {
        SRVRecords: list().map((r, i) => {
          const o = obj(r, `${p}[${i}]`);
          return {
            priority: int(o.priority, `${p}[${i}].priority`, 65535),
            weight: int(o.weight, `${p}[${i}].weight`, 65535),
            port: int(o.port, `${p}[${i}].port`, 65535),
            target: host(o.target, `${p}[${i}].target`),
          };
        }),
      };
    case "TXT":
      return {
        TXTRecords: list().map((r, i) => {
          const v = obj(r, `${p}[${i}]`).value;
          if (!Array.isArray(v) || v.length === 0) throw new ArmBadRequest(`${p}[${i}].value must be a non-empty array of strings.`);
          return {
            value: v.map((s, j) => {
              const text = str(s, `${p}[${i}].value[${j}]`);
              if (text.length > MAX_TXT_STRING_LENGTH)
                throw new ArmBadRequest(`${p}[${i}].value[${j}] is longer than ${MAX_TXT_STRING_LENGTH} characters.`);
              return text;
            }),
          };
        }),
      };
    case "SOA": {
      const o = obj(raw, p);
      const u32 = 4294967295;
      return {
        SOARecord: {
          host: host(o.host, `${p}.host`),
          email: host(o.email, `${p}.email`),
          serialNumber: int(o.serialNumber, `${p}.serialNumber`, u32),
          refreshTime: int(o.refreshTime, `${p}.refreshTime`, u32),
          retryTime: int(o.retryTime, `${p}.retryTime`, u32),
          expireTime: int(o.expireTime, `${p}.expireTime`, u32),
          minimumTTL: int(o.minimumTTL, `${p}.minimumTTL`, u32),
        },
      };
    }
  }
}

/** Validates TTL (seconds, 0..2^31-1, RFC 2181 §8). */
export function validateTtl(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_TTL) {
    throw new ArmBadRequest(`properties.TTL must be an integer from 0 to ${MAX_TTL}.`);
  }
  return value;
}

/** Validates record set metadata: a flat map of string values. */
export function validateMetadata(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ArmBadRequest("properties.metadata must be an object of strings.");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== "string") throw new ArmBadRequest(`properties.metadata.${k} must be a string.`);
    out[k] = v;
  }
  return out;
}

/** Number of records in a record set (a CNAME or SOA set holds one). */
export function recordCount(data: RecordData): number {
  if (data.CNAMERecord || data.SOARecord) return 1;
  for (const v of Object.values(data)) if (Array.isArray(v)) return v.length;
  return 0;
}
