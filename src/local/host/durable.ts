/**
 * Durable orchestrations run by durable-functions' own replay engine: each episode feeds the committed
 * history plus new events to the registered orchestrator handler, reads back what it scheduled, records the
 * scheduling in history, persists, and only then starts the work (activities, timers, sub-orchestrations).
 * Completions are journalled into the instance's inbox before they are acknowledged, so a killed host
 * resumes every in-flight instance on restart: unfinished activities re-run (at least once), due timers fire,
 * and each instance completes exactly once.
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "./clock";
import type { BindingInfo, FunctionRegistry, RegisteredFunction } from "./core-api";
import { invokeFunction, type RpcTypedData } from "./invoke";
import { nonDeterminism, outstandingWork, trackTasksOf, trackedTasks } from "./replay-checks";
import { InstanceStore, type HistoryEvent, type InstanceRecord, type RuntimeStatus } from "./store";

/** History event types (durable-functions HistoryEventType). */
export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventRaised: 15,
  ContinueAsNew: 16,
} as const;

const EVENT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(EventType).map(([k, v]) => [v, k]));

/** Action types (durable-functions ActionType). */
const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
} as const;

/** Actions the local host refuses, by durable-functions ActionType. */
const UNSUPPORTED_ACTIONS: Record<number, string> = {
  7: "durable entities (callEntity)",
  8: "callHttp (durable HTTP requests)",
  9: "durable entities (signalEntity)",
  13: "durable entities (critical sections)",
  14: "durable entities (critical sections)",
};

const OUT_OF_PROC = "\n\n$OutOfProcData$:";
const TERMINAL: RuntimeStatus[] = ["Completed", "Failed", "Terminated"];

/** A start was refused because an instance with that id is pending or running (as Azure refuses it). */
export class InstanceConflictError extends Error {
  constructor(instanceId: string) {
    super(`An orchestration instance with id '${instanceId}' is already pending or running.`);
  }
}

/** Status in the shape of the Durable Functions HTTP API. */
export interface InstanceStatus {
  name: string;
  instanceId: string;
  runtimeStatus: RuntimeStatus;
  input: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: Record<string, unknown>[];
}

/** What a status read includes, as the HTTP API's showHistory / showHistoryOutput / showInput. */
export interface StatusOptions {
  showHistory?: boolean;
  showHistoryOutput?: boolean;
  showInput?: boolean;
}

/**
 * History as the extension's status API returns it: OrchestratorStarted/Completed and the scheduling events are
 * dropped, completions carry FunctionName and ScheduledTime of what they complete, ExecutionStarted carries
 * FunctionName, and Result/Input values appear (parsed) only with showHistoryOutput.
 */
export function statusHistory(history: HistoryEvent[], showOutput: boolean): Record<string, unknown>[] {
  const scheduledBy = new Map<number, HistoryEvent>();
  for (const e of history)
    if (e.EventType === EventType.TaskScheduled || e.EventType === EventType.SubOrchestrationInstanceCreated) scheduledBy.set(e.EventId, e);
  const parse = (v: unknown): unknown => {
    try {
      return typeof v === "string" ? JSON.parse(v) : v;
    } catch {
      return v;
    }
  };
  const out: Record<string, unknown>[] = [];
  for (const e of history) {
    const t = e.EventType;
    if (t === EventType.OrchestratorStarted || t === EventType.OrchestratorCompleted || t === EventType.TaskScheduled) continue;
    if (t === EventType.SubOrchestrationInstanceCreated) continue;
    const { EventType: _t, IsPlayed: _p, EventId: _id, Result, Input, ...rest } = e;
    const item: Record<string, unknown> = { EventType: EVENT_NAMES[t] ?? String(t), ...rest };
    if (t === EventType.ExecutionStarted) item.FunctionName = e.Name;
    const source = typeof e.TaskScheduledId === "number" ? scheduledBy.get(e.TaskScheduledId) : undefined;
    if (source) {
      item.FunctionName = source.Name;
      item.ScheduledTime = source.Timestamp;
    }
    if (showOutput) {
      if (Result !== undefined) item.Result = parse(Result);
      if (Input !== undefined) item.Input = parse(Input);
    }
    out.push(item);
  }
  return out;
}

/** Options for {@link DurableEngine}. */
export interface DurableEngineOptions {
  registry: FunctionRegistry;
  stateDir: string;
  clock: Clock;
  /** Activities run at once, across all instances (default 16). */
  activityConcurrency?: number;
  /** host.json: "AnyState" lets a start replace a running instance of the same id; default refuse it. */
  overridableExistingInstanceStates?: "NonRunningStates" | "AnyState";
  /** Data for an activity's extra input bindings (the durable client binding), as for any other function. */
  extraInput?: (binding: BindingInfo, name: string) => RpcTypedData | undefined;
  log?: (message: string) => void;
}

