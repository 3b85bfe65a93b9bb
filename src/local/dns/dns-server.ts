/**
 * Authoritative DNS server (UDP and TCP on one port) for exactly the zones of a ZoneStore, reading the store
 * directly so a record set written through ARM is answerable at once.
 *
 * Behaviour: AA on every answer from our zones (RFC 1035 §4.1.1); NXDOMAIN vs NODATA with the zone's SOA in the
 * authority section, negative TTL = min(SOA TTL, SOA minimum) (RFC 2308 §3, §5); empty non-terminals exist
 * (RFC 8020); wildcards (RFC 4592); CNAME chasing inside our zones (RFC 1034 §4.3.2); delegation below the apex
 * answered with a referral; REFUSED outside our zones; EDNS(0) (RFC 6891) with BADVERS for versions above 0;
 * UDP truncation with TC when the answer exceeds 512 bytes or the advertised EDNS size (RFC 1035 §4.2.1,
 * RFC 2181 §9), full answer over TCP (RFC 7766); names case-insensitive, question echoed as sent (RFC 4343).
 * Malformed packets get FORMERR when their header is readable, and are dropped otherwise.
 *
 * The name server host names of the store (e.g. ns1.kv-acme.test) answer A (or AAAA) with this server's own
 * address, so following a zone's NS records leads back here.
 */
import dgram from "node:dgram";
import net from "node:net";
import * as packet from "dns-packet";
import type { Answer, DecodedPacket, Question, RecordType as PacketType } from "dns-packet";
import type { FaultInjector } from "../faults";
import type { RecordSetSnapshot, ZoneSnapshot, ZoneStore } from "./zone-store";

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
/** Our advertised EDNS UDP payload size (the DNS Flag Day 2020 value). */
export const EDNS_UDP_SIZE = 1232;
const MAX_CNAME_CHAIN = 8;
const TCP_IDLE_TIMEOUT_MS = 10_000;

export interface AnswerOptions {
  transport: "udp" | "tcp";
  /** The address clients reach us at; the A/AAAA answer for our name server host names. */
  serverAddress: string;
  /** Answer every query with this rcode and no records (fault injection: SERVFAIL = 2). */
  forceRcode?: number;
}

/**
 * Answers one DNS message (wire format) from the store. Returns the response message, or undefined when the
 * input must be dropped (unreadable header, or a response rather than a query).
 */
export function answerMessage(store: ZoneStore, message: Buffer, options: AnswerOptions): Buffer | undefined {
  if (message.length < 12) return undefined;
  if (message.readUInt16BE(2) & QR) return undefined;
  let query: DecodedPacket;
  try {
    query = packet.decode(message);
  } catch {
    return rawHeaderResponse(message, RCODE.FORMERR);
  }
  const rawFlags = message.readUInt16BE(2);
  const opcode = (rawFlags >> 11) & 0xf;
  const opt = (query.additionals ?? []).find((a) => a.type === "OPT") as
    (Answer & { udpPayloadSize?: number; ednsVersion?: number }) | undefined;
  const baseFlags = QR | (opcode << 11) | (rawFlags & RD);
  const respond = (
    rcode: number,
    body: { answers?: Answer[]; authorities?: Answer[]; additionals?: Answer[]; aa?: boolean },
    extendedRcode = 0,
  ): Buffer => {
    const additionals = [...(body.additionals ?? [])];
    if (opt)
      additionals.push({
        type: "OPT",
        name: ".",
        udpPayloadSize: EDNS_UDP_SIZE,
        extendedRcode,
        ednsVersion: 0,
        flags: 0,
        options: [],
      } as unknown as Answer);
    const response = {
      type: "response" as const,
      id: query.id,
      flags: baseFlags | (body.aa ? AA : 0) | rcode,
      questions: query.questions ?? [],
      answers: body.answers ?? [],
      authorities: body.authorities ?? [],
      additionals,
    };
    const full = packet.encode(response);
    if (options.transport === "udp") {
      const limit = opt ? Math.max(512, Math.min(opt.udpPayloadSize ?? 512, 4096)) : 512;
      if (full.length > limit) {
        return packet.encode({
          ...response,
          flags: response.flags | TC,
          answers: [],
          authorities: [],
          additionals: additionals.filter((a) => a.type === "OPT"),
        });
      }
    }
    return full;
  };

  if (options.forceRcode !== undefined) return respond(options.forceRcode, {});
  if (opcode !== 0) return respond(RCODE.NOTIMP, {});
  const questions = query.questions ?? [];
  if (questions.length !== 1) return respond(RCODE.FORMERR, {});
  const q = questions[0];
  if (opt && (opt.ednsVersion ?? 0) > 0) return respond(0, {}, 1); // BADVERS = 16: extended rcode 1, header rcode 0 (RFC 6891 §6.1.3)
  if (q.class !== undefined && q.class !== "IN" && q.class !== "ANY") return respond(RCODE.REFUSED, {});
  if (q.type === "AXFR" || q.type === "IXFR") return respond(RCODE.REFUSED, {});
  try {
    const result = resolve(store, q, options.serverAddress);
    return respond(result.rcode, result);
  } catch {
    return respond(RCODE.SERVFAIL, {});
  }
}

