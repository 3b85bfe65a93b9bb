/** Listening helpers shared by the local stack's servers (and their tests). */
import dgram from "node:dgram";
import net from "node:net";

/**
 * Starts `server` listening on host:port (port 0 = ephemeral) and resolves with the bound port; a listen error
 * (e.g. EADDRINUSE) rejects instead of being thrown later as an unhandled 'error' event.
 */
export function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/**
 * How long the stand-ins for Azure's HTTPS APIs (Key Vault, ARM, the DNS providers) keep an idle connection: Azure's
 * front ends keep one about 4 minutes (the load balancer's idle timeout). Node's 5 s default closed a client's pooled
 * connection while the client reused it after a pause of a few seconds: a spurious ECONNRESET that Azure does not
 * produce (faults inject resets on purpose). Each stand-in's close() ends every connection at once.
 */
export const STANDIN_KEEP_ALIVE_MS = 240_000;

/** A free TCP port on 127.0.0.1 right now, for programs that need a port number up front (Pebble, nginx). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server, 0, "127.0.0.1");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** host as it goes in a URL authority (IPv6 in brackets). */
export function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** Whether 127.0.0.1:port can be bound right now, over TCP (and UDP with `udp`). */
async function portFree(port: number, udp: boolean): Promise<boolean> {
  const tcp = net.createServer();
  try {
    await listen(tcp, port, "127.0.0.1");
  } catch {
    return false;
  } finally {
    await new Promise<void>((resolve) => (tcp.listening ? tcp.close(() => resolve()) : resolve()));
  }
  if (!udp) return true;
  const socket = dgram.createSocket("udp4");
  const ok = await new Promise<boolean>((resolve) => {
    socket.once("error", () => resolve(false));
    socket.bind(port, "127.0.0.1", () => resolve(true));
  });
  await new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
  return ok;
}

/** A port the local stack or host needs: the part that listens on it, and how to pick another. */
export interface PortNeed {
  part: string;
  port: number;
  udp?: boolean;
  /** The command-line flag that moves this part, e.g. `--ports keyVault=N`. */
  flag: string;
}

/**
 * Checks every fixed port before anything starts, so a second `npm run stack` / `npm start` says which parts
 * collide and what to do instead of dying with EADDRINUSE from the first server it tried.
 */
export async function assertPortsFree(needs: PortNeed[], alternatives: string): Promise<void> {
  const busy: PortNeed[] = [];
  for (const need of needs) if (need.port > 0 && !(await portFree(need.port, need.udp ?? false))) busy.push(need);
  if (busy.length === 0) return;
  const list = busy.map((b) => `  ${b.port}${b.udp ? " (TCP/UDP)" : ""}: ${b.part} (move it with ${b.flag})`).join("\n");
  throw new PortsInUseError(
    `${busy.length === 1 ? "a port" : "ports"} of the local stack ${busy.length === 1 ? "is" : "are"} in use:\n${list}\n` +
      `Another kv-acme stack or host is probably running (npm run stack / npm start): stop it, or ${alternatives}.`,
  );
}

/** The error `assertPortsFree` throws: an expected failure with a message for people, never a stack trace. */
export class PortsInUseError extends Error {
  override name = "PortsInUseError";
}
