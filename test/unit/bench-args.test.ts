/** bench/lib/args.ts: the one option parser of the benchmarks (bench/*.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseBenchArgs } from "../../bench/lib/args";

const USAGE = "usage: bench.ts [--certs N] [--days N] [--rate N] [--dns azure|rfc2136] [--tools a,b] [--no-real]";
const SPEC = {
  certs: { type: "count", default: 100 },
  days: { type: "count", default: 365, min: 1 },
  rate: { type: "number" },
  dns: { type: "string", default: "azure", choices: ["azure", "rfc2136"], lower: true },
  label: { type: "string" },
  tools: { type: "list" },
  sizes: { type: "list", default: ["100", "300"] },
  "no-real": { type: "flag" },
  help: { type: "flag", short: "h" },
} as const;
const parse = (...argv: string[]) => parseBenchArgs(argv, SPEC, USAGE);

describe("bench argument parser", () => {
  it("defaults when nothing is given", () => {
    assert.deepEqual(parse(), {
      certs: 100,
      days: 365,
      rate: undefined,
      dns: "azure",
      label: undefined,
      tools: undefined,
      sizes: ["100", "300"],
      "no-real": false,
      help: false,
    });
  });

  it("reads --name value and --name=value alike, flags and short flags", () => {
    const a = parse("--certs", "2000", "--days=0", "--rate", "2.5", "--dns", "RFC2136", "--tools", " a, b ,,", "--no-real", "-h");
    assert.equal(a.certs, 2000);
    assert.equal(a.days, 1, "raised to the floor");
    assert.equal(a.rate, 2.5);
    assert.equal(a.dns, "rfc2136", "compared lower-cased");
    assert.deepEqual(a.tools, ["a", "b"]);
    assert.equal(a["no-real"], true);
    assert.equal(a.help, true);
    assert.deepEqual(parse("--sizes=1000").sizes, ["1000"]);
    assert.equal(parse("--label", "x").label, "x");
  });

  const bad: [string[], RegExp][] = [
    [["--certs", "1.5"], /--certs needs a whole number/],
    [["--certs", "-3"], /--certs/],
    [["--certs", "ten"], /--certs needs a whole number/],
    [["--certs="], /--certs needs a whole number/],
    [["--rate", "fast"], /--rate needs a number/],
    [["--dns", "route53"], /--dns: unknown value route53 \(known: azure, rfc2136\)/],
    [["--cert", "3"], /Unknown option '--cert'/],
    [["--certs"], /--certs/],
    [["stray"], /stray/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${JSON.stringify(argv)} with the usage`, () => {
      assert.throws(
        () => parse(...argv),
        (err: unknown) => err instanceof Error && message.test(err.message) && err.message.includes(USAGE),
      );
    });
  }
});
