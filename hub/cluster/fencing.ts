/**
 * Fencing (issue 16): a write a partition's holder makes runs in a transaction that first calls `fenced(tx,
 * partition, epoch)`. It locks the lease row (FOR SHARE), so a takeover (which updates that row) waits for the
 * write's commit, and a write that comes after a takeover sees the new epoch and is refused with StaleEpochError:
 * a node that lost its lease cannot write, whatever it believes.
 */
import type { SqlStore } from '../store/sql-store.ts';

export class StaleEpochError extends Error {
  readonly code = 'STALE_EPOCH' as const;
  readonly partition: number;
  readonly epoch: number;
  readonly currentEpoch: number | undefined;

  constructor(partition: number, epoch: number, currentEpoch: number | undefined, why: string) {
    super(`partition ${partition}: write with fencing epoch ${epoch} refused: ${why}`);
    this.name = 'StaleEpochError';
    this.partition = partition;
    this.epoch = epoch;
    this.currentEpoch = currentEpoch;
  }
}

/** Throws StaleEpochError unless `epoch` is the partition's current epoch and its lease has not ended. */
export async function fenced(tx: SqlStore, partition: number, epoch: number): Promise<void> {
  const rows = await tx.query<{ epoch: string; live: boolean }>(
    'SELECT epoch, expires_at > clock_timestamp() AS live FROM cluster_leases WHERE partition = $1 FOR SHARE',
    [partition],
  );
  const row = rows[0];
  if (row === undefined) throw new StaleEpochError(partition, epoch, undefined, 'no such partition');
  const current = Number(row.epoch);
  if (current !== epoch) throw new StaleEpochError(partition, epoch, current, `the current epoch is ${current}`);
  if (!row.live) throw new StaleEpochError(partition, epoch, current, 'the lease has ended');
}

/** `fn` in one transaction after the fencing check: it commits only while `epoch` still holds the partition. */
export function withFence<T>(
  store: SqlStore,
  partition: number,
  epoch: number,
  fn: (tx: SqlStore) => Promise<T>,
): Promise<T> {
  return store.transaction(async (tx) => {
    await fenced(tx, partition, epoch);
    return fn(tx);
  });
}
