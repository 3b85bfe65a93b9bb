/**
 * bench/agent-poll: 100 observed certificates in the Key Vault stand-in, nothing changed between cycles.
 * Measures wire requests per steady-state cycle (target ≤ 100, zero secret downloads), cycle time (target ≤ 2 s)
 * and the agent process's RSS (target ≤ 100 MB). Prints one JSON line.
 *   NODE_EXTRA_CA_CERTS=.local/ca/ca.pem node --import tsx bench/agent-poll.ts [count] [cycles]
 */
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createAgentCredential } from "../src/agent/identity";
import { Poller } from "../src/agent/poller";
import { parseAgentSettings } from "../src/agent/settings";
import { createLinuxStore } from "../src/agent/stores/linux";
import { createSdkVaultReader } from "../src/agent/vault";
import { startAgentStack } from "../test/agent/stack";

/** The agent side, in its own process so its RSS is its own: first cycle installs, then `cycles` quiet cycles. */
async function child(settingsFile: string, cycles: number) {
  const settings = parseAgentSettings(await fs.readFile(settingsFile, "utf8"), { platform: "linux" }).settings;
  const vault = createSdkVaultReader({ credential: createAgentCredential(settings.authenticationSettings, process.env) });
  const logger = {
    info: () => {},
    warn: (m: string, d?: unknown) => console.error(m, d),
    error: (m: string, d?: unknown) => console.error(m, d),
  };
  const poller = new Poller(settings, { vault, store: createLinuxStore({ aclEnabled: false }), logger, host: "bench", env: {} });
  const first = await poller.cycle();
  if (!first.allInstalled) throw new Error(`initial install failed: ${first.statuses.find((s) => s.error)?.error}`);
  const times: number[] = [];
  const reqs: number[] = [];
  const downloads: number[] = [];
  let rss = process.memoryUsage().rss;
  for (let c = 0; c < cycles; c++) {
    const r0 = vault.stats.requests;
    const d0 = vault.stats.secretDownloads;
    const t0 = performance.now();
    const r = await poller.cycle();
    times.push(performance.now() - t0);
    reqs.push(vault.stats.requests - r0);
    downloads.push(vault.stats.secretDownloads - d0);
    if (r.installed.length || !r.allInstalled) throw new Error("a steady-state cycle changed something");
    rss = Math.max(rss, process.memoryUsage().rss);
  }
  process.stdout.write(JSON.stringify({ times, reqs, downloads, rss }) + "\n");
}

async function main() {
  if (process.argv[2] === "--child") return child(process.argv[3], Number(process.argv[4]));
  const count = Number(process.argv[2] ?? 100);
  const cycles = Number(process.argv[3] ?? 5);
  const stack = await startAgentStack();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "kvacme-agent-bench-"));
  try {
    const names = Array.from({ length: count }, (_, i) => `bench-${i}`);
    for (let i = 0; i < names.length; i += 10)
      await Promise.all(names.slice(i, i + 10).map((n) => stack.putVersion(n, [`${n}.example.test`])));
    const settingsFile = path.join(dir, "0.settings");
    await fs.writeFile(
      settingsFile,
      JSON.stringify({
        secretsManagementSettings: {
          observedCertificates: names.map((n) => ({
            url: `${stack.kv.url}/secrets/${n}`,
            certificateStoreLocation: path.join(dir, "store"),
          })),
        },
        authenticationSettings: { msiEndpoint: stack.imdsEndpoint },
        kvAcme: { stateFile: path.join(dir, "state.json"), statusFile: path.join(dir, "status.json") },
      }),
    );
    // Production runs compiled JavaScript, not the tsx loader (which alone adds ~35 MB): transpile this file
    // with esbuild (tsx's own transpiler) into .local/bench, dependencies left as require()s of node_modules.
    const outFile = path.join(__dirname, "..", ".local", "bench", "agent-poll.js");
    let argv = ["--import", "tsx", __filename];
    try {
      const esbuild = (await import("esbuild")) as typeof import("esbuild");
      await esbuild.build({
        entryPoints: [__filename],
        outfile: outFile,
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node20",
        packages: "external",
        logLevel: "error",
      });
      argv = [outFile];
    } catch (err) {
      console.error(`esbuild unavailable (${(err as Error).message}); measuring under tsx`);
    }
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [...argv, "--child", settingsFile, String(cycles)], { maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`agent child failed: ${stderr || err.message}`)) : resolve(stdout),
      );
    });
    const { times, reqs, downloads, rss } = JSON.parse(out.trim().split("\n").pop()!) as {
      times: number[];
      reqs: number[];
      downloads: number[];
      rss: number;
    };
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const result = {
      bench: "agent-poll",
      observedCertificates: count,
      cycles,
      requestsPerCycle: median(reqs),
      secretDownloadsPerCycle: median(downloads),
      cycleMsMedian: Math.round(median(times)),
      cycleMsMax: Math.round(Math.max(...times)),
      agentRssMb: Math.round(rss / 1048576),
      note: `agent in its own process (${argv[0] === "--import" ? "node + tsx loader" : "compiled JavaScript"}); vault stand-in and identity endpoint in the parent`,
      targets: { requestsPerCycle: count, secretDownloadsPerCycle: 0, cycleMs: 2000, agentRssMb: 100 },
      ok: median(reqs) <= count && median(downloads) === 0 && median(times) <= 2000 && rss / 1048576 <= 100,
    };
    console.log(JSON.stringify(result));
  } finally {
    await stack.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
