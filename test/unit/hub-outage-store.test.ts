/** The outage store's SQLite side: the health ring migrates to its rowid table with its rows intact. */
import { describe, expect, it } from 'vitest';
import { migrate, openDb } from '../../hub/db.ts';
import { OutageStore } from '../../hub/outage/store.ts';
import { SqliteStore } from '../../hub/store/sqlite-store.ts';
import { makeHealthRecord } from '../helpers/health-record.ts';

describe('outage store', () => {
  it('migrates health_history from the WITHOUT ROWID table keeping every record, then upserts in place', async () => {
    const db = openDb(':memory:');
    const old = makeHealthRecord({ serial: 'SN-1', seq: 1, at: '2026-01-01T10:00:00.000Z' });
    // The first schema only (as written by the previous release), with one stored record.
    const store = new OutageStore(new SqliteStore(db), 2);
    migrate(db, 'outage', [
      `CREATE TABLE device_transitions (
         id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, site TEXT NOT NULL, customer TEXT NOT NULL,
         agent_id TEXT, from_state TEXT NOT NULL, to_state TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL,
         evidence TEXT NOT NULL, problems TEXT NOT NULL, in_maintenance INTEGER NOT NULL);
       CREATE TABLE device_live (serial TEXT PRIMARY KEY, last_seen TEXT NOT NULL, agent_id TEXT, firmware TEXT);
       CREATE TABLE health_history (
         serial TEXT NOT NULL, slot INTEGER NOT NULL, observed_at TEXT NOT NULL, replayed INTEGER NOT NULL,
         record TEXT NOT NULL, PRIMARY KEY (serial, slot)) WITHOUT ROWID;`,
    ]);
    db.prepare('INSERT INTO health_history VALUES (?, ?, ?, ?, ?)').run(
      'SN-1',
      0,
      old.observedAt,
      0,
      JSON.stringify(old),
    );

    await store.migrate();
    expect(await store.recentRecords('SN-1')).toEqual([old]);

    const newer = makeHealthRecord({ serial: 'SN-1', seq: 2, at: '2026-01-01T10:00:10.000Z' });
    const newest = makeHealthRecord({ serial: 'SN-1', seq: 3, at: '2026-01-01T10:00:20.000Z' });
    // The validated JSON text is stored as given (no second serialisation); without it, the record is serialised.
    await store.flush([], [{ record: newer, json: JSON.stringify(newer) }, { record: newest }]);
    expect(await store.recentRecords('SN-1')).toEqual([newest, newer]);
    expect(db.prepare('SELECT COUNT(*) AS n FROM health_history').get()).toEqual({ n: 2 });
    // The hot path hands over the columns and the text only (no parsed record kept until the flush).
    const replayed = makeHealthRecord({ serial: 'SN-1', seq: 4, at: '2026-01-01T10:00:30.000Z' });
    const text = JSON.stringify({ ...replayed, replayed: true });
    await store.flush([], [{ serial: 'SN-1', observedAt: replayed.observedAt, replayed: true, json: text }]);
    expect(await store.recentRecords('SN-1')).toEqual([{ ...replayed, replayed: true }, newest]);
    expect(db.prepare('SELECT replayed FROM health_history WHERE observed_at = ?').get(replayed.observedAt)).toEqual({
      replayed: 1,
    });
    db.close();
  });
});
