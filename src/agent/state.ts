/** The agent's small persistent state (installed version per observed certificate) and its status files. */
import { promises as fs } from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../shared/fs";

export interface InstalledRecord {
  version: string;
  thumbprint: string;
  serialNumber: string;
  /** Where it lives: a file path (Linux) or Cert:\ path (Windows). */
  location: string;
  dnsNames: string[];
  notAfter: string;
  installedAt: string;
  /** Windows: accounts granted read access to the private key at install (linkOnRenewal's guardrail). */
  keyAccounts?: string[];
}

export interface AgentState {
  certificates: Record<string, InstalledRecord>;
}

/** Reads the state file; a missing file is an empty state, a corrupt one is an error (never silently reset). */
export async function loadState(file: string): Promise<AgentState> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { certificates: {} };
    throw err;
  }
  const parsed = JSON.parse(text) as AgentState;
  if (!parsed || typeof parsed.certificates !== "object") throw new Error(`${file}: not an agent state file`);
  return parsed;
}

/** Writes the state atomically (temp file + fsync + rename), creating its directory 0700. */
export async function saveState(file: string, state: AgentState): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(state, null, 2) + "\n", 0o600);
}

export type HandlerStatus = "transitioning" | "success" | "error" | "warning";

export interface CertificateStatus {
  url: string;
  name: string;
  state: "installed" | "failed" | "waiting";
  version?: string;
  thumbprint?: string;
  location?: string;
  error?: string;
  consecutiveFailures: number;
  lastAttemptAt: string;
}

export interface AgentStatus {
  status: HandlerStatus;
  message: string;
  timestampUTC: string;
  certificates: CertificateStatus[];
}

/** Azure timestamps: ISO 8601 without milliseconds. */
export function azureTimestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The Azure extension handler status document, exactly as the guest agent expects it
 * (`"version":1.0` keeps its decimal point, which JSON.stringify would drop).
 */
export function handlerStatusJson(s: {
  status: HandlerStatus;
  message: string;
  timestamp: Date;
  operation: string;
  name?: string;
}): string {
  const code = s.status === "error" ? 1 : 0;
  return (
    `[{"version":1.0,"timestampUTC":${JSON.stringify(azureTimestamp(s.timestamp))},"status":{` +
    `"name":${JSON.stringify(s.name ?? "kv-acme.agent")},"operation":${JSON.stringify(s.operation)},` +
    `"status":${JSON.stringify(s.status)},"code":${code},` +
    `"formattedMessage":{"lang":"en-US","message":${JSON.stringify(s.message)}}}}]`
  );
}

export interface StatusWriterOptions {
  statusFile: string;
  statusFolder?: string;
  sequenceNumber: number;
}

/** Writes both status files atomically. */
export async function writeStatus(opts: StatusWriterOptions, status: AgentStatus, operation: string): Promise<void> {
  await fs.mkdir(path.dirname(opts.statusFile), { recursive: true, mode: 0o755 });
  await writeFileAtomic(opts.statusFile, JSON.stringify(status, null, 2) + "\n", 0o644);
  if (opts.statusFolder) {
    await fs.mkdir(opts.statusFolder, { recursive: true, mode: 0o755 });
    const doc = handlerStatusJson({ status: status.status, message: status.message, timestamp: new Date(status.timestampUTC), operation });
    await writeFileAtomic(path.join(opts.statusFolder, `${opts.sequenceNumber}.status`), doc, 0o644);
  }
}
