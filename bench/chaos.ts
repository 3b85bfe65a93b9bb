/**
 * npm run bench:chaos [-- --issuances 200 --renewals 50 --kill-every-ms 8000 [--max-kills N] --concurrency 25 --faults SPEC]
 * Issuances and renewals under mixed faults while the local host is SIGKILLed at random moments (bench/lib/chaos.ts).
 * Progress on stderr; the last line on stdout is one JSON object with the invariants.
 */
import { parseBenchArgs } from "./lib/args";
import { runChaos } from "./lib/chaos";

/** Mixed faults of the soak: throttling and 5xx from Key Vault and ARM, token resets, DNS timeouts, CA 503s, latency. */
export const DEFAULT_CHAOS_FAULTS =
  "keyvault=429:5%,keyvault=503:2%,arm=429:3%,arm=503:2%,identity=reset:2%,dns=timeout:1%,acme=503:3%,latency=5-60ms";

async function main(): Promise<void> {
  const values = parseBenchArgs(
    process.argv.slice(2),
    {
      issuances: { type: "number", default: 200 },
      renewals: { type: "number", default: 50 },
      "kill-every-ms": { type: "number", default: 8000 },
      "max-kills": { type: "number" },
      concurrency: { type: "number", default: 25 },
      faults: { type: "string", default: DEFAULT_CHAOS_FAULTS },
      "timeout-ms": { type: "number", default: 40 * 60_000 },
    },
    "usage: npm run bench:chaos [-- --issuances N --renewals N --kill-every-ms N [--max-kills N] --concurrency N --faults SPEC --timeout-ms N]",
  );
  const maxKills = values["max-kills"];
  const result = await runChaos({
    issuances: values.issuances,
    renewals: values.renewals,
    killEveryMs: values["kill-every-ms"],
    ...(maxKills === undefined ? {} : { maxKills }),
    concurrency: values.concurrency,
    faults: values.faults,
    timeoutMs: values["timeout-ms"],
    log: (line) => console.error(`[chaos] ${line}`),
  });
  const { failures, offenders, seconds, ...line } = result;
  console.error(`[chaos] ${seconds} s; failures: ${JSON.stringify(failures)}; offenders: ${JSON.stringify(offenders)}`);
  console.log(JSON.stringify(line));
}

void main();
