/**
 * The lease statements (PostgreSQL). Every time comparison runs on the database's clock (`clock_timestamp()`), so
 * the nodes' clocks never decide who holds a partition. Each method is one statement (one round trip).
 */
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { SqlStore } from '../store/sql-store.ts';

export interface HeldLease {
  partition: number;
  epoch: number;
}

export interface LeaseSnapshotRow {
  partition: number;
  holder: string | null;
  epoch: number;
  isLive: boolean;
}

const MS = "* interval '1 millisecond'";

/** `{1,2,3}`: a PostgreSQL array literal for a `$n::int[]` parameter. */
function arrayLiteral(values: readonly number[]): string {
  return `{${values.map((v) => String(Math.trunc(v))).join(',')}}`;
}

export class LeaseStore {
  private readonly store: SqlStore;

  constructor(store: SqlStore) {
    if (store.dialect !== 'postgres') throw new Error('cluster: leases need PostgreSQL');
    this.store = store;
  }

  /** Record the partition count (first node) or check it; create the N lease rows. */
  async prepare(partitions: number): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['cluster_meta']);
      await tx.run("INSERT INTO cluster_meta (key, value) VALUES ('partitions', $1) ON CONFLICT (key) DO NOTHING", [
        String(partitions),
      ]);
      const rows = await tx.query<{ value: string }>("SELECT value FROM cluster_meta WHERE key = 'partitions'");
      const stored = Number(rows[0]?.value);
      if (stored !== partitions) {
        throw new AppError(
          ErrorCode.CONFIG_INVALID,
          `cluster.partitions: expected ${stored} (the count the cluster's database was started with), got ${partitions}`,
        );
      }
      await tx.run(
        'INSERT INTO cluster_leases (partition) SELECT generate_series(0, $1::int - 1) ON CONFLICT (partition) DO NOTHING',
        [partitions],
      );
    });
  }

  /**
   * Heartbeat of `node` run by `instance`; false when another instance runs with the same node id and its heartbeat
   * has not expired (two processes must never share a node id: they would both think they hold its partitions).
   */
  async heartbeat(node: string, instance: string, ttlMs: number): Promise<boolean> {
    const changed = await this.store.run(
      `INSERT INTO cluster_nodes (node, instance, started_at, expires_at)
       VALUES ($1, $2, clock_timestamp(), clock_timestamp() + $3::bigint ${MS})
       ON CONFLICT (node) DO UPDATE SET instance = excluded.instance, expires_at = excluded.expires_at,
         started_at = CASE WHEN cluster_nodes.instance = excluded.instance THEN cluster_nodes.started_at
                           ELSE excluded.started_at END
       WHERE cluster_nodes.instance = excluded.instance OR cluster_nodes.expires_at <= clock_timestamp()`,
      [node, instance, ttlMs],
    );
    return changed > 0;
  }

  async liveNodes(): Promise<string[]> {
    const rows = await this.store.query<{ node: string }>(
      'SELECT node FROM cluster_nodes WHERE expires_at > clock_timestamp() ORDER BY node',
    );
    return rows.map((r) => r.node);
  }

  async leave(node: string, instance: string): Promise<void> {
    await this.store.run('DELETE FROM cluster_nodes WHERE node = $1 AND instance = $2', [node, instance]);
  }

  async snapshot(): Promise<LeaseSnapshotRow[]> {
    const rows = await this.store.query<{ partition: number; holder: string | null; epoch: string; live: boolean }>(
      'SELECT partition, holder, epoch, expires_at > clock_timestamp() AS live FROM cluster_leases ORDER BY partition',
    );
    return rows.map((r) => ({ partition: r.partition, holder: r.holder, epoch: Number(r.epoch), isLive: r.live }));
  }

  /**
   * Take `partition` when it is free, expired, or already this node's (a node re-taking its own lease after it gave
   * it up locally). Every acquisition bumps the epoch. Returns the new epoch and the previous holder, or undefined.
   */
  async acquire(
    partition: number,
    node: string,
    leaseMs: number,
  ): Promise<{ epoch: number; previous: string | null } | undefined> {
    const rows = await this.store.query<{ epoch: string; previous: string | null }>(
      `WITH old AS (SELECT partition, holder FROM cluster_leases WHERE partition = $1 FOR UPDATE)
       UPDATE cluster_leases l SET holder = $2, epoch = l.epoch + 1, acquired_at = clock_timestamp(),
         expires_at = clock_timestamp() + $3::bigint ${MS}
       FROM old
       WHERE l.partition = old.partition
         AND (l.holder IS NULL OR l.holder = $2 OR l.expires_at <= clock_timestamp())
       RETURNING l.epoch, old.holder AS previous`,
      [partition, node, leaseMs],
    );
    const row = rows[0];
    return row === undefined ? undefined : { epoch: Number(row.epoch), previous: row.previous };
  }

  /** Extend the leases this node still holds at these epochs and that have not ended; returns those extended. */
  async renew(node: string, held: readonly HeldLease[], leaseMs: number): Promise<HeldLease[]> {
    if (held.length === 0) return [];
    const rows = await this.store.query<{ partition: number; epoch: string }>(
      `UPDATE cluster_leases SET expires_at = clock_timestamp() + $2::bigint ${MS}
       WHERE holder = $1 AND expires_at > clock_timestamp()
         AND (partition, epoch) IN (SELECT * FROM unnest($3::int[], $4::bigint[]))
       RETURNING partition, epoch`,
      [node, leaseMs, arrayLiteral(held.map((h) => h.partition)), arrayLiteral(held.map((h) => h.epoch))],
    );
    return rows.map((r) => ({ partition: r.partition, epoch: Number(r.epoch) }));
  }

  /** Give a lease back at once (the epoch stays: the next holder bumps it). */
  async release(node: string, lease: HeldLease): Promise<boolean> {
    const changed = await this.store.run(
      `UPDATE cluster_leases SET holder = NULL, expires_at = '-infinity'
       WHERE partition = $1 AND holder = $2 AND epoch = $3`,
      [lease.partition, node, lease.epoch],
    );
    return changed > 0;
  }
}
