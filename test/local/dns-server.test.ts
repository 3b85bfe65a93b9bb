import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import net from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Resolver } from "node:dns/promises";
import * as packet from "dns-packet";
import type { DecodedPacket, Packet } from "dns-packet";
import { openZoneStore, type ZoneStore } from "../../src/local/dns/zone-store";
import { startDnsServer } from "../../src/local/dns/dns-server";

const RG = "rg";
const SEED = [
  { name: "example.com", resourceGroup: RG },
  { name: "example.org", resourceGroup: RG },
];
const NS = ["ns1.kv-acme.test."];

function udpRaw(port: number, message: Buffer, timeoutMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, timeoutMs);
    socket.on("message", (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.send(message, port, "127.0.0.1");
  });
}

function tcpRaw(port: number, message: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let data = Buffer.alloc(0);
    socket.on("connect", () => {
      const framed = Buffer.alloc(2 + message.length);
      framed.writeUInt16BE(message.length, 0);
      message.copy(framed, 2);
      socket.write(framed);
    });
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        socket.destroy();
        resolve(data.subarray(2, 2 + data.readUInt16BE(0)));
      }
    });
    socket.on("close", () => resolve(undefined));
    socket.on("error", reject);
  });
}

/** A decoded message with loosely typed records (dns-packet's Answer union has no common `data`). */
interface Rr {
  type: string;
  name: string;
  ttl?: number;
  data?: unknown;
}
type Msg = Omit<DecodedPacket, "answers" | "authorities" | "additionals"> & {
  rcode: string;
  answers?: Rr[];
  authorities?: Rr[];
  additionals?: Rr[];
};
const decode = (b: Buffer): Msg => packet.decode(b) as unknown as Msg;

let nextId = 1;
function query(name: string, type: string, extra: Partial<Packet> = {}): Buffer {
  return packet.encode({
    type: "query",
    id: nextId++,
    flags: packet.RECURSION_DESIRED,
    questions: [{ name, type: type as "A", class: "IN" }],
    ...extra,
  });
}

async function udp(port: number, name: string, type: string, extra: Partial<Packet> = {}): Promise<Msg> {
  const res = await udpRaw(port, query(name, type, extra));
  assert.ok(res, `no UDP answer for ${name} ${type}`);
  return decode(res);
}

async function tcp(port: number, name: string, type: string): Promise<Msg> {
  const res = await tcpRaw(port, query(name, type));
  assert.ok(res, `no TCP answer for ${name} ${type}`);
  return decode(res);
}

const edns = (size: number): Partial<Packet> => ({
  additionals: [{ type: "OPT", name: ".", udpPayloadSize: size, flags: 0, options: [] } as never],
});
const rcodeOf = (p: Msg): string => p.rcode;
const txtOf = (p: Msg): string[] =>
  (p.answers ?? []).filter((a) => a.type === "TXT").map((a) => (a.data as Buffer[]).map((b) => b.toString()).join(""));

