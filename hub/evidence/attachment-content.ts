/**
 * The bytes of stored attachments (issue 16): in the hub's database through the SqlStore - a BLOB on SQLite, bytea on
 * PostgreSQL - keyed by the sha256 of the stored (redacted) bytes, so identical content is kept once and any hub node
 * on the same database can serve it. Content is immutable: a second `put` of the same sha256 changes nothing. The
 * bytes are kept in parts of PART_BYTES (one transaction writes them all), so a download streams part by part: a
 * 100 MB archive never sits whole in the hub's memory (PostgreSQL sends bytea as hex text: a whole 50 MB read cost
 * +313 MB RSS, streamed in parts no growth).
 *
 * Earlier hubs wrote the bytes to `<dataDir>/attachments/<sha256>` (the ticket's `storedPath`). On SQLite those files
 * are not imported: `read`/`open` fall back to the file when the database has no row for the sha256 (read-through),
 * so an existing data folder keeps serving as it is. On a shared PostgreSQL a node that has such files imports them
 * at start (`importFiles`, in the background), so every node can serve them; the files stay where they are.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { Readable } from 'node:stream';
import type { AttachmentInput } from '../context.ts';
import { type MigrationStep, runMigrations } from '../store/migrations.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { sha256Of } from './chunk-map.ts';

export const CONTENT_MIGRATIONS: readonly MigrationStep[] = [
  {
    sqlite: `CREATE TABLE evidence_content (
      sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, data BLOB NOT NULL, created_at TEXT NOT NULL)`,
    postgres: `CREATE TABLE evidence_content (
      sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, data BYTEA NOT NULL, created_at TEXT NOT NULL)`,
  },
  {
    // the bytes in parts (streamed downloads); a content of version 1 becomes its single part 0
    sqlite: `CREATE TABLE evidence_content_parts (
        sha256 TEXT NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (sha256, part));
      INSERT INTO evidence_content_parts (sha256, part, data) SELECT sha256, 0, data FROM evidence_content;
      ALTER TABLE evidence_content ADD COLUMN parts INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE evidence_content DROP COLUMN data;`,
    postgres: `CREATE TABLE evidence_content_parts (
        sha256 TEXT NOT NULL, part INTEGER NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (sha256, part));
      INSERT INTO evidence_content_parts (sha256, part, data) SELECT sha256, 0, data FROM evidence_content;
      ALTER TABLE evidence_content ADD COLUMN parts INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE evidence_content DROP COLUMN data;`,
  },
];

/** Bytes per stored part. */
export const PART_BYTES = 1024 * 1024;

/** An attachment's bytes, opened for a download. */
export interface OpenedContent {
  size: number;
  stream: Readable;
}

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

  /**
   * Store `data` under `sha256` (the caller computed it from `data`); true when it was new. The row and all its
   * parts in one transaction: a reader never sees half a content; two nodes storing the same one keep one.
   */
  async put(sha256: string, data: Uint8Array, at: string): Promise<boolean> {
    if (await this.has(sha256)) return false; // the common duplicate: no bytes sent to the database at all
    const parts = Math.max(1, Math.ceil(data.length / PART_BYTES));
    return this.sql.transaction(async (tx) => {
      // issued together, not one await apart: on SQLite they run back to back, so no other task's statement can
      // slip into this transaction between them (and be rolled back with it when the disk is full)
      const row = tx.run(
        `INSERT INTO evidence_content (sha256, size, parts, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (sha256) DO NOTHING`,
        [sha256, data.length, parts, at],
      );
      const pieces = Array.from({ length: parts }, (_, part) =>
        tx.run(
          `INSERT INTO evidence_content_parts (sha256, part, data) VALUES ($1, $2, $3)
           ON CONFLICT (sha256, part) DO NOTHING`,
          [sha256, part, data.subarray(part * PART_BYTES, (part + 1) * PART_BYTES)],
        ),
      );
      const [isNew] = await Promise.all([row.then((n) => n > 0), ...pieces]);
      return isNew as boolean;
    });
  }

  private async head(sha256: string): Promise<{ size: number; parts: number } | undefined> {
    const rows = await this.sql.query<{ size: number | string; parts: number | string }>(
      'SELECT size, parts FROM evidence_content WHERE sha256 = $1',
      [sha256],
    );
    const r = rows[0];
    return r === undefined ? undefined : { size: Number(r.size), parts: Number(r.parts) };
  }

  private async part(sha256: string, part: number): Promise<Buffer> {
    const rows = await this.sql.query<{ data: Uint8Array }>(
      'SELECT data FROM evidence_content_parts WHERE sha256 = $1 AND part = $2',
      [sha256, part],
    );
    const data = rows[0]?.data;
    if (data === undefined) throw new Error(`attachment content ${sha256}: part ${part} is missing`);
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  private async *parts(sha256: string, count: number): AsyncGenerator<Buffer> {
    for (let part = 0; part < count; part++) yield await this.part(sha256, part);
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.head(sha256)) !== undefined;
  }

  /** The bytes from the database only, whole. */
  async get(sha256: string): Promise<Buffer | undefined> {
    const head = await this.head(sha256);
    if (head === undefined) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of this.parts(sha256, head.parts)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /** The bytes of a ticket's attachment, whole: the database, else an earlier hub's file; undefined when neither. */
  async read(meta: Pick<AttachmentInput, 'sha256' | 'storedPath'>): Promise<Buffer | undefined> {
    const stored = await this.get(meta.sha256);
    if (stored !== undefined) return stored;
    return readFile(legacyFile(this.dataDir, meta)).catch(() => undefined);
  }

  /** The same, as a stream read part by part (downloads); undefined when neither has it. */
  async open(meta: Pick<AttachmentInput, 'sha256' | 'storedPath'>): Promise<OpenedContent | undefined> {
    const head = await this.head(meta.sha256);
    if (head !== undefined) return { size: head.size, stream: Readable.from(this.parts(meta.sha256, head.parts)) };
    const file = legacyFile(this.dataDir, meta);
    const size = await stat(file).then(
      (s) => (s.isFile() ? s.size : undefined),
      () => undefined,
    );
    return size === undefined ? undefined : { size, stream: createReadStream(file) };
  }

  /**
   * Copy an earlier hub's files (`<dataDir>/attachments/<sha256>`) into the database, one at a time, each checked
   * against its name (a file whose bytes do not match is skipped and named, never imported). Idempotent.
   */
  async importFiles(at: string): Promise<{ imported: number; present: number; mismatched: string[] }> {
    const dir = join(this.dataDir, 'attachments');
    const names = await readdir(dir).catch(() => [] as string[]);
    const result = { imported: 0, present: 0, mismatched: [] as string[] };
    for (const name of names.filter((n) => /^[0-9a-f]{64}$/.test(n)).sort()) {
      if (await this.has(name)) {
        result.present++;
        continue;
      }
      const bytes = await readFile(join(dir, name)).catch(() => undefined);
      if (bytes === undefined) continue;
      if (sha256Of(bytes) !== name) {
        result.mismatched.push(name);
        continue;
      }
      if (await this.put(name, bytes, at)) result.imported++;
      else result.present++;
    }
    return result;
  }

  /** How many distinct contents the database holds (tests, metrics). */
  async count(): Promise<number> {
    const rows = await this.sql.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM evidence_content');
    return Number(rows[0]?.n ?? 0);
  }
}
