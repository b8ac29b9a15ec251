/**
 * The SQLite SqlStore shares one connection: a transaction open across awaits must not swallow the statements of
 * other async flows (they would commit or roll back with it). Real SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';

let dir: string;
let db: Database.Database;
let store: SqliteStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hezo-sqlite-flows-'));
  db = new Database(join(dir, 'x.sqlite'));
  store = new SqliteStore(db);
  await store.exec('CREATE TABLE t (v TEXT NOT NULL)');
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));
const values = async () => (await store.query<{ v: string }>('SELECT v FROM t ORDER BY rowid')).map((r) => r.v);

describe('SqliteStore across async flows', () => {
  it("another flow's write during a transaction that rolls back is kept, and lands after it", async () => {
    let inside!: () => void;
    const started = new Promise<void>((resolve) => (inside = resolve));
    const failing = store.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES ($1)', ['in-tx']);
      inside();
      await macrotask(); // the transaction is open across a real wait
      throw new Error('boom');
    });
    await started;
    const outside = store.run('INSERT INTO t (v) VALUES ($1)', ['outside']);
    await expect(failing).rejects.toThrow('boom');
    expect(await outside).toBe(1);
    expect(await values()).toEqual(['outside']);
  });

  it('two transactions of two flows run one after the other; a nested one joins its own', async () => {
    const order: string[] = [];
    const one = store.transaction(async (tx) => {
      order.push('one:start');
      await tx.run("INSERT INTO t (v) VALUES ('one')");
      await macrotask();
      await store.transaction(async () => {
        // nested, through the store itself: the same flow, so it runs inside, not after
        await store.run("INSERT INTO t (v) VALUES ('one-nested')");
      });
      order.push('one:end');
    });
    const two = store.transaction(async (tx) => {
      order.push('two:start');
      await tx.run("INSERT INTO t (v) VALUES ('two')");
    });
    await Promise.all([one, two]);
    expect(order).toEqual(['one:start', 'one:end', 'two:start']);
    expect(await values()).toEqual(['one', 'one-nested', 'two']);
  });
});
