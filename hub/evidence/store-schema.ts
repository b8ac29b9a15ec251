/**
 * The evidence tables, ONE migration list for SQLite and PostgreSQL (hub/store/migrations.ts). Version 1 is exactly
 * what earlier hubs applied through hub/db.ts's `migrate()` on SQLite (same `schema_migrations` ledger, so their files
 * are accepted as they are); on PostgreSQL the same tables with bytea and BIGINT byte counts.
 */
import type { MigrationStep } from '../store/migrations.ts';

/** Version 1 on SQLite, as earlier hubs applied it (do not change: the ledger says it is done). */
const V1_SQLITE = `CREATE TABLE evidence_collections (
    ticket_id TEXT PRIMARY KEY,
    serial TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    logs_info TEXT,
    round_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE evidence_commands (
    command_id TEXT PRIMARY KEY,
    ticket_id TEXT,
    serial TEXT NOT NULL,
    site TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    purpose TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT,
    issued_at TEXT NOT NULL
  );
  CREATE INDEX evidence_commands_ticket ON evidence_commands(ticket_id);
  CREATE TABLE evidence_transfers (
    transfer_id TEXT PRIMARY KEY,
    command_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    site TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    captured_at TEXT,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    total INTEGER NOT NULL,
    chunk_bytes INTEGER,
    received BLOB NOT NULL,
    received_count INTEGER NOT NULL DEFAULT 0,
    received_bytes INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    reason TEXT,
    stored_name TEXT,
    stored_sha256 TEXT,
    stored_size INTEGER,
    is_acked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX evidence_transfers_ticket ON evidence_transfers(ticket_id);
  CREATE INDEX evidence_transfers_state ON evidence_transfers(state);`;

export const EVIDENCE_MIGRATIONS: readonly MigrationStep[] = [
  {
    sqlite: V1_SQLITE,
    // the same tables; bytes are bytea, byte counts BIGINT (they come back as strings: see num())
    postgres: V1_SQLITE.replace('received BLOB', 'received BYTEA').replace(
      /\b(size|received_bytes|stored_size) INTEGER/g,
      '$1 BIGINT',
    ),
  },
  {
    // insertion order, for "the newest transfer of a kind" when two have the same created_at (SQLite used rowid)
    sqlite: `ALTER TABLE evidence_transfers ADD COLUMN seq INTEGER;
      UPDATE evidence_transfers SET seq = rowid;
      CREATE TRIGGER evidence_transfers_seq AFTER INSERT ON evidence_transfers
        BEGIN UPDATE evidence_transfers SET seq = NEW.rowid WHERE rowid = NEW.rowid; END;`,
    postgres: 'ALTER TABLE evidence_transfers ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY',
  },
  // issue 16: which hub node is collecting / sent the command, so a node that starts again interrupts only its own
  // in-flight work, never another live node's (NULL: rows of an earlier hub, one node)
  `ALTER TABLE evidence_collections ADD COLUMN node TEXT;
   ALTER TABLE evidence_commands ADD COLUMN node TEXT;`,
];
