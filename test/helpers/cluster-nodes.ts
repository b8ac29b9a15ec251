/**
 * Lease managers for the cluster tests (issue 16): each on its own PostgresStore, with the events it emitted recorded
 * (wall time of each), and a fresh PostgreSQL schema per test.
 */
import { pino } from 'pino';
import { LeaseManager, type LostReason } from '../../hub/cluster/lease-manager.ts';
import { LeaseStore } from '../../hub/cluster/lease-store.ts';
import { PostgresStore } from '../../hub/store/postgres-store.ts';
import { systemClock } from '../../protocols/clock.ts';

/** Short leases so the tests run in seconds; renew is a fifth of the lease. */
export const TEST_TIMING = { leaseMs: 2_000, renewMs: 400, marginMs: 400 } as const;

export interface TestNode {
  manager: LeaseManager;
  store: PostgresStore;
  acquired: { partition: number; epoch: number; previous: string | null; at: number }[];
  lost: { partition: number; reason: LostReason; at: number }[];
  failures: Error[];
}

export class ClusterFixture {
  private readonly cleanups: (() => Promise<void>)[] = [];
  private counter = 0;
  private readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  /** A fresh schema; returns its URL (on `port` instead of the server's when given: a proxy). */
  async freshSchema(): Promise<string> {
    const schema = `c${++this.counter}_${process.pid}`;
    const setup = new PostgresStore(this.baseUrl, { max: 1 });
    await setup.exec(`CREATE SCHEMA ${schema}`);
    await setup.close();
    return `${this.baseUrl}?options=-c%20search_path%3D${schema}`;
  }

  /** A store with the cluster's timeouts, or with exactly `options` when given (closed after the test). */
  openStore(url: string, options?: ConstructorParameters<typeof PostgresStore>[1]): PostgresStore {
    const store = new PostgresStore(
      url,
      options ?? {
        max: 3,
        queryTimeoutMs: TEST_TIMING.renewMs,
        connectTimeoutMs: TEST_TIMING.renewMs,
        idleInTransactionTimeoutMs: TEST_TIMING.renewMs,
      },
    );
    this.cleanups.push(() => store.close());
    return store;
  }

  makeNode(name: string, url: string, partitions = 16): TestNode {
    const store = this.openStore(url);
    const manager = new LeaseManager({
      node: name,
      partitions,
      store,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      ...TEST_TIMING,
    });
    const node: TestNode = { manager, store, acquired: [], lost: [], failures: [] };
    manager.on('acquired', (partition, epoch, previous) =>
      node.acquired.push({ partition, epoch, previous, at: Date.now() }),
    );
    manager.on('lost', (partition, reason) => node.lost.push({ partition, reason, at: Date.now() }));
    manager.on('renewFailed', (err) => node.failures.push(err));
    this.cleanups.push(() => manager.stop());
    return node;
  }

  async dbHolders(url: string): Promise<Map<number, string | null>> {
    const rows = await new LeaseStore(this.openStore(url)).snapshot();
    return new Map(rows.map((r) => [r.partition, r.isLive ? r.holder : null]));
  }

  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) await fn().catch(() => undefined);
  }
}

export const heldBy = (node: TestNode): number[] => node.manager.heldLeases().map((l) => l.partition);

/** Every partition held by exactly one node, each count within [floor, ceil] of N / nodes. */
export function isFairSplit(nodes: TestNode[], partitions = 16): boolean {
  const all = nodes.flatMap(heldBy);
  if (all.length !== partitions || new Set(all).size !== partitions) return false;
  const lo = Math.floor(partitions / nodes.length);
  const hi = Math.ceil(partitions / nodes.length);
  return nodes.every((n) => heldBy(n).length >= lo && heldBy(n).length <= hi);
}
