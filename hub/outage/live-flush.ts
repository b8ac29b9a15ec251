/**
 * The outage module's batched write of lastSeen/agent/firmware and sampled health records (never one write per
 * record). Every `intervalMs` the rows made dirty since the last tick are written in chunks of at most `chunkRows`
 * rows, one transaction each, with the event loop free between chunks (10k devices: ~20 short transactions); then the
 * other hub nodes are told once (store.notifyLive: they read the lastSeen rows written since). A failed chunk is
 * lastSeen and sampled history only: its devices are written again, with their newest values, at the next tick.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocols/clock.ts';
import type { StorageHealth } from '../storage/storage-health.ts';
import { SerialQueue } from '../store/serial-queue.ts';
import type { LiveInfo, OutageStore, RecordText } from './store.ts';

export interface LiveFlushDeps {
  store: OutageStore;
  clock: Clock;
  intervalMs: number;
  chunkRows: number;
  health: StorageHealth;
  log: Logger;
  /** The rows made dirty since the last call (the caller forgets them). */
  takeDirty(): { live: Array<[string, LiveInfo]>; records: RecordText[] };
  /** A chunk with these devices' lastSeen failed: mark them dirty again. */
  retry(serials: readonly string[]): void;
}

export class LiveFlush {
  private readonly deps: LiveFlushDeps;
  /** Taken from the dirty sets, not written yet (the timed flush writes it in chunks). */
  private backlogLive: Array<[string, LiveInfo]> = [];
  private backlogRecords: RecordText[] = [];
  private liveAt = 0;
  private recordsAt = 0;
  private isRunning = false;
  private cancelTimer: (() => void) | undefined;
  /** One chunk written at a time (the timed flush and an explicit one never write beside each other). */
  private readonly chunks: SerialQueue;
  /** The oldest lastSeen written since the other nodes were last told. */
  private liveWrittenSince: string | undefined;

  constructor(deps: LiveFlushDeps) {
    this.deps = deps;
    this.chunks = new SerialQueue((err) => deps.log.error({ err }, 'flush failed'));
  }

  start(): void {
    this.isRunning = true;
    this.schedule();
  }

  /** No more timed flushes (a chunk under way finishes; `flush()` writes the rest). */
  stop(): void {
    this.isRunning = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /** Everything now, in one go (stop, explicit calls), after the chunk under way. */
  flush(): Promise<void> {
    return this.chunks.run(async () => {
      this.take();
      while (await this.writeChunk(Number.POSITIVE_INFINITY));
      this.tellLiveWritten();
    });
  }

  /** Settles when no chunk is being written. */
  idle(): Promise<void> {
    return this.chunks.idle();
  }

  private take(): void {
    const { live, records } = this.deps.takeDirty();
    for (const row of live) this.backlogLive.push(row);
    for (const r of records) this.backlogRecords.push(r);
  }

  /** Write up to `maxRows` rows of the backlog in one transaction; true while rows remain. */
  private async writeChunk(maxRows: number): Promise<boolean> {
    const liveEnd = Math.min(this.backlogLive.length, this.liveAt + maxRows);
    const recordsEnd = Math.min(this.backlogRecords.length, this.recordsAt + maxRows - (liveEnd - this.liveAt));
    const liveRows = this.backlogLive.slice(this.liveAt, liveEnd);
    const records = this.backlogRecords.slice(this.recordsAt, recordsEnd);
    this.liveAt = liveEnd;
    this.recordsAt = recordsEnd;
    if (liveRows.length > 0 || records.length > 0) {
      try {
        await this.deps.store.flush(liveRows, records);
        this.deps.health.noteRecovered('health-history');
        for (const [, info] of liveRows) {
          if (this.liveWrittenSince === undefined || info.lastSeen < this.liveWrittenSince) {
            this.liveWrittenSince = info.lastSeen;
          }
        }
      } catch (err) {
        // lastSeen and sampled history only: the next flush writes the newest values again.
        this.deps.retry(liveRows.map(([serial]) => serial));
        this.deps.health.noteFailure('health-history', err, 'lastSeen and recent records not written');
        this.deps.log.error({ err, devices: liveRows.length }, 'flush failed');
      }
    }
    if (this.liveAt < this.backlogLive.length || this.recordsAt < this.backlogRecords.length) return true;
    this.backlogLive = [];
    this.backlogRecords = [];
    this.liveAt = 0;
    this.recordsAt = 0;
    return false;
  }

  private tellLiveWritten(): void {
    if (this.liveWrittenSince === undefined) return;
    const since = this.liveWrittenSince;
    this.liveWrittenSince = undefined;
    void this.deps.store.notifyLive(since);
  }

  /** The timed flush: a chunk, then the event loop serves messages before the next one. */
  private async flushInChunks(): Promise<void> {
    this.take();
    while (this.isRunning && (await this.chunks.run(() => this.writeChunk(this.deps.chunkRows)))) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.tellLiveWritten(); // once per tick, not per chunk
    if (this.isRunning) this.schedule();
  }

  private schedule(): void {
    this.cancelTimer = this.deps.clock.setTimer(this.deps.intervalMs, () => {
      this.cancelTimer = undefined;
      void this.flushInChunks();
    });
  }
}
