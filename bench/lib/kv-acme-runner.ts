/**
 * kv-acme's side of bench/issue-latency.ts, in its own process so that its peak RSS is kv-acme's alone (the parent
 * holds the local stack). Like a long-running Function App it builds its settings, credential (DefaultAzureCredential,
 * as src/app/runtime.ts) and clients once and keeps them; it imports nothing from src/local (the stand-ins):
 * the first request (the warm-up) creates the ACME account, later ones reuse it.
 *
 * Environment: the stack's (stackEnv: KvAcme__* settings, IDENTITY_ENDPOINT/IDENTITY_HEADER, NODE_EXTRA_CA_CERTS).
 * Protocol: one JSON request per stdin line, one JSON answer per stdout line.
 *   {"dnsNames":["a.example.com","*.a.example.com"]} -> {"ok":true,"ms":412.3,"certificateName":"...","version":"..."}
 *                                                     | {"ok":false,"ms":...,"error":"..."}
 *   {"exit":true}                                     -> {"maxRssMb":97.1,"startupRssMb":80.2}, then exits
 * maxRssMb is process.resourceUsage().maxRSS (peak over the process's life); startupRssMb the same read once the
 * modules are loaded and the clients built, before the first certificate (what loading costs).
 */
import { DefaultAzureCredential } from "@azure/identity";
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import { loadSettings } from "../../src/config/settings";
import { createIssuanceDeps, issueCertificate } from "../../src/issuance";

interface Request {
  dnsNames?: string[];
  keyType?: string;
  exit?: boolean;
}

async function main(): Promise<void> {
  const env = process.env;
  const settings = loadSettings(env);
  // The Function App's credential (src/app/runtime.ts): managed identity through IDENTITY_ENDPOINT/IDENTITY_HEADER.
  required(env.IDENTITY_ENDPOINT, "IDENTITY_ENDPOINT");
  const credential = new DefaultAzureCredential(
    settings.managedIdentityClientId ? { managedIdentityClientId: settings.managedIdentityClientId } : {},
  );
  const deps = createIssuanceDeps(settings, credential);
  const startupRssMb = process.resourceUsage().maxRSS / 1024;
  const answer = (body: unknown) => process.stdout.write(JSON.stringify(body) + "\n");

  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const request = JSON.parse(line) as Request;
    if (request.exit) break;
    const started = performance.now();
    try {
      const result = await issueCertificate(
        { dnsNames: request.dnsNames ?? [], keyOptions: { keyType: request.keyType ?? "EC-P256" } },
        deps,
      );
      answer({ ok: true, ms: performance.now() - started, certificateName: result.certificateName, version: result.version });
    } catch (err) {
      answer({ ok: false, ms: performance.now() - started, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    }
  }
  // maxRSS is in kilobytes (getrusage ru_maxrss): the peak over the whole life of this process.
  answer({ maxRssMb: process.resourceUsage().maxRSS / 1024, startupRssMb });
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

main().catch((err: unknown) => {
  process.stderr.write(`kv-acme-runner: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
