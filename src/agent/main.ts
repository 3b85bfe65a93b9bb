/**
 * Entry point of the standalone agent package (`kv-acme-agent`, built by `npm run package`): the same command as
 * `kv-acme agent`, plus `--version`.
 */
import { KVACME_VERSION } from "../shared/version";
import { agentMain } from "./index";

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === "--version" || argv[0] === "-V") {
    process.stdout.write(`kv-acme-agent ${KVACME_VERSION}\n`);
    return 0;
  }
  // `kv-acme-agent agent --settings …` is accepted too, so unit files written for `kv-acme agent` keep working.
  return agentMain(argv[0] === "agent" ? argv.slice(1) : argv);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`kv-acme-agent: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
