/**
 * Checks the Durable Task Framework applies on Azure and durable-functions' replay engine does not
 * (reference/durable-local-host.md, "Where Azure is stricter"):
 * - non-determinism: every scheduling event in history must be produced again, with the same type and name, by
 *   the task of the same sequence number in the replay; otherwise the instance fails with the framework's
 *   "Non-Deterministic workflow detected: ..." message instead of silently handing back another task's result;
 * - outstanding work: an orchestrator that returns while durable timers or sub-orchestrations it started are
 *   still running stays Running until they finish or are cancelled.
 * The SDK keeps only OPEN tasks; to see every task of an episode the executor's `trackOpenTask` (where sequence
 * numbers are assigned) is wrapped on the episode's executor, recording each leaf task. The host reaches that executor
 * through the invocation context, where durable-functions puts it (`context.df`) before the orchestrator runs, so it
 * works with whichever copy of the SDK the app carries: node_modules, or the one bundled into dist/app.js.
 */
import type { HistoryEvent } from "./store";

const TRACKED = Symbol.for("kvacme.localhost.trackedTasks");

interface ActionLike {
  actionType: number;
  functionName?: string;
  isCanceled?: boolean;
}

/** The parts of a durable-functions task the checks read. */
export interface TrackedTask {
  id: number | string | false;
  actionObj: ActionLike | "noOp" | undefined;
  /** Set on compound tasks (whenAll, whenAny, a retry's attempts), which get no sequence number of their own. */
  children?: unknown[];
  parent?: { actionObj?: ActionLike; retryOptions?: unknown; children?: unknown[] };
}

interface ExecutorLike {
  [TRACKED]?: TrackedTask[];
  trackOpenTask?: (task: TrackedTask) => void;
}

/**
 * Makes the orchestration episode about to run with `context` record every leaf task its executor numbers: when
 * durable-functions sets `context.df` (its orchestration context, holding the episode's executor), the executor's
 * `trackOpenTask` is wrapped on that instance.
 */
export function trackTasksOf(context: object): void {
  let df: { taskOrchestratorExecutor?: ExecutorLike } | undefined;
  Object.defineProperty(context, "df", {
    configurable: true,
    enumerable: true,
    get: () => df,
    set(value: { taskOrchestratorExecutor?: ExecutorLike } | undefined) {
      df = value;
      const executor = value?.taskOrchestratorExecutor;
      const original = executor?.trackOpenTask;
      if (!executor || typeof original !== "function" || executor[TRACKED]) return;
      executor[TRACKED] = [];
      executor.trackOpenTask = function (this: ExecutorLike, task: TrackedTask): void {
        if (!Array.isArray(task.children) && task.id === false) executor[TRACKED]?.push(task);
        original.call(this, task);
      };
    },
  });
}

/** Every leaf task the executor numbered in this episode (empty when it was not tracked). */
export function trackedTasks(executor: unknown): TrackedTask[] {
  return (executor as ExecutorLike | undefined)?.[TRACKED] ?? [];
}

type Kind = "activity" | "timer" | "sub" | "other";
interface Scheduled {
  kind: Kind;
  name?: string;
  /** A plain durable timer (not a retry wait) that was cancelled. */
  canceled?: boolean;
  /** A plain durable timer (CreateTimer action), as opposed to the wait between retries. */
  userTimer?: boolean;
}

function fromAction(action: ActionLike): Scheduled {
  switch (action.actionType) {
    case 0:
    case 1:
      return { kind: "activity", name: action.functionName };
    case 2:
    case 3:
      return { kind: "sub", name: action.functionName };
    case 5:
      return { kind: "timer", canceled: action.isCanceled === true, userTimer: true };
    default:
      return { kind: "other" };
  }
}

/** What a task scheduled. A retry's children alternate: the first attempt, then (wait timer, next attempt)*. */
function scheduledAs(task: TrackedTask): Scheduled | undefined {
  const action = task.actionObj;
  if (action && action !== "noOp") return fromAction(action);
  const parent = task.parent;
  if (!parent?.retryOptions || !parent.actionObj) return undefined;
  const index = parent.children?.indexOf(task) ?? -1;
  return index % 2 === 1 ? { kind: "timer" } : fromAction(parent.actionObj);
}

