/**
 * A minimal RFC 2136 client over TCP (RFC 7766): prerequisite-free UPDATEs that add or delete individual TXT RRs,
 * and a TSIG-signed SOA query (RFC 8945 signs queries too, so it proves at validation time that the server serves
 * the zone and accepts the key, before anything is written). One TCP connection per message.
 */
import { randomInt } from "node:crypto";
import net from "node:net";
import { signMessage, verifyResponse, type TsigKey } from "./tsig";
import { CLASS, OPCODE, RCODE_NAMES, TYPE, encodeMessage, txtRdata, type ParsedMessage, type WireRecord } from "./wire";

export interface Rfc2136Server {
  host: string;
  port: number;
}

/** Why an exchange failed: `permanent` = retrying with the same settings cannot help. */
export class Rfc2136Failure extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly rcode?: string,
    /** The server answered that it does not serve the zone (as opposed to refusing our key). */
    readonly notServed = false,
  ) {
    super(message);
  }
}

export interface TxtChange {
  /** Fully qualified owner name, e.g. "_acme-challenge.www.example.net". */
  fqdn: string;
  values: string[];
}

/** Sends one message over TCP and returns the raw response. */
export function exchangeTcp(server: Rfc2136Server, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let buffered = Buffer.alloc(0);
    const done = (err: Error | undefined, value?: Buffer) => {
      socket.destroy();
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value as Buffer);
    };
    const timer = setTimeout(
      () => done(new Rfc2136Failure(`no answer from ${server.host}:${server.port} within ${timeoutMs} ms`, false)),
      timeoutMs,
    );
    socket.on("connect", () => {
      const framed = Buffer.alloc(2 + message.length);
      framed.writeUInt16BE(message.length, 0);
      message.copy(framed, 2);
      socket.write(framed);
    });
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        done(undefined, buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      }
    });
    socket.on("error", (err) => done(new Rfc2136Failure(`cannot reach ${server.host}:${server.port}: ${err.message}`, false)));
    socket.on("close", () => done(new Rfc2136Failure(`${server.host}:${server.port} closed the connection without an answer`, false)));
  });
}

function describeRcode(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE ${rcode}`;
}

/** Signs, sends and verifies one message; returns the verified response. */
async function signedExchange(
  server: Rfc2136Server,
  key: TsigKey,
  message: Buffer,
  context: { zone: string; query: boolean; timeoutMs: number },
): Promise<ParsedMessage> {
  const { timeoutMs } = context;
  const { signed, mac } = signMessage(message, key);
  const response = await exchangeTcp(server, signed, timeoutMs);
  const verdict = verifyResponse(response, key, mac);
  if (verdict.message.id !== message.readUInt16BE(0)) throw new Rfc2136Failure("the response's id does not match the request", false);
  if (!verdict.ok) {
    if (verdict.tsigError) {
      const hint =
        verdict.tsigError === "BADKEY"
          ? "the server does not know this key name/algorithm"
          : verdict.tsigError === "BADSIG"
            ? "wrong secret or algorithm"
            : "clocks out of sync";
      throw new Rfc2136Failure(`TSIG key "${key.name}" (${key.algorithm}) rejected: ${verdict.tsigError}, ${hint}`, true, "NOTAUTH");
    }
    // An unsigned error answer (e.g. REFUSED before the key was looked at) is still worth its rcode.
    if (verdict.message.rcode !== 0) throw failureFor(verdict.message.rcode, key, context.zone, context.query);
    throw new Rfc2136Failure(verdict.reason, false);
  }
  return verdict.message;
}

function failureFor(rcode: number, key: TsigKey, zone?: string, query = false): Rfc2136Failure {
  const name = describeRcode(rcode);
  if (query && (name === "REFUSED" || name === "NOTAUTH" || name === "NXDOMAIN")) {
    return new Rfc2136Failure(`the server does not serve zone ${zone ?? ""} (${name})`, true, name, true);
  }
  switch (name) {
    case "REFUSED":
      return new Rfc2136Failure(
        `the server refused (REFUSED): key "${key.name}" may not make this change${zone ? ` in ${zone}` : ""} (check update-policy / acl)`,
        true,
        name,
      );
    case "NOTAUTH":
      return new Rfc2136Failure(`the server is not authoritative${zone ? ` for ${zone}` : ""} (NOTAUTH)`, true, name);
    case "NOTZONE":
      return new Rfc2136Failure(`the record is not inside zone ${zone ?? ""} (NOTZONE)`, true, name);
    case "FORMERR":
    case "NOTIMP":
      return new Rfc2136Failure(`the server does not accept the update (${name})`, true, name);
    default:
      return new Rfc2136Failure(`the server answered ${name}`, false, name);
  }
}

/**
 * Adds (`add`) or deletes (`delete`) individual TXT RRs in one prerequisite-free UPDATE (RFC 2136 §2.5.1 add to an
 * RRset; §2.5.4 delete an RR from an RRset: class NONE, TTL 0). Other values at the same name are untouched.
 */
export async function updateTxt(
  server: Rfc2136Server,
  key: TsigKey,
  zone: string,
  change: { add?: TxtChange; delete?: TxtChange; ttl: number },
  timeoutMs: number,
): Promise<void> {
  const records: WireRecord[] = [];
  for (const v of change.add?.values ?? [])
    records.push({ name: change.add?.fqdn ?? "", type: TYPE.TXT, klass: CLASS.IN, ttl: change.ttl, rdata: txtRdata(v) });
  for (const v of change.delete?.values ?? [])
    records.push({ name: change.delete?.fqdn ?? "", type: TYPE.TXT, klass: CLASS.NONE, ttl: 0, rdata: txtRdata(v) });
  if (records.length === 0) return;
  const message = encodeMessage({
    id: randomInt(0, 65536),
    opcode: OPCODE.UPDATE,
    question: { name: zone, type: TYPE.SOA },
    authority: records,
  });
  const response = await signedExchange(server, key, message, { zone, query: false, timeoutMs });
  if (response.rcode !== 0) throw failureFor(response.rcode, key, zone);
}

/** A signed SOA query for the zone: resolves when the server answers authoritatively with the zone's SOA. */
export async function checkZone(server: Rfc2136Server, key: TsigKey, zone: string, timeoutMs: number): Promise<void> {
  const message = encodeMessage({ id: randomInt(0, 65536), opcode: OPCODE.QUERY, question: { name: zone, type: TYPE.SOA } });
  const response = await signedExchange(server, key, message, { zone, query: true, timeoutMs });
  if (response.rcode !== 0) throw failureFor(response.rcode, key, zone, true);
  const soa = response.answers.find((a) => a.type === TYPE.SOA && a.name.toLowerCase() === zone.toLowerCase());
  if (!response.authoritative || !soa) {
    throw new Rfc2136Failure(`the server does not serve zone ${zone} (no authoritative SOA)`, true, "NOTAUTH", true);
  }
}
