/**
 * Issue 16: devices pending adoption on the SqlStore. The same queries and ONE migration list on the embedded SQLite
 * file and on a real PostgreSQL 15: the in-memory view the ownership gate reads answers at once, the writes it causes
 * land in call order (a restarted hub sees what the gate saw: pending, removed, rejected), the per-agent bound holds
 * across a restart, and a SQLite file of an earlier hub is accepted as is.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../hub/db.ts';
import { PendingDevices } from '../../hub/registry/pending.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { type SqlStores, startSqlStores } from '../helpers/sql-stores.ts';

let stores: SqlStores;
beforeAll(async () => {
  stores = await startSqlStores();
});
afterAll(async () => {
  await stores?.close();
});

const T0 = Date.parse('2026-11-30T06:00:00.000Z');

describe.each(['sqlite', 'postgres'] as const)('pending devices on %s', (dialect) => {
  it('notes, bounds, removes and rejects; a restart sees what the gate saw', async () => {
    const sql = await stores.make(dialect);
    let now = T0;
    const errors: unknown[] = [];
    const pending = new PendingDevices(
      sql,
      () => now,
      3,
      (err) => errors.push(err),
    );
    await pending.start();

    // nothing awaited between the gate's calls: the writes must still land in order
    expect(pending.note('P1', 'site-a', 'agent-1', undefined)).toBe('pending');
    expect(pending.note('P2', 'site-a', 'agent-1', 'StudioX50')).toBe('pending');
    expect(pending.note('P3', 'site-a', 'agent-1', 'G7500')).toBe('pending');
    expect(pending.note('P4', 'site-a', 'agent-1', 'G7500')).toBe('limit');
    expect(pending.note('Q1', 'site-b', 'agent-2', 'StudioX50')).toBe('pending');
    now += 61_000;
    expect(pending.note('P1', 'site-a', 'agent-1', 'StudioX30')).toBe('pending'); // learns the model, written (> 60 s)
    const removed = pending.remove('P2');
    const rejected = pending.reject('P3');
    expect(pending.isRejected('P3')).toBe(true); // at once
    expect(pending.note('P3', 'site-a', 'agent-1', 'G7500')).toBe('rejected');
    expect(pending.list().map((d) => d.serial)).toEqual(['P1', 'Q1']);
    await Promise.all([removed, rejected]);
    await pending.idle();
    expect(errors).toEqual([]);

    const again = new PendingDevices(sql, () => now, 3);
    await again.start(); // a second start applies no migration
    expect(again.list()).toEqual(pending.list());
    expect(again.get('P1')).toEqual({
      serial: 'P1',
      site: 'site-a',
      agentId: 'agent-1',
      model: 'StudioX30',
      firstSeen: new Date(T0).toISOString(),
      lastSeen: new Date(T0 + 61_000).toISOString(),
      messages: 2,
    });
    expect(again.isRejected('P3')).toBe(true);
    // agent-1 holds 1 pending now (P1): two more fit, then the bound
    expect(again.note('P5', 'site-a', 'agent-1', undefined)).toBe('pending');
    expect(again.note('P6', 'site-a', 'agent-1', undefined)).toBe('pending');
    expect(again.note('P7', 'site-a', 'agent-1', undefined)).toBe('limit');
    await again.unreject('P3');
    await again.idle();
    const third = new PendingDevices(sql, () => now, 3);
    await third.start();
    expect(third.isRejected('P3')).toBe(false);
    expect(third.list().map((d) => d.serial)).toEqual(['P1', 'P5', 'P6', 'Q1']);
  });

  it('many gate calls in a row without waiting: the stored rows equal the in-memory view', async () => {
    const sql = await stores.make(dialect);
    const pending = new PendingDevices(sql, () => T0, 1000);
    await pending.start();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      pending.note(`S${i}`, 'site-a', 'agent-1', undefined);
      if (i % 3 === 0) writes.push(pending.remove(`S${i}`));
      if (i % 3 === 1) writes.push(pending.reject(`S${i}`));
    }
    await Promise.all(writes);
    await pending.idle();
    const again = new PendingDevices(sql, () => T0, 1000);
    await again.start();
    expect(again.list()).toEqual(pending.list());
    expect(again.list()).toHaveLength(10);
    for (let i = 1; i < 30; i += 3) expect(again.isRejected(`S${i}`)).toBe(true);
  });
});

describe('pending devices on a SQLite file of an earlier hub', () => {
  it('loads the pending and rejected serials an earlier hub wrote with its own ledger', async () => {
    const db = new Database(stores.sqliteFile());
    db.exec(`CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    // what hub/db.ts's migrate() applied as adoption version 1 before the SqlStore
    migrate(db, 'adoption', [
      `CREATE TABLE pending_devices (
     serial TEXT PRIMARY KEY, site TEXT NOT NULL, agent_id TEXT NOT NULL, model TEXT NOT NULL,
     first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, messages INTEGER NOT NULL);
   CREATE INDEX pending_devices_agent ON pending_devices(agent_id);
   CREATE TABLE rejected_devices (serial TEXT PRIMARY KEY, site TEXT NOT NULL, rejected_at TEXT NOT NULL);`,
    ]);
    const at = new Date(T0).toISOString();
    db.prepare("INSERT INTO pending_devices VALUES ('OLD1', 'site-a', 'agent-1', 'G7500', ?, ?, 7)").run(at, at);
    db.prepare("INSERT INTO rejected_devices VALUES ('BAD1', 'site-a', ?)").run(at);
    const pending = new PendingDevices(new SqliteStore(db), () => T0, 10);
    await pending.start();
    expect(pending.get('OLD1')).toMatchObject({ model: 'G7500', messages: 7 });
    expect(pending.isRejected('BAD1')).toBe(true);
    await pending.reject('OLD1');
    expect(db.prepare('SELECT serial FROM rejected_devices ORDER BY serial').all()).toEqual([
      { serial: 'BAD1' },
      { serial: 'OLD1' },
    ]);
    expect(db.prepare('SELECT COUNT(*) AS n FROM pending_devices').get()).toEqual({ n: 0 });
    db.close();
  });
});
