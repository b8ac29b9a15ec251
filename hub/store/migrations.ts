/**
 * ONE migration list per module for SQLite and PostgreSQL. A step is portable SQL, or `{ sqlite, postgres }` where
 * the dialects differ (identity columns, types). Steps run once, in order, each in its own transaction with its
 * `schema_migrations` row; on PostgreSQL an advisory lock per module makes hub nodes starting together apply each
 * step once (the others wait, then see it done).
 */
import type { SqlStore } from './sql-store.ts';

export type MigrationStep = string | { sqlite: string; postgres: string };

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (module, version))`;

export function stepSql(step: MigrationStep, dialect: SqlStore['dialect']): string {
  return typeof step === 'string' ? step : step[dialect];
}

/** Apply the steps of `module` not applied yet; returns the versions applied now. */
export async function runMigrations(
  store: SqlStore,
  module: string,
  steps: readonly MigrationStep[],
  now: () => string = () => new Date().toISOString(),
): Promise<number[]> {
  // CREATE TABLE IF NOT EXISTS races on PostgreSQL's catalog when two nodes start together: serialise it
  await store.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['schema_migrations']);
    await tx.exec(LEDGER);
  });
  const applied: number[] = [];
  for (let index = 0; index < steps.length; index++) {
    const version = index + 1;
    const step = steps[index] as MigrationStep;
    await store.transaction(async (tx) => {
      if (tx.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [module]);
      const done = await tx.query<{ n: number | string }>(
        'SELECT COUNT(*) AS n FROM schema_migrations WHERE module = $1 AND version = $2',
        [module, version],
      );
      if (Number(done[0]?.n ?? 0) > 0) return;
      await tx.exec(stepSql(step, tx.dialect));
      await tx.run('INSERT INTO schema_migrations (module, version, applied_at) VALUES ($1, $2, $3)', [
        module,
        version,
        now(),
      ]);
      applied.push(version);
    });
  }
  return applied;
}