interface RetryOptionsLike {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
}

interface ActionLike {
  actionType: number;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  fireAt?: Date;
  isCanceled?: boolean;
  retryOptions?: RetryOptionsLike;
}

interface TaskLike {
  id: number | string | false;
  actionObj: ActionLike | "noOp" | undefined;
  parent?: { actionObj?: ActionLike; retryOptions?: RetryOptionsLike; isWaitingOnTimer?: boolean; attemptNumber?: number };
}

/** Work derived from a scheduled event that has no completion yet. */
type WorkItem =
  | { kind: "activity"; instanceId: string; executionId: string; taskId: number; name: string; input: unknown }
  | { kind: "timer"; instanceId: string; executionId: string; taskId: number; fireAt: string }
  | { kind: "sub"; instanceId: string; executionId: string; taskId: number; name: string; input: unknown; childId: string };

/** Decodes an action input: durable-functions JSON-encodes string inputs once. */
function decodeActionInput(input: unknown): unknown {
  if (typeof input === "string") {
    try {
      return JSON.parse(input);
    } catch {
      return input;
    }
  }
  return input;
}

/** Round-trips a value through JSON as Azure does (Dates become strings, undefined becomes null). */
function roundTrip(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function errorOf(err: unknown): { name: string; message: string; stack?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: "Error", message: typeof err === "string" ? err : JSON.stringify(err) };
}

/** The durable task engine of the local host. */
export class DurableEngine {
  readonly #registry: FunctionRegistry;
  readonly #store: InstanceStore;
  readonly #clock: Clock;
  readonly #concurrency: number;
  readonly #overrideRunning: boolean;
  readonly #extraInput: DurableEngineOptions["extraInput"];
  readonly #log: (message: string) => void;
  readonly #instances = new Map<string, InstanceRecord>();
  readonly #locks = new Map<string, Promise<void>>();
  readonly #episodeRunning = new Set<string>();
  readonly #episodeAgain = new Set<string>();
  readonly #dispatched = new Set<string>();
  readonly #timers = new Map<string, () => void>();
  readonly #activityQueue: Extract<WorkItem, { kind: "activity" }>[] = [];
  #activeActivities = 0;
  readonly #waiters = new Map<string, Set<(s: InstanceRecord) => void>>();
  readonly #idle = new Set<() => void>();
  readonly #pendingDeliveries = new Map<
    string,
    { executionId: string; event: HistoryEvent; resolve: () => void; reject: (e: unknown) => void }[]
  >();
  #closed = false;
  /** Count of episodes run (for tests and benchmarks). */
  episodes = 0;
  /** History events replayed (already played, handed to the orchestrator again), over all episodes. */
  replayedEvents = 0;
  /** The longest history an execution of each orchestrator function reached (events, by function name). */
  readonly maxHistory = new Map<string, number>();

  constructor(options: DurableEngineOptions) {
    this.#registry = options.registry;
    this.#store = new InstanceStore(options.stateDir);
    this.#clock = options.clock;
    this.#concurrency = options.activityConcurrency ?? 16;
    this.#overrideRunning = options.overridableExistingInstanceStates === "AnyState";
    this.#extraInput = options.extraInput;
    this.#log = options.log ?? ((m) => console.error(`[durable] ${m}`));
  }