interface Resolution {
  rcode: number;
  aa: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

function resolve(store: ZoneStore, q: Question, serverAddress: string): Resolution {
  const result: Resolution = { rcode: RCODE.NOERROR, aa: true, answers: [], authorities: [], additionals: [] };
  const qtype = String(q.type).toUpperCase();
  let owner = q.name.replace(/\.$/, "");
  const seen = new Set<string>();
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    const lower = owner.toLowerCase();
    seen.add(lower);
    const zone = store.findZoneFor(lower);
    if (!zone) {
      if (hop === 0) {
        const glue = nameServerAnswer(store, owner, qtype, serverAddress);
        if (glue) return { ...result, answers: glue };
        return { ...result, rcode: RCODE.REFUSED, aa: false };
      }
      return result; // a CNAME leaving our zones: the resolver follows it elsewhere
    }
    const rel = relativeName(lower, zone.name);

    // A delegation (NS record set below the apex) at or above the name: refer (RFC 1034 §4.3.2 step 3b).
    const cut = findZoneCut(store, zone.name, rel);
    if (cut && !(cut.name === rel && qtype === "DS")) {
      if (hop > 0) return result;
      const ns = toAnswers(cut, `${cut.name}.${zone.name}`);
      return { ...result, aa: false, authorities: ns, additionals: glueFor(store, ns, serverAddress) };
    }

    let sets = store.recordSetsAt(zone.name, rel);
    if (sets.length === 0 && !store.nameExists(zone.name, rel)) {
      const glue = hop === 0 ? nameServerAnswer(store, owner, qtype, serverAddress) : undefined;
      if (glue) return { ...result, answers: glue };
      sets = wildcardSets(store, zone.name, rel);
      if (sets.length === 0) {
        return { ...result, rcode: RCODE.NXDOMAIN, authorities: soaAuthority(store, zone) };
      }
    }
    const cname = sets.find((s) => s.type === "CNAME");
    if (cname && qtype !== "CNAME" && qtype !== "ANY") {
      result.answers.push(...toAnswers(cname, owner));
      const target = cname.records.CNAMERecord?.cname ?? "";
      if (seen.has(target.toLowerCase())) return result;
      owner = target;
      continue;
    }
    const matching = qtype === "ANY" ? sets : sets.filter((s) => s.type === qtype);
    if (matching.length === 0) {
      return { ...result, authorities: soaAuthority(store, zone) };
    }
    for (const s of matching) result.answers.push(...toAnswers(s, owner));
    if (qtype === "NS") result.additionals.push(...glueFor(store, result.answers, serverAddress));
    return result;
  }
  return result;
}

function relativeName(fqdn: string, zone: string): string {
  return fqdn === zone ? "@" : fqdn.slice(0, fqdn.length - zone.length - 1);
}

/** The highest NS record set strictly below the apex that is at or above `rel`, if any. */
function findZoneCut(store: ZoneStore, zone: string, rel: string): RecordSetSnapshot | undefined {
  if (rel === "@") return undefined;
  const labels = rel.split(".");
  for (let i = labels.length - 1; i >= 0; i--) {
    const ns = store.getRecordSet(zone, labels.slice(i).join("."), "NS");
    if (ns) return ns;
  }
  return undefined;
}

