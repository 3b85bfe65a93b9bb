/**
 * Whole outcomes of src/dns/propagation.ts (propagation.test.ts checks the main paths): the resolver list's exact
 * forms and problems at the port edges, the grouping and missing-value rules, the backoff's rounding, and a check
 * against in-test DNS servers returning the exact result (queries, servers) or the exact timeout error per cause.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { promises as systemDns } from "node:dns";
import { after, before, describe, it } from "node:test";
import packet from "dns-packet";
import {
  authoritativeServers,
  groupExpectations,
  missingValues,
  nextInterval,
  parseResolverList,
  waitForTxtPropagation,
} from "../../src/dns/propagation";
import { UpstreamError, ValidationError } from "../../src/shared/errors";

const problemOf = (input: string) => {
  try {
    parseResolverList(input);
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return err.problems;
  }
  throw new Error(`${input} was accepted`);
};

describe("parseResolverList: exact forms", () => {
  it("separators: commas, semicolons, spaces, newlines; empty parts dropped", () => {
    assert.deepEqual(parseResolverList(" 10.0.0.1;10.0.0.2,\n10.0.0.3  10.0.0.4 ,, "), ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]);
    assert.deepEqual(parseResolverList(""), []);
    assert.deepEqual(parseResolverList([" 10.0.0.1 ", "", "[::1]"]), ["10.0.0.1", "[::1]:53"]);
  });

  it("ports 1 and 65535 are kept; IPv4 without a port stays bare, IPv6 gets :53", () => {
    assert.deepEqual(parseResolverList("10.0.0.1:1,10.0.0.1:65535,[2001:db8::1]:65535,2001:db8::2,[2001:db8::3]"), [
      "10.0.0.1:1",
      "10.0.0.1:65535",
      "[2001:db8::1]:65535",
      "[2001:db8::2]:53",
      "[2001:db8::3]:53",
    ]);
  });

  it("port 0 and 65536, a host name and junk are refused naming the entry", () => {
    for (const bad of [
      "10.0.0.1:0",
      "10.0.0.1:65536",
      "[::1]:0",
      "ns1.example.com",
      "10.0.0.1:",
      "999.0.0.1",
      "x[::1]",
      "[::1]:53x",
      "x:10.0.0.1",
    ])
      assert.deepEqual(
        problemOf(bad),
        [{ field: "dnsResolver", message: `"${bad}" is not an IP address with an optional port (like 127.0.0.1:5353)` }],
        bad,
      );
  });
});

describe("missingValues / groupExpectations / nextInterval: exact", () => {
  it("missingValues keeps the expected order and repeats, compares whole joined records only", () => {
    assert.deepEqual(missingValues(["b", "a", "b", "c"], [["a"]]), ["b", "b", "c"]);
    assert.deepEqual(missingValues(["ab"], [["a"], ["b"]]), ["ab"], "two records are not one value");
    assert.deepEqual(missingValues([], [["a"]]), []);
  });

  it("groupExpectations: one entry per name (lower case, no trailing dot), values deduplicated in first-seen order", () => {
    assert.deepEqual(
      groupExpectations([
        { fqdn: "_acme-challenge.A.example.", values: ["x", "x", "y"], zoneName: "example", nameServers: ["ns1"] },
        { fqdn: "_acme-challenge.b.example", values: ["z"], zoneName: "example" },
        { fqdn: "_acme-challenge.a.example", values: ["y", "w"], zoneName: "other" },
      ]),
      [
        { fqdn: "_acme-challenge.a.example", values: ["x", "y", "w"], zoneName: "example", nameServers: ["ns1"] },
        { fqdn: "_acme-challenge.b.example", values: ["z"], zoneName: "example" },
      ],
    );
  });

  it("nextInterval rounds up and stops at the maximum", () => {
    assert.equal(nextInterval(1, 10), 2);
    assert.equal(nextInterval(3, 100), 5);
    assert.equal(nextInterval(4, 6), 6);
    assert.equal(nextInterval(10, 10), 10);
  });

  it("authoritativeServers: given IP name servers are used as they are (IPv6 with :53), once each", async () => {
    assert.deepEqual(await authoritativeServers("example.com", ["127.0.0.1", "::1", "127.0.0.1"]), ["127.0.0.1", "[::1]:53"]);
  });
});

/** A UDP DNS server answering TXT questions for `name` with `values(n)` (n: the question count so far), or not at all. */
async function txtServer(name: string, values: (n: number) => string[] | "silent") {
  const socket = dgram.createSocket("udp4");
  let queries = 0;
  socket.on("message", (msg, rinfo) => {
    const q = packet.decode(msg);
    const question = q.questions?.[0];
    const answer = values(++queries);
    if (answer === "silent") return;
    const answers =
      question && question.name.toLowerCase() === name && question.type === "TXT"
        ? answer.map((v) => ({ type: "TXT" as const, name, ttl: 60, data: [v] }))
        : [];
    const reply = packet.encode({ id: q.id, type: "response", flags: packet.AUTHORITATIVE_ANSWER, questions: q.questions, answers });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  return { server: `127.0.0.1:${port}`, queries: () => queries, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

const NAME = "_acme-challenge.example.com";

/** The error of a check that times out; a server that answers gets 2 s per query (a loaded machine), a silent one 100 ms. */
async function timeoutError(server: string, values: string[], queryTimeoutMs = 2_000): Promise<UpstreamError> {
  try {
    await waitForTxtPropagation([{ fqdn: NAME, values, zoneName: "example.com" }], {
      resolvers: [server],
      timeoutMs: 400,
      intervalMs: 50,
      queryTimeoutMs,
    });
  } catch (err) {
    assert.ok(err instanceof UpstreamError, String(err));
    return err;
  }
  throw new Error("propagation did not time out");
}

describe("waitForTxtPropagation: exact results", () => {
  it("two servers, two names (apex and wildcard values merged): done when all are seen, each pair asked until it is", async () => {
    const a = await txtServer(NAME, () => ["v1", "v2"]);
    const b = await txtServer(NAME, (n) => (n >= 2 ? ["v2", "v1"] : ["v1"]));
    const t0 = Date.now();
    try {
      const r = await waitForTxtPropagation(
        [
          { fqdn: NAME, values: ["v1"], zoneName: "example.com" },
          { fqdn: `${NAME}.`, values: ["v2"], zoneName: "example.com" },
        ],
        { resolvers: [a.server, b.server], timeoutMs: 10_000, intervalMs: 10 },
      );
      assert.deepEqual(r.servers, { "example.com": [a.server, b.server] });
      assert.equal(r.queries, 3, "a once, b twice (it lacked v2 the first time)");
      assert.deepEqual([a.queries(), b.queries()], [1, 2]);
      assert.ok(r.elapsedMs >= 0 && r.elapsedMs <= Date.now() - t0, `elapsedMs ${r.elapsedMs} lies within the call`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a timeout is a retryable 504 naming each name @ server with what it saw: other values", async () => {
    const dns = await txtServer(NAME, () => ["other"]);
    try {
      const err = await timeoutError(dns.server, ["want1", "other", "want2"]);
      assert.equal(err.status, 504);
      assert.equal(err.retryable, true);
      assert.equal(err.code, "DnsError");
      assert.equal(
        err.message,
        `TXT records not visible on every authoritative server after 0 s: ${NAME} @ ${dns.server}: missing want1, want2`,
      );
    } finally {
      await dns.close();
    }
  });

  it("... no TXT record at all", async () => {
    const dns = await txtServer(NAME, () => []);
    try {
      assert.match((await timeoutError(dns.server, ["want"])).message, new RegExp(`: ${NAME} @ ${dns.server}: no TXT record yet$`));
    } finally {
      await dns.close();
    }
  });

  it("... a server that does not answer (the query's own failure code)", async () => {
    const dns = await txtServer(NAME, () => "silent");
    try {
      assert.match(
        (await timeoutError(dns.server, ["want"], 100)).message,
        new RegExp(`: ${NAME} @ ${dns.server}: query failed: ETIMEOUT$`),
      );
    } finally {
      await dns.close();
    }
  });
});

describe("waitForTxtPropagation: more causes", () => {
  it("NXDOMAIN counts as no TXT record yet; every pair still missing is listed, joined by '; '", async () => {
    const a = await tableServer({}); // NXDOMAIN for every name
    const b = await txtServer(NAME, () => ["other"]);
    try {
      const err = await waitForTxtPropagation([{ fqdn: NAME, values: ["want"], zoneName: "example.com" }], {
        resolvers: [a.server, b.server],
        timeoutMs: 400,
        intervalMs: 50,
        queryTimeoutMs: 2_000,
      }).then(
        () => assert.fail("no timeout"),
        (e: unknown) => e as UpstreamError,
      );
      assert.match(err.message, new RegExp(`: ${NAME} @ ${a.server}: (no TXT record yet); ${NAME} @ ${b.server}: missing want$`));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("each check is one query: a server silent to the first question is asked again by the next poll, not retried", async () => {
    const dns = await txtServer(NAME, (n) => (n === 1 ? "silent" : ["v"]));
    try {
      const r = await waitForTxtPropagation([{ fqdn: NAME, values: ["v"], zoneName: "example.com" }], {
        resolvers: [dns.server],
        timeoutMs: 20_000,
        intervalMs: 10,
        queryTimeoutMs: 300,
      });
      assert.deepEqual([r.queries, dns.queries()], [2, 2], "two checks, one packet each (tries: 1)");
    } finally {
      await dns.close();
    }
  });
});

/** A DNS server with a fixed table (name -> type -> values); NXDOMAIN for names it does not hold. */
async function tableServer(table: Record<string, Partial<Record<"NS" | "A" | "AAAA", string[]>>>) {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    const q = packet.decode(msg);
    const question = q.questions?.[0];
    const entry = question ? table[question.name.toLowerCase()] : undefined;
    const type = question?.type as "NS" | "A" | "AAAA";
    const answers = (entry?.[type] ?? []).map((data) => ({ type, name: question?.name ?? "", ttl: 60, data }) as packet.Answer);
    const flags = packet.AUTHORITATIVE_ANSWER | (entry ? 0 : 3); // rcode 3: NXDOMAIN
    socket.send(packet.encode({ id: q.id, type: "response", flags, questions: q.questions, answers }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { server: `127.0.0.1:${socket.address().port}`, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

describe("authoritativeServers through DNS (the process's resolver pointed at an in-test server)", () => {
  let dns: Awaited<ReturnType<typeof tableServer>>;
  let saved: string[];
  before(async () => {
    dns = await tableServer({
      "example.com": { NS: ["ns1.example.com", "ns2.example.com"] },
      "ns1.example.com": { A: ["127.0.0.11"], AAAA: ["::11"] },
      "ns2.example.com": { A: ["127.0.0.12", "127.0.0.11"] },
      "lame.example": { NS: ["ns.nowhere.example"] },
    });
    saved = systemDns.getServers();
    systemDns.setServers([dns.server]);
  });
  after(async () => {
    systemDns.setServers(saved);
    await dns?.close();
  });

  it("the zone's NS names resolved to every IPv4 and IPv6 address (IPv6 with :53), once each", async () => {
    assert.deepEqual(await authoritativeServers("example.com"), ["127.0.0.11", "[::11]:53", "127.0.0.12"]);
  });

  it("given name servers are resolved too, a trailing dot dropped", async () => {
    assert.deepEqual(await authoritativeServers("any.example", ["ns2.example.com."]), ["127.0.0.12", "127.0.0.11"]);
  });

  it("a zone without NS records: a retryable DnsError naming the zone", async () => {
    await assert.rejects(authoritativeServers("missing.example"), (err: unknown) => {
      assert.ok(err instanceof UpstreamError);
      assert.equal(err.code, "DnsError");
      assert.equal(err.retryable, true);
      assert.match(err.message, /^Cannot find the name servers of zone missing\.example: \S/);
      return true;
    });
  });

  it("name servers that resolve to nothing: a retryable DnsError listing them", async () => {
    const check = (err: unknown) => {
      assert.ok(err instanceof UpstreamError);
      assert.equal(err.code, "DnsError");
      assert.equal(err.retryable, true);
      assert.equal(
        err.message,
        "None of the name servers of zone lame.example (ns.nowhere.example, ns.gone.example) resolve to an address",
      );
      return true;
    };
    await assert.rejects(authoritativeServers("lame.example", ["ns.nowhere.example", "ns.gone.example"]), check);
    // Without a resolver override the check asks the zone's own servers, so it fails the same way before any TXT query.
    await assert.rejects(
      waitForTxtPropagation(
        [
          {
            fqdn: "_acme-challenge.lame.example",
            values: ["v"],
            zoneName: "lame.example",
            nameServers: ["ns.nowhere.example", "ns.gone.example"],
          },
        ],
        {
          timeoutMs: 1000,
        },
      ),
      check,
    );
  });
});
