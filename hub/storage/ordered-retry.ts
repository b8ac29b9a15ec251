/**
 * Write first, then move on - and when the write fails, keep it and retry it in order (issue 19).
 * An `OrderedRetry` runs `apply(item)` for each item in arrival order. When `apply` throws (disk full, I/O
 * error) the item and everything after it wait in memory, and the queue is retried every `retryMs` until it
 * drains: nothing is dropped, nothing overtakes. Failures and recovery are reported to StorageHealth.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import type { StorageHealth } from './storage-health.ts';

export interface OrderedRetryDeps<T> {
  /** The store's name in metrics and the degraded reason. */
  store: string;
  /** What one waiting item is, in words (e.g. "device transition(s) not stored or announced"). */
  waitingWhat: string;
  clock: Clock;
  retryMs: number;
  health: StorageHealth;
  log: Logger;
  /** The write. It must be all or nothing (one statement or one transaction). */
  apply(item: T): void;
  /** What follows a successful write (announce it); its errors are logged, never retried. */
  after?(item: T): void;
}

export class OrderedRetry<T> {
  private readonly deps: OrderedRetryDeps<T>;
  private readonly queue: T[] = [];
  private cancelTimer: (() => void) | undefined;
  private isDraining = false;
  private isStopped = false;

  constructor(deps: OrderedRetryDeps<T>) {
    this.deps = deps;
  }

  /** Apply `item` now, or queue it behind the items still waiting. */
  push(item: T): void {
    this.queue.push(item);
    this.drain();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Try the waiting items now (also run by the retry timer). */
  drain(): void {
    if (this.isDraining || this.isStopped) return;
    this.isDraining = true;
    try {
      while (this.queue.length > 0) {
        try {
          this.deps.apply(this.queue[0] as T);
        } catch (err) {
          const first = this.cancelTimer === undefined;
          this.deps.health.noteFailure(this.deps.store, err, `${this.queue.length} ${this.deps.waitingWhat}`);
          if (first) {
            this.deps.log.error(
              { err, store: this.deps.store, waiting: this.queue.length },
              'store write failed: kept in memory, retrying',
            );
          }
          this.arm();
          return;
        }
        const done = this.queue.shift() as T;
        try {
          this.deps.after?.(done);
        } catch (err) {
          this.deps.log.error({ err, store: this.deps.store }, 'after a stored write: follow-up failed');
        }
      }
      if (this.cancelTimer !== undefined) {
        this.cancelTimer();
        this.cancelTimer = undefined;
        this.deps.log.warn({ store: this.deps.store }, 'store writes work again: every waiting item stored');
      }
      this.deps.health.noteRecovered(this.deps.store);
    } finally {
      this.isDraining = false;
    }
  }

  stop(): void {
    this.isStopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private arm(): void {
    this.cancelTimer?.();
    this.cancelTimer = this.deps.clock.setTimer(this.deps.retryMs, () => {
      this.cancelTimer = () => {};
      this.drain();
    });
  }
}