  /** Loads persisted instances and resumes every one that is not finished. */
  async init(): Promise<void> {
    await this.#store.init();
    for (const record of await this.#store.loadAll()) this.#instances.set(record.instanceId, record);
    for (const record of this.#instances.values()) {
      if (TERMINAL.includes(record.runtimeStatus)) continue;
      this.#dispatch(this.#pendingWork(record));
      if (record.inbox.length > 0) this.#kick(record.instanceId);
    }
  }

  /** Stops dispatching; running activities finish but their results are dropped unless already journalled. */
  close(): void {
    this.#closed = true;
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
  }

  // ---- client operations -------------------------------------------------------------------------------

  /** Starts an orchestration; refuses an id whose instance is pending or running. Returns the instance id. */
  async startNew(name: string, input: unknown, instanceId?: string, parent?: InstanceRecord["parent"]): Promise<string> {
    const fn = this.#registry.functions.get(name);
    if (!fn || fn.trigger.type !== "orchestrationTrigger") throw new Error(`No orchestrator function named '${name}' is registered.`);
    const id = instanceId || randomUUID().replace(/-/g, "");
    await this.#withLock(id, async () => {
      const existing = this.#instances.get(id);
      if (existing && !TERMINAL.includes(existing.runtimeStatus)) {
        if (!this.#overrideRunning) throw new InstanceConflictError(id);
        // AnyState: the new execution replaces the running one; its pending work belongs to the old execution
        // id, so late completions are dropped.
        this.#cancelTimers(id);
      }
      const now = new Date(this.#clock.now()).toISOString();
      const value = roundTrip(input);
      const record: InstanceRecord = {
        instanceId: id,
        name,
        executionId: randomUUID(),
        runtimeStatus: "Pending",
        input: value,
        output: null,
        customStatus: null,
        createdTime: now,
        lastUpdatedTime: now,
        parent,
        history: [],
        inbox: [
          this.#event(EventType.ExecutionStarted, { Name: name, Input: JSON.stringify(value), ParentInstanceId: parent?.instanceId }),
        ],
      };
      await this.#store.save(record);
      this.#instances.set(id, record);
    });
    this.#kick(id);
    return id;
  }

  /** Raises an external event. Returns false when the instance does not exist, "gone" when it finished. */
  async raiseEvent(instanceId: string, eventName: string, data: unknown): Promise<true | false | "gone"> {
    const result = await this.#onActive(instanceId, async (record) => {
      record.inbox.push(this.#event(EventType.EventRaised, { Name: eventName, Input: JSON.stringify(roundTrip(data)) }));
      await this.#store.save(record);
    });
    if (result === true) this.#kick(instanceId);
    return result;
  }

