/**
 * Issue 16: peripheral links on the SqlStore. The same queries and ONE migration list on the embedded SQLite file and
 * on a real PostgreSQL 15: link, touch, a move to another host, the camelCase fields on both dialects; the module's
 * health listener writes in order (a peripheral moved twice in a row ends on its last host) and reloads its links
 * at start; a SQLite file of an earlier hub is accepted as is.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../hub/db.ts';
import { createPeripheralsModule } from '../../hub/peripherals/module.ts';
import { PeripheralStore } from '../../hub/peripherals/store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { ManualClock } from '../../protocols/clock.ts';
import { makeFakeHubContext } from '../helpers/fake-hub-context.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';
import { type SqlStores, startSqlStores } from '../helpers/sql-stores.ts';

let stores: SqlStores;
beforeAll(async () => {
  stores = await startSqlStores();
});
afterAll(async () => {
  await stores?.close();
});

const T1 = '2026-11-30T06:00:00.000Z';
const T2 = '2026-11-30T06:05:00.000Z';
const T3 = '2026-11-30T06:10:00.000Z';

describe.each(['sqlite', 'postgres'] as const)('peripheral links on %s', (dialect) => {
  it('links, touches and moves the same way on both dialects', async () => {
    const store = new PeripheralStore(await stores.make(dialect));
    await store.migrate();
    await store.migrate(); // a second start applies nothing
    await store.link('E70-2', 'StudioE70', 'HOST-A', T1);
    await store.link('E70-1', 'StudioE70', 'HOST-A', T1);
    await store.touch('E70-1', T2);
    await store.touch('NOPE', T2); // not linked: nothing
    expect(await store.get('E70-1')).toEqual({
      serial: 'E70-1',
      model: 'StudioE70',
      hostSerial: 'HOST-A',
      since: T1,
      lastSeen: T2,
    });
    await store.link('E70-2', 'StudioE70', 'HOST-B', T3); // moved: a new `since`
    expect(await store.get('E70-2')).toMatchObject({ hostSerial: 'HOST-B', since: T3, lastSeen: T3 });
    expect((await store.list()).map((p) => p.serial)).toEqual(['E70-1', 'E70-2']);
    expect((await store.list({ host: 'HOST-A' })).map((p) => p.serial)).toEqual(['E70-1']);
    expect(await store.list({ host: "HOST-A' OR '1'='1" })).toEqual([]);
    expect(await store.get('NOPE')).toBeUndefined();
  });

  it('the module stores what it sees in order and reloads it at start', async () => {
    const sql = await stores.make(dialect);
    const clock = new ManualClock(T1);
    const start = async () => {
      const fake = makeFakeHubContext({ clock });
      fake.ctx.sql = sql;
      const module = createPeripheralsModule(fake.ctx);
      await module.start?.();
      return { module, bus: fake.bus, http: fake.http };
    };
    const seen = (serial: string, host: string, at: string) => ({
      record: makeHealthRecord(
        { serial, model: 'StudioE70', at },
        { identity: { serial, model: 'StudioE70', firmware: '1.0', hostSerial: host } },
      ),
      receivedAt: at,
    });
    const first = await start();
    for (let i = 0; i < 10; i++) {
      first.bus.emit('health', seen(`E70-${i}`, 'HOST-A', T1));
      first.bus.emit('health', seen(`E70-${i}`, 'HOST-B', T2)); // moved at once, before the first write is done
    }
    await first.module.stop?.();
    const store = new PeripheralStore(sql);
    const links = await store.list();
    expect(links).toHaveLength(10);
    expect(links.every((l) => l.hostSerial === 'HOST-B' && l.since === T2)).toBe(true);

    // a restarted module knows the links: the same host again within a minute writes nothing new
    const second = await start();
    second.bus.emit('health', seen('E70-0', 'HOST-B', T3));
    await second.module.stop?.();
    expect((await store.get('E70-0'))?.lastSeen).toBe(T3); // first sight after a restart: touched
    const third = await start();
    third.bus.emit('health', seen('E70-1', 'HOST-C', T3));
    await third.module.stop?.();
    expect(await store.get('E70-1')).toMatchObject({ hostSerial: 'HOST-C', since: T3 });
    await Promise.all([first.http.close(), second.http.close(), third.http.close()]);
  });
});

describe('peripheral links on a SQLite file of an earlier hub', () => {
  it('keeps the links an earlier hub wrote with its own ledger', async () => {
    const db = new Database(stores.sqliteFile());
    db.exec(`CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    // what hub/db.ts's migrate() applied as peripherals version 1 before the SqlStore
    migrate(db, 'peripherals', [
      `CREATE TABLE peripheral_links (
     serial TEXT PRIMARY KEY, model TEXT NOT NULL, host_serial TEXT NOT NULL, since TEXT NOT NULL, last_seen TEXT NOT NULL)`,
    ]);
    db.prepare("INSERT INTO peripheral_links VALUES ('OLD-E70', 'StudioE70', 'OLD-HOST', ?, ?)").run(T1, T1);
    const store = new PeripheralStore(new SqliteStore(db));
    await store.migrate();
    await store.touch('OLD-E70', T2);
    expect(await store.list()).toEqual([
      { serial: 'OLD-E70', model: 'StudioE70', hostSerial: 'OLD-HOST', since: T1, lastSeen: T2 },
    ]);
    db.close();
  });
});