describe("authoritative DNS server", () => {
  let dir: string;
  let store: ZoneStore;
  let server: Awaited<ReturnType<typeof startDnsServer>>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kvacme-dns-"));
    store = await openZoneStore({ stateDir: dir, subscriptionId: "sub", seedZones: SEED, nameServers: NS });
    server = await startDnsServer({ store });
    const put = (zone: string, name: string, type: "A" | "TXT" | "CNAME" | "NS", properties: Record<string, unknown>, ttl = 300) =>
      store.createOrUpdateRecordSet(RG, zone, name, type, { ttl, properties });
    await put("example.com", "www", "A", { ARecords: [{ ipv4Address: "192.0.2.10" }, { ipv4Address: "192.0.2.11" }] });
    await put(
      "example.com",
      "_acme-challenge.deep.sub",
      "TXT",
      { TXTRecords: [{ value: ["v1"] }, { value: ["v2"] }, { value: ["x".repeat(300)] }] },
      60,
    );
    await put("example.com", "big", "TXT", {
      TXTRecords: Array.from({ length: 40 }, (_, i) => ({ value: [`value-${String(i).padStart(2, "0")}-${"k".repeat(40)}`] })),
    });
    await put("example.com", "alias", "CNAME", { CNAMERecord: { cname: "www.example.com" } });
    await put("example.com", "cross", "CNAME", { CNAMERecord: { cname: "host.example.org" } });
    await put("example.org", "host", "A", { ARecords: [{ ipv4Address: "198.51.100.7" }] });
    await put("example.com", "*.wild", "TXT", { TXTRecords: [{ value: ["wildcard"] }] });
    await put("example.com", "delegated", "NS", { NSRecords: [{ nsdname: "ns.elsewhere.test" }] });
  });

  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("SOA and NS at the apex are authoritative; the NS host resolves to the server", async () => {
    const soa = await udp(server.port, "example.com", "SOA");
    assert.equal(rcodeOf(soa), "NOERROR");
    assert.equal(soa.flag_aa, true);
    assert.equal(soa.answers?.[0].type, "SOA");
    const ns = await udp(server.port, "example.com", "NS");
    assert.deepEqual(
      ns.answers?.map((a) => a.data),
      ["ns1.kv-acme.test"],
    );
    assert.deepEqual(
      ns.additionals?.filter((a) => a.type === "A").map((a) => [a.name, a.data]),
      [["ns1.kv-acme.test", "127.0.0.1"]],
    );
    const host = await udp(server.port, "ns1.kv-acme.test", "A");
    assert.deepEqual(
      host.answers?.map((a) => a.data),
      ["127.0.0.1"],
    );
    const a = await udp(server.port, "www.example.com", "A");
    assert.deepEqual(a.answers?.map((x) => x.data).sort(), ["192.0.2.10", "192.0.2.11"]);
    assert.equal(a.answers?.[0].ttl, 300);
  });

  test("NXDOMAIN vs NODATA (including empty non-terminals), SOA in authority with the negative TTL", async () => {
    const nx = await udp(server.port, "nothing.example.com", "A");
    assert.equal(rcodeOf(nx), "NXDOMAIN");
    assert.equal(nx.flag_aa, true);
    assert.equal(nx.authorities?.[0].type, "SOA");
    assert.equal(nx.authorities?.[0].ttl, 300); // min(SOA TTL 3600, minimum 300)
    const nodata = await udp(server.port, "www.example.com", "TXT");
    assert.equal(rcodeOf(nodata), "NOERROR");
    assert.equal(nodata.answers?.length, 0);
    assert.equal(nodata.authorities?.[0].type, "SOA");
    for (const ent of ["sub.example.com", "deep.sub.example.com"]) {
      const r = await udp(server.port, ent, "TXT");
      assert.equal(rcodeOf(r), "NOERROR", ent);
      assert.equal(r.answers?.length, 0, ent);
    }
    const below = await udp(server.port, "x._acme-challenge.deep.sub.example.com", "TXT");
    assert.equal(rcodeOf(below), "NXDOMAIN");
  });

  test("REFUSED outside our zones", async () => {
    for (const name of ["example.net", "com", "notexample.com"]) {
      const r = await udp(server.port, name, "A");
      assert.equal(rcodeOf(r), "REFUSED", name);
      assert.equal(r.flag_aa, false);
    }
  });

  test("multi-value TXT: one RR per record, long values split into 255-byte strings; node:dns resolves them", async () => {
    const r = await udp(server.port, "_acme-challenge.deep.sub.example.com", "TXT");
    assert.equal(r.answers?.length, 3);
    assert.deepEqual(txtOf(r).sort(), ["v1", "v2", "x".repeat(300)].sort());
    const long = r.answers?.find((a) => (a.data as Buffer[]).length === 2);
    assert.deepEqual(
      (long?.data as Buffer[]).map((b) => b.length),
      [255, 45],
    );
    assert.equal(r.answers?.[0].ttl, 60);
    const resolver = new Resolver();
    resolver.setServers([`127.0.0.1:${server.port}`]);
    const txt = await resolver.resolveTxt("_acme-challenge.deep.sub.example.com");
    assert.deepEqual(txt.map((chunks) => chunks.join("")).sort(), ["v1", "v2", "x".repeat(300)].sort());
  });

  test("a 40-value TXT record set is truncated over UDP and complete over TCP (and over UDP with EDNS 4096)", async () => {
    const truncated = await udp(server.port, "big.example.com", "TXT");
    assert.equal(truncated.flag_tc, true);
    assert.equal(truncated.answers?.length, 0);
    const full = await tcp(server.port, "big.example.com", "TXT");
    assert.equal(full.flag_tc, false);
    assert.equal(full.answers?.length, 40);
    assert.equal(new Set(txtOf(full)).size, 40);
    const withEdns = await udp(server.port, "big.example.com", "TXT", edns(4096));
    assert.equal(withEdns.flag_tc, false);
    assert.equal(withEdns.answers?.length, 40);
    assert.equal(withEdns.additionals?.find((a) => a.type === "OPT")?.type, "OPT");
    const small = await udp(server.port, "big.example.com", "TXT", edns(1232));
    assert.equal(small.flag_tc, true);
    const resolver = new Resolver();
    resolver.setServers([`127.0.0.1:${server.port}`]);
    assert.equal((await resolver.resolveTxt("big.example.com")).length, 40);
  });

  test("CNAME chasing inside our zones, 0x20 case echoed, wildcards, delegation referral", async () => {
    const r = await udp(server.port, "AlIaS.ExAmPle.CoM", "A");
    assert.equal(r.questions?.[0].name, "AlIaS.ExAmPle.CoM");
    assert.deepEqual(
      r.answers?.map((a) => a.type),
      ["CNAME", "A", "A"],
    );
    assert.equal(r.answers?.[0].name, "AlIaS.ExAmPle.CoM");
    const cross = await udp(server.port, "cross.example.com", "A");
    assert.deepEqual(
      cross.answers?.map((a) => a.data),
      ["host.example.org", "198.51.100.7"],
    );
    const onlyCname = await udp(server.port, "alias.example.com", "CNAME");
    assert.deepEqual(
      onlyCname.answers?.map((a) => a.type),
      ["CNAME"],
    );
    const wild = await udp(server.port, "anything.wild.example.com", "TXT");
    assert.deepEqual(txtOf(wild), ["wildcard"]);
    assert.equal(wild.answers?.[0].name, "anything.wild.example.com");
    const referral = await udp(server.port, "host.delegated.example.com", "A");
    assert.equal(rcodeOf(referral), "NOERROR");
    assert.equal(referral.flag_aa, false);
    assert.deepEqual(
      referral.authorities?.map((a) => [a.type, a.data]),
      [["NS", "ns.elsewhere.test"]],
    );
  });

  test("EDNS: options such as cookies are accepted, version 1 gets BADVERS", async () => {
    const withCookie = await udp(server.port, "_acme-challenge.deep.sub.example.com", "TXT", {
      additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0, options: [{ code: 10, data: Buffer.alloc(8, 7) }] } as never],
    });
    assert.equal(withCookie.rcode, "NOERROR");
    assert.equal(withCookie.answers?.length, 3);
    const v1 = await udp(server.port, "example.com", "SOA", {
      additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, ednsVersion: 1, flags: 0, options: [] } as never],
    });
    const opt = v1.additionals?.find((a) => a.type === "OPT") as (Rr & { extendedRcode?: number }) | undefined;
    assert.equal(opt?.extendedRcode, 1); // BADVERS (16) = extended 1 << 4 | header 0
    assert.equal(v1.answers?.length, 0);
  });

  test("a write to the store is answerable at once; a deleted record set is gone at once", async () => {
    await store.createOrUpdateRecordSet(RG, "example.org", "_acme-challenge", "TXT", {
      ttl: 10,
      properties: { TXTRecords: [{ value: ["fresh"] }] },
    });
    assert.deepEqual(txtOf(await udp(server.port, "_acme-challenge.example.org", "TXT")), ["fresh"]);
    await store.deleteRecordSet(RG, "example.org", "_acme-challenge", "TXT");
    assert.equal(rcodeOf(await udp(server.port, "_acme-challenge.example.org", "TXT")), "NXDOMAIN");
  });

  test("malformed packets get FORMERR or are dropped, and the server keeps answering", async () => {
    const garbage = Buffer.concat([query("www.example.com", "A").subarray(0, 12), Buffer.from([0xff, 0xff, 0xff])]);
    const formerr = await udpRaw(server.port, garbage);
    assert.ok(formerr);
    assert.equal(formerr.readUInt16BE(0), garbage.readUInt16BE(0));
    assert.equal(formerr.readUInt16BE(2) & 0x000f, 1); // FORMERR
    assert.equal(await udpRaw(server.port, Buffer.from([1, 2, 3]), 200), undefined); // shorter than a header: dropped
    const two = packet.encode({
      type: "query",
      id: 7,
      questions: [
        { name: "a.example.com", type: "A" },
        { name: "b.example.com", type: "A" },
      ],
    });
    assert.equal(rcodeOf(decode((await udpRaw(server.port, two)) ?? Buffer.alloc(0))), "FORMERR");
    const notify = Buffer.from(query("example.com", "SOA"));
    notify.writeUInt16BE((notify.readUInt16BE(2) & ~0x7800) | (4 << 11), 2);
    assert.equal(rcodeOf(decode((await udpRaw(server.port, notify)) ?? Buffer.alloc(0))), "NOTIMP");
    const response = Buffer.from(query("example.com", "SOA"));
    response.writeUInt16BE(response.readUInt16BE(2) | 0x8000, 2);
    assert.equal(await udpRaw(server.port, response, 200), undefined); // responses are never answered
    const tcpGarbage = await tcpRaw(server.port, garbage);
    assert.ok(tcpGarbage);
    assert.equal(tcpGarbage.readUInt16BE(2) & 0x000f, 1);
    assert.equal(await tcpRaw(server.port, Buffer.from([1, 2])), undefined); // short frame: connection closed
    assert.equal(rcodeOf(await udp(server.port, "www.example.com", "A")), "NOERROR");
  });

  test("restart keeps data", async () => {
    await store.createOrUpdateRecordSet(RG, "example.org", "kept", "TXT", {
      ttl: 30,
      properties: { TXTRecords: [{ value: ["still here"] }] },
    });
    await server.close();
    store = await openZoneStore({ stateDir: dir, subscriptionId: "sub", seedZones: SEED, nameServers: NS });
    server = await startDnsServer({ store });
    assert.deepEqual(txtOf(await udp(server.port, "kept.example.org", "TXT")), ["still here"]);
    assert.deepEqual(txtOf(await tcp(server.port, "kept.example.org", "TXT")), ["still here"]);
    // A changed name server list follows into the apex NS and SOA of existing zones.
    await server.close();
    store = await openZoneStore({
      stateDir: dir,
      subscriptionId: "sub",
      seedZones: SEED,
      nameServers: ["ns1.other.test.", "ns2.other.test."],
    });
    server = await startDnsServer({ store });
    const ns = await udp(server.port, "example.org", "NS");
    assert.deepEqual(ns.answers?.map((a) => a.data).sort(), ["ns1.other.test", "ns2.other.test"]);
    assert.equal((ns.additionals ?? []).filter((a) => a.type === "A").length, 2);
    assert.equal(store.getRecordSet("example.com", "@", "SOA")?.records.SOARecord?.host, "ns1.other.test");
    assert.deepEqual(txtOf(await udp(server.port, "kept.example.org", "TXT")), ["still here"]);
  });
});
