/**
 * Automatic tickets are written in transition order, and a storage failure keeps the transition and every later one
 * for a retry (issue 19: disk full; issue 16: the database away), so the ticket opens once the store is back. The
 * async twin of hub/storage/ordered-retry.ts (the ticket store is async): `apply` runs one item at a time, in
 * arrival order; a storage error (`isRetryable`) stops the queue and retries it every `retryMs`; any other error is
 * the item's own failure (logged by `apply`'s caller), and the queue goes on.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import { isStorageError, type StorageHealth } from '../storage/storage-health.ts';

export interface AsyncOrderedRetryDeps<T> {
  store: string;
  waitingWhat: string;
  clock: Clock;
  retryMs: number;
  health: StorageHealth;
  log: Logger;
  /** The write (all or nothing); a rejection that `isRetryable` keeps it for a retry. */
  apply(item: T): Promise<void>;
  isRetryable(err: unknown): boolean;
}

export class AsyncOrderedRetry<T> {
  private readonly deps: AsyncOrderedRetryDeps<T>;
  private readonly queue: T[] = [];
  private cancelTimer: (() => void) | undefined;
  private draining: Promise<void> | undefined;
  private isStopped = false;

  constructor(deps: AsyncOrderedRetryDeps<T>) {
    this.deps = deps;
  }

  push(item: T): void {
    this.queue.push(item);
    void this.drain();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Write the waiting items now; settles when the queue is empty or waits for its retry. */
  drain(): Promise<void> {
    if (this.isStopped) return Promise.resolve();
    this.draining ??= this.run().finally(() => {
      this.draining = undefined;
      // pushed while the loop was ending (and not waiting for a retry): write it now
      if (this.queue.length > 0 && this.cancelTimer === undefined) void this.drain();
    });
    return this.draining;
  }

  /** Settles when the items pushed so far are written (or waiting for a retry). */
  async idle(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  stop(): void {
    this.isStopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0 && !this.isStopped) {
      try {
        await this.deps.apply(this.queue[0] as T);
      } catch (err) {
        if (!this.deps.isRetryable(err)) {
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
        this.arm();
        return;
      }
      this.queue.shift();
    }
    if (this.cancelTimer !== undefined) {
      this.cancelTimer();
      this.cancelTimer = undefined;
      this.deps.log.warn({ store: this.deps.store }, 'store writes work again: every waiting item stored');
    }
    this.deps.health.noteRecovered(this.deps.store);
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
