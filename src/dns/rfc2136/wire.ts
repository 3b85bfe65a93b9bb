/**
 * The DNS wire format kv-acme's RFC 2136 client needs, and nothing more: encoding an UPDATE or a query (names never
 * compressed, so the bytes signed are the bytes sent), and reading a response's header and the offsets of its
 * resource records (to find and strip the TSIG record, RFC 8945 §5.3). Pure functions on Buffers.
 */

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, TSIG: 250 } as const;
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const OPCODE = { QUERY: 0, UPDATE: 5 } as const;
/** Response codes (RFC 1035 §4.1.1, RFC 2136 §2.2) by number, for messages. */
export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
  6: "YXDOMAIN",
  7: "YXRRSET",
  8: "NXRRSET",
  9: "NOTAUTH",
  10: "NOTZONE",
};

/** One resource record to encode: owner name, type, class, TTL and the already encoded RDATA. */
export interface WireRecord {
  name: string;
  type: number;
  klass: number;
  ttl: number;
  rdata: Buffer;
}

/** A name in canonical wire form (RFC 4034 §6.2: lower case, uncompressed), from presentation form. */
export function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, "");
  const parts: Buffer[] = [];
  if (trimmed !== "") {
    for (const label of trimmed.toLowerCase().split(".")) {
      const bytes = Buffer.from(label, "ascii");
      if (bytes.length === 0 || bytes.length > 63) throw new Error(`DNS name "${name}" has an empty or over-long label`);
      parts.push(Buffer.from([bytes.length]), bytes);
    }
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new Error(`DNS name "${name}" is longer than 255 bytes`);
  return out;
}

/** TXT RDATA: the value as character-strings of at most 255 bytes (RFC 1035 §3.3.14). */
export function txtRdata(value: string): Buffer {
  const bytes = Buffer.from(value, "utf8");
  const parts: Buffer[] = [];
  for (let i = 0; i === 0 || i < bytes.length; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

export function encodeRecord(r: WireRecord): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type, 0);
  fixed.writeUInt16BE(r.klass, 2);
  fixed.writeUInt32BE(r.ttl, 4);
  fixed.writeUInt16BE(r.rdata.length, 8);
  return Buffer.concat([encodeName(r.name), fixed, r.rdata]);
}

/**
 * A message with one question (the zone section of an UPDATE, RFC 2136 §2.3), no prerequisites (the answer
 * section of an UPDATE is its prerequisite section) and `authority` records (the update section of an UPDATE).
 */
export function encodeMessage(m: {
  id: number;
  opcode: number;
  question: { name: string; type: number };
  authority?: WireRecord[];
}): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(m.id, 0);
  header.writeUInt16BE((m.opcode & 0xf) << 11, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(0, 6);
  header.writeUInt16BE(m.authority?.length ?? 0, 8);
  header.writeUInt16BE(0, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(m.question.type, 0);
  q.writeUInt16BE(CLASS.IN, 2);
  return Buffer.concat([header, encodeName(m.question.name), q, ...(m.authority ?? []).map(encodeRecord)]);
}

/** Where each resource record of a response starts and what it is (RDATA left raw). */
export interface ParsedRecord {
  offset: number;
  name: string;
  type: number;
  klass: number;
  ttl: number;
  rdataOffset: number;
  rdata: Buffer;
}

export interface ParsedMessage {
  id: number;
  flags: number;
  opcode: number;
  rcode: number;
  authoritative: boolean;
  answers: ParsedRecord[];
  authorities: ParsedRecord[];
  additionals: ParsedRecord[];
}

/** Reads a (possibly compressed) name at `offset`; returns it and the offset after it in the message. */
export function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  for (let jumps = 0; jumps < 128; jumps++) {
    if (pos >= buf.length) throw new Error("truncated name");
    const len = buf[pos] as number;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { name: labels.join("."), next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new Error("truncated compression pointer");
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | (buf[pos + 1] as number);
      continue;
    }
    if ((len & 0xc0) !== 0) throw new Error("unsupported label type");
    if (pos + 1 + len > buf.length) throw new Error("truncated label");
    labels.push(buf.toString("ascii", pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  throw new Error("name compression loop");
}

/** Parses a response's header and record offsets; throws on a malformed message. */
export function parseMessage(buf: Buffer): ParsedMessage {
  if (buf.length < 12) throw new Error("message shorter than a DNS header");
  const flags = buf.readUInt16BE(2);
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)] as const;
  let pos = 12;
  for (let i = 0; i < counts[0]; i++) {
    pos = readName(buf, pos).next + 4;
  }
  const sections: ParsedRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < (counts[s + 1] as number); i++) {
      const start = pos;
      const { name, next } = readName(buf, pos);
      if (next + 10 > buf.length) throw new Error("truncated resource record");
      const type = buf.readUInt16BE(next);
      const klass = buf.readUInt16BE(next + 2);
      const ttl = buf.readUInt32BE(next + 4);
      const rdlength = buf.readUInt16BE(next + 8);
      const rdataOffset = next + 10;
      if (rdataOffset + rdlength > buf.length) throw new Error("truncated RDATA");
      (sections[s] as ParsedRecord[]).push({
        offset: start,
        name,
        type,
        klass,
        ttl,
        rdataOffset,
        rdata: buf.subarray(rdataOffset, rdataOffset + rdlength),
      });
      pos = rdataOffset + rdlength;
    }
  }
  return {
    id: buf.readUInt16BE(0),
    flags,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    answers: sections[0] as ParsedRecord[],
    authorities: sections[1] as ParsedRecord[],
    additionals: sections[2] as ParsedRecord[],
  };
}

/** The character-strings of a TXT RDATA, joined (how a resolver's answer reads). */
export function readTxt(rdata: Buffer): string {
  const parts: string[] = [];
  for (let i = 0; i < rdata.length;) {
    const len = rdata[i] as number;
    parts.push(rdata.toString("utf8", i + 1, i + 1 + len));
    i += 1 + len;
  }
  return parts.join("");
}