const ACTION_CLASS: Record<Kind, string> = {
  activity: "ScheduleTaskOrchestratorAction",
  timer: "CreateTimerOrchestratorAction",
  sub: "CreateSubOrchestrationAction",
  other: "OrchestratorAction",
};
const QUESTION = "Was a change made to the orchestrator code after this instance had already started running?";
const PREFIX = "Non-Deterministic workflow detected: ";

/**
 * The framework's non-determinism error for the first scheduling event in `history` that the replay did not
 * produce again (same sequence number, type and name), or undefined when the replay matches.
 * Messages follow DurableTask.Core's TaskOrchestrationContext.
 */
export function nonDeterminism(history: HistoryEvent[], tasks: TrackedTask[]): string | undefined {
  const byId = new Map<number, Scheduled>();
  for (const t of tasks) {
    const s = typeof t.id === "number" ? scheduledAs(t) : undefined;
    if (s && typeof t.id === "number") byId.set(t.id, s);
  }
  for (const e of history) {
    const id = e.EventId;
    const name = String(e.Name ?? "");
    const got = byId.get(id);
    if (e.EventType === 4) {
      if (!got)
        return `${PREFIX}A previous execution of this orchestration scheduled an activity task with sequence ID ${id} and name '${name}' (version ''), but the current replay execution hasn't (yet?) scheduled this task. ${QUESTION}`;
      if (got.kind !== "activity")
        return `${PREFIX}A previous execution of this orchestration scheduled an activity task with sequence number ${id} named '${name}', but the current orchestration replay instead produced a ${ACTION_CLASS[got.kind]} action with this sequence number. ${QUESTION}`;
      if (name.toLowerCase() !== String(got.name).toLowerCase())
        return `${PREFIX}A previous execution of this orchestration scheduled an activity task with sequence number ${id} named '${name}', but the current orchestration replay instead scheduled an activity task named '${got.name}' with this sequence number.  ${QUESTION}`;
    } else if (e.EventType === 10) {
      if (!got)
        return `${PREFIX}A previous execution of this orchestration scheduled a timer task with sequence number ${id} but the current replay execution hasn't (yet?) scheduled this task. ${QUESTION}`;
      if (got.kind !== "timer")
        return `${PREFIX}A previous execution of this orchestration scheduled a timer task with sequence number ${id} named but the current orchestration replay instead produced a ${ACTION_CLASS[got.kind]} action with this sequence number. ${QUESTION}`;
    } else if (e.EventType === 7) {
      const what = `a sub-orchestration task with sequence ID ${id} and name '${name}' (version '', instance ID '${String(e.InstanceId)}')`;
      if (!got)
        return `${PREFIX}A previous execution of this orchestration scheduled ${what}, but the current replay execution hasn't (yet?) scheduled this task. ${QUESTION}`;
      if (got.kind !== "sub")
        return `${PREFIX}A previous execution of this orchestration scheduled ${what}, but the current orchestration replay instead produced a ${ACTION_CLASS[got.kind]} action at this sequence number. ${QUESTION}`;
      if (name.toLowerCase() !== String(got.name).toLowerCase())
        return `${PREFIX}A previous execution of this orchestration scheduled ${what}, but the current orchestration replay instead scheduled a sub-orchestration task with name ${got.name} at this sequence number. ${QUESTION}`;
    }
  }
  return undefined;
}

/**
 * Durable timers (not cancelled) and sub-orchestrations the orchestrator started whose completion is not in
 * `history`. Read from history, not task state: the SDK stops replaying events once the orchestrator returned.
 */
export function outstandingWork(tasks: TrackedTask[], history: HistoryEvent[]): number {
  const done = new Set<number>();
  for (const e of history) {
    if (e.EventType === 11) done.add(Number(e.TimerId));
    if (e.EventType === 8 || e.EventType === 9) done.add(Number(e.TaskScheduledId));
  }
  let n = 0;
  for (const t of tasks) {
    const s = scheduledAs(t);
    if (!s || typeof t.id !== "number" || done.has(t.id)) continue;
    if ((s.kind === "timer" && s.userTimer && !s.canceled) || s.kind === "sub") n++;
  }
  return n;
}
