/**
 * The bytes of stored attachments (issue 16): in the hub's database through the SqlStore - a BLOB on SQLite, bytea on
 * PostgreSQL - keyed by the sha256 of the stored (redacted) bytes, so identical content is kept once and any hub node
 * on the same database can serve it. Content is immutable: a second `put` of the same sha256 changes nothing.
 *
 * Earlier hubs wrote the bytes to `<dataDir>/attachments/<sha256>` (the ticket's `storedPath`). Those files are not
 * imported: `read` falls back to the file when the database has no row for the sha256 (read-through), so an
 * existing data folder keeps serving as it is, and nothing is copied at start.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { AttachmentInput } from '../context.ts';
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import type { SqlStore } from '../store/sql-store.ts';

export const CONTENT_MIGRATIONS: readonly MigrationStep[] = [
  {
    sqlite: `CREATE TABLE evidence_content (
      sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, data BLOB NOT NULL, created_at TEXT NOT NULL)`,
    postgres: `CREATE TABLE evidence_content (
      sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, data BYTEA NOT NULL, created_at TEXT NOT NULL)`,
  },
];

/** The logical location recorded on the ticket for new content (also where an earlier hub kept it). */
export function contentPath(sha256: string): string {
  return join('attachments', sha256);
}

/** Where an earlier hub kept the bytes of an attachment (relative paths are under the data folder). */
export function legacyFile(dataDir: string, meta: Pick<AttachmentInput, 'storedPath'>): string {
  return isAbsolute(meta.storedPath) ? meta.storedPath : join(dataDir, meta.storedPath);
}

export class AttachmentContent {
  private readonly sql: SqlStore;
  private readonly dataDir: string;

  constructor(sql: SqlStore, dataDir: string) {
    this.sql = sql;
    this.dataDir = dataDir;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.sql, 'evidence-content', CONTENT_MIGRATIONS);
  }

  /** Store `data` under `sha256` (the caller computed it from `data`); true when it was new. */
  async put(sha256: string, data: Uint8Array, at: string): Promise<boolean> {
    const changed = await this.sql.run(
      `INSERT INTO evidence_content (sha256, size, data, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sha256) DO NOTHING`,
      [sha256, data.length, data, at],
    );
    return changed > 0;
  }

  async has(sha256: string): Promise<boolean> {
    const rows = await this.sql.query('SELECT 1 AS one FROM evidence_content WHERE sha256 = $1', [sha256]);
    return rows.length > 0;
  }

  /** The bytes from the database only. */
  async get(sha256: string): Promise<Buffer | undefined> {
    const rows = await this.sql.query<{ data: Uint8Array }>('SELECT data FROM evidence_content WHERE sha256 = $1', [
      sha256,
    ]);
    const data = rows[0]?.data;
    return data === undefined ? undefined : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  /** The bytes of a ticket's attachment: the database, else an earlier hub's file; undefined when neither has it. */
  async read(meta: Pick<AttachmentInput, 'sha256' | 'storedPath'>): Promise<Buffer | undefined> {
    const stored = await this.get(meta.sha256);
    if (stored !== undefined) return stored;
    return readFile(legacyFile(this.dataDir, meta)).catch(() => undefined);
  }

  /** How many distinct contents the database holds (tests, metrics). */
  async count(): Promise<number> {
    const rows = await this.sql.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM evidence_content');
    return Number(rows[0]?.n ?? 0);
  }
}
