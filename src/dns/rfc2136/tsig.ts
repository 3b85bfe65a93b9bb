/**
 * TSIG (RFC 8945): signs a request and verifies the server's signed response with a shared HMAC key.
 * Supported algorithms: hmac-sha256, hmac-sha384, hmac-sha512 (and hmac-sha224, hmac-sha1 for old servers).
 * A response to a signed request must be signed with the same key over the request's MAC (§5.3); an unsigned or
 * badly signed NOERROR is rejected, so an off-path answer cannot fake a successful update.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { CLASS, TYPE, encodeName, parseMessage, readName, type ParsedMessage } from "./wire";

export const TSIG_ALGORITHMS = {
  "hmac-sha256": "sha256",
  "hmac-sha384": "sha384",
  "hmac-sha512": "sha512",
  "hmac-sha224": "sha224",
  "hmac-sha1": "sha1",
} as const;
export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;

/** TSIG error codes (RFC 8945 §3, §5.2). */
export const TSIG_ERRORS: Readonly<Record<number, string>> = { 16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 22: "BADTRUNC" };

export interface TsigKey {
  /** Key name as configured on the server, e.g. "kv-acme". */
  name: string;
  algorithm: TsigAlgorithm;
  /** The shared secret, raw bytes (the base64 of `tsig-keygen` / `keymgr` decoded). */
  secret: Buffer;
}

/** The default fudge, seconds (RFC 8945 §10). */
const FUDGE = 300;

function u48(seconds: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(seconds / 2 ** 32), 0);
  b.writeUInt32BE(seconds % 2 ** 32, 2);
  return b;
}

/** The TSIG variables that follow the message in the MAC input (RFC 8945 §4.3.3). */
function variables(key: TsigKey, timeSigned: Buffer, fudge: number, error: number, other: Buffer): Buffer {
  const a = Buffer.alloc(6);
  a.writeUInt16BE(CLASS.ANY, 0);
  a.writeUInt32BE(0, 2);
  const b = Buffer.alloc(6);
  b.writeUInt16BE(fudge, 0);
  b.writeUInt16BE(error, 2);
  b.writeUInt16BE(other.length, 4);
  return Buffer.concat([encodeName(key.name), a, encodeName(key.algorithm), timeSigned, b, other]);
}

function mac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(TSIG_ALGORITHMS[key.algorithm], key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Appends a TSIG record to an encoded message; returns the signed message and the MAC (needed to verify the reply). */
export function signMessage(message: Buffer, key: TsigKey, now = Date.now()): { signed: Buffer; mac: Buffer } {
  const timeSigned = u48(Math.floor(now / 1000));
  const digest = mac(key, [message, variables(key, timeSigned, FUDGE, 0, Buffer.alloc(0))]);
  const rdataHead = Buffer.concat([encodeName(key.algorithm), timeSigned]);
  const fudgeAndSize = Buffer.alloc(4);
  fudgeAndSize.writeUInt16BE(FUDGE, 0);
  fudgeAndSize.writeUInt16BE(digest.length, 2);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(message.readUInt16BE(0), 0); // original id
  tail.writeUInt16BE(0, 2); // error
  tail.writeUInt16BE(0, 4); // other len
  const rdata = Buffer.concat([rdataHead, fudgeAndSize, digest, tail]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE.TSIG, 0);
  fixed.writeUInt16BE(CLASS.ANY, 2);
  fixed.writeUInt32BE(0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  const signed = Buffer.concat([message, encodeName(key.name), fixed, rdata]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { signed, mac: digest };
}

export interface TsigRecord {
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

function parseTsig(response: Buffer, rdataOffset: number, owner: string): TsigRecord {
  const alg = readName(response, rdataOffset);
  let p = alg.next;
  const timeSigned = response.readUInt16BE(p) * 2 ** 32 + response.readUInt32BE(p + 2);
  const fudge = response.readUInt16BE(p + 6);
  const macSize = response.readUInt16BE(p + 8);
  p += 10;
  const macBytes = response.subarray(p, p + macSize);
  p += macSize;
  const originalId = response.readUInt16BE(p);
  const error = response.readUInt16BE(p + 2);
  const otherLen = response.readUInt16BE(p + 4);
  const other = response.subarray(p + 6, p + 6 + otherLen);
  return { keyName: owner.toLowerCase(), algorithm: alg.name.toLowerCase(), timeSigned, fudge, mac: macBytes, originalId, error, other };
}

export type TsigVerdict = { ok: true; message: ParsedMessage } | { ok: false; message: ParsedMessage; reason: string; tsigError?: string };

/**
 * Checks the response to a request signed with `key` whose MAC was `requestMac`: the last additional record must
 * be a TSIG with our key and algorithm, its MAC must verify (RFC 8945 §5.3), and its time must be within the fudge.
 * A TSIG carrying an error (BADKEY, BADSIG, BADTIME) is reported as such: the server refused our signature.
 */
export function verifyResponse(response: Buffer, key: TsigKey, requestMac: Buffer, now = Date.now()): TsigVerdict {
  const message = parseMessage(response);
  const last = message.additionals.at(-1);
  if (!last || last.type !== TYPE.TSIG) return { ok: false, message, reason: "the response is not signed (no TSIG record)" };
  const tsig = parseTsig(response, last.rdataOffset, last.name);
  if (tsig.error !== 0) {
    const name = TSIG_ERRORS[tsig.error] ?? `TSIG error ${tsig.error}`;
    return { ok: false, message, reason: `the server rejected the TSIG signature (${name})`, tsigError: name };
  }
  if (tsig.keyName !== encodeKeyName(key.name) || tsig.algorithm !== key.algorithm) {
    return { ok: false, message, reason: `the response is signed with another key (${tsig.keyName}, ${tsig.algorithm})` };
  }
  const unsigned = Buffer.from(response.subarray(0, last.offset));
  unsigned.writeUInt16BE(tsig.originalId, 0);
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(requestMac.length, 0);
  const timeSigned = response.subarray(readName(response, last.rdataOffset).next, readName(response, last.rdataOffset).next + 6);
  const expected = mac(key, [prefix, requestMac, unsigned, variables(key, Buffer.from(timeSigned), tsig.fudge, tsig.error, tsig.other)]);
  if (expected.length !== tsig.mac.length || !timingSafeEqual(expected, tsig.mac)) {
    return { ok: false, message, reason: "the response's TSIG signature does not verify" };
  }
  if (Math.abs(Math.floor(now / 1000) - tsig.timeSigned) > tsig.fudge) {
    return {
      ok: false,
      message,
      reason: "the response's TSIG time is outside the fudge window (clocks out of sync?)",
      tsigError: "BADTIME",
    };
  }
  return { ok: true, message };
}

function encodeKeyName(name: string): string {
  return name.replace(/\.$/, "").toLowerCase();
}
