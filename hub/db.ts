/**
 * The hub's SQLite file: WAL, foreign keys, and per-module migrations.
 * Each module owns its tables and calls `migrate(db, module, steps)` at start; steps run once, in order.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export function openDb(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
    PRIMARY KEY (module, version))`);
  return db;
}

/** Apply the steps of one module not applied yet (version = index + 1), each in its own transaction. */
export function migrate(db: Db, module: string, steps: readonly string[]): void {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations WHERE module = ?').get(module) as {
    v: number | null;
  };
  const done = row.v ?? 0;
  steps.forEach((sql, index) => {
    const version = index + 1;
    if (version <= done) return;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (module, version, applied_at) VALUES (?, ?, ?)').run(
        module,
        version,
        new Date().toISOString(),
      );
    })();
  });
}
