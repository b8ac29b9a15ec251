/**
 * Issue 16: the lease manager's safety timing with an injected clock and a scripted lease table (the SQL itself is
 * proven on real PostgreSQL in test/integration/cluster-*.test.ts). The local deadline counts from when the renew
 * was SENT; a renew that never answers, or answers late, cannot keep a node acting past it.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LeasePort, LostReason } from '../../hub/cluster/lease-manager.ts';
import { LeaseManager } from '../../hub/cluster/lease-manager.ts';
import type { HeldLease, LeaseSnapshotRow } from '../../hub/cluster/lease-store.ts';
import { ManualClock } from '../../protocols/clock.ts';

const TIMING = { leaseMs: 1_000, renewMs: 200, marginMs: 200 };

/**
 * An in-memory lease table timed by the manual clock (the "database clock"). `mode`: `ok` answers at once; `hang`
 * holds each request until `release()` and runs it then (it reached the database late). `isRenewLate`: a renew runs
 * at once but its answer is held until `release()` (slow on the way back).
 */
class ScriptedLeases implements LeasePort {
  mode: 'ok' | 'hang' = 'ok';
  /** Renews run at once (the table is extended) but their answers are held until `release()`. */
  isRenewLate = false;
  /** The same for acquisitions. */
  isAcquireLate = false;
  isHeartbeatRefused = false;
  readonly rows = new Map<number, { holder: string | null; epoch: number; endsAt: number }>();
  private readonly held: (() => void)[] = [];
  private readonly clock: ManualClock;

  constructor(clock: ManualClock, partitions: number) {
    this.clock = clock;
    for (let p = 0; p < partitions; p++) this.rows.set(p, { holder: null, epoch: 0, endsAt: -1 });
  }

  release(): void;
  release(node: string, lease: HeldLease): Promise<boolean>;
  release(node?: string, lease?: HeldLease): undefined | Promise<boolean> {
    if (node === undefined || lease === undefined) {
      for (const fn of this.held.splice(0)) fn();
      return undefined;
    }
    return this.answer(() => {
      const row = this.rows.get(lease.partition);
      if (row?.holder !== node || row.epoch !== lease.epoch) return false;
      row.holder = null;
      row.endsAt = -1;
      return true;
    });
  }

  private answer<T>(fn: () => T, isLate = false): Promise<T> {
    if (isLate) {
      const value = fn();
      return new Promise((resolve) => this.held.push(() => resolve(value)));
    }
    if (this.mode === 'ok') return Promise.resolve(fn());
    return new Promise((resolve) => this.held.push(() => resolve(fn())));
  }

  prepare(): Promise<void> {
    return Promise.resolve();
  }
  heartbeat(): Promise<boolean> {
    return this.answer(() => !this.isHeartbeatRefused);
  }
  liveNodes(): Promise<string[]> {
    return this.answer(() => ['me']);
  }
  leave(): Promise<void> {
    return Promise.resolve();
  }
  snapshot(): Promise<LeaseSnapshotRow[]> {
    return this.answer(() =>
      [...this.rows].map(([partition, r]) => ({
        partition,
        holder: r.holder,
        epoch: r.epoch,
        isLive: r.endsAt > this.clock.monotonicNow(),
      })),
    );
  }
  acquire(partition: number, node: string, leaseMs: number) {
    return this.answer(() => {
      const row = this.rows.get(partition)!;
      const now = this.clock.monotonicNow();
      if (row.holder !== null && row.holder !== node && row.endsAt > now) return undefined;
      const previous = row.holder;
      Object.assign(row, { holder: node, epoch: row.epoch + 1, endsAt: now + leaseMs });
      return { epoch: row.epoch, previous };
    }, this.isAcquireLate);
  }
  renew(node: string, held: readonly HeldLease[], leaseMs: number): Promise<HeldLease[]> {
    return this.answer(() => {
      const now = this.clock.monotonicNow();
      return held.filter((h) => {
        const row = this.rows.get(h.partition);
        if (row?.holder !== node || row.epoch !== h.epoch || row.endsAt <= now) return false;
        row.endsAt = now + leaseMs;
        return true;
      });
    }, this.isRenewLate);
  }
}

/** Let pending promise callbacks run (no time passes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

async function setup(partitions = 2) {
  const clock = new ManualClock(0);
  const leases = new ScriptedLeases(clock, partitions);
  const manager = new LeaseManager({
    node: 'me',
    partitions,
    clock,
    logger: pino({ level: 'silent' }),
    leases,
    ...TIMING,
  });
  const lost: { partition: number; reason: LostReason; at: number }[] = [];
  const failures: string[] = [];
  manager.on('lost', (partition, reason) => lost.push({ partition, reason, at: clock.monotonicNow() }));
  manager.on('renewFailed', (err) => failures.push(err.message));
  await manager.start();
  await settle();
  return { clock, leases, manager, lost, failures };
}

/** Advance in renew-sized steps, letting the answers arrive between steps. */
async function advance(clock: ManualClock, ms: number, stepMs = 50): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    clock.advance(Math.min(stepMs, ms - done));
    await settle();
  }
}

