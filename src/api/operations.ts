/**
 * Long-running work behind the API: durable orchestration instances, seen as "operations". The handlers use the
 * durable client the Functions host hands to df.app.client.http functions (the real DurableClient, locally and in
 * Azure); this module only names the part of it they use and maps instance status to the API's operation view.
 */
import type { DurableClient } from "durable-functions";
import { ConflictError } from "../shared/errors";
import { json, type ApiResponse } from "./http";

/** The subset of DurableClient the API uses. */
export type OperationsClient = Pick<DurableClient, "startNew" | "getStatus" | "getStatusAll">;

/** Status as returned by the durable client (dates may arrive as Date or ISO strings). */
export interface InstanceStatusLike {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  createdTime: Date | string;
  lastUpdatedTime: Date | string;
  input?: unknown;
  output?: unknown;
  customStatus?: unknown;
}

/** The API's view of one operation (GET /api/operations/{id}). */
export interface OperationView {
  id: string;
  name: string;
  status: string;
  createdTime: string;
  lastUpdatedTime: string;
  /** What the orchestration reports as its current step (its custom status). */
  customStatus?: unknown;
  output?: unknown;
  error?: { message: string };
}

/** Seconds a client should wait before polling a running operation again. */
export const RETRY_AFTER_SECONDS = 2;
/** Prefix of every instance id kv-acme starts; other instances in the task hub are not exposed. */
export const OPERATION_ID_PREFIX = "kv-acme-";

const RUNNING = new Set(["Running", "Pending", "ContinuedAsNew", "Suspended"]);

export function isRunning(status: { runtimeStatus: string } | undefined): boolean {
  return status !== undefined && RUNNING.has(String(status.runtimeStatus));
}

function iso(d: Date | string): string {
  return d instanceof Date ? d.toISOString() : new Date(d).toISOString();
}

/** The first line of a failure message (the durable runtime appends stack traces and wrappers). */
export function failureSummary(output: unknown): string {
  const text =
    typeof output === "string"
      ? withoutRuntimePrefix(output)
      : output === undefined || output === null
        ? "the operation failed"
        : JSON.stringify(output);
  return text.split("\n")[0]?.trim() || "the operation failed";
}

/** The Durable extension prefixes a failed orchestration's output with "Orchestrator function 'X' failed: ". */
function withoutRuntimePrefix(output: string): string {
  return output.replace(/^Orchestrator function '[^']*' failed: /, "");
}

export function operationView(s: InstanceStatusLike): OperationView {
  const view: OperationView = {
    id: s.instanceId,
    name: s.name,
    status: String(s.runtimeStatus),
    createdTime: iso(s.createdTime),
    lastUpdatedTime: iso(s.lastUpdatedTime),
  };
  if (s.customStatus !== undefined && s.customStatus !== null) view.customStatus = s.customStatus;
  if (s.runtimeStatus === "Failed")
    view.error = { message: typeof s.output === "string" ? withoutRuntimePrefix(s.output) : JSON.stringify(s.output ?? null) };
  else if (s.runtimeStatus === "Completed" && s.output !== undefined) view.output = s.output;
  return view;
}

/** The status of an instance, or undefined when the task hub has none with that id (the client reports 404 as an error). */
export async function findStatus(client: OperationsClient, instanceId: string): Promise<InstanceStatusLike | undefined> {
  try {
    return (await client.getStatus(instanceId, { showInput: false })) as InstanceStatusLike;
  } catch (err) {
    if (/HTTP 404/.test(String((err as Error).message))) return undefined;
    throw err;
  }
}

/** URL path of an operation resource; under /api/automation for callers of the automation routes. */
export function operationLocation(instanceId: string, automation = false): string {
  return `/api/${automation ? "automation/" : ""}operations/${encodeURIComponent(instanceId)}`;
}

/** Whether a request came in on an /api/automation/* route. */
export function isAutomationRequest(url: string): boolean {
  return new URL(url, "http://localhost").pathname.toLowerCase().startsWith("/api/automation/");
}

/**
 * Starts `orchestration` under a fixed instance id, refusing (409) while an instance with that id runs: checked
 * before starting and again from the runtime's own answer, so two starts racing each other still get one 409.
 */
export async function startOperation(
  client: OperationsClient,
  orchestration: string,
  instanceId: string,
  input: unknown,
  what: string,
): Promise<string> {
  const existing = await findStatus(client, instanceId);
  if (isRunning(existing)) throw runningConflict(instanceId, what);
  try {
    return await client.startNew(orchestration, { instanceId, input });
  } catch (err) {
    if (/status code: 409|already (pending or )?running|already exists/i.test(String((err as Error).message)))
      throw runningConflict(instanceId, what);
    throw err;
  }
}

function runningConflict(instanceId: string, what: string): ConflictError {
  return new ConflictError(`An operation for ${what} is already running (${operationLocation(instanceId)}); wait for it to finish.`, {
    operationId: instanceId,
    operation: operationLocation(instanceId),
  });
}

/** 202 with Location while running, 200 once finished (also when it failed: the body carries the error). */
export function operationResponse(s: InstanceStatusLike, automation = false): ApiResponse {
  const view = operationView(s);
  if (isRunning(s))
    return json(202, view, { location: operationLocation(s.instanceId, automation), "retry-after": String(RETRY_AFTER_SECONDS) });
  return json(200, view);
}