/** RFC 4592 §3.3.1: the source of synthesis is "*." + the closest encloser, when the name itself does not exist. */
function wildcardSets(store: ZoneStore, zone: string, rel: string): RecordSetSnapshot[] {
  if (rel === "@") return [];
  const labels = rel.split(".");
  for (let i = 1; i <= labels.length; i++) {
    const encloser = i === labels.length ? "@" : labels.slice(i).join(".");
    if (store.nameExists(zone, encloser)) {
      const wildcard = encloser === "@" ? "*" : `*.${encloser}`;
      return store.recordSetsAt(zone, wildcard);
    }
  }
  return [];
}

function soaAuthority(store: ZoneStore, zone: ZoneSnapshot): Answer[] {
  const soa = store.getRecordSet(zone.name, "@", "SOA");
  if (!soa?.records.SOARecord) return [];
  const [answer] = toAnswers(soa, zone.name);
  return [{ ...answer, ttl: Math.min(soa.ttl, soa.records.SOARecord.minimumTTL) } as Answer];
}

function nameServerAnswer(store: ZoneStore, owner: string, qtype: string, serverAddress: string): Answer[] | undefined {
  if (!store.nameServers.includes(`${owner.toLowerCase()}.`)) return undefined;
  const family = net.isIPv6(serverAddress) ? "AAAA" : "A";
  if (qtype !== family && qtype !== "ANY") return [];
  return [{ type: family, name: owner, ttl: 3600, class: "IN", data: serverAddress } as Answer];
}

function glueFor(store: ZoneStore, nsAnswers: Answer[], serverAddress: string): Answer[] {
  const out: Answer[] = [];
  for (const a of nsAnswers) {
    if (a.type !== "NS") continue;
    const host = String(a.data);
    const glue = nameServerAnswer(store, host, net.isIPv6(serverAddress) ? "AAAA" : "A", serverAddress);
    if (glue && !out.some((g) => g.name === host)) out.push(...glue);
  }
  return out;
}

/** Splits a TXT value into character-strings of at most 255 bytes (RFC 1035 §3.3.14). */
export function txtStrings(value: string): Buffer[] {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length === 0) return [Buffer.alloc(0)];
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
  return out;
}

/** The resource records of one record set, owned by `owner` (as the client wrote it, for 0x20). */
function toAnswers(set: RecordSetSnapshot, owner: string): Answer[] {
  const base = { name: owner, ttl: set.ttl, class: "IN" as const };
  const r = set.records;
  const make = (type: PacketType, data: unknown): Answer => ({ ...base, type, data }) as Answer;
  switch (set.type) {
    case "A":
      return (r.ARecords ?? []).map((x) => make("A", x.ipv4Address));
    case "AAAA":
      return (r.AAAARecords ?? []).map((x) => make("AAAA", x.ipv6Address));
    case "CAA":
      return (r.caaRecords ?? []).map((x) => make("CAA", { flags: x.flags, tag: x.tag, value: x.value }));
    case "CNAME":
      return r.CNAMERecord ? [make("CNAME", r.CNAMERecord.cname)] : [];
    case "MX":
      return (r.MXRecords ?? []).map((x) => make("MX", { preference: x.preference, exchange: x.exchange }));
    case "NS":
      return (r.NSRecords ?? []).map((x) => make("NS", x.nsdname));
    case "PTR":
      return (r.PTRRecords ?? []).map((x) => make("PTR", x.ptrdname));
    case "SRV":
      return (r.SRVRecords ?? []).map((x) => make("SRV", { priority: x.priority, weight: x.weight, port: x.port, target: x.target }));
    case "TXT":
      return (r.TXTRecords ?? []).map((x) => make("TXT", x.value.flatMap(txtStrings)));
    case "SOA": {
      const s = r.SOARecord;
      if (!s) return [];
      return [
        make("SOA", {
          mname: s.host,
          rname: s.email,
          serial: s.serialNumber,
          refresh: s.refreshTime,
          retry: s.retryTime,
          expire: s.expireTime,
          minimum: s.minimumTTL,
        }),
      ];
    }
  }
}

