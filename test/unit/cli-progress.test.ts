/** The CLI's progress line (src/cli/progress.ts): drawn in place on a terminal only, never with --quiet. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createProgress } from "../../src/cli/progress";

function capture(stderrIsTTY: boolean, quiet: boolean, columns = 80) {
  const out: string[] = [];
  const p = createProgress({ stderr: (t) => void out.push(t), stderrIsTTY, columns }, { quiet });
  p.update(1, 3, "www-example-com");
  p.update(2, 3, "api-example-com");
  p.done();
  return out;
}

test("on a terminal the line is rewritten in place ([n/total] name) and cleared at the end", () => {
  assert.deepEqual(capture(true, false), ["\r\u001b[2K[1/3] www-example-com", "\r\u001b[2K[2/3] api-example-com", "\r\u001b[2K"]);
});

test("no progress output when stderr is not a terminal, or with --quiet", () => {
  assert.deepEqual(capture(false, false), []);
  assert.deepEqual(capture(true, true), []);
});

test("a long label is cut to the terminal's width", () => {
  const out: string[] = [];
  const p = createProgress({ stderr: (t) => void out.push(t), stderrIsTTY: true, columns: 21 }, { quiet: false });
  p.update(7, undefined, "a-very-long-certificate-name-indeed");
  assert.equal(out[0], "\r\u001b[2K[7] a-very-long-cer…");
});
