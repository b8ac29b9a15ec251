/**
 * The cluster's tables in PostgreSQL (module `cluster` of the SqlStore migration ledger). Leases and heartbeats are
 * timed ONLY by the database's clock (`clock_timestamp()`), never by a node's.
 *
 * - cluster_meta: the partition count every node must agree on.
 * - cluster_nodes: one row per node id with the instance that owns it and when its heartbeat expires.
 * - cluster_leases: one row per partition: its holder (node id), its fencing epoch (bumped by every acquisition)
 *   and when the lease ends.
 */
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import type { SqlStore } from '../store/sql-store.ts';

export const CLUSTER_MIGRATIONS: readonly MigrationStep[] = [
  `CREATE TABLE cluster_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE cluster_nodes (
     node TEXT PRIMARY KEY, instance TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL,
     expires_at TIMESTAMPTZ NOT NULL);
   CREATE TABLE cluster_leases (
     partition INTEGER PRIMARY KEY, holder TEXT, epoch BIGINT NOT NULL DEFAULT 0, acquired_at TIMESTAMPTZ,
     expires_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity');`,
];

export function migrateCluster(store: SqlStore): Promise<number[]> {
  if (store.dialect !== 'postgres') {
    return Promise.reject(new Error('cluster: leases need PostgreSQL (database.url), not the embedded SQLite'));
  }
  return runMigrations(store, 'cluster', CLUSTER_MIGRATIONS);
}