/** A header-only response for a message we could not parse: same id and opcode, QR set, no sections. */
function rawHeaderResponse(message: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(message.readUInt16BE(0), 0);
  const flags = message.readUInt16BE(2);
  out.writeUInt16BE(QR | (flags & 0x7800) | (flags & RD) | rcode, 2);
  return out;
}

/** How one message is answered: from the store (answerMessage), or e.g. with forwarding (./forward.ts). */
export type Answerer = (message: Buffer, options: AnswerOptions) => Buffer | undefined | Promise<Buffer | undefined>;

/** Starts the authoritative server on UDP and TCP at the same host and port (port 0: one ephemeral port for both). */
export async function startDnsServer(options: {
  store: ZoneStore;
  host?: string;
  port?: number;
  /** Default: answerMessage from the store. */
  answer?: Answerer;
  /** Target "dns": `timeout` leaves a query unanswered, `servfail` answers SERVFAIL. */
  faults?: FaultInjector;
}): Promise<{ host: string; port: number; close(): Promise<void> }> {
  const plain: Answerer = options.answer ?? ((message, o) => answerMessage(options.store, message, o));
  const answer: Answerer = options.faults ? withDnsFaults(options.store, plain, options.faults) : plain;
  const host = options.host ?? "127.0.0.1";
  const serverAddress = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const type = net.isIPv6(host) ? "udp6" : "udp4";
  const sockets = new Set<net.Socket>();
  let lastError: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket({ type });
    udp.on("message", (msg, rinfo) => {
      void Promise.resolve(answer(msg, { transport: "udp", serverAddress })).then(
        (response) => {
          if (response) udp.send(response, rinfo.port, rinfo.address);
        },
        () => undefined,
      );
    });
    udp.on("error", () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(options.port ?? 0, host, () => {
          udp.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    const port = udp.address().port;
    const tcp = net.createServer((socket) => serveTcp(answer, socket, serverAddress, sockets));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      lastError = err;
      udp.close();
      if ((options.port ?? 0) !== 0 || (err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
      continue; // the ephemeral UDP port is taken on TCP: pick another
    }
    return {
      host,
      port,
      close: async () => {
        for (const s of sockets) s.destroy();
        await Promise.all([
          new Promise<void>((resolve) => udp.close(() => resolve())),
          new Promise<void>((resolve) => tcp.close(() => resolve())),
        ]);
      },
    };
  }
  throw lastError;
}

/** A DNS fault for one query: "drop" (no answer), an rcode to answer with, or undefined. */
function dnsFault(faults: FaultInjector | undefined): "drop" | number | undefined {
  const fault = faults?.decide("dns", (f) => f.kind === "timeout" || f.kind === "servfail");
  return fault?.kind === "timeout" ? "drop" : fault ? RCODE.SERVFAIL : undefined;
}

/** Fault injection around an answerer: unanswered queries, SERVFAIL, slow answers. */
function withDnsFaults(store: ZoneStore, answer: Answerer, faults: FaultInjector): Answerer {
  return async (message, o) => {
    const fault = dnsFault(faults);
    if (fault === "drop") return undefined;
    const delay = faults.latencyMs("dns");
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    return fault === undefined ? answer(message, o) : answerMessage(store, message, { ...o, forceRcode: fault });
  };
}

/** DNS over TCP: two-byte length prefix per message, several messages per connection (RFC 1035 §4.2.2, RFC 7766). */
function serveTcp(answer: Answerer, socket: net.Socket, serverAddress: string, sockets: Set<net.Socket>): void {
  sockets.add(socket);
  socket.setTimeout(TCP_IDLE_TIMEOUT_MS, () => socket.destroy());
  socket.on("close", () => sockets.delete(socket));
  socket.on("error", () => socket.destroy());
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const length = buffered.readUInt16BE(0);
      if (length < 12) {
        socket.destroy();
        return;
      }
      if (buffered.length < 2 + length) break;
      const message = buffered.subarray(2, 2 + length);
      buffered = buffered.subarray(2 + length);
      void Promise.resolve(answer(Buffer.from(message), { transport: "tcp", serverAddress })).then(
        (response) => {
          if (!response || socket.destroyed) return;
          const framed = Buffer.alloc(2 + response.length);
          framed.writeUInt16BE(response.length, 0);
          response.copy(framed, 2);
          socket.write(framed);
        },
        () => undefined,
      );
    }
  });
}
