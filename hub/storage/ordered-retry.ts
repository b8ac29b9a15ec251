/**
 * Write first, then move on - and when the write fails, keep it and retry it in order (issues 19 and 16).
 * An `OrderedRetry` writes each item (`apply` resolves), THEN runs `after` (announce it), in arrival order. When a
 * write rejects (disk full, lost database) that item and every later one wait in memory and are retried every
 * `retryMs` until they are all written: nothing dropped, nothing overtakes. Failures and recovery are reported to
 * StorageHealth. Used by the outage module (transitions stored, then announced) and the automatic tickets.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import { isStorageError, type StorageHealth } from './storage-health.ts';

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
  apply(item: T): Promise<void>;
  /** What follows a successful write (announce it); its errors are logged, never retried. */
  after?(item: T): void;
  /**
   * Whether a failed write is kept for a retry (the store is unavailable) or is the item's own failure, dropped (its
   * caller logged it) while the queue goes on. Default: every failure is retried.
   */
  isRetryable?(err: unknown): boolean;
}

export class OrderedRetry<T> {
  private readonly deps: OrderedRetryDeps<T>;
  private readonly queue: T[] = [];
  private cancelTimer: (() => void) | undefined;
  private isDraining = false;
  private isStopped = false;
  private draining: Promise<void> = Promise.resolve();

  constructor(deps: OrderedRetryDeps<T>) {
    this.deps = deps;
  }

  /** Write `item` now, or queue it behind the items still waiting. */
  push(item: T): void {
    this.queue.push(item);
    void this.drain();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Try the waiting items now (also run by the retry timer); settles when they are written or a write failed. */
  drain(): Promise<void> {
    if (this.isDraining || this.isStopped) return this.draining;
    this.isDraining = true;
    this.draining = this.writeAll();
    return this.draining;
  }

  /** Settles once no write is under way (every item written, or the rest waits for the retry timer). */
  async idle(): Promise<void> {
    while (this.isDraining) await this.draining;
  }

  stop(): void {
    this.isStopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private async writeAll(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        try {
          await this.deps.apply(this.queue[0] as T);
        } catch (err) {
          if (this.deps.isRetryable?.(err) === false) {
            this.queue.shift();
            continue;
          }
          const first = this.cancelTimer === undefined;
          this.deps.health.noteFailure(this.deps.store, err, `${this.queue.length} ${this.deps.waitingWhat}`);
          if (first) {
            this.deps.log.error(
              { err, store: this.deps.store, waiting: this.queue.length },
              'store write failed: kept in memory, retrying',
            );
          }
          if (!this.isStopped) this.arm();
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

  private arm(): void {
    this.cancelTimer?.();
    this.cancelTimer = this.deps.clock.setTimer(this.deps.retryMs, () => {
      this.cancelTimer = () => {};
      void this.drain();
    });
  }
}

/** A write that failed because the store is unavailable (full disk, I/O; PostgreSQL away or cut), worth retrying. */
export function isStoreUnavailable(err: unknown): boolean {
  if (isStorageError(err)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(08|57P|53)|^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH)$/.test(code)) {
    return true;
  }
  return (
    err instanceof Error &&
    /Connection terminated|Query read timeout|timeout exceeded when trying to connect/.test(err.message)
  );
}
