/**
 * Issue 16: remote reboot records on the SqlStore. The same queries and ONE migration list on the embedded SQLite
 * file and on a real PostgreSQL 15: ids, the lifecycle of a record, epoch milliseconds beyond 32 bits (BIGINT on
 * PostgreSQL, numbers again when read), the last automatic reboot per device, and a SQLite file of an earlier hub
 * accepted as is.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../hub/db.ts';
import { type RebootRecord, RebootStore } from '../../hub/reboot/reboot-store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { type SqlStores, startSqlStores } from '../helpers/sql-stores.ts';

let stores: SqlStores;
beforeAll(async () => {
  stores = await startSqlStores();
});
afterAll(async () => {
  await stores?.close();
});

const T0 = Date.parse('2026-11-30T06:00:00.000Z'); // > 2^32: does not fit a 32-bit INTEGER
const iso = (ms: number) => new Date(ms).toISOString();
const input = (serial: string, trigger: 'auto' | 'manual', ms: number) => ({
  serial,
  trigger,
  actor: trigger === 'auto' ? 'monitor' : 'jan',
  reason: 'REST hung',
  ticketId: trigger === 'auto' ? 'HZ-000001' : null,
  requestedAt: iso(ms),
});

describe.each(['sqlite', 'postgres'] as const)('reboot records on %s', (dialect) => {
  it('adds, updates, lists and finds the last automatic reboot the same way on both dialects', async () => {
    const store = new RebootStore(await stores.make(dialect));
    await store.migrate();
    await store.migrate(); // a second start applies nothing

    expect(await store.lastAutoMs('S1')).toBeUndefined();
    const a = await store.add(input('S1', 'auto', T0), T0);
    const b = await store.add(input('S1', 'manual', T0 + 60_000), T0 + 60_000);
    const c = await store.add(input('S1', 'auto', T0 + 120_000), T0 + 120_000);
    const d = await store.add(input('S2', 'auto', T0 + 30_000), T0 + 30_000);
    expect([a, b, c, d]).toEqual([1, 2, 3, 4]);

    await store.update(a, 'sent', 'rest: 200', 'rest');
    await store.update(a, 'recovered', 'rest ok'); // the channel stays
    await store.update(b, 'failed', 'x'.repeat(3000));

    expect(await store.lastAutoMs('S1')).toBe(T0 + 120_000);
    expect(await store.lastAutoMs('S2')).toBe(T0 + 30_000);
    expect(await store.lastAutoBySerial()).toEqual(
      new Map([
        ['S1', T0 + 120_000],
        ['S2', T0 + 30_000],
      ]),
    );

    const s1 = await store.list('S1', 10);
    expect(s1.map((r) => r.id)).toEqual([c, b, a]);
    expect(s1[2]).toEqual({
      id: a,
      serial: 'S1',
      trigger: 'auto',
      actor: 'monitor',
      reason: 'REST hung',
      ticketId: 'HZ-000001',
      requestedAt: iso(T0),
      channel: 'rest',
      result: 'recovered',
      detail: 'rest ok',
    } satisfies RebootRecord);
    expect(s1[1]).toMatchObject({ result: 'failed', channel: null, ticketId: null });
    expect(s1[1]?.detail).toHaveLength(2000);
    expect(s1[0]).toMatchObject({ result: 'requested', detail: '' });
    expect((await store.list(undefined, 10)).map((r) => r.id)).toEqual([d, c, b, a]);
    expect((await store.list(undefined, 2)).map((r) => r.id)).toEqual([d, c]);
    expect(await store.list("S1' OR '1'='1", 10)).toEqual([]);
  });
});

describe('reboot records on a SQLite file of an earlier hub', () => {
  it('keeps the records an earlier hub wrote with its own ledger and continues after them', async () => {
    const db = new Database(stores.sqliteFile());
    db.exec(`CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    // what hub/db.ts's migrate() applied as reboots version 1 before the SqlStore
    migrate(db, 'reboots', [
      `CREATE TABLE device_reboots (
     id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, trigger TEXT NOT NULL, actor TEXT NOT NULL,
     reason TEXT NOT NULL, ticket_id TEXT, requested_at TEXT NOT NULL, requested_ms INTEGER NOT NULL, channel TEXT,
     result TEXT NOT NULL, detail TEXT NOT NULL);
   CREATE INDEX device_reboots_serial ON device_reboots(serial, requested_ms);`,
    ]);
    db.prepare(
      `INSERT INTO device_reboots (serial, trigger, actor, reason, ticket_id, requested_at, requested_ms, channel, result, detail)
       VALUES ('OLD1', 'auto', 'monitor', 'REST hung', NULL, ?, ?, 'ssh', 'recovered', 'ok')`,
    ).run(iso(T0), T0);
    const store = new RebootStore(new SqliteStore(db));
    await store.migrate();
    expect(await store.lastAutoBySerial()).toEqual(new Map([['OLD1', T0]]));
    expect(await store.add(input('OLD1', 'manual', T0 + 1), T0 + 1)).toBe(2);
    expect((await store.list('OLD1', 10)).map((r) => `${r.id}:${r.result}:${r.channel}`)).toEqual([
      '2:requested:null',
      '1:recovered:ssh',
    ]);
    db.close();
  });
});
