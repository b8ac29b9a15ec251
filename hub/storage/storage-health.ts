/**
 * Storage faults are loud (issue 19): every failed SQLite write is counted by store
 * (`hezo_store_write_failures_total{store}`), the data folder's free space is a gauge (`hezo_data_dir_free_bytes`),
 * and while any write is waiting for a retry the hub is `degraded` with the reason (GET /healthz answers 503
 * `{status: "degraded", reasons}`; see README "Storage faults"). One instance per hub context (`storageHealthOf`),
 * so modules need no new wiring.
 */
import { statfsSync } from 'node:fs';
import { Counter, Gauge } from 'prom-client';
import type { HubContext } from '../context.ts';

export interface StorageStatus {
  status: 'ok' | 'degraded';
  reasons: string[];
  freeBytes: number | null;
}

export class StorageHealth {
  private readonly dataDir: string;
  private readonly failures: Counter<'store'>;
  /** store -> what is waiting (set while writes are failing, cleared when they succeed again). */
  private readonly pending = new Map<string, string>();

  constructor(ctx: Pick<HubContext, 'metrics' | 'config'>) {
    this.dataDir = ctx.config.dataDir;
    this.failures = new Counter({
      name: 'hezo_store_write_failures_total',
      help: 'SQLite writes that failed (disk full, I/O error), by store',
      labelNames: ['store'],
      registers: [ctx.metrics],
    });
    const self = this;
    new Gauge({
      name: 'hezo_data_dir_free_bytes',
      help: "Free bytes on the data folder's filesystem (for an unprivileged user)",
      registers: [ctx.metrics],
      collect() {
        const free = self.freeBytes();
        if (free !== null) this.set(free);
      },
    });
    new Gauge({
      name: 'hezo_store_degraded',
      help: '1 while some store writes are waiting for a retry (disk full, I/O error)',
      registers: [ctx.metrics],
      collect() {
        this.set(self.pending.size > 0 ? 1 : 0);
      },
    });
  }

  /** A write to `store` failed; `waiting` says what is kept for the retry. */
  noteFailure(store: string, err: unknown, waiting: string): void {
    this.failures.labels(store).inc();
    const message = err instanceof Error ? err.message : String(err);
    this.pending.set(store, `${store}: ${waiting} (last error: ${message.slice(0, 160)})`);
  }

  /** Writes to `store` work again (nothing of it waits any more). */
  noteRecovered(store: string): void {
    this.pending.delete(store);
  }

  status(): StorageStatus {
    const reasons = [...this.pending.values()];
    return { status: reasons.length > 0 ? 'degraded' : 'ok', reasons, freeBytes: this.freeBytes() };
  }

  private freeBytes(): number | null {
    try {
      const s = statfsSync(this.dataDir);
      return s.bavail * s.bsize;
    } catch {
      return null;
    }
  }
}

const byContext = new WeakMap<object, StorageHealth>();

/** The hub's one StorageHealth (created on first use). */
export function storageHealthOf(ctx: Pick<HubContext, 'metrics' | 'config'>): StorageHealth {
  let health = byContext.get(ctx.metrics);
  if (health === undefined) {
    health = new StorageHealth(ctx);
    byContext.set(ctx.metrics, health);
  }
  return health;
}

/** A write that failed because of the storage (disk full, I/O, locked, read-only), worth retrying later. */
export function isStorageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|PROTOCOL|NOLFS|CORRUPT)/.test(code) &&
    !code.startsWith('SQLITE_CONSTRAINT')
  );
}
