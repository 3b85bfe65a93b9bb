/**
 * Chaos soak: issuances and renewals (a second issuance of the same certificate) through the real function app
 * running in a CHILD local host, against a local stack with mixed faults (Key Vault / ARM throttling and 5xx,
 * token endpoint resets, DNS timeouts, CA 503s, latency), while the host and the Key Vault stand-in (a child process
 * of its own, src/local/keyvault/child.ts, in turn) are SIGKILLed at random moments and restarted on the same state.
 * Afterwards it checks what must hold whatever happened: every orchestration ended (Completed or Failed with an
 * error), no TXT value left, no pending operation stuck in progress, no certificate with more issued versions than
 * completed issuances, every version a completed issuance reported (Key Vault acknowledged its merge) still in the
 * vault, no outcome webhook delivered under two different event ids. Used by `npm run bench:chaos` (the full soak)
 * and by a lean test in `npm test`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import { createInterface } from "node:readline";
import os from "node:os";
import path from "node:path";
import { CertificateClient } from "@azure/keyvault-certificates";
import { DnsManagementClient } from "@azure/arm-dns";
import { listen } from "../../src/local/net";
import { startStack } from "../../src/local/stack";
import { ORCHESTRATIONS, certificateInstanceId } from "../../src/orchestrations/ids";

export interface ChaosOptions {
  /** Certificates issued (each once), then `renewals` of them issued again. */
  issuances: number;
  renewals: number;
  /** Fault spec (src/local/faults.ts). */
  faults: string;
  /**
   * SIGKILL the host at a random moment every `killEveryMs` (uniform 0.5x..1.5x) while work is in flight, each time
   * only once the restarted host has moved an orchestration on (so kills never outpace a loaded machine). 0 kills at
   * the first progress after each restart: every kill up to `maxKills` then lands while work is in flight, whatever
   * the machine's speed (a random delay can outlast the work, so a short run may end before the Key Vault's turn).
   */
  killEveryMs: number;
  /** Kill at most this many times in all (unlimited when absent): each kill costs a restart, slow on a loaded machine. */
  maxKills?: number;
  /** Every second kill is the Key Vault stand-in's instead of the host's (default true). */
  killKeyVault?: boolean;
  /** Orchestrations started at once. */
  concurrency: number;
  /** Give up waiting after this long. */
  timeoutMs: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  orchestrations: number;
  completed: number;
  failed: number;
  nonTerminal: number;
  orphanedTxt: number;
  stuckPending: number;
  duplicateVersions: number;
  duplicateWebhooks: number;
  faultsInjected: number;
  /** SIGKILLs of the host. */
  kills: number;
  /** SIGKILLs of the Key Vault stand-in (mid-write, whatever it was doing). */
  keyVaultKills: number;
  /** Versions a completed issuance reported (their merge acknowledged) that the vault no longer has. */
  lostVersions: number;
  /** Failure messages by count (for the report; not part of the contract line). */
  failures?: Record<string, number>;
  /** Which certificates / webhook keys broke an invariant (diagnostics). */
  offenders?: string[];
  seconds?: number;
}

const root = path.resolve(__dirname, "..", "..");
const hostMain = path.join(root, "src", "local", "host", "main.ts");
const keyVaultMain = path.join(root, "src", "local", "keyvault", "child.ts");
const ZONE = "example.com";

