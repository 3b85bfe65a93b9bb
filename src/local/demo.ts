/**
 * Quick start, command 1 (`npm run demo`): kv-acme's main job end to end on the local stack.
 * Starts a fresh private stack, issues an apex + wildcard certificate for a seeded zone with the real CLI
 * (`kv-acme issue`), verifies it in the vault (chain up to the Pebble root, names, the vault's key matches the
 * leaf), prints a one-line JSON summary as the last line, and stops the stack.
 *
 * `--dns NAME` issues through another DNS provider of the stack (src/local/dns/providers.ts: rfc2136, knot,
 * powerdns, cloudflare, route53, gcloud, custom, acme-dns; default azure) for a name in that provider's zone; for
 * acme-dns the name is in the Azure zone and its `_acme-challenge` is a CNAME to the stack's acme-dns account
 * (CNAME delegation). The summary names the provider that wrote the TXT values (`dnsProvider`, from the certificate's
 * tag) and, with delegation, `delegatedTo`. `--dns azure --delegate NAME` shows CNAME delegation into another
 * provider: the Azure zone's `_acme-challenge.<label>` is a CNAME to `<label>.<NAME's zone>`, where kv-acme writes the
 * TXT values (the instance NAME writes them). Unknown options are refused with a usage message.
 * `--fleet`: the fleet demo (./demo-fleet.ts): agents reporting to the local host, a renewal, one host stale.
 */
import { spawn } from "node:child_process";
import { X509Certificate, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CertificateClient } from "@azure/keyvault-certificates";
import { SecretClient } from "@azure/keyvault-secrets";
import { parseSecretMaterial, type CertificateMaterial } from "../agent/material";
import { parseArgs } from "node:util";
import { TAG_DNS_PROVIDER } from "../keyvault/tags";
import { STACK_DNS_PROVIDERS, stackDnsNames } from "./dns/providers";
import { pebbleGet } from "./pebble";
import { fleetDemo } from "./demo-fleet";
import { startStack } from "./stack";
import { readFile } from "node:fs/promises";

const repo = path.resolve(__dirname, "..", "..");

const USAGE = `usage: npm run demo [-- --dns ${stackDnsNames().join("|")}] [--delegate NAME (with --dns azure)] | npm run demo -- --fleet`;

function usage(message: string): never {
  console.error(`kv-acme demo: ${message}\n${USAGE}`);
  process.exit(2);
}

