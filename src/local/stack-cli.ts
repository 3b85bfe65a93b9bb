/**
 * `npm run stack`: start the local stack in the foreground, write .local/stack.json, stop everything on
 * SIGINT/SIGTERM. Options: --eab (Pebble requires External Account Binding), --nonce-reject PERCENT,
 * --validity-seconds N or --lifetime classic|shortlived (lifetime of issued certificates: 90 days by default, as Let's
 * Encrypt issues them; shortlived = 160 hours), --verbose (Pebble's log on stderr), --ephemeral (free
 * ports instead of the fixed defaults, e.g. beside another running stack), --ports keyVault=8443,dns=5353,...
 * (override single ports; names: identity, keyVault, arm, acme, pebbleManagement, dns), --instant (the Key Vault
 * stand-in completes long-running operations at once instead of taking about as long as the service), --dns
 * rfc2136,knot,powerdns (start those DNS providers' servers too, forward their zones from the stack's DNS server, list
 * them in stack.json), --vaults N (N Key Vault stand-ins: the default vault and vault2..vaultN, listed in stack.json
 * under `vaults` with their KvAcme__Vaults__<name>__Url settings), --faults SPEC|FILE
 * (fault injection per dependency, e.g. keyvault=429:10%,arm=503:5%,identity=reset:2%,dns=timeout:5%,acme=rateLimited:5%,
 * latency=50-400ms; see src/local/faults.ts), --kv-limits off|keyCreate=N,secretCreate=N,other=N (Key Vault's
 * throttling per vault per 10 s: the published limits by default, src/local/keyvault/throttle.ts).
 */
import { parseArgs } from "node:util";
import { parseStackDnsList } from "./dns/providers";
import { CERTIFICATE_LIFETIMES } from "./pebble";
import { parseLimitsOption } from "./keyvault/throttle";
import { DEFAULT_PORTS, MAX_STACK_VAULTS, startStack, StackPorts } from "./stack";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      eab: { type: "boolean", default: false },
      "nonce-reject": { type: "string" },
      "validity-seconds": { type: "string" },
      lifetime: { type: "string" },
      verbose: { type: "boolean", default: false },
      ephemeral: { type: "boolean", default: false },
      ports: { type: "string" },
      instant: { type: "boolean", default: false },
      dns: { type: "string" },
      vaults: { type: "string" },
      faults: { type: "string" },
      "kv-limits": { type: "string" },
    },
  });
  const intOption = (name: string, raw: string | undefined, min: number, max: number): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return n;
  };
  const lifetime = (raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    if (values["validity-seconds"] !== undefined) throw new Error("--lifetime and --validity-seconds exclude each other");
    if (!(raw in CERTIFICATE_LIFETIMES))
      throw new Error(`--lifetime: "${raw}" is not one of ${Object.keys(CERTIFICATE_LIFETIMES).join(", ")}`);
    return CERTIFICATE_LIFETIMES[raw as keyof typeof CERTIFICATE_LIFETIMES];
  };
  const ports: Partial<StackPorts> = {};
  for (const pair of (values.ports ?? "").split(",").filter(Boolean)) {
    const [name, raw] = pair.split("=");
    if (!(name in DEFAULT_PORTS)) throw new Error(`--ports: unknown port "${name}"; known: ${Object.keys(DEFAULT_PORTS).join(", ")}`);
    ports[name as keyof StackPorts] = intOption(`ports ${name}`, raw, 1, 65535) as number;
  }
  const stack = await startStack({
    ephemeral: values.ephemeral,
    ports,
    writeStackJson: true,
    keyVaultTiming: values.instant ? "instant" : "realistic",
    dns: parseStackDnsList(values.dns),
    vaults: intOption("vaults", values.vaults, 1, MAX_STACK_VAULTS),
    faults: values.faults,
    keyVaultLimits: parseLimitsOption(values["kv-limits"]),
    pebble: {
      eab: values.eab,
      nonceRejectPercent: intOption("nonce-reject", values["nonce-reject"], 0, 100),
      validityPeriodSeconds: lifetime(values.lifetime) ?? intOption("validity-seconds", values["validity-seconds"], 60, 10 * 365 * 86400),
      log: values.verbose ? (line) => console.error(`[pebble] ${line}`) : undefined,
    },
  });
  const started = Date.parse(stack.info.startedAt);
  console.error(`kv-acme local stack up in ${Date.now() - started} ms`);
  for (const v of stack.info.vaults) console.error(`  Key Vault     ${v.url} (vault "${v.name}")`);
  console.error(
    `  Azure DNS     ${stack.info.armEndpoint} (subscription ${stack.info.subscriptionId}, zones ${stack.info.zones.join(", ")})`,
  );
  console.error(`  DNS server    ${stack.info.dnsServer} (UDP and TCP)`);
  for (const [name, d] of Object.entries(stack.info.dnsProviders ?? {})) {
    console.error(
      `  DNS ${name.padEnd(9)} ${String(d.server)} at ${String(d.dns)} (zones ${d.zones.join(", ")}; kv-acme instance "${d.instance}")`,
    );
  }
  console.error(`  ACME (Pebble) ${stack.info.acmeDirectoryUrl}`);
  console.error(`  Token         ${stack.info.identityEndpoint}`);
  console.error(`  CA            ${stack.info.caFile}`);
  console.error(`  stack.json    ${stack.stackJsonPath}`);
  if (stack.faults) console.error(`  Faults        ${values.faults}`);
  console.error("Ctrl-C stops everything.");
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping the local stack`);
    if (stack.faults) console.error(`faults injected: ${JSON.stringify(stack.faults.counts)}`);
    stack.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  console.error(`kv-acme: the local stack did not start: ${(err as Error).message}`);
  process.exit(1);
});
