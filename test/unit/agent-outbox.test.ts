import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Outbox } from '../../agent/outbox.ts';
import { tempDir } from '../helpers/agent-harness.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function open(maxRecords = 100) {
  const tmp = tempDir();
  const box = new Outbox(tmp.dir, maxRecords);
  box.open();
  cleanups.push(tmp.close);
  cleanups.push(() => box.close());
  return { box, dir: tmp.dir };
}

describe('Outbox', () => {
  it('keeps rows in order, allocates seq in the same transaction, deletes only on ack', () => {
    const { box } = open();
    const ns = box.append([
      { kind: 'health', topic: 't/a', seq: true, make: (s) => `a${s}` },
      { kind: 'event', topic: 't/e', seq: false, make: (s) => `e${s}` },
      { kind: 'health', topic: 't/b', seq: true, make: (s) => `b${s}` },
    ]);
    expect(box.readAfter(0, 10).map((r) => r.payload)).toEqual(['a0', 'e1', 'b1']);
    expect(box.depth).toBe(3);
    box.ack(ns[1] as number);
    expect(box.readAfter(0, 10).map((r) => r.payload)).toEqual(['a0', 'b1']);
    expect(box.readAfter(ns[0] as number, 10).map((r) => r.payload)).toEqual(['b1']);
    expect(box.peekSeq()).toBe(2);
  });

  it('drops the oldest rows only past maxRecords, and counts them', () => {
    const { box } = open(10);
    for (let i = 0; i < 15; i++) box.append([{ kind: 'health', topic: 't', seq: true, make: (s) => `r${s}` }]);
    expect(box.depth).toBe(10);
    expect(box.dropped).toBe(5);
    expect(box.readAfter(0, 100).map((r) => r.payload)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i + 5}`));
  });

  it('survives a reopen (restart) with rows, seq and drop counter', () => {
    const { box, dir } = open(10);
    for (let i = 0; i < 12; i++) box.append([{ kind: 'health', topic: 't', seq: true, make: (s) => `r${s}` }]);
    box.close();
    const again = new Outbox(dir, 10);
    again.open();
    cleanups.push(() => again.close());
    expect(again.depth).toBe(10);
    expect(again.dropped).toBe(2);
    expect(again.peekSeq()).toBe(12);
    expect(again.readAfter(0, 1)[0]?.payload).toBe('r2');
  });
});

describe('Outbox commits', () => {
  it("deletes acknowledged rows in the next append's transaction, or within a second when no append comes", () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const { box, dir } = open();
      const row = (tag: string) => ({ kind: 'health', topic: 't', seq: true, make: (s: number) => `${tag}${s}` });
      const [a, b] = box.append([row('a'), row('b')]);
      box.ack(a as number);
      box.ack(b as number);
      const walBytes = () => statSync(join(dir, 'outbox.db-wal')).size;
      const before = walBytes();
      box.append([row('c')]);
      const withAcks = walBytes() - before;
      box.append([row('d')]);
      // one commit: the deletes add no WAL frames of their own (their page is the one the insert writes anyway)
      expect(withAcks).toBe(walBytes() - before - withAcks);
      box.ack(box.newest);
      box.close(); // d acknowledged too: deleted by the close
      const db = new Database(join(dir, 'outbox.db'), { readonly: true });
      expect(db.prepare('SELECT payload FROM outbox').all()).toEqual([{ payload: 'c2' }]);
      db.close();

      const again = new Outbox(dir, 100);
      again.open();
      cleanups.push(() => again.close());
      const [n] = again.readAfter(0, 10).map((r) => r.n);
      again.ack(n as number);
      const stored = () => {
        const reader = new Database(join(dir, 'outbox.db'), { readonly: true, fileMustExist: true, timeout: 0 });
        try {
          return (reader.prepare('SELECT COUNT(*) AS c FROM outbox').get() as { c: number }).c;
        } catch {
          return 'locked';
        } finally {
          reader.close();
        }
      };
      // the agent holds its outbox exclusively while it runs (no lock round trips per commit)
      expect(stored()).toBe('locked');
      vi.advanceTimersByTime(999);
      expect((again as unknown as { pendingAcks: number[] }).pendingAcks).toEqual([n]);
      vi.advanceTimersByTime(1);
      expect((again as unknown as { pendingAcks: number[] }).pendingAcks).toEqual([]);
      expect(again.depth).toBe(0);
      expect(again.peekSeq()).toBe(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a failed append (disk full) keeps the acknowledged rows for the next commit and its count right', () => {
    const { box } = open(100_000);
    const row = (tag: string, size = 100) => ({
      kind: 'health',
      topic: 't',
      seq: true,
      make: () => `${tag}:${'y'.repeat(size)}`,
    });
    const [, , newest] = box.append([row('s0'), row('s1'), row('s2')]);
    // the newest row is acknowledged: not among the oldest that a full disk drops to make room
    box.ack(newest as number);
    const db = (box as unknown as { db: { pragma(sql: string, o?: object): unknown } }).db;
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    // a record needing new pages fails on the full disk, even after the oldest row is dropped to make room: both
    // of its commits roll back, the delete of the acknowledged row with them
    box.append([row('huge', 40_000)]);
    expect(box.lastAppendError).toMatch(/full/i);
    db.pragma('max_page_count = 100000');
    box.append([row('s4')]);
    const tags = box.readAfter(0, 100).map((r) => r.payload.split(':')[0]);
    // s0 dropped to make room, huge not queued (both counted), s2 deleted by the next commit, s1 and s4 queued
    expect(tags).toEqual(['s1', 's4']);
    expect(box.dropped).toBe(2);
    expect(box.depth + box.dropped).toBe(5 - 1); // every row queued, dropped (counted) or acknowledged
  });
});

describe('Outbox on a full disk (issue 19)', () => {
  it('never throws: drops the oldest rows to make room, counts them, and keeps the newest in order', () => {
    const { box } = open(100_000);
    const row = (i: number) => ({
      kind: 'health',
      topic: 't',
      seq: true,
      make: (s: number) => `${'x'.repeat(1500)}:${i}:${s}`,
    });
    for (let i = 0; i < 40; i++) box.append([row(i)]);
    // The disk is full: the database may not grow by a single page (SQLITE_FULL on the next new page).
    const db = (box as unknown as { db: { pragma(sql: string, o?: object): unknown } }).db;
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    let appended = 40;
    for (let i = 40; i < 100; i++) {
      expect(() => box.append([row(i)])).not.toThrow();
      appended++;
    }
    expect(box.dropped).toBeGreaterThan(0);
    expect(box.lastAppendError).toBeUndefined(); // room was made each time
    // Nothing vanished unaccounted: every row is queued or counted as dropped; the newest are kept, in order.
    expect(box.depth + box.dropped).toBe(appended);
    const kept = box.readAfter(0, 1000).map((r) => Number(r.payload.split(':')[1]));
    expect(kept.at(-1)).toBe(99);
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
  });
});
