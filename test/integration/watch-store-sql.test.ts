/**
 * Issue 16: device watches on the SqlStore. The same queries and ONE migration list on the embedded SQLite file and
 * on a real PostgreSQL 15: raise / refresh / clear, one active watch per device and rule held by the database (two
 * raises at once: one is new), filters and limits, and a SQLite file of an earlier hub accepted as is.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../hub/db.ts';
import type { DeviceWatch } from '../../hub/rules/watch-store.ts';
import { WatchStore } from '../../hub/rules/watch-store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { type SqlStores, startSqlStores } from '../helpers/sql-stores.ts';

let stores: SqlStores;
beforeAll(async () => {
  stores = await startSqlStores();
});
afterAll(async () => {
  await stores?.close();
});

const T1 = '2026-11-30T06:00:00.000Z';
const T2 = '2026-11-30T06:01:00.000Z';
const T3 = '2026-11-30T06:02:00.000Z';

describe.each(['sqlite', 'postgres'] as const)('device watches on %s', (dialect) => {
  it('raises, refreshes and clears the same way on both dialects', async () => {
    const watches = new WatchStore(await stores.make(dialect));
    await watches.migrate();
    await watches.migrate(); // a second start applies nothing

    expect(await watches.raise('S1', 'temperature-high', '61 °C', { polls: 3 }, T1)).toBe(true);
    expect(await watches.raise('S1', 'temperature-high', '62 °C', { polls: 4 }, T2)).toBe(false); // refreshed
    expect(await watches.raise('S1', 'fan-slow', 'slow', {}, T2)).toBe(true);
    expect(await watches.raise('S2', 'temperature-high', '65 °C', { polls: 3 }, T2)).toBe(true);

    const active = await watches.active();
    expect(active.map((w) => `${w.serial}/${w.rule}`)).toEqual([
      'S1/temperature-high',
      'S1/fan-slow',
      'S2/temperature-high',
    ]);
    expect(active[0]).toEqual({
      serial: 'S1',
      rule: 'temperature-high',
      state: 'active',
      since: T1,
      clearedAt: null,
      detail: '62 °C',
      data: { polls: 4 },
      updatedAt: T2,
    } satisfies DeviceWatch);

    expect(await watches.clear('S1', 'temperature-high', 'cool again', T3)).toBe(true);
    expect(await watches.clear('S1', 'temperature-high', 'cool again', T3)).toBe(false);
    expect(await watches.clear('S9', 'temperature-high', 'never raised', T3)).toBe(false);
    // raised again after a clear: a new watch, the old one kept as history
    expect(await watches.raise('S1', 'temperature-high', '63 °C', { polls: 3 }, T3)).toBe(true);

    const s1 = await watches.list({ state: 'all', serial: 'S1' }, 10);
    expect(s1.map((w) => `${w.rule}:${w.state}`)).toEqual([
      'temperature-high:active',
      'fan-slow:active',
      'temperature-high:cleared',
    ]);
    expect(s1[2]).toMatchObject({ clearedAt: T3, detail: 'cool again', since: T1, updatedAt: T3 });
    expect((await watches.list({ state: 'active' }, 10)).map((w) => w.serial)).toEqual(['S1', 'S2', 'S1']);
    expect((await watches.list({ state: 'active', serial: 'S2' }, 10)).map((w) => w.rule)).toEqual([
      'temperature-high',
    ]);
    expect(await watches.list({ state: 'all' }, 2)).toHaveLength(2);
    expect(await watches.list({ state: 'all', serial: "S1' OR '1'='1" }, 10)).toEqual([]);
  });

  it('two raises of the same watch at once: one is new, one active row', async () => {
    const sql = await stores.make(dialect);
    const watches = new WatchStore(sql);
    await watches.migrate();
    const results = await Promise.all([
      watches.raise('S1', 'temperature-high', 'a', {}, T1),
      watches.raise('S1', 'temperature-high', 'b', {}, T1),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await watches.active()).toHaveLength(1);
    // and the database refuses a second active row whoever writes it
    await expect(
      sql.run(
        "INSERT INTO device_watches (serial, rule, state, since, detail, data, updated_at) VALUES ('S1', 'temperature-high', 'active', $1, 'x', '{}', $1)",
        [T1],
      ),
    ).rejects.toThrow(/unique/i);
  });
});

describe('device watches on a SQLite file of an earlier hub', () => {
  it('keeps the watches an earlier hub wrote with its own ledger', async () => {
    const db = new Database(stores.sqliteFile());
    db.exec(`CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    // what hub/db.ts's migrate() applied as watches version 1 before the SqlStore
    migrate(db, 'watches', [
      `CREATE TABLE device_watches (
     id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, rule TEXT NOT NULL, state TEXT NOT NULL,
     since TEXT NOT NULL, cleared_at TEXT, detail TEXT NOT NULL, data TEXT NOT NULL, updated_at TEXT NOT NULL);
   CREATE UNIQUE INDEX device_watches_active ON device_watches(serial, rule) WHERE state = 'active';`,
    ]);
    db.prepare(
      `INSERT INTO device_watches (serial, rule, state, since, detail, data, updated_at)
       VALUES ('OLD1', 'temperature-high', 'active', '${T1}', '61 °C', '{"polls":3}', '${T1}')`,
    ).run();
    const watches = new WatchStore(new SqliteStore(db));
    await watches.migrate();
    expect(await watches.raise('OLD1', 'temperature-high', '62 °C', { polls: 4 }, T2)).toBe(false);
    expect(await watches.active()).toMatchObject([{ serial: 'OLD1', since: T1, detail: '62 °C', data: { polls: 4 } }]);
    db.close();
  });
});
