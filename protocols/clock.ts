/** Injected time, so detection, SLA clocks and retries are testable with a virtual clock. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Run `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
  /**
   * Milliseconds on a monotonic clock (never stepped by NTP or an operator), for measuring durations and
   * scheduling; only differences mean anything. Optional: `monotonicNow(clock)` falls back to `now()`.
   */
  monotonicNow?(): number;
}

/** The clock's monotonic time, or its wall time when it has none. */
export function monotonicNow(clock: Clock): number {
  return clock.monotonicNow?.() ?? clock.now();
}

/** Run `fn` every `ms` on `clock` (the first time after `ms`); returns the function that stops it. */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  let cancel = clock.setTimer(ms, function tick() {
    cancel = clock.setTimer(ms, tick);
    fn();
  });
  return () => cancel();
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonicNow: () => performance.now(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return () => clearTimeout(handle);
  },
};

/**
 * A clock that only moves when told to; timers fire in order as time is advanced. `stepWall` moves only the
 * wall clock (`now()`), as NTP or an operator would: timers and `monotonicNow()` do not jump.
 */
export class ManualClock implements Clock {
  private current: number;
  private wallOffsetMs = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start: number | string | Date = 0) {
    this.current = typeof start === 'number' ? start : new Date(start).getTime();
  }

  now(): number {
    return this.current + this.wallOffsetMs;
  }

  monotonicNow(): number {
    return this.current;
  }

  /** Step the wall clock by `ms` (either sign) without firing or moving timers. */
  stepWall(ms: number): void {
    this.wallOffsetMs += ms;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const id = this.nextId++;
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn });
    return () => this.timers.delete(id);
  }

  /** Move time forward, firing due timers in time order (timers set by timers fire too when due). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let nextId: number | undefined;
      let nextAt = Number.POSITIVE_INFINITY;
      for (const [id, timer] of this.timers) {
        if (timer.at <= target && timer.at < nextAt) {
          nextAt = timer.at;
          nextId = id;
        }
      }
      if (nextId === undefined) break;
      const timer = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      this.current = Math.max(this.current, timer.at);
      timer.fn();
    }
    this.current = target;
  }

  set(at: number | string | Date): void {
    const target = typeof at === 'number' ? at : new Date(at).getTime();
    this.advance(Math.max(0, target - this.now()));
  }

  get pendingTimers(): number {
    return this.timers.size;
  }
}
