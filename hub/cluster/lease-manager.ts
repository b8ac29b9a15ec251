/**
 * One hub node's partition leases (issue 16). Every `renewMs` (one tick): heartbeat, renew what it holds, read the
 * live nodes and the lease table, then give up or take partitions towards its fair share (partitions.ts).
 *
 * Safety: for each held partition the node keeps a LOCAL deadline = (monotonic instant its last successful renew
 * was SENT) + leaseMs - marginMs (deadline.ts). A timer fires at the earliest deadline: a node that cannot reach
 * PostgreSQL emits `lost` before the database lets another node take the partition. Whatever emits `lost`, the
 * node must stop acting for that partition at once; writes are fenced by epoch anyway (fencing.ts).
 *
 * Events: `acquired(partition, epoch, previousHolder)`, `lost(partition, reason)`, `renewFailed(error)`.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { type Clock, monotonicNow } from '../../protocols/clock.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { expiredAt, type LeaseTiming, localDeadline, nextDeadline } from './deadline.ts';
import { migrateCluster } from './lease-schema.ts';
import { LeaseStore } from './lease-store.ts';
import { planRebalance } from './partitions.ts';

export type LostReason =
  /** No successful renew before the local deadline (PostgreSQL unreachable or too slow). */
  | 'renew-deadline'
  /** The database no longer had it at our epoch (it ended, or another node took it). */
  | 'not-renewed'
  /** Given up for another node's fair share. */
  | 'rebalance'
  /** This node is stopping. */
  | 'stopping';

/** The lease statements the manager needs (LeaseStore on PostgreSQL; unit tests give a scripted one). */
export type LeasePort = Pick<
  LeaseStore,
  'prepare' | 'heartbeat' | 'liveNodes' | 'leave' | 'snapshot' | 'acquire' | 'renew' | 'release'
>;

export type LeaseManagerOptions = LeaseTiming & {
  node: string;
  partitions: number;
  clock: Clock;
  logger: Logger;
} & ({ store: SqlStore } | { leases: LeasePort });

/** Another live process uses this node id: two processes must never share one (give each hub its own `node`). */
export class NodeIdInUseError extends Error {
  constructor(node: string) {
    super(`node id "${node}" is in use by another running hub (cluster_nodes)`);
    this.name = 'NodeIdInUseError';
  }
}

export interface LeaseManagerEvents {
  acquired: [partition: number, epoch: number, previousHolder: string | null];
  lost: [partition: number, reason: LostReason];
  renewFailed: [error: Error];
}

export class LeaseManager extends EventEmitter<LeaseManagerEvents> {
  readonly node: string;
  /** This process's identity in cluster_nodes (another process with the same node id is refused). */
  readonly instance = randomUUID();
  private readonly opts: LeaseManagerOptions;
  private readonly leases: LeasePort;
  private readonly log: Logger;
  /** partition -> epoch, and partition -> local deadline (monotonic ms). */
  private readonly held = new Map<number, number>();
  private readonly deadlines = new Map<number, number>();
  private isRunning = false;
  private cancelTick: (() => void) | undefined;
  private cancelDeadline: (() => void) | undefined;
  private ticking: Promise<void> | undefined;
  private liveNodeCount = 0;
  private failuresInRow = 0;

  constructor(opts: LeaseManagerOptions) {
    super();
    this.opts = opts;
    this.node = opts.node;
    this.leases = 'store' in opts ? new LeaseStore(opts.store) : opts.leases;
    this.log = opts.logger.child({ component: 'cluster', node: opts.node });
  }

  /** Partitions held now (sorted) with their epochs. */
  heldLeases(): { partition: number; epoch: number }[] {
    return [...this.held].map(([partition, epoch]) => ({ partition, epoch })).sort((a, b) => a.partition - b.partition);
  }

  /** The epoch under which this node acts for `partition`, or undefined when it must not act for it. */
  epochOf(partition: number): number | undefined {
    return this.held.get(partition);
  }

  get liveNodes(): number {
    return this.liveNodeCount;
  }

  /** Migrate, check the partition count, then run the first tick (rejects when PostgreSQL cannot be reached). */
  async start(): Promise<void> {
    if ('store' in this.opts) await migrateCluster(this.opts.store);
    await this.leases.prepare(this.opts.partitions);
    this.isRunning = true;
    await this.runTick();
  }

  /** Give every partition back (lost 'stopping' first) and leave the node list. */
  async stop(): Promise<void> {
    if (!this.isRunning) return;
    await this.halt();
    const held = this.heldLeases();
    for (const lease of held) this.drop(lease.partition, 'stopping');
    try {
      for (const lease of held) await this.leases.release(this.node, lease);
      await this.leases.leave(this.node, this.instance);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cluster: leases not released on stop (they will expire)');
    }
  }