describe('lease manager timing', () => {
  it('takes the free partitions and keeps them while renews answer', async () => {
    const { clock, manager, lost } = await setup();
    expect(manager.heldLeases()).toEqual([
      { partition: 0, epoch: 1 },
      { partition: 1, epoch: 1 },
    ]);
    await advance(clock, 10_000);
    expect(lost).toEqual([]);
    expect(manager.heldLeases()).toHaveLength(2);
  });

  it('a renew that never answers: lost exactly at (last good renew SENT) + lease - margin, before the table says ended', async () => {
    const { clock, leases, manager, lost } = await setup();
    await advance(clock, 1_000); // renews at 200, 400, ... 1000 answered at once
    const lastGoodSentAt = 1_000;
    leases.mode = 'hang';
    await advance(clock, TIMING.leaseMs - TIMING.marginMs - 50);
    expect(manager.heldLeases()).toHaveLength(2);
    await advance(clock, 50);
    expect(lost.map((l) => [l.partition, l.reason, l.at])).toEqual([
      [0, 'renew-deadline', lastGoodSentAt + TIMING.leaseMs - TIMING.marginMs],
      [1, 'renew-deadline', lastGoodSentAt + TIMING.leaseMs - TIMING.marginMs],
    ]);
    expect(manager.epochOf(0)).toBeUndefined();
    // the table still has them: nobody else could have taken them yet
    for (const row of leases.rows.values()) expect(row.endsAt).toBeGreaterThan(clock.monotonicNow());
  });

  it('a renew answered late counts from when it was SENT, not from when the answer came', async () => {
    const { clock, leases, lost } = await setup(1);
    await advance(clock, 400);
    leases.isRenewLate = true;
    await advance(clock, 200); // renew sent at 600: the table extends the lease at once, the answer is held
    await advance(clock, 100);
    leases.isRenewLate = false;
    leases.release(); // the answer arrives at 700
    await settle();
    leases.mode = 'hang'; // from now on nothing answers
    await advance(clock, 1_000);
    expect(lost.map((l) => [l.reason, l.at])).toEqual([['renew-deadline', 600 + TIMING.leaseMs - TIMING.marginMs]]);
  });

  it('an answer that arrives after the local deadline brings nothing back; the partition is re-taken at a new epoch', async () => {
    const { clock, leases, manager, lost } = await setup(1);
    const acquired: number[] = [];
    manager.on('acquired', (_p, epoch) => acquired.push(epoch));
    await advance(clock, 400);
    leases.isRenewLate = true;
    await advance(clock, 200 + 800); // renew sent at 600 never answered in time; the last good one was sent at 400
    expect(lost.map((l) => [l.reason, l.at])).toEqual([['renew-deadline', 400 + TIMING.leaseMs - TIMING.marginMs]]);
    leases.isRenewLate = false;
    leases.release(); // the 600 answer ("renewed at epoch 1") arrives at 1200
    await settle();
    expect(acquired).toEqual([2]);
    expect(manager.heldLeases()).toEqual([{ partition: 0, epoch: 2 }]);
  });

  it('an acquisition answered after its local deadline is not acted on (no acquired, no lost)', async () => {
    const clock = new ManualClock(0);
    const leases = new ScriptedLeases(clock, 1);
    leases.isAcquireLate = true;
    const manager = new LeaseManager({
      node: 'me',
      partitions: 1,
      clock,
      logger: pino({ level: 'silent' }),
      leases,
      ...TIMING,
    });
    const events: string[] = [];
    manager.on('acquired', (p, epoch) => events.push(`acquired ${p}@${epoch}`));
    manager.on('lost', (p, reason) => events.push(`lost ${p} ${reason}`));
    const started = manager.start();
    await settle();
    clock.advance(TIMING.leaseMs - TIMING.marginMs); // the answer is still on its way at the local deadline
    leases.isAcquireLate = false;
    leases.release();
    await started;
    expect(events).toEqual([]);
    expect(manager.heldLeases()).toEqual([]);
    await manager.halt();
  });

  it('a renew the table refuses (another epoch) is lost at once as not-renewed, then re-acquired with a new epoch', async () => {
    const { clock, leases, manager, lost } = await setup(1);
    leases.rows.get(0)!.epoch = 7; // someone else acquired and gave it back meanwhile
    leases.rows.get(0)!.holder = null;
    await advance(clock, 200);
    expect(lost.map((l) => l.reason)).toEqual(['not-renewed']);
    expect(manager.heldLeases()).toEqual([{ partition: 0, epoch: 8 }]);
  });

  it('a refused heartbeat (node id taken by another process) is a renew failure and takes nothing', async () => {
    const clock = new ManualClock(0);
    const leases = new ScriptedLeases(clock, 2);
    leases.isHeartbeatRefused = true;
    const manager = new LeaseManager({
      node: 'me',
      partitions: 2,
      clock,
      logger: pino({ level: 'silent' }),
      leases,
      ...TIMING,
    });
    const failures: string[] = [];
    manager.on('renewFailed', (err) => failures.push(err.message));
    await manager.start();
    await advance(clock, 400);
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures[0]).toMatch(/node id "me" is in use by another running hub/);
    expect(manager.heldLeases()).toEqual([]);
    await manager.halt();
  });

  it('stop gives every partition back after saying lost(stopping)', async () => {
    const { leases, manager, lost } = await setup();
    await manager.stop();
    expect(lost.map((l) => l.reason)).toEqual(['stopping', 'stopping']);
    for (const row of leases.rows.values()) expect(row.holder).toBeNull();
  });
});
