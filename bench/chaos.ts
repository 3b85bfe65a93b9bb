/**
 * npm run bench:chaos [-- --issuances 200 --renewals 50 --kill-every-ms 8000 [--max-kills N] --concurrency 25 --faults SPEC]
 * Issuances and renewals under mixed faults while the local host is SIGKILLed at random moments (bench/lib/chaos.ts).
 * Progress on stderr; the last line on stdout is one JSON object with the invariants.
 */
import { parseArgs } from "node:util";
import { runChaos } from "./lib/chaos";

/** Mixed faults of the soak: throttling and 5xx from Key Vault and ARM, token resets, DNS timeouts, CA 503s, latency. */
export const DEFAULT_CHAOS_FAULTS =
  "keyvault=429:5%,keyvault=503:2%,arm=429:3%,arm=503:2%,identity=reset:2%,dns=timeout:1%,acme=503:3%,latency=5-60ms";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      issuances: { type: "string", default: "200" },
      renewals: { type: "string", default: "50" },
      "kill-every-ms": { type: "string", default: "8000" },
      "max-kills": { type: "string" },
      concurrency: { type: "string", default: "25" },
      faults: { type: "string", default: DEFAULT_CHAOS_FAULTS },
      "timeout-ms": { type: "string", default: String(40 * 60_000) },
    },
  });
  const result = await runChaos({
    issuances: Number(values.issuances),
    renewals: Number(values.renewals),
    killEveryMs: Number(values["kill-every-ms"]),
    ...(values["max-kills"] === undefined ? {} : { maxKills: Number(values["max-kills"]) }),
    concurrency: Number(values.concurrency),
    faults: values.faults,
    timeoutMs: Number(values["timeout-ms"]),
    log: (line) => console.error(`[chaos] ${line}`),
  });
  const { failures, offenders, seconds, ...line } = result;
  console.error(`[chaos] ${seconds} s; failures: ${JSON.stringify(failures)}; offenders: ${JSON.stringify(offenders)}`);
  console.log(JSON.stringify(line));
}

void main();
