/**
 * Episode-level replay driver for orchestrator tests: calls the REGISTERED orchestrator handler (captured from
 * functions/orchestrations.ts, wrapped by durable-functions' own createOrchestrator) with a hand-built history, one
 * episode at a time, and reads back what it scheduled (the returned actions and the executor's open tasks, whose
 * ids are the TaskScheduledIds the SDK matches completions against). The test decides, per episode, which open
 * work completes and how; nothing runs for real.
 */
import { InvocationContext } from "@azure/functions";
import path from "node:path";
import { loadFunctionModules, type FunctionRegistry } from "../../src/local/host/core-api";

const OUT_OF_PROC = "\n\n$OutOfProcData$:";

let registry: FunctionRegistry | undefined;
function orchestrator(name: string): (payload: unknown, context: InvocationContext) => Promise<unknown> {
  registry ??= loadFunctionModules([path.resolve(__dirname, "..", "..", "functions", "orchestrations.ts")]);
  const fn = registry.functions.get(name);
  if (!fn) throw new Error(`orchestration ${name} is not registered`);
  return fn.handler as (payload: unknown, context: InvocationContext) => Promise<unknown>;
}

export interface Action {
  actionType: number;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  fireAt?: string;
  retryOptions?: { firstRetryIntervalInMilliseconds: number; backoffCoefficient: number; maxNumberOfAttempts: number };
  compoundActions?: Action[];
}

/** Work the orchestrator is waiting for. */
export interface Work {
  id: number;
  kind: "activity" | "sub" | "timer";
  name?: string;
  input?: unknown;
  instanceId?: string;
  fireAt?: string;
  retry: boolean;
}

export type Completion = { id: number; result: unknown } | { id: number; failure: string };

export interface EpisodeState {
  isDone: boolean;
  actions: Action[][];
  output?: unknown;
  customStatus?: unknown;
  error?: string;
}

export interface EpisodeRecord {
  index: number;
  state: EpisodeState;
  /** Open work after this episode (scheduled, not completed). */
  open: Work[];
  /** Work first scheduled in this episode. */
  scheduled: Work[];
}

type HistoryEvent = Record<string, unknown> & { EventType: number };

interface TaskLike {
  actionObj?: Action | "noOp";
  parent?: { actionObj?: Action; retryOptions?: unknown; isWaitingOnTimer?: boolean };
}

/** An action input as the runtime stores it: string inputs are JSON-encoded once; everything round-trips through JSON. */
function decode(input: unknown): unknown {
  if (input === undefined) return undefined;
  if (typeof input !== "string") return JSON.parse(JSON.stringify(input)) as unknown;
  try {
    return JSON.parse(input);
  } catch {
    return input;
  }
}

/** Flattens WhenAll/WhenAny compound actions. */
export function flatten(actions: Action[]): Action[] {
  return actions.flatMap((a) => (a.compoundActions ? flatten(a.compoundActions) : [a]));
}

/**
 * Runs `name` with `input` episode by episode. `respond` gets the open work after each episode and returns the
 * completions to deliver before the next one (an empty list with work still open stops the run: a stuck test).
 */
