/**
 * The verification recipes of docs/webhooks.md, extracted from the markdown and run exactly as written against real
 * kv-acme deliveries: the Node receiver (standardwebhooks library) as a process on a free port, the bash/openssl
 * script with the headers of captured deliveries.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as n from "../../src/notify";
import { freePort } from "../../src/local/net";
import { startReceiver, type Received } from "./receiver";
import { sampleEvents } from "./samples";
import { generateSigningSecret } from "./standard-webhooks";

const root = path.resolve(__dirname, "../..");
const doc = readFileSync(path.join(root, "docs/webhooks.md"), "utf8");

/** The fenced block of `lang` whose first line starts with `firstLine`. */
function recipe(lang: string, firstLine: string): string {
  const blocks = [...doc.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === lang && m[2].startsWith(firstLine));
  assert.equal(blocks.length, 1, `one ${lang} block starting with "${firstLine}" in docs/webhooks.md`);
  return blocks[0][2];
}

const [issued, renewed] = sampleEvents();

describe("docs/webhooks.md recipes, run as documented", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "kvacme-recipes-"));
  const secret = generateSigningSecret();
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("Node receiver (standardwebhooks)", () => {
    let child: ChildProcess;
    let url: string;
    let output = "";
    before(async () => {
      writeFileSync(path.join(dir, "receiver.js"), recipe("js", "// receiver.js"));
      const port = await freePort();
      url = `http://127.0.0.1:${port}/`;
      // NODE_PATH: the receiver's `require("standardwebhooks")` finds the library this repository installs.
      child = spawn(process.execPath, ["receiver.js"], {
        cwd: dir,
        env: { PATH: process.env.PATH, NODE_PATH: path.join(root, "node_modules"), WEBHOOK_SECRET: secret, PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
      child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
      for (let i = 0; i < 100; i++) {
        const up = await fetch(url, { method: "POST" }).then(
          () => true,
          () => false,
        );
        if (up) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.fail(`receiver.js did not start: ${output}`);
    });
    after(() => void child.kill());

    it("accepts kv-acme's signed deliveries (one secret, or the new one of a rotation) and handles each id once", async () => {
      const first = await n.deliverWebhook({ url, format: "generic", events: ["*"], secret }, renewed, { maxAttempts: 1 });
      assert.deepEqual([first.ok, first.status], [true, 204], first.error);
      const rotated = { url, format: "generic" as const, events: ["*"], secret: generateSigningSecret(), secondarySecret: secret };
      const again = await n.deliverWebhook(rotated, renewed, { maxAttempts: 1 });
      assert.deepEqual([again.ok, again.status], [true, 204], again.error);
      const teams = await n.deliverWebhook({ url, format: "teams", events: ["*"], secret, legacySecret: "old" }, issued, {
        maxAttempts: 1,
      });
      assert.deepEqual([teams.ok, teams.status], [true, 204], teams.error);
      assert.equal(output.match(/certificate\.renewed/g)?.length, 1, `the repeated id is processed once: ${output}`);
    });

    it("answers 401 to a replayed (stale) delivery, another secret and a forged id", async () => {
      const stale = await n.deliverWebhook({ url, format: "generic", events: ["*"], secret }, issued, {
        maxAttempts: 1,
        now: () => new Date(Date.now() - 600_000),
      });
      assert.equal(stale.status, 401);
      const other = await n.deliverWebhook({ url, format: "generic", events: ["*"], secret: generateSigningSecret() }, issued, {
        maxAttempts: 1,
      });
      assert.equal(other.status, 401);
      const body = JSON.stringify(n.renderGeneric(issued));
      const headers = n.signatureHeaders({ secrets: [secret] }, issued.id, body, new Date());
      const forged = await fetch(url, { method: "POST", headers: { ...headers, "webhook-id": "evt_forged" }, body });
      assert.equal(forged.status, 401);
      const genuine = await fetch(url, { method: "POST", headers, body });
      assert.equal(genuine.status, 204, "the same request with its own id passes");
    });
  });

  describe("bash + openssl script", () => {
    const script = path.join(dir, "verify-webhook.sh");
    before(() => writeFileSync(script, recipe("bash", "# verify-webhook.sh")));

    /** Runs the script on a captured request, as a receiver would: body.json + the headers in the environment. */
    function verify(req: Pick<Received, "headers" | "rawBody">, useSecret = secret): { status: number | null; out: string } {
      writeFileSync(path.join(dir, "body.json"), req.rawBody);
      const r = spawnSync("bash", [script], {
        cwd: dir,
        encoding: "utf8",
        env: {
          PATH: process.env.PATH,
          WEBHOOK_ID: String(req.headers["webhook-id"]),
          WEBHOOK_TIMESTAMP: String(req.headers["webhook-timestamp"]),
          WEBHOOK_SIGNATURE: String(req.headers["webhook-signature"]),
          WEBHOOK_SECRET: useSecret,
        },
      });
      return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
    }

    it("prints valid for genuine deliveries, whichever signature of the header matches", async () => {
      const r = await startReceiver();
      try {
        const base = { url: r.url, events: ["*"] };
        await n.deliverWebhook({ ...base, format: "generic", secret }, renewed);
        await n.deliverWebhook({ ...base, format: "slack", secret: generateSigningSecret(), secondarySecret: secret }, renewed);
        await n.deliverWebhook({ ...base, format: "teams", secret, legacySecret: "old-secret" }, renewed);
        assert.equal(r.received.length, 3);
        for (const req of r.received) assert.deepEqual(verify(req), { status: 0, out: "valid" }, String(req.headers["webhook-signature"]));
      } finally {
        await r.close();
      }
    });

    it("stops at a stale timestamp and rejects tampering, another secret, a forged id and a signature split across entries", async () => {
      const r = await startReceiver();
      try {
        await n.deliverWebhook({ url: r.url, format: "generic", events: ["*"], secret }, issued, {
          now: () => new Date(Date.now() - 600_000),
        });
        await n.deliverWebhook({ url: r.url, format: "generic", events: ["*"], secret }, issued);
        const [replayed, fresh] = r.received;
        assert.deepEqual(verify(replayed), { status: 1, out: "stale" }, "a replayed request stops at the timestamp");
        assert.deepEqual(verify({ ...fresh, rawBody: Buffer.from(fresh.rawBody.toString().replace("a1b2c3", "a1b2c4")) }), {
          status: 1,
          out: "invalid",
        });
        assert.deepEqual(verify(fresh, generateSigningSecret()), { status: 1, out: "invalid" });
        assert.deepEqual(verify({ ...fresh, headers: { ...fresh.headers, "webhook-id": "evt_other" } }), { status: 1, out: "invalid" });
        const sig = String(fresh.headers["webhook-signature"]);
        const split = `${sig.slice(0, 20)} ${sig.slice(20)}`;
        assert.deepEqual(verify({ ...fresh, headers: { ...fresh.headers, "webhook-signature": split } }), { status: 1, out: "invalid" });
        assert.deepEqual(verify({ ...fresh, headers: { ...fresh.headers, "webhook-timestamp": "0017" } }), {
          status: 1,
          out: "invalid timestamp",
        });
      } finally {
        await r.close();
      }
    });
  });
});
