/** Clocks for the local host: the real one, a virtual one tests advance by hand, and the real one tests can move forward. */

/** A source of time that can also call back at a moment (ms since the epoch). */
export interface Clock {
  now(): number;
  /** Calls `fn` once when the clock reaches `at`; returns a function that cancels the call. */
  schedule(at: number, fn: () => void): () => void;
}

/** setTimeout caps at 2^31-1 ms (about 24.8 days): longer waits re-arm. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The wall clock. */
export const realClock: Clock = {
  now: () => Date.now(),
  schedule(at, fn) {
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = (): void => {
      if (cancelled) return;
      const wait = at - Date.now();
      if (wait <= 0) {
        handle = setTimeout(fn, 0);
      } else {
        handle = setTimeout(arm, Math.min(wait, MAX_TIMEOUT_MS));
      }
      handle.unref?.();
    };
    arm();
    return () => {
      cancelled = true;
      if (handle) clearTimeout(handle);
    };
  },
};

/**
 * A clock that only moves when told to. Callbacks due at or before the new time run in time order, each on
 * its own macrotask so the host can react (and schedule more) in between.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #pending = new Map<number, { at: number; fn: () => void }>();

  constructor(start: number | Date = Date.UTC(2025, 0, 1)) {
    this.#now = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  schedule(at: number, fn: () => void): () => void {
    const id = this.#seq++;
    if (at <= this.#now) {
      const t = setImmediate(fn);
      return () => clearImmediate(t);
    }
    this.#pending.set(id, { at, fn });
    return () => void this.#pending.delete(id);
  }

  /** Number of callbacks waiting for a future time. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** The earliest moment a callback waits for, if any. */
  nextAt(): number | undefined {
    let min: number | undefined;
    for (const p of this.#pending.values()) if (min === undefined || p.at < min) min = p.at;
    return min;
  }

  /** Moves the clock forward by `ms`, running every callback that falls due. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  /** Moves the clock to `target` (never backwards), running due callbacks in time order. */
  async advanceTo(target: number | Date): Promise<void> {
    const t = typeof target === "number" ? target : target.getTime();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#pending) if (entry[1].at <= t && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.#pending.delete(next[0]);
      if (next[1].at > this.#now) this.#now = next[1].at;
      next[1].fn();
      await new Promise((r) => setImmediate(r));
    }
    if (t > this.#now) this.#now = t;
  }
}

/**
 * The wall clock that a test can move forward at once (`jump`): time passes as usual, and a jump runs every callback
 * it makes due, so a test reaches "3.5 s later" or "the next cron tick" without sleeping. Jumps add up.
 */
export class JumpingClock implements Clock {
  #offset = 0;
  #seq = 0;
  #pending = new Map<number, { at: number; fn: () => void; cancel: () => void }>();

  now(): number {
    return Date.now() + this.#offset;
  }

  schedule(at: number, fn: () => void): () => void {
    const id = this.#seq++;
    const entry = { at, fn, cancel: () => {} };
    this.#pending.set(id, entry);
    this.#arm(id, entry);
    return () => {
      entry.cancel();
      this.#pending.delete(id);
    };
  }

  /** Moves the clock forward by `ms` and waits until the callbacks that became due have been called. */
  async jump(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new Error(`JumpingClock: cannot jump by ${ms} ms`);
    this.#offset += ms;
    const due: Promise<void>[] = [];
    for (const [id, entry] of this.#pending) {
      entry.cancel();
      if (entry.at <= this.now()) due.push(new Promise((resolve) => this.#arm(id, entry, resolve)));
      else this.#arm(id, entry);
    }
    await Promise.all(due);
  }

  #arm(id: number, entry: { at: number; fn: () => void; cancel: () => void }, called?: () => void): void {
    entry.cancel = realClock.schedule(entry.at - this.#offset, () => {
      this.#pending.delete(id);
      entry.fn();
      called?.();
    });
  }
}