  /** Stop every timer without releasing anything: what a crash (kill -9) looks like to the other nodes. */
  halt(): Promise<void> {
    this.isRunning = false;
    this.cancelTick?.();
    this.cancelDeadline?.();
    this.cancelTick = undefined;
    this.cancelDeadline = undefined;
    // a renew already on its way still lands: resolve once it has (nothing more is sent after that)
    return this.ticking?.catch(() => undefined) ?? Promise.resolve();
  }

  private runTick(): Promise<void> {
    const startedAt = monotonicNow(this.opts.clock);
    const tick = this.tick()
      .then(() => {
        if (this.failuresInRow > 0) this.log.info({ failures: this.failuresInRow }, 'cluster: lease renew recovered');
        this.failuresInRow = 0;
      })
      .catch((err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        this.failuresInRow++;
        // once per outage, not every renew; a node id clash needs a person
        if (error instanceof NodeIdInUseError) this.log.error({ err: error.message }, 'cluster: node id in use');
        else if (this.failuresInRow === 1) this.log.warn({ err: error.message }, 'cluster: lease renew failed');
        else this.log.debug({ err: error.message, failures: this.failuresInRow }, 'cluster: lease renew failed');
        this.emit('renewFailed', error);
      })
      .finally(() => {
        this.ticking = undefined;
        // fixed rate: the next round starts renewMs after this one STARTED (a slow round does not stretch the period)
        const waitMs = Math.max(0, this.opts.renewMs - (monotonicNow(this.opts.clock) - startedAt));
        if (this.isRunning) this.cancelTick = this.opts.clock.setTimer(waitMs, () => void this.runTick());
      });
    this.ticking = tick;
    return tick;
  }

  private async tick(): Promise<void> {
    const { clock, leaseMs, partitions } = this.opts;
    const sentAt = monotonicNow(clock);
    if (!(await this.leases.heartbeat(this.node, this.instance, leaseMs))) {
      throw new NodeIdInUseError(this.node);
    }
    const before = this.heldLeases();
    const renewed = await this.leases.renew(this.node, before, leaseMs);
    if (!this.isRunning) return;
    const ok = new Set(renewed.map((r) => `${r.partition}/${r.epoch}`));
    for (const lease of before) {
      if (this.held.get(lease.partition) !== lease.epoch) continue; // dropped meanwhile
      if (ok.has(`${lease.partition}/${lease.epoch}`)) this.extend(lease.partition, sentAt);
      else this.drop(lease.partition, 'not-renewed');
    }
    const liveNodes = await this.leases.liveNodes();
    const snapshot = await this.leases.snapshot();
    if (!this.isRunning) return;
    this.liveNodeCount = liveNodes.length;
    const plan = planRebalance({
      node: this.node,
      partitions,
      held: [...this.held.keys()],
      liveNodes,
      leases: snapshot,
    });
    for (const partition of plan.release) {
      const epoch = this.held.get(partition);
      if (epoch === undefined) continue;
      this.drop(partition, 'rebalance'); // stop acting first, then give it back
      await this.leases.release(this.node, { partition, epoch });
    }
    for (const partition of plan.acquire) {
      if (!this.isRunning) return;
      const acquireSentAt = monotonicNow(clock);
      const got = await this.leases.acquire(partition, this.node, leaseMs);
      if (got === undefined || !this.isRunning) continue;
      // an answer so slow that its lease is already (locally) over is not acted on; the lease just runs out
      if (localDeadline(acquireSentAt, this.opts) <= monotonicNow(clock)) continue;
      this.held.set(partition, got.epoch);
      this.extend(partition, acquireSentAt);
      this.log.info({ partition, epoch: got.epoch, previous: got.previous }, 'cluster: partition acquired');
      this.emit('acquired', partition, got.epoch, got.previous);
    }
  }

  /** A renew (or acquisition) sent at `sentAt` succeeded: move the local deadline; false if it is already past. */
  private extend(partition: number, sentAt: number): boolean {
    const deadline = localDeadline(sentAt, this.opts);
    if (deadline <= monotonicNow(this.opts.clock)) {
      this.drop(partition, 'renew-deadline');
      return false;
    }
    this.deadlines.set(partition, deadline);
    this.armDeadline();
    return true;
  }

  private drop(partition: number, reason: LostReason): void {
    if (!this.held.delete(partition)) return;
    this.deadlines.delete(partition);
    this.armDeadline();
    const log = reason === 'rebalance' || reason === 'stopping' ? this.log.info : this.log.warn;
    log.call(this.log, { partition, reason }, 'cluster: partition lost');
    this.emit('lost', partition, reason);
  }

  private armDeadline(): void {
    this.cancelDeadline?.();
    this.cancelDeadline = undefined;
    const next = nextDeadline(this.deadlines.values());
    if (next === undefined || !this.isRunning) return;
    const inMs = Math.max(0, next - monotonicNow(this.opts.clock));
    this.cancelDeadline = this.opts.clock.setTimer(inMs, () => {
      this.cancelDeadline = undefined;
      for (const partition of expiredAt(this.deadlines, monotonicNow(this.opts.clock))) {
        this.drop(partition, 'renew-deadline');
      }
      this.armDeadline();
    });
  }
}