interface Host {
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {});
  const t0 = Date.now();
  const stateRoot = await mkdtemp(path.join(os.tmpdir(), "kvacme-chaos-"));
  const stack = await startStack({
    ephemeral: true,
    stateDir: path.join(stateRoot, "stack"),
    writeStackJson: false,
    keyVaultTiming: "instant",
    faults: options.faults,
    pebble: { nonceRejectPercent: 5 },
  });
  // The Key Vault stand-in as a process of its own on the stack's port and state, so it can be SIGKILLed too.
  const vaultPort = Number(new URL(stack.info.keyVaultUrl).port);
  await Object.values(stack.keyVaults)[0]?.close();
  const vaultFaults: Record<string, number> = {};
  const launchVault = async (): Promise<Host> => {
    const args = [keyVaultMain, path.join(stateRoot, "stack", "keyvault"), path.join(stateRoot, "stack", "identity"), String(vaultPort)];
    const child = spawn(process.execPath, ["--import", "tsx", ...args, options.faults], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stderr!.on("data", () => {});
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const m = JSON.parse(line) as { url?: string; fault?: string };
        if (m.fault) vaultFaults[m.fault] = (vaultFaults[m.fault] ?? 0) + 1;
        else if (m.url) resolve(m.url);
      });
      void exited.then(() => reject(new Error("the Key Vault stand-in exited before listening")));
    });
    return { child, url, exited };
  };
  let vault = await launchVault();
  // Webhook receiver: outcome events by (certificate, type) -> distinct event ids.
  const webhookIds = new Map<string, Set<string>>();
  let currentRound = 1;
  const receiver = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      try {
        const event = JSON.parse(body) as { type?: string; data?: { certificateName?: string }; subject?: string };
        const id = String(req.headers["webhook-id"] ?? "");
        const key = `${currentRound}|${event.data?.certificateName ?? event.subject ?? "?"}|${event.type ?? "?"}`;
        if (!webhookIds.has(key)) webhookIds.set(key, new Set());
        webhookIds.get(key)!.add(id);
      } catch {
        // not JSON: ignored
      }
      res.writeHead(204);
      res.end();
    });
  });
  const receiverPort = await listen(receiver, 0, "127.0.0.1");
  const masterKey = randomBytes(32).toString("base64url");
  const hostState = path.join(stateRoot, "host");
  const modules = (await readdir(path.join(root, "functions")))
    .filter((f) => f.endsWith(".ts"))
    .sort()
    .flatMap((f) => ["--module", path.join(root, "functions", f)]);

  const launch = async (): Promise<Host> => {
    const child = spawn(process.execPath, ["--import", "tsx", hostMain, ...modules, "--port", "0", "--state", hostState, "--no-timers"], {
      cwd: root,
      env: {
        ...process.env,
        ...stack.env,
        KvAcme__Auth__Mode: "local",
        KVACME_MASTER_KEY: masterKey,
        KvAcme__Webhooks__0__Url: `http://127.0.0.1:${receiverPort}/hook`,
        KvAcme__PropagationTimeoutSeconds: "60",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stderr!.on("data", () => {});
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      void exited.then(() => reject(new Error("the host exited before listening")));
    });
    return { child, url, exited };
  };
  const headers = { "content-type": "application/json", "x-functions-key": masterKey };

  let host = await launch();
  let kills = 0;
  let keyVaultKills = 0;
  const names = Array.from({ length: options.issuances }, (_, i) => `chaos-${String(i).padStart(4, "0")}`);
  const runs: { id: string; name: string; round: number }[] = [];
  const completions = new Map<string, number>();
  const statusOf = async (id: string): Promise<{ runtimeStatus: string; customStatus?: unknown; output: unknown } | undefined> => {
    try {
      const r = await fetch(`${host.url}/runtime/webhooks/durabletask/instances/${encodeURIComponent(id)}`, { headers });
      return r.status === 404 ? undefined : ((await r.json()) as { runtimeStatus: string; customStatus?: unknown; output: unknown });
    } catch {
      return undefined; // host down right now
    }
  };
  const start = async (name: string): Promise<string> => {
    const id = certificateInstanceId(name);
    for (;;) {
      try {
        const r = await fetch(`${host.url}/runtime/webhooks/durabletask/orchestrators/${ORCHESTRATIONS.issue}/${encodeURIComponent(id)}`, {
          method: "POST",
          headers,
          body: JSON.stringify({ dnsNames: [`${name}.${ZONE}`], certificateName: name }),
        });
        // 409: the instance runs. The previous round's instance of this id had ended, so it is the one an earlier
        // attempt of this loop started (the host was killed before it answered 202). Waiting for it to end and
        // starting it again issued the certificate twice in one round: an extra version and an extra webhook.
        if (r.status === 202 || r.status === 409) return id;
        throw new Error(`start ${name}: HTTP ${r.status} ${await r.text()}`);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith("start ")) throw err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  // Killer: SIGKILL at random moments, once the host has moved an orchestration on since it started; restart at once
  // on the same state.
  let stopKiller = false;
  let progress = 0;
  const killer = (async () => {
    while (!stopKiller && (options.maxKills === undefined || kills + keyVaultKills < options.maxKills)) {
      const before = progress;
      await new Promise((r) => setTimeout(r, options.killEveryMs * (0.5 + Math.random())));
      while (!stopKiller && progress === before) await new Promise((r) => setTimeout(r, 200));
      if (stopKiller) break;
      if (options.killKeyVault !== false && (kills + keyVaultKills) % 2 === 1) {
        vault.child.kill("SIGKILL");
        await vault.exited;
        keyVaultKills++;
        log(`Key Vault stand-in kill ${keyVaultKills}`);
        vault = await launchVault();
        continue;
      }
      host.child.kill("SIGKILL");
      await host.exited;
      kills++;
      log(`kill ${kills}`);
      host = await launch();
    }
  })();

  const terminal = new Set(["Completed", "Failed", "Terminated"]);
  const lastSeen = new Map<string, string>();
  const failures: Record<string, number> = {};
  const finalStatus = new Map<string, string>();
  const acknowledged: { name: string; version: string }[] = [];
  const waitAll = async (batch: { id: string; name: string }[]): Promise<void> => {
    const deadline = t0 + options.timeoutMs;
    const pending = new Set(batch.map((b) => b.id));
    while (pending.size > 0 && Date.now() < deadline) {
      for (const id of [...pending]) {
        const s = await statusOf(id);
        const seen = s && JSON.stringify([s.runtimeStatus, s.customStatus]);
        if (seen && seen !== lastSeen.get(id)) {
          lastSeen.set(id, seen);
          progress++;
        }
        if (s && terminal.has(s.runtimeStatus)) {
          pending.delete(id);
          finalStatus.set(`${id}#${runs.length}`, s.runtimeStatus);
          const name = batch.find((b) => b.id === id)!.name;
          if (s.runtimeStatus === "Completed") {
            completions.set(name, (completions.get(name) ?? 0) + 1);
            const version = (s.output as { version?: unknown } | null)?.version;
            if (typeof version === "string") acknowledged.push({ name, version });
          } else {
            const key = String(s.output)
              .replace(/chaos-\d+/g, "NAME")
              .slice(0, 160);
            failures[key] = (failures[key] ?? 0) + 1;
          }
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
    }
    for (const id of pending) finalStatus.set(`${id}#pending`, "NonTerminal");
  };

  const rounds: { name: string; round: number }[][] = [names.map((name) => ({ name, round: 1 }))];
  rounds.push(names.slice(0, options.renewals).map((name) => ({ name, round: 2 })));
  let completed = 0;
  let failed = 0;
  let nonTerminal = 0;
  for (const [r, round] of rounds.entries()) {
    currentRound = r + 1;
    for (let i = 0; i < round.length; i += options.concurrency) {
      const slice = round.slice(i, i + options.concurrency);
      const batch: { id: string; name: string }[] = [];
      for (const item of slice) {
        const id = await start(item.name);
        runs.push({ id, name: item.name, round: item.round });
        batch.push({ id, name: item.name });
      }
      finalStatus.clear();
      await waitAll(batch);
      for (const v of finalStatus.values()) {
        if (v === "Completed") completed++;
        else if (v === "NonTerminal") nonTerminal++;
        else failed++;
      }
      log(`${runs.length} started, ${completed} completed, ${failed} failed, ${nonTerminal} not finished`);
    }
  }
  stopKiller = true;
  await killer;
  // Let in-flight webhook retries and cleanups settle, then stop the host.
  await new Promise((r) => setTimeout(r, 2000));
  host.child.kill("SIGTERM");
  await host.exited;

  // Invariants, read without faults (straight from the stand-ins' state through the SDKs, retries on).
  const faultsInjected = (stack.faults?.total() ?? 0) + Object.values(vaultFaults).reduce((a, b) => a + b, 0);
  stack.faults?.plan.rules.splice(0);
  for (const k of Object.keys(stack.faults?.plan.latency ?? {})) delete stack.faults!.plan.latency[k];
  const certificates = new CertificateClient(stack.info.keyVaultUrl, stack.credential, { disableChallengeResourceVerification: true });
  const dns = new DnsManagementClient(stack.credential, stack.info.subscriptionId, {
    endpoint: stack.info.armEndpoint,
    credentialScopes: ["https://management.azure.com/.default"],
  });
  let orphanedTxt = 0;
  for (const zone of stack.info.zones)
    for await (const rs of dns.recordSets.listByDnsZone(stack.info.resourceGroup, zone)) orphanedTxt += rs.txtRecords?.length ?? 0;
  let stuckPending = 0;
  let duplicateVersions = 0;
  const offenders: string[] = [];
  for (const name of names) {
    try {
      const op = await certificates.getCertificateOperation(name);
      if (op.getOperationState().certificateOperation?.status === "inProgress") stuckPending++;
    } catch {
      // no pending operation: fine
    }
    let issued = 0;
    for await (const v of certificates.listPropertiesOfCertificateVersions(name)) if (v.x509Thumbprint) issued++;
    const extra = Math.max(0, issued - (completions.get(name) ?? 0));
    if (extra > 0) offenders.push(`${name}: ${issued} issued versions for ${completions.get(name) ?? 0} completed issuances`);
    duplicateVersions += extra;
  }
  // Every version whose merge Key Vault acknowledged (a completed issuance reported it) survived the stand-in's kills.
  let lostVersions = 0;
  for (const { name, version } of acknowledged) {
    const kept = await certificates.getCertificateVersion(name, version).then(
      (c) => !!c.properties.x509Thumbprint,
      () => false,
    );
    if (!kept) {
      lostVersions++;
      offenders.push(`${name}/${version}: acknowledged, then lost`);
    }
  }
  let duplicateWebhooks = 0;
  for (const [key, ids] of webhookIds) {
    if (ids.size > 1) offenders.push(`webhook ${key}: ${ids.size} event ids`);
    duplicateWebhooks += Math.max(0, ids.size - 1);
  }
  receiver.close();
  vault.child.kill("SIGTERM");
  await vault.exited;
  await stack.close();
  await rm(stateRoot, { recursive: true, force: true });
  return {
    orchestrations: runs.length,
    completed,
    failed,
    nonTerminal,
    orphanedTxt,
    stuckPending,
    duplicateVersions,
    duplicateWebhooks,
    faultsInjected,
    kills,
    keyVaultKills,
    lostVersions,
    failures,
    offenders,
    seconds: Math.round((Date.now() - t0) / 1000),
  };
}
