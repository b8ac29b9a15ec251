/**
 * The on-disk outbox (SQLite in `<dataDir>/outbox.db`, WAL): every health record and device event is
 * appended here first, published from here in order, and deleted only after the broker's PUBACK.
 * Bounded: past `maxRecords` the oldest rows are dropped and counted. Survives restarts and crashes
 * (a row published but not acknowledged before a crash is sent again: at-least-once, the hub de-duplicates
 * by agentId + seq). The per-agent health `seq` is allocated in the same transaction, so it never repeats.
 * One commit per append: the rows acknowledged since the last one are deleted in it (or after `ACK_FLUSH_MS`);
 * the file is held exclusively while the agent runs (read it once the agent has stopped).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface OutboxRow {
  n: number;
  kind: string;
  topic: string;
  payload: string;
}

/** Acknowledged rows wait at most this long for an append to delete them with (bench B8: half the outbox's commits). */
const ACK_FLUSH_MS = 1000;

export class Outbox {
  private readonly file: string;
  private readonly maxRecords: number;
  private db: Database.Database | undefined;
  private count = 0;
  private droppedTotal = 0;
  private statements:
    | {
        insert: Database.Statement;
        readAfter: Database.Statement;
        del: Database.Statement;
        dropOldest: Database.Statement;
        getMeta: Database.Statement;
        setMeta: Database.Statement;
        count: Database.Statement;
        lastN: Database.Statement;
      }
    | undefined;
  /** Rows that could not even be queued (disk full): dropped and counted, persisted once writes work again. */
  private unqueued = 0;
  /** The last storage error of an append (disk full), for the agent's log; undefined while appends work. */
  lastAppendError: string | undefined;
  /** The largest row number ever appended (kept in memory: the link asks it on every ack). */
  private newestN = 0;
  /** The next health seq, as stored in `meta` (read once at open: this process is the only writer). */
  private seq = 0;
  /** Acknowledged positions not deleted yet: deleted in the next append's transaction (one WAL commit). */
  private pendingAcks: number[] = [];
  private isAckFlushScheduled = false;
  private deleteTx: ((ns: number[]) => number) | undefined;
  private appendTx:
    | ((rows: { kind: string; topic: string; make: (seq: number) => string; seq: boolean }[]) => number[])
    | undefined;

  constructor(dataDir: string, maxRecords: number) {
    this.file = join(dataDir, 'outbox.db');
    this.maxRecords = maxRecords;
  }

  open(): void {
    if (this.db) return;
    mkdirSync(join(this.file, '..'), { recursive: true });
    const db = new Database(this.file);
    // Held by this process alone while it runs: no file-lock round trips and no shared-memory index per commit (set
    // before the first access in WAL mode, so the WAL index lives in the heap). Readers wait until the agent stops.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE IF NOT EXISTS outbox (n INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);`);
    const s = {
      insert: db.prepare('INSERT INTO outbox (kind, topic, payload) VALUES (?, ?, ?)'),
      readAfter: db.prepare('SELECT n, kind, topic, payload FROM outbox WHERE n > ? ORDER BY n LIMIT ?'),
      del: db.prepare('DELETE FROM outbox WHERE n = ?'),
      dropOldest: db.prepare('DELETE FROM outbox WHERE n IN (SELECT n FROM outbox ORDER BY n LIMIT ?)'),
      getMeta: db.prepare('SELECT v FROM meta WHERE k = ?'),
      setMeta: db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
      count: db.prepare('SELECT COUNT(*) AS c FROM outbox'),
      lastN: db.prepare('SELECT MAX(n) AS n FROM outbox'),
    };
    this.db = db;
    this.statements = s;
    this.count = (s.count.get() as { c: number }).c;
    this.newestN = (s.lastN.get() as { n: number | null }).n ?? 0;
    this.droppedTotal = this.meta('dropped');
    this.seq = this.meta('seq');
    this.deleteTx = db.transaction((ns: number[]) => {
      let changes = 0;
      for (const n of ns) changes += s.del.run(n).changes;
      return changes;
    });
    this.appendTx = db.transaction((rows) => {
      // the acknowledged rows go in the same commit (one WAL commit per record instead of two)
      for (const n of this.pendingAcks) this.count -= s.del.run(n).changes;
      const ns: number[] = [];
      let seq = this.seq;
      for (const row of rows) {
        const payload = row.make(seq);
        if (row.seq) seq++;
        const n = Number(s.insert.run(row.kind, row.topic, payload).lastInsertRowid);
        ns.push(n);
        if (n > this.newestN) this.newestN = n;
      }
      if (seq !== this.seq) s.setMeta.run('seq', seq);
      this.count += rows.length;
      if (this.count > this.maxRecords) {
        const excess = this.count - this.maxRecords;
        s.dropOldest.run(excess);
        this.count -= excess;
        this.droppedTotal += excess;
        s.setMeta.run('dropped', this.droppedTotal);
      }
      return ns;
    });
  }

  private meta(key: string): number {
    const row = this.statements?.getMeta.get(key) as { v: number } | undefined;
    return row?.v ?? 0;
  }

