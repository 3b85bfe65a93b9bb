/**
 * The Key Vault stand-in alone in a child process, for kill tests and the chaos soak:
 * `child.ts STATE_DIR IDENTITY_DIR PORT [FAULT_SPEC]` prints {"url", "port"} once it listens, then one line
 * `{"fault": "<target>:<kind>"}` per injected fault (the parent tallies them: a SIGKILL loses the child's counts);
 * SIGKILL stops it wherever it is. Uses the local CA of $KVACME_HOME and the stack's token authority.
 */
import { ensureLocalCa } from "../ca";
import { FaultInjector, loadFaultSpec } from "../faults";
import { loadTokenAuthority } from "../identity/tokens";
import { startKeyVaultServer } from "./server";

/** An injector that reports each fault it injects on stdout. */
class ReportingInjector extends FaultInjector {
  override decide(...args: Parameters<FaultInjector["decide"]>): ReturnType<FaultInjector["decide"]> {
    const fault = super.decide(...args);
    if (fault) process.stdout.write(`${JSON.stringify({ fault: `${args[0]}:${fault.kind === "status" ? fault.status : fault.kind}` })}\n`);
    return fault;
  }
}

async function main(): Promise<void> {
  const [stateDir, identityDir, port, spec] = process.argv.slice(2);
  const ca = await ensureLocalCa();
  const tls = await ca.issueServerCertificate(["localhost", "127.0.0.1", "::1"]);
  const authority = await loadTokenAuthority(identityDir as string);
  const faults = spec ? new ReportingInjector(loadFaultSpec(spec)) : undefined;
  const server = await startKeyVaultServer({ authority, tls, stateDir: stateDir as string, port: Number(port), timing: "instant", faults });
  process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port })}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
