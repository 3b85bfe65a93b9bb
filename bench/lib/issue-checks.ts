/**
 * What bench/issue-latency.ts measures besides the contenders' times: the cost of one hook call, the TXT record sets
 * left in the zones afterwards, the Debian packages' versions.
 */
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import https from "node:https";
import type { Stack } from "../../src/local/stack";
import { describeFailure, runTimed } from "./process";
import { summarize } from "./stats";
import { HOOK } from "./issue-peers";

export interface HookTimes {
  addMedianMs: number;
  removeMedianMs: number;
}

/**
 * The cost of one hook call (bash + curl + jq: token, GET, PUT/DELETE), part of certbot's and lego's times: each
 * calls it four times per apex + wildcard certificate (two values added, two removed).
 */
export async function timeHook(hookEnv: NodeJS.ProcessEnv, runs: number): Promise<HookTimes | { error: string }> {
  const add: number[] = [];
  const remove: number[] = [];
  const fqdn = "_acme-challenge.hook-probe.example.com";
  try {
    for (let i = 0; i < Math.max(3, runs); i++) {
      const value = `probe-${i}`;
      for (const [action, into] of [
        ["add", add],
        ["remove", remove],
      ] as const) {
        const r = await runTimed(HOOK, [action, fqdn, value], { env: hookEnv, timeoutMs: 30_000 });
        if (r.code !== 0) throw new Error(`hook ${action}: ${describeFailure(r)}`);
        into.push(r.ms);
      }
    }
    return { addMedianMs: summarize(add).medianMs, removeMedianMs: summarize(remove).medianMs };
  } catch (err) {
    return { error: errorText(err) };
  }
}

/** TXT record sets left in the stack's zones after the runs (every tool should have removed its values). */
export async function leftoverTxt(stack: Stack): Promise<string[]> {
  const token = (await stack.credential.getToken("https://management.azure.com/.default"))?.token;
  const ca = await fs.readFile(stack.info.caFile, "utf8");
  const left: string[] = [];
  for (const zone of stack.info.zones) {
    const url = new URL(
      `/subscriptions/${stack.info.subscriptionId}/resourceGroups/${stack.info.resourceGroup}/providers/Microsoft.Network/dnsZones/${zone}/TXT?api-version=2018-05-01`,
      stack.info.armEndpoint,
    );
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(url, { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
          let data = "";
          res.on("data", (c: Buffer) => (data += c.toString("utf8")));
          res.on("end", () =>
            res.statusCode === 200 ? resolve(data) : reject(new Error(`GET ${url.pathname}: HTTP ${res.statusCode} ${data}`)),
          );
        })
        .on("error", reject);
    });
    for (const rs of (JSON.parse(body) as { value: Array<{ name: string }> }).value) left.push(`${rs.name}.${zone}`);
  }
  return left;
}

export function debianVersion(pkg: string): string {
  try {
    return execFileSync("dpkg-query", ["-W", "-f", "${Version}", pkg], { encoding: "utf8" }).trim() || "unknown";
  } catch {
    return "unknown";
  }
}

export function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 2000);
}
