/**
 * Issue 16: identity alerts on the SqlStore. The same queries and ONE migration list on the embedded SQLite file and
 * on a real PostgreSQL 15: one alert per device and channel (a new one replaces it), the in-memory view answers at
 * once, writes asked without waiting land in call order (a restarted hub sees exactly what was shown), and a SQLite
 * file of an earlier hub is accepted as is.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../hub/db.ts';
import { type IdentityAlert, IdentityAlertStore } from '../../hub/identity/store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { type SqlStores, startSqlStores } from '../helpers/sql-stores.ts';

let stores: SqlStores;
beforeAll(async () => {
  stores = await startSqlStores();
});
afterAll(async () => {
  await stores?.close();
});

const alert = (serial: string, channel: 'rest' | 'ssh', n = 1): IdentityAlert => ({
  serial,
  channel,
  fingerprint: n === 0 ? null : `sha256:${serial}:${channel}:${n}`,
  status: n % 2 === 0 ? 'accepted-after-reboot' : 'refused',
  detail: `certificate changed (was a, now sha256:${n})`,
  at: `2026-11-30T06:00:0${n % 10}.000Z`,
  agentId: 'agent-1',
  site: 'site-a',
});

describe.each(['sqlite', 'postgres'] as const)('identity alerts on %s', (dialect) => {
  it('raises, replaces and clears; a restarted store loads what was shown', async () => {
    const sql = await stores.make(dialect);
    const store = new IdentityAlertStore(sql);
    await store.start();
    await store.raise(alert('S1', 'rest', 1));
    await store.raise(alert('S1', 'ssh', 0));
    await store.raise(alert('S2', 'rest', 1));
    await store.raise(alert('S1', 'rest', 2)); // replaces the first
    await store.clear('S2', 'rest');
    await store.clear('S9', 'ssh'); // nothing to clear: no error
    expect(store.get('S1', 'rest')).toEqual(alert('S1', 'rest', 2));
    expect(store.forSerial('S2')).toEqual([]);

    const again = new IdentityAlertStore(sql);
    await again.start(); // a second start applies no migration and loads the rows
    const byKey = (list: IdentityAlert[]) =>
      [...list].sort((a, b) => `${a.serial}/${a.channel}`.localeCompare(`${b.serial}/${b.channel}`));
    expect(byKey(again.list())).toEqual([alert('S1', 'rest', 2), alert('S1', 'ssh', 0)]);
    expect(byKey(again.list())).toEqual(byKey(store.list()));
  });

  it('writes asked without waiting land in call order (what a restart sees is what was shown)', async () => {
    const sql = await stores.make(dialect);
    const store = new IdentityAlertStore(sql);
    await store.start();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      const serial = `S${i}`;
      pending.push(store.raise(alert(serial, 'rest', 1)), store.clear(serial, 'rest'));
      if (i % 2 === 0) pending.push(store.raise(alert(serial, 'rest', 3)));
      pending.push(store.raise(alert(serial, 'ssh', 1)), store.raise(alert(serial, 'ssh', 2)));
    }
    await Promise.all(pending);
    await store.idle();
    const shown = store
      .list()
      .map((a) => JSON.stringify(a))
      .sort();
    expect(shown).toHaveLength(30);
    const reloaded = new IdentityAlertStore(sql);
    await reloaded.start();
    expect(
      reloaded
        .list()
        .map((a) => JSON.stringify(a))
        .sort(),
    ).toEqual(shown);
  });
});

describe('identity alerts on a SQLite file of an earlier hub', () => {
  it('loads the alerts an earlier hub wrote with its own ledger and replaces them', async () => {
    const db = new Database(stores.sqliteFile());
    db.exec(`CREATE TABLE schema_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
      PRIMARY KEY (module, version))`);
    // what hub/db.ts's migrate() applied as identity version 1 before the SqlStore
    migrate(db, 'identity', [
      `CREATE TABLE identity_alerts (
     serial TEXT NOT NULL, channel TEXT NOT NULL, fingerprint TEXT, status TEXT NOT NULL, detail TEXT NOT NULL,
     at TEXT NOT NULL, agent_id TEXT NOT NULL, site TEXT NOT NULL, PRIMARY KEY (serial, channel));`,
    ]);
    const old = alert('OLD1', 'ssh', 1);
    db.prepare('INSERT INTO identity_alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      old.serial,
      old.channel,
      old.fingerprint,
      old.status,
      old.detail,
      old.at,
      old.agentId,
      old.site,
    );
    const store = new IdentityAlertStore(new SqliteStore(db));
    await store.start();
    expect(store.list()).toEqual([old]);
    await store.raise(alert('OLD1', 'ssh', 2));
    expect(db.prepare('SELECT fingerprint FROM identity_alerts').all()).toEqual([{ fingerprint: 'sha256:OLD1:ssh:2' }]);
    db.close();
  });
});
