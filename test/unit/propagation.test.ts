/** Pure parts of the propagation checker, and a real check against a tiny in-test authoritative DNS server. */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { describe, it } from "node:test";
import packet from "dns-packet";
import { groupExpectations, missingValues, nextInterval, parseResolverList, waitForTxtPropagation } from "../../src/dns/propagation";
import { ValidationError } from "../../src/shared/errors";

describe("parseResolverList", () => {
  const cases: [string, string | string[], string[]][] = [
    ["host:port", "127.0.0.1:5353", ["127.0.0.1:5353"]],
    ["bare IPv4", "10.0.0.2", ["10.0.0.2"]],
    ["list with spaces and commas", "127.0.0.1:53, 10.0.0.3", ["127.0.0.1:53", "10.0.0.3"]],
    ["bracketed IPv6 with port", "[::1]:5353", ["[::1]:5353"]],
    ["bare IPv6", "::1", ["[::1]:53"]],
    ["array form", ["127.0.0.1:1"], ["127.0.0.1:1"]],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.deepEqual(parseResolverList(input), expected));
  it("rejects host names and bad ports", () => {
    assert.throws(() => parseResolverList("ns1.example.com:53"), ValidationError);
    assert.throws(() => parseResolverList("127.0.0.1:99999"), ValidationError);
  });
  it("undefined is empty", () => assert.deepEqual(parseResolverList(undefined), []));
});

describe("missingValues / groupExpectations / nextInterval", () => {
  it("joins TXT character-strings before comparing", () => {
    assert.deepEqual(missingValues(["abcdef", "xyz"], [["abc", "def"]]), ["xyz"]);
    assert.deepEqual(missingValues(["a"], [["a"], ["b"]]), []);
  });
  it("merges values for the same name case-insensitively", () => {
    const g = groupExpectations([
      { fqdn: "_acme-challenge.Example.com.", values: ["A"], zoneName: "example.com" },
      { fqdn: "_acme-challenge.example.com", values: ["B", "A"], zoneName: "example.com" },
    ]);
    assert.equal(g.length, 1);
    assert.deepEqual(g[0]?.values, ["A", "B"]);
  });
  it("backs off ×1.5 up to the maximum", () => {
    assert.equal(nextInterval(250, 2000), 375);
    assert.equal(nextInterval(1800, 2000), 2000);
  });
});

/** A UDP DNS server answering TXT for one name with `values()` at query time. */
async function txtServer(name: string, values: () => string[]) {
  const socket = dgram.createSocket("udp4");
  let queries = 0;
  socket.on("message", (msg, rinfo) => {
    queries++;
    const q = packet.decode(msg);
    const question = q.questions?.[0];
    const answers =
      question && question.name.toLowerCase() === name && question.type === "TXT"
        ? values().map((v) => ({ type: "TXT" as const, name, ttl: 60, data: [v] }))
        : [];
    const reply = packet.encode({ id: q.id, type: "response", flags: packet.AUTHORITATIVE_ANSWER, questions: q.questions, answers });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  return { server: `127.0.0.1:${port}`, queries: () => queries, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

describe("waitForTxtPropagation", () => {
  it("polls until the value appears (at the third answer) and then stops", async () => {
    // The answer changes with the number of questions, not with time, so the test holds however loaded the machine is.
    let asked = 0;
    const dns = await txtServer("_acme-challenge.example.com", () => (++asked > 2 ? ["expected"] : ["other"]));
    try {
      const r = await waitForTxtPropagation([{ fqdn: "_acme-challenge.example.com", values: ["expected"], zoneName: "example.com" }], {
        resolvers: [dns.server],
        timeoutMs: 5000,
      });
      assert.equal(asked, 3, "asked until the value appeared, then no more");
      assert.ok(r.queries >= 3, `queries ${r.queries}`);
    } finally {
      await dns.close();
    }
  });
  it("times out naming the server and the missing value", async () => {
    const dns = await txtServer("_acme-challenge.example.com", () => []);
    try {
      await assert.rejects(
        waitForTxtPropagation([{ fqdn: "_acme-challenge.example.com", values: ["never"], zoneName: "example.com" }], {
          resolvers: [dns.server],
          timeoutMs: 600,
        }),
        (e: unknown) => e instanceof Error && e.message.includes(dns.server) && /not visible/.test(e.message),
      );
    } finally {
      await dns.close();
    }
  });
});