function options(): { dns: string; delegateTo?: string; fleet?: true } {
  let values: { dns?: string; delegate?: string; fleet?: boolean };
  try {
    ({ values } = parseArgs({
      options: { dns: { type: "string" }, delegate: { type: "string" }, fleet: { type: "boolean" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return usage((err as Error).message);
  }
  if (values.fleet) {
    if (values.dns !== undefined || values.delegate !== undefined) usage("--fleet takes no other option");
    return { dns: "azure", fleet: true };
  }
  const dns = (values.dns ?? "azure").toLowerCase();
  if (!stackDnsNames().includes(dns)) usage(`--dns ${dns} is not a DNS provider of the stack`);
  if (values.delegate === undefined) return { dns };
  const delegateTo = values.delegate.toLowerCase();
  if (dns !== "azure") usage("--delegate works with --dns azure (the CNAME is created in the Azure zone)");
  if (delegateTo === "azure" || !(delegateTo in STACK_DNS_PROVIDERS))
    usage(`--delegate ${delegateTo} is not another DNS provider of the stack`);
  return { dns, delegateTo };
}

async function main(): Promise<number> {
  const { dns, delegateTo, fleet } = options();
  if (fleet) return fleetDemo();
  const stateDir = await mkdtemp(path.join(os.tmpdir(), "kv-acme-demo-"));
  const t0 = Date.now();
  const extra = [...(dns === "azure" ? [] : [dns]), ...(delegateTo ? [delegateTo] : [])];
  const stack = await startStack({ ephemeral: true, stateDir, writeStackJson: false, ...(extra.length > 0 ? { dns: extra } : {}) });
  const stackMs = Date.now() - t0;
  try {
    console.error(
      `local stack up in ${stackMs} ms (Key Vault ${stack.info.keyVaultUrl}, Pebble ${stack.info.acmeDirectoryUrl}, DNS ${stack.info.dnsServer})`,
    );
    const label = `demo-${randomBytes(3).toString("hex")}`;
    // acme-dns is for delegation: the name stays in the Azure zone, its _acme-challenge a CNAME to the account.
    const account = stack.info.dnsProviders?.[dns]?.account as { fulldomain: string } | undefined;
    const zone = dns === "azure" || account ? stack.info.zones[0] : STACK_DNS_PROVIDERS[dns]?.zones[0];
    // --delegate: the owner of the Azure zone CNAMEs _acme-challenge.<label> once into the delegate's zone.
    const delegatedTo = account ? account.fulldomain : delegateTo ? `${label}.${STACK_DNS_PROVIDERS[delegateTo]?.zones[0]}` : undefined;
    if (delegatedTo) {
      await stack.zoneStore.createOrUpdateRecordSet(stack.info.resourceGroup, zone as string, `_acme-challenge.${label}`, "CNAME", {
        ttl: 60,
        properties: { CNAMERecord: { cname: delegatedTo } },
      });
      console.error(
        `_acme-challenge.${label}.${zone} CNAME ${delegatedTo} (${account ? "the acme-dns account of the stack" : `a name in ${delegateTo}'s zone`})`,
      );
    }
    const names = [`${label}.${zone}`, `*.${label}.${zone}`];
    console.error(`$ kv-acme issue --dns-names ${names.join(",")} --key-type EC-P256 --content-type pem --json`);
    const issued = JSON.parse(
      await runCli(["issue", "--dns-names", names.join(","), "--key-type", "EC-P256", "--content-type", "pem", "--json"], stack.env),
    ) as { certificateName: string; version: string; thumbprint: string; notAfter: string; durationMs: number };

    // Verify in the vault, with the SDKs a consumer would use.
    const options = { disableChallengeResourceVerification: true };
    const certificates = new CertificateClient(stack.info.keyVaultUrl, stack.credential, options);
    const secrets = new SecretClient(stack.info.keyVaultUrl, stack.credential, options);
    const cert = await certificates.getCertificate(issued.certificateName);
    const secret = await secrets.getSecret(issued.certificateName);
    // The same verification the VM agent applies before installing: parses, the key matches the leaf, the chain signs it.
    let material: CertificateMaterial;
    try {
      material = parseSecretMaterial(secret.value ?? "", secret.properties.contentType);
    } catch (err) {
      console.error(`the vault's secret failed verification: ${(err as Error).message}`);
      console.log(JSON.stringify({ ok: false, certificateName: issued.certificateName, error: (err as Error).message }));
      return 1;
    }
    const keyOk = material.keyPem.includes("PRIVATE KEY"); // parse succeeded: the vault's key matches the leaf
    const root = new X509Certificate((await pebbleGet(stack.info.pebbleRootUrl, await readFile(stack.info.caFile, "utf8"))).body);
    const top = new X509Certificate(material.chainPems.at(-1) ?? material.leafPem);
    const chainOk = top.verify(root.publicKey) && root.verify(root.publicKey);
    const namesOk = names.every((n) => material.dnsNames.includes(n));
    const vaultOk =
      cert.properties.enabled === true && cert.properties.version === issued.version && material.thumbprint === issued.thumbprint;
    const dnsProvider = cert.properties.tags?.[TAG_DNS_PROVIDER] ?? "";
    const ok = chainOk && namesOk && keyOk && vaultOk && dnsProvider === (delegateTo ?? dns);
    console.error(
      `chain up to the Pebble root: ${chainOk}; names ${names.join(", ")}: ${namesOk}; vault key matches the leaf: ${keyOk}; vault version enabled: ${vaultOk}`,
    );
    console.log(
      JSON.stringify({
        ok,
        certificateName: issued.certificateName,
        version: issued.version,
        dnsNames: names,
        dnsProvider,
        ...(delegatedTo ? { delegatedTo } : {}),
        thumbprint: issued.thumbprint,
        notAfter: issued.notAfter,
        chainVerified: chainOk,
        keyInVault: keyOk,
        issueMs: issued.durationMs,
        stackStartMs: stackMs,
        totalMs: Date.now() - t0,
      }),
    );
    return ok ? 0 : 1;
  } finally {
    await stack.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

function runCli(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repo, "bin", "kv-acme.js"), ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`kv-acme ${args[0]} exited with ${code}`))));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`kv-acme demo failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
