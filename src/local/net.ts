/** Listening helpers shared by the local stack's servers (and their tests). */
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
