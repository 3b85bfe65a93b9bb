/** Timer triggers: NCRONTAB schedules (6 fields, seconds first) or TimeSpan intervals, on the host clock. */
import { Cron } from "croner";
import type { Clock } from "./clock";

/** Resolves `%AppSetting%` references in a schedule from the environment, like the Functions host. */
export function resolveAppSettings(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/%([^%]+)%/g, (_m, name: string) => {
    const v = env[name] ?? env[name.replace(/:/g, "__")];
    if (v === undefined) throw new Error(`App setting '${name}' referenced by a timer schedule is not set.`);
    return v;
  });
}

/** Something that yields the next occurrence strictly after a moment. */
export interface Schedule {
  next(after: number): number | undefined;
}

/**
 * Parses a schedule: NCRONTAB with 6 fields (`{second} {minute} {hour} {day} {month} {day-of-week}`), or a
 * TimeSpan `hh:mm:ss` / `d.hh:mm:ss` interval. Times are UTC, as WEBSITE_TIME_ZONE is not supported here.
 */
export function parseSchedule(expression: string): Schedule {
  const ts = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(expression.trim());
  if (ts) {
    const ms = ((Number(ts[1] ?? 0) * 24 + Number(ts[2])) * 3600 + Number(ts[3]) * 60 + Number(ts[4])) * 1000;
    if (ms <= 0) throw new Error(`Timer interval '${expression}' must be positive.`);
    return { next: (after) => after + ms };
  }
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6)
    throw new Error(`Timer schedule '${expression}' must be an NCRONTAB expression with 6 fields (seconds first) or a TimeSpan.`);
  const cron = new Cron(expression.trim(), { paused: true, timezone: "Etc/UTC" });
  return {
    next: (after) => cron.nextRun(new Date(after))?.getTime(),
  };
}

/** One timer function's schedule state. */
export interface TimerState {
  name: string;
  schedule: Schedule;
  running?: Promise<void>;
  last?: number;
  next?: number;
  cancel?: () => void;
}

/** Runs timer functions on their schedules without overlapping runs of the same timer. */
export class TimerScheduler {
  readonly #clock: Clock;
  readonly #run: (name: string, status: { last?: number; next?: number; isPastDue: boolean }) => Promise<void>;
  readonly timers = new Map<string, TimerState>();
  #closed = false;

  constructor(clock: Clock, run: (name: string, status: { last?: number; next?: number; isPastDue: boolean }) => Promise<void>) {
    this.#clock = clock;
    this.#run = run;
  }

  /** Adds a timer; `arm` false keeps it fire-on-demand only. */
  add(name: string, schedule: Schedule, arm: boolean): void {
    const state: TimerState = { name, schedule };
    this.timers.set(name, state);
    if (arm) this.#arm(state);
  }

  #arm(state: TimerState, after = this.#clock.now()): void {
    if (this.#closed) return;
    state.next = state.schedule.next(Math.max(after, this.#clock.now() - 1));
    if (state.next === undefined) return;
    const at = state.next;
    state.cancel = this.#clock.schedule(at, () => {
      // The next occurrence is armed at once; a run still in progress makes that occurrence a no-op.
      this.#arm(state, at);
      void this.fire(state.name, at);
    });
  }

  /**
   * Runs a timer now. When a run of the same timer is in progress, no second run starts (as in the
   * Functions host, which takes a singleton lock per timer) and the running one is awaited instead.
   */
  async fire(name: string, dueAt?: number): Promise<void> {
    const state = this.timers.get(name);
    if (!state) throw new Error(`No timer function named '${name}'.`);
    if (state.running) return state.running;
    const now = this.#clock.now();
    const run = this.#run(name, { last: state.last, next: state.next, isPastDue: dueAt !== undefined && now - dueAt > 1000 });
    state.running = run.finally(() => {
      state.running = undefined;
      state.last = now;
    });
    return state.running;
  }

  /** Resolves when no timer function is running. */
  async whenIdle(): Promise<void> {
    while ([...this.timers.values()].some((s) => s.running)) {
      await Promise.allSettled([...this.timers.values()].map((s) => s.running));
    }
  }

  /** Stops every schedule and waits for running timers. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.timers.values()) s.cancel?.();
    await Promise.allSettled([...this.timers.values()].map((s) => s.running));
  }
}
