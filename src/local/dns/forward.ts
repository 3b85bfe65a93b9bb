/**
 * Forwarding in the stack's DNS server, so the one server Pebble (and the propagation check) asks answers for
 * every provider's zones: queries for a forwarded zone (served by BIND, Knot, PowerDNS or a cloud stand-in's
 * authoritative view) go to that zone's server over the same transport, and the answer comes back unchanged. Like a
 * recursive resolver, a CNAME answer whose target lies in another zone (ours or forwarded) is followed, at most 8
 * hops, and the target's records are appended: `_acme-challenge.www.example.com CNAME x.example.net` answers with
 * the TXT of x.example.net from BIND. Everything else is answered from the zone store as before.
 */
import dgram from "node:dgram";
import net from "node:net";
import * as packet from "dns-packet";
import type { Answer, DecodedPacket } from "dns-packet";
import { answerMessage, type AnswerOptions } from "./dns-server";
import type { ZoneStore } from "./zone-store";

export interface ForwardZone {
  zone: string;
  host: string;
  port: number;
}

/** The forwarded zones of one DNS server; the stack adds zones as it starts providers' servers. */
export class ForwardTable {
  private readonly zones = new Map<string, ForwardZone>();

  add(zone: string, host: string, port: number): void {
    const name = zone.toLowerCase().replace(/\.$/, "");
    this.zones.set(name, { zone: name, host, port });
  }

  remove(zone: string): void {
    this.zones.delete(zone.toLowerCase().replace(/\.$/, ""));
  }

  list(): ForwardZone[] {
    return [...this.zones.values()];
  }

  /** The forwarded zone containing `name` (longest match), if any. */
  find(name: string): ForwardZone | undefined {
    const lower = name.toLowerCase().replace(/\.$/, "");
    let best: ForwardZone | undefined;
    for (const z of this.zones.values()) {
      if ((lower === z.zone || lower.endsWith(`.${z.zone}`)) && (!best || z.zone.length > best.zone.length)) best = z;
    }
    return best;
  }
}

const MAX_HOPS = 8;
const UPSTREAM_TIMEOUT_MS = 1500;
const SERVFAIL = 2;

function upstreamUdp(target: ForwardZone, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(target.host) ? "udp6" : "udp4");
    const timer = setTimeout(() => finish(new Error("timeout")), UPSTREAM_TIMEOUT_MS);
    const finish = (err?: Error, msg?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(msg as Buffer);
    };
    socket.on("message", (msg) => finish(undefined, msg));
    socket.on("error", (err) => finish(err));
    // A connected socket turns ICMP port-unreachable (server stopped) into an immediate error instead of a timeout.
    socket.connect(target.port, target.host, () => socket.send(message));
  });
}

function upstreamTcp(target: ForwardZone, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(target.port, target.host);
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error("timeout")), UPSTREAM_TIMEOUT_MS);
    const finish = (err?: Error, msg?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(msg as Buffer);
    };
    socket.on("connect", () => {
      const framed = Buffer.alloc(2 + message.length);
      framed.writeUInt16BE(message.length, 0);
      message.copy(framed, 2);
      socket.write(framed);
    });
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) finish(undefined, data.subarray(2, 2 + data.readUInt16BE(0)));
    });
    socket.on("error", (err) => finish(err));
    socket.on("close", () => finish(new Error("closed without an answer")));
  });
}

function servfail(query: DecodedPacket): Buffer {
  return packet.encode({
    type: "response",
    id: query.id,
    flags: 0x8000 | ((query.flags ?? 0) & 0x0100) | SERVFAIL,
    questions: query.questions ?? [],
  });
}

/** One answer for `message`: forwarded or from the store, without following CNAMEs out of it. */
async function answerOnce(
  store: ZoneStore,
  table: ForwardTable,
  message: Buffer,
  query: DecodedPacket,
  options: AnswerOptions,
): Promise<Buffer | undefined> {
  const name = query.questions?.[0]?.name ?? "";
  const forward = table.find(name);
  const local = store.findZoneFor(name.toLowerCase().replace(/\.$/, ""));
  if (forward && (!local || forward.zone.length > local.name.length)) {
    try {
      return await (options.transport === "udp" ? upstreamUdp(forward, message) : upstreamTcp(forward, message));
    } catch {
      return servfail(query);
    }
  }
  return answerMessage(store, message, options);
}

/**
 * Answers a query from the store or a forwarded zone's server, following a CNAME that leaves the zone which
 * answered into another zone we answer for (ours or forwarded), as a recursive resolver would.
 */
export async function answerWithForwarding(
  store: ZoneStore,
  table: ForwardTable,
  message: Buffer,
  options: AnswerOptions,
): Promise<Buffer | undefined> {
  let query: DecodedPacket;
  try {
    query = packet.decode(message);
  } catch {
    return answerMessage(store, message, options);
  }
  const question = query.questions?.[0];
  if (query.type !== "query" || !question || question.type === "CNAME" || String(question.type) === "ANY" || table.list().length === 0) {
    return answerOnce(store, table, message, query, options);
  }
  const first = await answerOnce(store, table, message, query, options);
  if (!first) return first;
  let response: DecodedPacket;
  try {
    response = packet.decode(first);
  } catch {
    return first;
  }
  const answers: Answer[] = [...(response.answers ?? [])];
  let rcode = (response.flags ?? 0) & 0xf;
  const seen = new Set<string>([question.name.toLowerCase()]);
  for (let hop = 0; hop < MAX_HOPS && rcode === 0; hop++) {
    const target = finalTarget(question.name, answers);
    if (target === undefined || answers.some((a) => a.name.toLowerCase() === target && a.type === question.type)) break;
    if (seen.has(target) || (!table.find(target) && !store.findZoneFor(target))) break;
    seen.add(target);
    const sub = packet.encode({ type: "query", id: query.id, flags: 0, questions: [{ ...question, name: target }] });
    const raw = await answerOnce(store, table, sub, packet.decode(sub), { ...options, transport: "tcp" });
    if (!raw) break;
    const decoded = packet.decode(raw);
    answers.push(...(decoded.answers ?? []));
    rcode = (decoded.flags ?? 0) & 0xf;
  }
  if (answers.length === (response.answers ?? []).length) return first;
  const full = packet.encode({ ...response, flags: ((response.flags ?? 0) & ~0x040f) | rcode, answers, authorities: [] });
  if (options.transport === "udp" && full.length > 512) {
    return packet.encode({ ...response, flags: (response.flags ?? 0) | 0x0200, answers: [], authorities: [], additionals: [] });
  }
  return full;
}

/** The name a CNAME chain in `answers` starting at `name` ends at (lower case), or undefined when there is no CNAME. */
function finalTarget(name: string, answers: readonly Answer[]): string | undefined {
  let current = name.toLowerCase().replace(/\.$/, "");
  let moved = false;
  for (let i = 0; i <= answers.length; i++) {
    const cname = answers.find((a) => a.type === "CNAME" && a.name.toLowerCase().replace(/\.$/, "") === current);
    if (!cname) break;
    current = String((cname as { data?: unknown }).data)
      .toLowerCase()
      .replace(/\.$/, "");
    moved = true;
  }
  return moved ? current : undefined;
}
