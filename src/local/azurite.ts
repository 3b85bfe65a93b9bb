/**
 * Azurite (Microsoft's storage emulator, the npm `azurite` package) for the local stack: its Table service only,
 * over HTTPS with a certificate from the local CA and OAuth ("basic": it checks the token's issuer, audience and
 * lifetime), so the app reaches it exactly as it reaches the storage account in Azure: @azure/data-tables with the
 * managed identity token from the stack's token endpoint. Data lives under the stack's state directory.
 */
import { promises as fs } from "node:fs";
import net from "node:net";
import path from "node:path";
import { LogRing, superviseChild } from "./supervise";

/** Azurite's well-known development account (path-style URLs: the account is the first path segment). */
export const AZURITE_ACCOUNT = "devstoreaccount1";

export interface AzuriteOptions {
  dir: string;
  tls: { certPem: string; keyPem: string };
  port: number;
  log?: (line: string) => void;
}

export interface Azurite {
  /** Table endpoint, e.g. https://127.0.0.1:42416/devstoreaccount1. */
  tableEndpoint: string;
  stop(): Promise<void>;
}

export async function startAzurite(options: AzuriteOptions): Promise<Azurite> {
  await fs.mkdir(path.join(options.dir, "data"), { recursive: true, mode: 0o700 });
  const certFile = path.join(options.dir, "tls-cert.pem");
  const keyFile = path.join(options.dir, "tls-key.pem");
  await fs.writeFile(certFile, options.tls.certPem, { mode: 0o644 });
  await fs.writeFile(keyFile, options.tls.keyPem, { mode: 0o600 });
  const main = require.resolve("azurite/dist/src/table/main.js");
  const args = [
    main,
    "--tableHost",
    "127.0.0.1",
    "--tablePort",
    String(options.port),
    "--location",
    path.join(options.dir, "data"),
    "--cert",
    certFile,
    "--key",
    keyFile,
    "--oauth",
    "basic",
    "--disableProductStyleUrl",
    "--disableTelemetry",
    "--silent",
  ];
  const child = superviseChild(process.execPath, args, { ring: new LogRing(100), onLine: options.log });
  const stop = () => child.stop(2000);
  try {
    await waitForPort(options.port, child.exited, 20_000);
  } catch (err) {
    await stop();
    throw new Error(`Azurite did not start: ${(err as Error).message}\n${child.ring.tail(20)}`);
  }
  return { tableEndpoint: `https://127.0.0.1:${options.port}/${AZURITE_ACCOUNT}`, stop };
}

async function waitForPort(port: number, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    if (exitCode !== undefined) throw new Error(`azurite exited with code ${exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
  }
}