export async function runEpisodes(options: {
  name: string;
  input: unknown;
  instanceId: string;
  respond: (open: Work[], episode: EpisodeRecord) => Completion[];
  maxEpisodes?: number;
  start?: Date;
}): Promise<{ episodes: EpisodeRecord[]; output?: unknown; failure?: string; customStatus?: unknown }> {
  const handler = orchestrator(options.name);
  const start = (options.start ?? new Date("2026-01-01T00:00:00Z")).getTime();
  const history: HistoryEvent[] = [];
  let inbox: HistoryEvent[] = [
    {
      EventType: 0,
      EventId: -1,
      IsPlayed: false,
      Timestamp: new Date(start).toISOString(),
      Name: options.name,
      Input: JSON.stringify(options.input),
    },
  ];
  const known = new Map<number, Work>();
  const completed = new Set<number>();
  const episodes: EpisodeRecord[] = [];
  for (let index = 0; index < (options.maxEpisodes ?? 200); index++) {
    const now = new Date(start + index * 1000).toISOString();
    const past = history.map((e) => ({ ...e, IsPlayed: true }));
    const fresh = [{ EventType: 12, EventId: -1, IsPlayed: false, Timestamp: now }, ...inbox];
    const payload = {
      history: JSON.parse(JSON.stringify([...past, ...fresh])) as unknown,
      input: options.input,
      instanceId: options.instanceId,
      isReplaying: past.length > 0,
      parentInstanceId: "",
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 2,
      longRunningTimerIntervalDuration: "3.00:00:00",
      maximumShortTimerDuration: "6.00:00:00",
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
    history.push(...fresh);
    inbox = [];
    const context = new InvocationContext({ functionName: options.name, invocationId: `episode-${index}`, logHandler: () => undefined });
    let state: EpisodeState;
    try {
      state = (await handler(payload, context)) as EpisodeState;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const at = message.indexOf(OUT_OF_PROC);
      if (at < 0) throw err;
      const parsed = JSON.parse(message.slice(at + OUT_OF_PROC.length)) as EpisodeState;
      const record: EpisodeRecord = { index, state: parsed, open: [], scheduled: [] };
      episodes.push(record);
      return { episodes, failure: parsed.error ?? message.slice(0, at), customStatus: parsed.customStatus };
    }
    const openTasks = (context as unknown as { df: { taskOrchestratorExecutor: { openTasks: Record<string, TaskLike> } } }).df
      .taskOrchestratorExecutor.openTasks;
    const scheduled: Work[] = [];
    for (const [key, task] of Object.entries(openTasks)) {
      const id = Number(key);
      if (!Number.isInteger(id) || known.has(id)) continue;
      let action: Action | "noOp" | undefined = task.actionObj;
      let retry = false;
      if (action === "noOp" || action === undefined) {
        if (!task.parent?.actionObj) continue;
        if (task.parent.isWaitingOnTimer) {
          // The retry timer of callActivityWithRetry (the runtime computes its delay from the RetryOptions).
          const work: Work = { id, kind: "timer", fireAt: now, retry: true, name: `retry:${String(task.parent.actionObj.functionName)}` };
          known.set(id, work);
          scheduled.push(work);
          history.push({ EventType: 10, EventId: id, IsPlayed: false, Timestamp: now, FireAt: now });
          continue;
        }
        action = task.parent.actionObj;
        retry = true;
      }
      let work: Work;
      if (action.actionType === 5) work = { id, kind: "timer", fireAt: new Date(action.fireAt as unknown as Date).toISOString(), retry };
      else if (action.actionType === 2 || action.actionType === 3)
        work = {
          id,
          kind: "sub",
          name: action.functionName,
          input: decode(action.input),
          instanceId: action.instanceId,
          retry: action.actionType === 3,
        };
      else work = { id, kind: "activity", name: action.functionName, input: decode(action.input), retry: retry || action.actionType === 1 };
      known.set(id, work);
      scheduled.push(work);
      if (work.kind === "activity") history.push({ EventType: 4, EventId: id, IsPlayed: false, Timestamp: now, Name: work.name });
      else if (work.kind === "sub")
        history.push({ EventType: 7, EventId: id, IsPlayed: false, Timestamp: now, Name: work.name, InstanceId: work.instanceId });
      else history.push({ EventType: 10, EventId: id, IsPlayed: false, Timestamp: now, FireAt: work.fireAt });
    }
    history.push({ EventType: 13, EventId: -1, IsPlayed: false, Timestamp: now });
    const open = [...known.values()].filter((w) => !completed.has(w.id));
    const record: EpisodeRecord = { index, state, open, scheduled };
    episodes.push(record);
    if (state.isDone) return { episodes, output: state.output, customStatus: state.customStatus };
    const completions = options.respond(open, record);
    if (completions.length === 0) throw new Error(`episode ${index}: nothing completes, open work: ${JSON.stringify(open)}`);
    for (const c of completions) {
      const work = known.get(c.id);
      if (!work || completed.has(c.id)) throw new Error(`completion for unknown or finished task ${c.id}`);
      completed.add(c.id);
      const ts = new Date(start + index * 1000 + 500).toISOString();
      if (work.kind === "timer")
        inbox.push({ EventType: 11, EventId: -1, IsPlayed: false, Timestamp: ts, TimerId: c.id, FireAt: work.fireAt });
      else if ("result" in c)
        inbox.push({
          EventType: work.kind === "sub" ? 8 : 5,
          EventId: -1,
          IsPlayed: false,
          Timestamp: ts,
          TaskScheduledId: c.id,
          Result: JSON.stringify(c.result ?? null),
        });
      else {
        inbox.push({
          EventType: work.kind === "sub" ? 9 : 6,
          EventId: -1,
          IsPlayed: false,
          Timestamp: ts,
          TaskScheduledId: c.id,
          Reason: c.failure,
          Details: "",
          FailureDetails: { ErrorType: work.kind === "sub" ? "SubOrchestrationFailed" : "Error", ErrorMessage: c.failure },
        });
      }
    }
  }
  throw new Error("too many episodes");
}
