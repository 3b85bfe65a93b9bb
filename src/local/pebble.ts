/**
 * Runs Pebble (Let's Encrypt's test ACME CA, Debian package `pebble`) on loopback for the local stack:
 * a TLS certificate from the local CA, `-dnsserver` at the stack's authoritative DNS server so DNS-01 is really
 * validated over DNS, PEBBLE_VA_NOSLEEP=1, and nonce rejection left at its default (5 %) unless configured.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import https from "node:https";
import path from "node:path";
import { superviseChild } from "./supervise";

export interface PebbleOptions {
  /** Directory for Pebble's config and TLS files. */
  dir: string;
  tls: { certPem: string; keyPem: string };
  /** The local CA certificate, to reach Pebble's management interface with TLS verification on. */
  caCertPem: string;
  /** host:port of the DNS server Pebble validates DNS-01 against. */
  dnsServer: string;
  acmePort: number;
  managementPort: number;
  /** Percentage of good nonces Pebble rejects with badNonce; Pebble's default is 5. */
  nonceRejectPercent?: number;
  /** Require External Account Binding; the generated key is returned in `eab`. */
  eab?: boolean;
  /**
   * Validity of issued certificates in seconds. Default: 90 days, as Let's Encrypt issues them, so inventories,
   * renewal schedules and the dashboard show real dates (Pebble's own default is about 5 years).
   */
  validityPeriodSeconds?: number;
  /** Where Pebble's output goes (default: discarded unless KVACME_DEBUG is set). */
  log?: (line: string) => void;
  binary?: string;
  /** Alternate root chains Pebble offers beside its default (PEBBLE_ALTERNATE_ROOTS; `Link: rel="alternate"`). */
  alternateRoots?: number;
}

/**
 * Certificate lifetimes the local CA can issue, named after Let's Encrypt's profiles: `classic` (90 days, the
 * default) and `shortlived` (160 hours, about 6.7 days); `npm run stack -- --lifetime shortlived` selects one.
 */
export const CERTIFICATE_LIFETIMES = { classic: 90 * 86400, shortlived: 160 * 3600 } as const;

export interface Pebble {
  directoryUrl: string;
  managementUrl: string;
  rootUrl: string;
  eab?: { keyId: string; hmacKey: string };
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  await fs.mkdir(options.dir, { recursive: true, mode: 0o700 });
  const certFile = path.join(options.dir, "tls-cert.pem");
  const keyFile = path.join(options.dir, "tls-key.pem");
  await fs.writeFile(certFile, options.tls.certPem, { mode: 0o644 });
  await fs.writeFile(keyFile, options.tls.keyPem, { mode: 0o600 });
  const eab = options.eab
    ? { keyId: `kv-acme-${randomBytes(4).toString("hex")}`, hmacKey: randomBytes(32).toString("base64url") }
    : undefined;
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${options.acmePort}`,
      managementListenAddress: `127.0.0.1:${options.managementPort}`,
      certificate: certFile,
      privateKey: keyFile,
      // HTTP-01 and TLS-ALPN-01 are not used by kv-acme; Pebble still needs ports for them (it only dials, never listens).
      httpPort: 5002,
      tlsPort: 5001,
      ocspResponderURL: "",
      externalAccountBindingRequired: Boolean(eab),
      externalAccountMACKeys: eab ? { [eab.keyId]: eab.hmacKey } : {},
      certificateValidityPeriod: options.validityPeriodSeconds ?? CERTIFICATE_LIFETIMES.classic,
    },
  };
  const configFile = path.join(options.dir, "pebble-config.json");
  await fs.writeFile(configFile, JSON.stringify(config, null, 2));

  const child = superviseChild(options.binary ?? "pebble", ["-config", configFile, "-dnsserver", options.dnsServer], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      PEBBLE_VA_NOSLEEP: "1",
      PEBBLE_WFE_NONCEREJECT: String(options.nonceRejectPercent ?? 5),
      // Fresh authorizations per order, as the real CAs behave for new orders after a failed attempt.
      PEBBLE_AUTHZREUSE: "0",
      ...(options.alternateRoots ? { PEBBLE_ALTERNATE_ROOTS: String(options.alternateRoots) } : {}),
    },
    onLine: options.log,
  });

  const directoryUrl = `https://127.0.0.1:${options.acmePort}/dir`;
  const managementUrl = `https://127.0.0.1:${options.managementPort}`;
  const stop = () => child.stop(2000);
  try {
    await waitUntilReady(`${managementUrl}/roots/0`, options.caCertPem, child.exited, 10_000);
  } catch (err) {
    await stop();
    throw new Error(`Pebble did not start: ${(err as Error).message}\n${child.ring.tail(20)}`);
  }
  return { directoryUrl, managementUrl, rootUrl: `${managementUrl}/roots/0`, eab, process: child.process, stop };
}

/** GET a URL of Pebble's management interface, verifying TLS against the local CA. */
export function pebbleGet(url: string, caCertPem: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: caCertPem, timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

async function waitUntilReady(url: string, ca: string, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  let delay = 20;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`pebble exited with code ${exitCode}`);
    try {
      const res = await pebbleGet(url, ca);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
}