  /** Terminates a pending or running instance. Returns false when missing, "gone" when already finished. */
  async terminate(instanceId: string, reason: string): Promise<true | false | "gone"> {
    return this.#onActive(instanceId, async (record) => {
      record.history.push(this.#event(EventType.ExecutionTerminated, { Input: JSON.stringify(reason) }));
      await this.#finish(record, "Terminated", reason);
    });
  }

  /** Runs `change` on an instance under its lock if it is still active: false when missing, "gone" when finished. */
  async #onActive(instanceId: string, change: (record: InstanceRecord) => Promise<void>): Promise<true | false | "gone"> {
    let result: true | false | "gone" = false;
    await this.#withLock(instanceId, async () => {
      const record = this.#instances.get(instanceId);
      if (!record) return;
      if (TERMINAL.includes(record.runtimeStatus)) {
        result = "gone";
        return;
      }
      await change(record);
      result = true;
    });
    return result;
  }

  /** Deletes a finished instance's history. Returns the number of instances deleted (0 or 1). */
  async purge(instanceId: string): Promise<number> {
    let deleted = 0;
    await this.#withLock(instanceId, async () => {
      const record = this.#instances.get(instanceId);
      if (!record || !TERMINAL.includes(record.runtimeStatus)) return;
      await this.#store.remove(instanceId);
      this.#instances.delete(instanceId);
      deleted = 1;
    });
    return deleted;
  }

  /** Status of one instance, or undefined. */
  getStatus(instanceId: string, opts: StatusOptions = {}): InstanceStatus | undefined {
    const record = this.#instances.get(instanceId);
    return record ? this.#toStatus(record, opts) : undefined;
  }

  /** Status of every instance, filtered like the HTTP API. */
  list(filter: { runtimeStatus?: string[]; createdTimeFrom?: string; createdTimeTo?: string; showInput?: boolean } = {}): InstanceStatus[] {
    return [...this.#instances.values()]
      .filter((r) => !filter.runtimeStatus?.length || filter.runtimeStatus.includes(r.runtimeStatus))
      .filter((r) => !filter.createdTimeFrom || r.createdTime >= new Date(filter.createdTimeFrom).toISOString())
      .filter((r) => !filter.createdTimeTo || r.createdTime <= new Date(filter.createdTimeTo).toISOString())
      .map((r) => this.#toStatus(r, { showInput: filter.showInput }));
  }

  /** Raw record (history included), for tests and inspection. */
  getRecord(instanceId: string): InstanceRecord | undefined {
    const r = this.#instances.get(instanceId);
    return r ? (JSON.parse(JSON.stringify(r)) as InstanceRecord) : undefined;
  }

  /** Resolves with the status once the instance is finished; rejects after `timeoutMs`. */
  waitForInstance(instanceId: string, timeoutMs: number): Promise<InstanceStatus> {
    const now = this.#instances.get(instanceId);
    if (now && TERMINAL.includes(now.runtimeStatus)) return Promise.resolve(this.#toStatus(now, { showInput: true }));
    return new Promise((resolve, reject) => {
      const set = this.#waiters.get(instanceId) ?? new Set();
      this.#waiters.set(instanceId, set);
      const timer = setTimeout(() => {
        set.delete(done);
        const r = this.#instances.get(instanceId);
        reject(new Error(`Instance '${instanceId}' did not finish within ${timeoutMs} ms (status: ${r?.runtimeStatus ?? "unknown"}).`));
      }, timeoutMs);
      const done = (r: InstanceRecord): void => {
        clearTimeout(timer);
        set.delete(done);
        resolve(this.#toStatus(r, { showInput: true }));
      };
      set.add(done);
    });
  }

  /** True when no episode, activity or queued activity is in progress (durable timers may still wait). */
  isQuiet(): boolean {
    return this.#episodeRunning.size === 0 && this.#activeActivities === 0 && this.#activityQueue.length === 0 && this.#lockCount() === 0;
  }

  /** Resolves when {@link isQuiet} next becomes true. */
  whenQuiet(): Promise<void> {
    if (this.isQuiet()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  #lockCount(): number {
    return this.#locks.size;
  }

  #checkIdle(): void {
    if (this.#idle.size === 0) return;
    setImmediate(() => {
      if (!this.isQuiet()) return;
      const list = [...this.#idle];
      this.#idle.clear();
      for (const fn of list) fn();
    });
  }

  // ---- internals ----------------------------------------------------------------------------------------

  #event(type: number, fields: Record<string, unknown> = {}, eventId = -1): HistoryEvent {
    return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: new Date(this.#clock.now()).toISOString(), ...fields };
  }

  #toStatus(record: InstanceRecord, opts: StatusOptions): InstanceStatus {
    const status: InstanceStatus = {
      name: record.name,
      instanceId: record.instanceId,
      runtimeStatus: record.runtimeStatus,
      input: opts.showInput === false ? null : (record.input ?? null),
      customStatus: record.customStatus ?? null,
      output: record.output ?? null,
      createdTime: record.createdTime,
      lastUpdatedTime: record.lastUpdatedTime,
    };
    if (opts.showHistory) status.historyEvents = statusHistory(record.history, opts.showHistoryOutput === true);
    return status;
  }

  async #withLock(id: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chained = prev.then(() => mine);
    this.#locks.set(id, chained);
    await prev;
    try {
      await fn();
    } finally {
      release();
      if (this.#locks.get(id) === chained) this.#locks.delete(id);
      this.#checkIdle();
    }
  }

  /** Schedules an episode for `id`; episodes of one instance never overlap, requests during one coalesce. */
  #kick(id: string): void {
    if (this.#closed) return;
    if (this.#episodeRunning.has(id)) {
      this.#episodeAgain.add(id);
      return;
    }
    this.#episodeRunning.add(id);
    void (async () => {
      try {
        do {
          this.#episodeAgain.delete(id);
          await this.#withLock(id, () => this.#episode(id));
        } while (this.#episodeAgain.has(id) && !this.#closed);
      } catch (err) {
        this.#log(`episode of '${id}' failed: ${errorOf(err).stack ?? errorOf(err).message}`);
      } finally {
        this.#episodeRunning.delete(id);
        this.#checkIdle();
      }
    })();
  }

  /**
   * Adds a completion event unless the instance moved on or already has it, then runs an episode.
   * Deliveries to one instance are group-committed: everything that arrived while the instance was busy is
   * journalled with one atomic write, and each caller resumes only after that write.
   */
  #deliver(instanceId: string, executionId: string, event: HistoryEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      const list = this.#pendingDeliveries.get(instanceId);
      if (list) {
        list.push({ executionId, event, resolve, reject });
        return;
      }
      this.#pendingDeliveries.set(instanceId, [{ executionId, event, resolve, reject }]);
      void this.#withLock(instanceId, () => this.#flushDeliveries(instanceId));
    });
  }

  async #flushDeliveries(instanceId: string): Promise<void> {
    const batch = this.#pendingDeliveries.get(instanceId) ?? [];
    this.#pendingDeliveries.delete(instanceId);
    let added = false;
    try {
      const record = this.#instances.get(instanceId);
      if (record && !TERMINAL.includes(record.runtimeStatus)) {
        const seen = new Set([...record.history, ...record.inbox].map(completionKey).filter(Boolean));
        for (const { executionId, event } of batch) {
          const key = completionKey(event);
          if (record.executionId !== executionId || (key && seen.has(key))) continue;
          if (key) seen.add(key);
          record.inbox.push(event);
          added = true;
        }
        if (added) await this.#store.save(record);
      }
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
    if (added) this.#kick(instanceId);
  }

  async #episode(id: string): Promise<void> {
    const record = this.#instances.get(id);
    if (!record || TERMINAL.includes(record.runtimeStatus) || record.inbox.length === 0 || this.#closed) return;
    const fn = this.#registry.functions.get(record.name);
    this.episodes++;
    let startedAt = this.#clock.now();
    for (const e of record.inbox) if (e.EventType === EventType.TimerFired) startedAt = Math.max(startedAt, Date.parse(String(e.FireAt)));
    for (const e of record.history)
      if (e.EventType === EventType.OrchestratorStarted) startedAt = Math.max(startedAt, Date.parse(e.Timestamp));
    const started: HistoryEvent = { ...this.#event(EventType.OrchestratorStarted), Timestamp: new Date(startedAt).toISOString() };
    const newEvents = [started, ...record.inbox];
    const past = record.history.map((e) => ({ ...e, IsPlayed: true }));
    const history = JSON.parse(JSON.stringify([...past, ...newEvents])) as HistoryEvent[];
    const payload = {
      history,
      input: record.input,
      instanceId: record.instanceId,
      isReplaying: past.length > 0,
      parentInstanceId: record.parent?.instanceId,
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 2,
      longRunningTimerIntervalDuration: "3.00:00:00",
      maximumShortTimerDuration: "6.00:00:00",
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };

    record.history.push(...newEvents);
    record.inbox = [];
    record.runtimeStatus = "Running";
    record.lastUpdatedTime = new Date(this.#clock.now()).toISOString();

    if (!fn || fn.trigger.type !== "orchestrationTrigger") {
      await this.#fail(record, `The function '${record.name}' doesn't exist, is disabled, or is not an orchestrator function.`);
      return;
    }
    const outcome = await invokeFunction(this.#registry, fn, {
      trigger: { json: JSON.stringify(payload) },
      beforeInvoke: trackTasksOf,
      log: (level, category, message) => {
        if (category === "user" && (level === "error" || level === "warning")) this.#log(`${fn.name}: ${message}`);
      },
    });
    interface StateLike {
      isDone?: boolean;
      actions?: ActionLike[][];
      output?: unknown;
      customStatus?: unknown;
      error?: string;
    }
    let state: StateLike | undefined;
    let failure: string | undefined;
    if (outcome.error !== undefined) {
      const message = errorOf(outcome.error).message;
      const at = message.indexOf(OUT_OF_PROC);
      if (at >= 0) {
        try {
          state = JSON.parse(message.slice(at + OUT_OF_PROC.length)) as StateLike;
        } catch {
          state = undefined;
        }
        failure = state?.error ?? message.slice(0, at);
      } else {
        failure = message;
      }
    } else {
      state = outcome.result as StateLike;
    }
    if (state && state.customStatus !== undefined) record.customStatus = roundTrip(state.customStatus);

    // The executor's tasks: every one numbered in this replay (tracked) and the open ones. Their ids are the
    // sequence numbers the SDK matches completions against (TaskScheduledId / TimerId).
    const executor = (outcome.context as { df?: { taskOrchestratorExecutor?: { openTasks?: Record<string, TaskLike> } } }).df
      ?.taskOrchestratorExecutor;
    const tasks = trackedTasks(executor);
    // As the Durable Task Framework: a replay that does not reproduce the recorded schedule fails the instance.
    const changed = nonDeterminism(record.history, tasks);
    if (changed) {
      await this.#fail(record, changed);
      return;
    }
    if (failure !== undefined) {
      // The extension's out-of-process shim reports a failed orchestrator with this prefix.
      await this.#fail(record, `Orchestrator function '${record.name}' failed: ${failure}`);
      return;
    }
    if (!state || typeof state !== "object") {
      await this.#fail(record, "The orchestrator returned no state.");
      return;
    }

    const openTasks = executor?.openTasks ?? {};
    const scheduled = new Set(record.history.filter(isSchedulingEvent).map((e) => e.EventId));
    const flat = state.isDone ? flattenActions(state.actions?.[0] ?? []) : [];
    const continueAsNew = flat.find((a) => a.actionType === ActionType.ContinueAsNew);
    // As on Azure, an orchestrator that returned while its timers or sub-orchestrations run stays Running until
    // they finish (or the timers are cancelled); activities still open are abandoned.
    const waiting = state.isDone === true && !continueAsNew && outstandingWork(tasks, record.history) > 0;
    const work: WorkItem[] = [];
    const now = this.#clock.now();
    let unsupported: string | undefined;
    if (!state.isDone || waiting) {
      for (const [key, task] of Object.entries(openTasks)) {
        const taskId = Number(key);
        if (!Number.isInteger(taskId) || scheduled.has(taskId)) continue;
        const item = this.#classify(record, task, taskId, now);
        if (typeof item === "string") {
          unsupported = item;
          break;
        }
        if (!item || (waiting && item.kind === "activity")) continue;
        work.push(item);
        record.history.push(this.#schedulingEvent(item));
      }
    }
    if (unsupported) {
      await this.#fail(record, unsupported);
      return;
    }
    record.history.push(this.#event(EventType.OrchestratorCompleted));
    this.replayedEvents += past.length;
    if (record.history.length > (this.maxHistory.get(record.name) ?? 0)) this.maxHistory.set(record.name, record.history.length);

    if (state.isDone && !waiting) {
      if (continueAsNew) {
        const input = roundTrip(decodeActionInput(continueAsNew.input));
        record.history = [];
        record.executionId = randomUUID();
        record.input = input;
        record.inbox = [
          this.#event(EventType.ExecutionStarted, {
            Name: record.name,
            Input: JSON.stringify(input),
            ParentInstanceId: record.parent?.instanceId,
          }),
        ];
        await this.#store.save(record);
        this.#episodeAgain.add(id);
        return;
      }
      const output = roundTrip(state.output);
      record.history.push(this.#event(EventType.ExecutionCompleted, { OrchestrationStatus: "Completed", Result: JSON.stringify(output) }));
      await this.#finish(record, "Completed", output);
      return;
    }
    await this.#store.save(record);
    this.#dispatch(work);
  }

  #classify(record: InstanceRecord, task: TaskLike, taskId: number, now: number): WorkItem | string | undefined {
    const base = { instanceId: record.instanceId, executionId: record.executionId, taskId };
    const action = task.actionObj;
    if (action === "noOp" || action === undefined) {
      const parent = task.parent;
      if (!parent?.retryOptions || !parent.actionObj) return undefined;
      if (parent.isWaitingOnTimer) {
        const opts = parent.retryOptions;
        const attempt = parent.attemptNumber ?? 2;
        let delay = 0;
        if (attempt <= opts.maxNumberOfAttempts) {
          delay = opts.firstRetryIntervalInMilliseconds * Math.pow(opts.backoffCoefficient ?? 1, attempt - 2);
          if (opts.maxRetryIntervalInMilliseconds && opts.maxRetryIntervalInMilliseconds > 0)
            delay = Math.min(delay, opts.maxRetryIntervalInMilliseconds);
        }
        return { kind: "timer", ...base, fireAt: new Date(now + delay).toISOString() };
      }
      return this.#callFor(record, parent.actionObj, base);
    }
    if (action.actionType === ActionType.CreateTimer) {
      if (action.isCanceled) return undefined;
      return { kind: "timer", ...base, fireAt: new Date(action.fireAt as Date).toISOString() };
    }
    return this.#callFor(record, action, base);
  }

  #callFor(
    record: InstanceRecord,
    action: ActionLike,
    base: { instanceId: string; executionId: string; taskId: number },
  ): WorkItem | string {
    switch (action.actionType) {
      case ActionType.CallActivity:
      case ActionType.CallActivityWithRetry:
        return { kind: "activity", ...base, name: String(action.functionName), input: roundTrip(decodeActionInput(action.input)) };
      case ActionType.CallSubOrchestrator:
      case ActionType.CallSubOrchestratorWithRetry:
        return {
          kind: "sub",
          ...base,
          name: String(action.functionName),
          input: roundTrip(action.input),
          childId: action.instanceId || `${record.instanceId}:${base.taskId.toString(16).padStart(4, "0")}`,
        };
      default:
        return `The local host does not support ${UNSUPPORTED_ACTIONS[action.actionType] ?? `durable action type ${action.actionType}`}; it fails the instance instead of behaving unlike Azure.`;
    }
  }

  #schedulingEvent(item: WorkItem): HistoryEvent {
    switch (item.kind) {
      case "activity":
        return this.#event(EventType.TaskScheduled, { Name: item.name, Input: JSON.stringify(item.input) }, item.taskId);
      case "timer":
        return this.#event(EventType.TimerCreated, { FireAt: item.fireAt }, item.taskId);
      case "sub":
        return this.#event(
          EventType.SubOrchestrationInstanceCreated,
          { Name: item.name, InstanceId: item.childId, Input: JSON.stringify(item.input) },
          item.taskId,
        );
    }
  }

  /** Scheduling events in history that have no completion in history or inbox. */
  #pendingWork(record: InstanceRecord): WorkItem[] {
    const done = new Set([...record.history, ...record.inbox].map(completionKey).filter(Boolean));
    const base = (e: HistoryEvent) => ({ instanceId: record.instanceId, executionId: record.executionId, taskId: e.EventId });
    const out: WorkItem[] = [];
    for (const e of record.history) {
      if (e.EventType === EventType.TaskScheduled && !done.has(`task:${e.EventId}`)) {
        out.push({ kind: "activity", ...base(e), name: String(e.Name), input: JSON.parse(String(e.Input)) });
      } else if (e.EventType === EventType.TimerCreated && !done.has(`timer:${e.EventId}`)) {
        out.push({ kind: "timer", ...base(e), fireAt: String(e.FireAt) });
      } else if (e.EventType === EventType.SubOrchestrationInstanceCreated && !done.has(`task:${e.EventId}`)) {
        out.push({ kind: "sub", ...base(e), name: String(e.Name), input: JSON.parse(String(e.Input)), childId: String(e.InstanceId) });
      }
    }
    return out;
  }

  #dispatch(work: WorkItem[]): void {
    for (const item of work) {
      const key = `${item.instanceId}|${item.executionId}|${item.taskId}`;
      if (this.#dispatched.has(key) || this.#closed) continue;
      this.#dispatched.add(key);
      if (item.kind === "activity") {
        this.#activityQueue.push(item);
      } else if (item.kind === "timer") {
        const cancel = this.#clock.schedule(Date.parse(item.fireAt), () => {
          this.#timers.delete(key);
          this.#dispatched.delete(key);
          void this.#deliver(
            item.instanceId,
            item.executionId,
            this.#event(EventType.TimerFired, { TimerId: item.taskId, FireAt: item.fireAt }),
          );
        });
        this.#timers.set(key, cancel);
      } else {
        void this.#startChild(item).finally(() => this.#dispatched.delete(key));
      }
    }
    this.#pump();
  }

  #pump(): void {
    while (!this.#closed && this.#activeActivities < this.#concurrency && this.#activityQueue.length > 0) {
      const item = this.#activityQueue.shift()!;
      this.#activeActivities++;
      void this.#runActivity(item).finally(() => {
        this.#activeActivities--;
        this.#dispatched.delete(`${item.instanceId}|${item.executionId}|${item.taskId}`);
        this.#pump();
        this.#checkIdle();
      });
    }
  }

  async #runActivity(item: Extract<WorkItem, { kind: "activity" }>): Promise<void> {
    const fn = this.#registry.functions.get(item.name);
    let event: HistoryEvent;
    if (!fn || fn.trigger.type !== "activityTrigger") {
      const message = `The function '${item.name}' doesn't exist, is disabled, or is not an activity function.`;
      event = this.#event(EventType.TaskFailed, { TaskScheduledId: item.taskId, Reason: message, Details: "" });
    } else {
      const outcome = await invokeFunction(this.#registry, fn, {
        trigger: item.input === undefined || item.input === null ? undefined : { json: JSON.stringify(item.input) },
        extraInput: this.#extraInput,
        log: (level, category, message) => {
          if (category === "user" && (level === "error" || level === "warning")) this.#log(`${fn.name}: ${message}`);
        },
      });
      event = activityCompletion(this, fn, item.taskId, outcome.error, outcome.result);
    }
    if (this.#closed) return;
    await this.#deliver(item.instanceId, item.executionId, event);
  }

  /** Creates the child of a sub-orchestration (idempotent) or reports its result if it already finished. */
  async #startChild(item: Extract<WorkItem, { kind: "sub" }>): Promise<void> {
    const link = { instanceId: item.instanceId, executionId: item.executionId, taskScheduledId: item.taskId };
    const child = this.#instances.get(item.childId);
    const ours =
      child?.parent &&
      child.parent.instanceId === link.instanceId &&
      child.parent.executionId === link.executionId &&
      child.parent.taskScheduledId === link.taskScheduledId;
    if (child && ours) {
      if (TERMINAL.includes(child.runtimeStatus)) await this.#notifyParent(child);
      return;
    }
    try {
      await this.startNew(item.name, item.input, item.childId, link);
    } catch (err) {
      // As Azure with overridableExistingInstanceStates=NonRunningStates: a running id is never restarted or
      // joined; the sub-orchestration task fails with a clear error instead.
      const conflict = err instanceof InstanceConflictError;
      const message = conflict ? `Sub-orchestration '${item.name}' was not started: ${errorOf(err).message}` : errorOf(err).message;
      await this.#deliver(
        item.instanceId,
        item.executionId,
        this.#event(EventType.SubOrchestrationInstanceFailed, { TaskScheduledId: item.taskId, Reason: message, Details: "" }),
      );
    }
  }

  async #fail(record: InstanceRecord, message: string): Promise<void> {
    record.history.push(this.#event(EventType.ExecutionCompleted, { OrchestrationStatus: "Failed", Result: JSON.stringify(message) }));
    await this.#finish(record, "Failed", message);
  }

  /** Persists a terminal state, then tells the parent and any waiters. Called with the instance lock held. */
  async #finish(record: InstanceRecord, status: RuntimeStatus, output: unknown): Promise<void> {
    record.runtimeStatus = status;
    record.output = output;
    record.inbox = [];
    record.lastUpdatedTime = new Date(this.#clock.now()).toISOString();
    await this.#store.save(record);
    this.#cancelTimers(record.instanceId);
    if (record.parent) void this.#notifyParent(record);
    const waiters = this.#waiters.get(record.instanceId);
    if (waiters) for (const w of [...waiters]) w(record);
  }

  #cancelTimers(instanceId: string): void {
    for (const [key, cancel] of this.#timers) {
      if (key.startsWith(`${instanceId}|`)) {
        cancel();
        this.#timers.delete(key);
        this.#dispatched.delete(key);
      }
    }
  }

  async #notifyParent(child: InstanceRecord): Promise<void> {
    const p = child.parent;
    if (!p) return;
    const event =
      child.runtimeStatus === "Completed"
        ? this.#event(EventType.SubOrchestrationInstanceCompleted, {
            TaskScheduledId: p.taskScheduledId,
            Result: JSON.stringify(child.output ?? null),
          })
        : this.#event(EventType.SubOrchestrationInstanceFailed, {
            TaskScheduledId: p.taskScheduledId,
            Reason:
              child.runtimeStatus === "Failed"
                ? String(child.output)
                : `Sub-orchestration '${child.name}' (${child.instanceId}) terminated: ${String(child.output)}`,
            Details: "",
          });
    await this.#deliver(p.instanceId, p.executionId, event);
  }

  /** Exposed for {@link activityCompletion}. */
  makeEvent(type: number, fields: Record<string, unknown>): HistoryEvent {
    return this.#event(type, fields);
  }
}