  /** The next health seq (without taking it). */
  peekSeq(): number {
    return this.seq;
  }

  /**
   * Append rows in one transaction. `make(seq)` builds the payload; rows with `seq: true` consume a
   * sequence number. Returns the outbox positions.
   */
  append(rows: { kind: string; topic: string; make: (seq: number) => string; seq: boolean }[]): number[] {
    const appendTx = this.appendTx;
    if (!appendTx) throw new Error('outbox is not open');
    try {
      const ns = this.appendCommitted(appendTx, rows);
      this.noteAppendWorks();
      return ns;
    } catch (err) {
      if (!isStorageFull(err)) throw err;
      this.lastAppendError = (err as Error).message;
    }
    // Disk full (issue 19): make room by dropping the oldest tenth (counted), then try once more; if even
    // that fails the rows themselves are dropped and counted. Never throws: polling goes on.
    this.resyncCount();
    try {
      this.dropOldestForRoom(Math.max(1, Math.ceil(this.count / 10)));
      const ns = this.appendCommitted(appendTx, rows);
      this.noteAppendWorks();
      return ns;
    } catch (err) {
      if (!isStorageFull(err)) throw err;
      this.resyncCount();
      this.unqueued += rows.length;
      this.lastAppendError = (err as Error).message;
      return [];
    }
  }

  /** One append transaction; the seq it took counts only once it is committed. */
  private appendCommitted(
    appendTx: NonNullable<typeof this.appendTx>,
    rows: { kind: string; topic: string; make: (seq: number) => string; seq: boolean }[],
  ): number[] {
    const acked = this.pendingAcks.length;
    const count = this.count;
    let ns: number[];
    try {
      ns = appendTx(rows);
    } catch (err) {
      this.count = count; // rolled back: the acknowledged rows are still there
      throw err;
    }
    this.pendingAcks = this.pendingAcks.slice(acked);
    for (const row of rows) if (row.seq) this.seq++;
    return ns;
  }

  private dropOldestForRoom(rows: number): void {
    const s = this.statements;
    if (!s || !this.db) return;
    const dropped = this.db.transaction(() => {
      const changes = s.dropOldest.run(rows).changes;
      s.setMeta.run('dropped', this.droppedTotal + changes);
      return changes;
    })();
    this.droppedTotal += dropped;
    this.count -= dropped;
  }

  private noteAppendWorks(): void {
    this.lastAppendError = undefined;
    if (this.unqueued === 0 || !this.statements) return;
    try {
      this.statements.setMeta.run('dropped', this.droppedTotal + this.unqueued);
      this.droppedTotal += this.unqueued;
      this.unqueued = 0;
    } catch {
      // still tight: kept in memory, written with the next append
    }
  }

  private resyncCount(): void {
    const row = this.statements?.count.get() as { c: number } | undefined;
    if (row !== undefined) this.count = row.c;
  }

  /** Rows after position `n`, oldest first. */
  readAfter(n: number, limit: number): OutboxRow[] {
    this.flushAcks();
    return (this.statements?.readAfter.all(n, limit) ?? []) as OutboxRow[];
  }

  /**
   * The row was acknowledged by the broker (PUBACK): forget it. Deleted in the next append's transaction, or within
   * `ACK_FLUSH_MS` when no append comes (a crash before that resends it: at-least-once, as for any unacked row).
   */
  ack(n: number): void {
    if (!this.statements) return;
    this.pendingAcks.push(n);
    if (this.isAckFlushScheduled) return;
    this.isAckFlushScheduled = true;
    setTimeout(() => {
      this.isAckFlushScheduled = false;
      this.flushAcks();
    }, ACK_FLUSH_MS).unref();
  }

  /** Delete the acknowledged rows now, in a transaction of their own. */
  private flushAcks(): void {
    if (this.pendingAcks.length === 0 || !this.deleteTx) return;
    const ns = this.pendingAcks;
    this.pendingAcks = [];
    try {
      this.count -= this.deleteTx(ns);
    } catch (err) {
      // Disk full: keep the acknowledged positions for the next flush (the rows stay; resent at worst).
      this.pendingAcks = [...ns, ...this.pendingAcks];
      if (!isStorageFull(err)) throw err;
    }
  }

  /** The newest row number appended, without a query (0 when none ever was). */
  get newest(): number {
    return this.newestN;
  }

  /** Highest position currently stored (0 when empty). */
  lastPosition(): number {
    this.flushAcks();
    return (this.statements?.lastN.get() as { n: number | null } | undefined)?.n ?? 0;
  }

  get depth(): number {
    this.flushAcks();
    return this.count;
  }

  /** Rows dropped by policy: the oldest past `maxRecords` or to make room on a full disk, and rows that could
   * not be queued at all while the disk was full. */
  get dropped(): number {
    return this.droppedTotal + this.unqueued;
  }

  close(): void {
    this.flushAcks();
    this.db?.close();
    this.db = undefined;
    this.statements = undefined;
    this.appendTx = undefined;
    this.deleteTx = undefined;
  }
}

/** SQLite could not write for lack of space (or an I/O error from it): make room or drop, never crash. */
function isStorageFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR)/.test(code);
}
