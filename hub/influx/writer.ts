/**
 * Batched, bounded, retrying point writer. The hub never waits on InfluxDB:
 * - points go into an in-memory queue of at most `maxQueue`; beyond that the OLDEST are dropped and counted
 *   (`hezo_influx_points_dropped_total`), so the newest history survives an outage;
 * - a batch of at most `batchSize` (<= 1000, so serialising one never blocks the loop for long) is written when
 *   it is full or every `flushIntervalMs`, one request at a time;
 * - a failed write puts its batch back at the head and retries with exponential backoff up to `retryMaxMs`;
 *   when InfluxDB answers again the queue drains batch after batch (catch-up), yielding between batches.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../../protocols/clock.ts';
import { PointQueue } from './point-queue.ts';
import type { Point } from './points.ts';

export interface PointSink {
  /** Create the database when missing (called before the first write, and again after a failure). */
  ensureDatabase(): Promise<void>;
  write(points: Point[]): Promise<void>;
}

export interface WriterOptions {
  sink: PointSink;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  batchSize: number;
  flushIntervalMs: number;
  maxQueue: number;
  retryMaxMs: number;
}

export interface WriterStats {
  queued: number;
  written: number;
  dropped: number;
  failures: number;
}

export const MAX_BATCH = 1000;

export class InfluxBatchWriter {
  private readonly opts: WriterOptions;
  private readonly batchSize: number;
  private readonly queue: PointQueue<Point>;
  private isWriting = false;
  private isDatabaseReady = false;
  private isStopped = false;
  private consecutiveFailures = 0;
  /** Set while waiting out a retry backoff: no flush before it fires. */
  private isBackingOff = false;
  private cancelTimer: (() => void) | undefined;
  private readonly counts = { written: 0, dropped: 0, failures: 0 };
  private readonly metrics: { written: Counter; dropped: Counter; failures: Counter };

  constructor(opts: WriterOptions) {
    this.opts = opts;
    this.batchSize = Math.min(MAX_BATCH, Math.max(1, opts.batchSize));
    this.queue = new PointQueue<Point>();
    const registers = [opts.metrics];
    const writer = this;
    new Gauge({
      name: 'hezo_influx_queue_points',
      help: 'Points waiting to be written to InfluxDB',
      registers,
      collect() {
        this.set(writer.queue.length);
      },
    });
    this.metrics = {
      written: new Counter({ name: 'hezo_influx_points_written_total', help: 'Points written to InfluxDB', registers }),
      dropped: new Counter({
        name: 'hezo_influx_points_dropped_total',
        help: 'Points dropped because the InfluxDB queue was full',
        registers,
      }),
      failures: new Counter({ name: 'hezo_influx_write_errors_total', help: 'Failed InfluxDB writes', registers }),
    };
  }

  start(): void {
    this.scheduleFlush(this.opts.flushIntervalMs);
  }

  enqueue(points: Point[]): void {
    if (this.isStopped || points.length === 0) return;
    for (const point of points) this.queue.push(point);
    const excess = this.queue.length - this.opts.maxQueue;
    if (excess > 0) this.drop(excess);
    if (this.queue.length >= this.batchSize && !this.isWriting && !this.isBackingOff) {
      setImmediate(() => void this.drain());
    }
  }

  stats(): WriterStats {
    return { queued: this.queue.length, ...this.counts };
  }

  /** Write everything queued now (one attempt per batch); resolves when done or on the first failure. */
  async flush(): Promise<void> {
    await this.drain();
  }

  /** Stop timers and try once, within `deadlineMs`, to write what is left. */
  async stop(deadlineMs = 2000): Promise<void> {
    this.isStopped = true;
    this.cancelTimer?.();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    await Promise.race([this.drain(), deadline]);
    clearTimeout(timer);
    if (this.queue.length > 0) {
      this.opts.logger.warn({ points: this.queue.length }, 'influx points not written at stop');
    }
  }

  private drop(n: number): void {
    this.queue.dropOldest(n);
    this.counts.dropped += n;
    this.metrics.dropped.inc(n);
  }

  private scheduleFlush(delayMs: number): void {
    this.cancelTimer?.();
    if (this.isStopped) return;
    this.cancelTimer = this.opts.clock.setTimer(delayMs, () => {
      this.cancelTimer = undefined;
      this.isBackingOff = false;
      void this.drain().finally(() => {
        if (!this.isBackingOff) this.scheduleFlush(this.opts.flushIntervalMs);
      });
    });
  }

  private async drain(): Promise<void> {
    if (this.isWriting) return;
    this.isWriting = true;
    try {
      while (this.queue.length > 0) {
        if (!this.isDatabaseReady) {
          await this.opts.sink.ensureDatabase();
          this.isDatabaseReady = true;
        }
        const batch = this.queue.take(this.batchSize);
        try {
          await this.opts.sink.write(batch);
        } catch (err) {
          this.requeue(batch);
          throw err;
        }
        this.counts.written += batch.length;
        this.metrics.written.inc(batch.length);
        if (this.consecutiveFailures > 0) {
          this.opts.logger.warn({ failures: this.consecutiveFailures }, 'influx writes recovered');
          this.consecutiveFailures = 0;
        }
        // Yield between batches so a catch-up never holds the loop.
        if (this.queue.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.onFailure(err);
    } finally {
      this.isWriting = false;
    }
  }

  private requeue(batch: Point[]): void {
    this.queue.unshiftAll(batch);
    const excess = this.queue.length - this.opts.maxQueue;
    if (excess > 0) this.drop(excess);
  }

  private onFailure(err: unknown): void {
    this.isDatabaseReady = false;
    this.consecutiveFailures += 1;
    this.counts.failures += 1;
    this.metrics.failures.inc();
    const base = Math.min(this.opts.retryMaxMs, this.opts.flushIntervalMs * 2 ** (this.consecutiveFailures - 1));
    const delayMs = Math.round(base * (0.8 + Math.random() * 0.4));
    const log = this.opts.logger;
    if (this.consecutiveFailures === 1) log.warn({ err, retryInMs: delayMs }, 'influx write failed');
    else log.debug({ err, retryInMs: delayMs, failures: this.consecutiveFailures }, 'influx write failed again');
    if (this.isStopped) return;
    this.isBackingOff = true;
    this.scheduleFlush(delayMs);
  }
}