function activityCompletion(engine: DurableEngine, fn: RegisteredFunction, taskId: number, error: unknown, result: unknown): HistoryEvent {
  if (error !== undefined) {
    const e = errorOf(error);
    // What the extension hands a Node orchestrator: Reason and Details only. FailureDetails is not sent to Node
    // apps (durable-js PR #705), so the SDK raises a plain Error "<Reason> \n <Details>", not a TaskFailedError.
    return engine.makeEvent(EventType.TaskFailed, {
      TaskScheduledId: taskId,
      Reason: `Activity function '${fn.name}' failed: ${e.message}`,
      Details: `Result: Failure\nException: ${e.message}\nStack: ${e.stack ?? ""}`,
    });
  }
  let json: string;
  try {
    json = JSON.stringify(result ?? null);
  } catch (err) {
    const e = errorOf(err);
    return engine.makeEvent(EventType.TaskFailed, {
      TaskScheduledId: taskId,
      Reason: `Activity function '${fn.name}' returned a value that is not JSON: ${e.message}`,
      Details: "",
    });
  }
  return engine.makeEvent(EventType.TaskCompleted, { TaskScheduledId: taskId, Result: json });
}

function isSchedulingEvent(e: HistoryEvent): boolean {
  return (
    e.EventType === EventType.TaskScheduled ||
    e.EventType === EventType.TimerCreated ||
    e.EventType === EventType.SubOrchestrationInstanceCreated
  );
}

/** Identity of a completion: one per scheduled task/timer. */
function completionKey(e: HistoryEvent): string | undefined {
  switch (e.EventType) {
    case EventType.TaskCompleted:
    case EventType.TaskFailed:
    case EventType.SubOrchestrationInstanceCompleted:
    case EventType.SubOrchestrationInstanceFailed:
      return `task:${String(e.TaskScheduledId)}`;
    case EventType.TimerFired:
      return `timer:${String(e.TimerId)}`;
    default:
      return undefined;
  }
}

function flattenActions(actions: (ActionLike & { compoundActions?: ActionLike[] })[]): ActionLike[] {
  const out: ActionLike[] = [];
  for (const a of actions) {
    if (a.compoundActions) out.push(...flattenActions(a.compoundActions));
    else out.push(a);
  }
  return out;
}
