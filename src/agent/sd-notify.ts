/**
 * systemd readiness for the agent's `Type=notify` unit (infra/agent/kv-acme-agent.service): `READY=1` once the first
 * sync is done (with requireInitialSync: once every observed certificate is installed), `STATUS=` after each cycle and
 * `STOPPING=1` on shutdown, sent to `$NOTIFY_SOCKET` with the sd_notify datagram protocol.
 *
 * Node has no unix datagram sockets without a native addon, so the datagram is sent by systemd's own `systemd-notify`
 * (its arguments are the `VAR=VALUE` fields, passed as an argument array, no shell). It is a child of the agent, so
 * the unit says `NotifyAccess=all`; systemd-notify waits for systemd to have read the message (its barrier), so the
 * notification is never attributed too late. Without `NOTIFY_SOCKET` (no systemd, `--once`, tests) nothing is sent.
 */
import { execFile } from "node:child_process";
import { errorMessage } from "../shared/errors";

/** What the agent tells its service manager. */
export interface ServiceNotifier {
  /** The first sync is done: dependent units may start. */
  ready(status: string): Promise<void>;
  status(status: string): Promise<void>;
  stopping(): Promise<void>;
}

/** Longest STATUS= text sent (systemd shows it in `systemctl status`). */
export const STATUS_MAX = 200;

/**
 * One sd_notify field set as systemd-notify arguments (pure). The status text is data: control characters (a newline
 * would start another field, such as a forged `READY=1`) become spaces and it is cut to STATUS_MAX characters.
 */
export function sdNotifyArgs(fields: { ready?: boolean; stopping?: boolean; status?: string }): string[] {
  const args: string[] = [];
  if (fields.ready) args.push("READY=1");
  if (fields.stopping) args.push("STOPPING=1");
  if (fields.status !== undefined) {
    // eslint-disable-next-line no-control-regex
    const text = fields.status.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
    args.push(`STATUS=${text.length > STATUS_MAX ? `${text.slice(0, STATUS_MAX - 1)}…` : text}`);
  }
  return args;
}

export interface SystemdNotifierOptions {
  env: NodeJS.ProcessEnv;
  /** systemd-notify binary (default: on PATH). */
  binary?: string;
  onError?: (message: string) => void;
  /** Longest wait for systemd-notify (its barrier waits for the manager to read the message). */
  timeoutMs?: number;
}

/** The notifier for `$NOTIFY_SOCKET`, or undefined when the agent does not run under a `Type=notify` unit. */
export function createSystemdNotifier(options: SystemdNotifierOptions): ServiceNotifier | undefined {
  const socket = options.env.NOTIFY_SOCKET;
  if (!socket) return undefined;
  const binary = options.binary ?? "systemd-notify";
  const send = (fields: Parameters<typeof sdNotifyArgs>[0]) =>
    new Promise<void>((resolve) => {
      // Only the socket reaches systemd-notify: it needs nothing else of the agent's environment.
      const env = { NOTIFY_SOCKET: socket, PATH: options.env.PATH ?? "/usr/bin:/bin" };
      execFile(binary, sdNotifyArgs(fields), { env, timeout: options.timeoutMs ?? 10_000 }, (err, _stdout, stderr) => {
        if (err) options.onError?.(`systemd-notify ${sdNotifyArgs(fields)[0]} failed: ${(stderr || errorMessage(err)).trim()}`);
        resolve();
      });
    });
  return {
    ready: (status) => send({ ready: true, status }),
    status: (status) => send({ status }),
    stopping: () => send({ stopping: true, status: "stopping" }),
  };
}
